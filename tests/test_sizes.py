"""The core stays walkable: no module in handlers/ over 400 lines, no class over 250.

Signal detection (handlers/signals.py) is being reworked on its own and is left out until then.
"""

from __future__ import annotations

import ast
from pathlib import Path

HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
NOT_YET = {"signals.py"}
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250


def modules() -> list[Path]:
    found = sorted(p for p in HANDLERS.rglob("*.py") if p.name not in NOT_YET)
    assert len(found) > 20, "the handlers package was not found"
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
                    long[f"{path.name}:{node.name}"] = size
    assert long == {}
