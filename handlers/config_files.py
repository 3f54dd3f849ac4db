"""Configuration files an admin edits by hand (the organisation TOML, the playbooks): read them,
and when one is wrong, say where: the file, the line and what to change, never a traceback.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError


class ConfigError(Exception):
    """A problem in a config or playbook file, located for the person who edits it."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source, self.line, self.problem = source, line, problem
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {problem}")


def read_config_text(path: Path) -> str:
    """A config file's text: UTF-8 (a byte-order mark is fine), or a sentence saying why not."""
    if not path.is_file():
        raise ConfigError(str(path), None, "this is a folder, not a TOML file")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            str(path), line, "the file is not UTF-8; save it as UTF-8 in your editor"
        ) from None
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot be read ({exc.strerror})") from None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """tomllib, with its error turned into a located ConfigError."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(source, None, "not valid TOML: nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(
            source, int(match.group(1)) if match else None, f"not valid TOML: {problem}"
        ) from None


def located_error(
    exc: ValidationError, text: str, source: str, prefix: tuple[str, ...] = ()
) -> ConfigError:
    """Turn pydantic's first error into one sentence pointing at the line of the bad key."""
    first = exc.errors()[0]
    path = [*prefix, *(str(p) for p in first["loc"])]
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = f"unknown setting '{path[-1]}'"
    elif first["type"] == "missing":
        message = f"'{path[-1]}' is required"
    return ConfigError(source, find_line(text, path), f"{'.'.join(path)}: {message}")


def find_line(text: str, path: list[str]) -> int | None:
    """Best-effort line of a dotted key path: the deepest table header or key that matches."""
    lines = text.split("\n")  # as TOML and editors count lines (not at U+2028 and the like)
    best: int | None = None
    names = [p for p in path if not p.isdigit()]
    for depth in range(len(names), 0, -1):
        header = ".".join(names[:depth])
        for number, line in enumerate(lines, start=1):
            stripped = line.strip()
            if stripped.strip("[]").strip() == header and stripped.startswith("["):
                best = number
                key = names[depth] if depth < len(names) else None
                if key is None:
                    return best
                for offset, inner in enumerate(lines[number:], start=number + 1):
                    if inner.strip().startswith("["):
                        break
                    if re.match(rf"\s*{re.escape(key)}\s*=", inner):
                        return offset
                return best
    for number, line in enumerate(lines, start=1):
        if names and re.match(rf"\s*{re.escape(names[-1])}\s*=", line):
            return number
    return best
