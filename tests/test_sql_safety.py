"""SQL is built only through the ORM or with bound parameters, never from strings at run time.

Every module of bot/, handlers/, storage/ (its migrations included) and schedules/ is read with
`ast`. A call of `text(...)`, `exec(...)` or `execute(...)` (also `executemany` and
`exec_driver_sql`, on any receiver: `session.exec`, `connection.execute`, `op.execute`,
`sqlalchemy.text`, a DB-API cursor) fails the test, naming the file and line, when its SQL
argument is assembled at run time:

- an f-string, a `%`-format, a `+` concatenation, a `str.format()` or a `str.join()`;
- or a name that the same function (or module) assigns such an expression.

Constant SQL with `:name` placeholders and ORM statements pass. The tests are not scanned: their
DDL (`CREATE DATABASE "<generated name>"`) may interpolate a name it made itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "schedules")
SQL_CALLS = frozenset({"text", "exec", "execute", "executemany", "exec_driver_sql"})
SQL_KEYWORDS = frozenset({"statement", "sql", "clause", "source", "object_"})


def _name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _how_built(node: ast.AST, tainted: dict[str, str]) -> str | None:
    """How an expression builds a string at run time, or None when it does not."""
    if isinstance(node, ast.JoinedStr):
        return "an f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return "a %-format"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return "a + concatenation"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "format":
            return "a str.format()"
        if node.func.attr == "join" and isinstance(node.func.value, ast.Constant | ast.JoinedStr):
            return "a str.join()"
    if isinstance(node, ast.Name) and node.id in tainted:
        return f"'{node.id}' ({tainted[node.id]})"
    return None


class _Scanner(ast.NodeVisitor):
    """Finds SQL calls with built strings; names are tracked per function (and the module)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.scopes: list[dict[str, str]] = [{}]
        self.found: list[str] = []

    def _scope(self, node: ast.AST) -> None:
        self.scopes.append({})
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scope

    def _tainted(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for scope in self.scopes:
            merged.update(scope)
        return merged

    def _assign(self, targets: list[ast.expr], value: ast.AST, line: int) -> None:
        how = _how_built(value, self._tainted())
        for target in targets:
            if isinstance(target, ast.Name) and how:
                self.scopes[-1][target.id] = f"{how} on line {line}"

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assign(node.targets, node.value, node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assign([node.target], node.value, node.lineno)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add | ast.Mod):
            self.scopes[-1][node.target.id] = f"extended with += or %= on line {node.lineno}"
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _name(node)
        if name in SQL_CALLS:
            arguments = node.args[:1] + [k.value for k in node.keywords if k.arg in SQL_KEYWORDS]
            for argument in arguments:
                how = _how_built(argument, self._tainted())
                if how:
                    self.found.append(f"{self.path}:{node.lineno}: {name}() of {how}")
        self.generic_visit(node)


def scan(source: str, path: str = "<snippet>") -> list[str]:
    """Every SQL call in `source` whose SQL is built at run time, as 'path:line: what'."""
    scanner = _Scanner(path)
    scanner.visit(ast.parse(source, filename=path))
    return scanner.found


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_sql_is_built_only_through_the_orm_or_bound_parameters():
    assert _modules(), "no modules found to scan"
    found = []
    for path in _modules():
        found += scan(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == [], "SQL built from strings at run time:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "session.exec(text(f\"SELECT * FROM person WHERE handle = '{handle}'\"))",
        "connection.execute(text(\"DELETE FROM ledger WHERE key = '%s'\" % key))",
        'connection.execute(text("SELECT * FROM unit WHERE id = \'" + unit + "\'"))',
        'cursor.execute("SELECT * FROM person WHERE id = {}".format(person_id))',
        'cursor.execute(", ".join(columns))',
        'op.execute(f"DROP TABLE {table}")',
        'sqlalchemy.text(f"SELECT {column} FROM person")',
        'conn.exec_driver_sql(f"VACUUM {name}")',
        "def f(name):\n    sql = f\"SELECT * FROM person WHERE handle = '{name}'\"\n"
        "    return session.execute(text(sql))",
        'def f(name):\n    sql = "SELECT * FROM person WHERE handle = "\n    sql += name\n'
        "    return cursor.execute(sql)",
        'session.execute(statement=f"SELECT {x}")',
    ],
)
def test_the_scan_finds_sql_built_from_strings(source):
    assert scan(source), source


@pytest.mark.parametrize(
    "source",
    [
        'connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 1})',
        'cursor.execute("PRAGMA journal_mode=WAL")',
        "session.exec(select(Person).where(Person.handle == handle))",
        "session.exec(delete(Ledger).where(Ledger.key.in_(keys)))",
        'cursor.execute("SELECT * FROM person WHERE id = ?", (person_id,))',
        "total = a + b\nsession.exec(select(Person).limit(total))",
        'label = f"{n} items"\nsession.exec(select(Person))',
        'def f():\n    sql = f"x {y}"\ndef g(sql):\n    return connection.execute(text(sql))',
        "body = json.loads(request.text())",
    ],
)
def test_the_scan_passes_the_orm_and_bound_parameters(source):
    assert scan(source) == [], source
