"""The core stays walkable: no module in handlers/ over 400 lines, no class over 250.

Signal detection (handlers/signals/) is held to the same figures as the rest of the core.
"""

from __future__ import annotations

import ast
from pathlib import Path

HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250


def modules() -> list[Path]:
    found = sorted(HANDLERS.rglob("*.py"))
    assert len(found) > 20, "the handlers package was not found"
    assert HANDLERS / "signals" / "rules.py" in found, "signal detection is not being checked"
    return found


def test_no_module_in_the_core_is_over_400_lines() -> None:
    sizes = {str(p.relative_to(HANDLERS)): len(p.read_text().splitlines()) for p in modules()}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_class_in_the_core_is_over_250_lines() -> None:
    long = {}
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    long[f"{path.relative_to(HANDLERS)}:{node.name}"] = size
    assert long == {}
