"""The dependency rules of ARCHITECTURE.md, checked by scanning every import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR = {"slack_bolt", "slack_sdk", "botbuilder", "aiohttp", "apscheduler", "dotenv"}
RULES = {
    "storage": {"bot", "handlers", "schedules"} | VENDOR,
    "handlers": {"bot", "schedules"} | VENDOR,
    "schedules": {"bot", "slack_bolt", "slack_sdk", "botbuilder", "aiohttp", "dotenv"},
}
STORAGE_ALLOWED = {"sqlmodel", "sqlalchemy", "alembic"}


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return [name.split(".")[0] for name in found]


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(RULES))
def test_packages_import_only_what_they_may(package):
    crossings = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(package)
        for name in imports(path)
        if name in RULES[package]
    ]
    assert crossings == []


def test_storage_uses_only_the_orm_and_the_standard_library():
    import sys

    stdlib = set(sys.stdlib_module_names)
    crossings = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files("storage")
        for name in imports(path)
        if name not in stdlib | STORAGE_ALLOWED | {"storage", "__future__"}
    ]
    assert crossings == []


def test_only_bot_config_reads_the_environment():
    offenders = []
    for package in ("bot", "handlers", "storage", "schedules"):
        for path in python_files(package):
            text = path.read_text(encoding="utf-8")
            if ("os.environ" in text or "os.getenv" in text) and path != ROOT / "bot/config.py":
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


SHARED_CHANNEL_MODULES = {
    "interactions",
    "http",
    "sealing",
}  # the channel-neutral rules every channel follows


def test_channel_modules_do_not_import_each_other():
    """A channel (a module or a package under bot/channels) uses only the shared rules, never
    another channel: adding or removing one touches nothing else."""
    channels = ROOT / "bot" / "channels"
    names = {p.stem for p in channels.glob("*.py")} | {
        p.name for p in channels.iterdir() if (p / "__init__.py").exists()
    }
    names -= {"__init__", *SHARED_CHANNEL_MODULES}
    crossings = []
    for path in channels.rglob("*.py"):
        mine = path.relative_to(channels).parts[0].removesuffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                parts = [*node.module.split("."), "", ""]
                if parts[:2] == ["bot", "channels"] and parts[2] in names and parts[2] != mine:
                    crossings.append(f"{path.name} imports {node.module}")
    assert crossings == []
    assert {"slack", "teams", "shell"} <= names  # the scan sees every channel


def test_botbuilder_lives_in_the_teams_package():
    """botbuilder is archived upstream: moving to its successor must touch one package."""
    users = sorted(
        str(path.relative_to(ROOT))
        for package in ("bot", "handlers", "storage", "schedules")
        for path in python_files(package)
        if any(name in ("botbuilder", "botframework") for name in imports(path))
    )
    assert users and all(u.startswith("bot/channels/teams/") for u in users), users


def test_the_agents_sdk_lives_in_one_module_imported_only_when_chosen():
    """TEAMS_SDK=agents: the Microsoft 365 Agents SDK is imported by one module, behind the
    Teams channel's host seam, and only when it is chosen (it is an optional extra)."""
    users = sorted(
        str(path.relative_to(ROOT))
        for package in ("bot", "handlers", "storage", "schedules")
        for path in python_files(package)
        if "microsoft_agents" in imports(path)
    )
    assert users == ["bot/channels/teams/agents.py"]
    importers = sorted(
        str(path.relative_to(ROOT))
        for path in python_files("bot")
        if "bot.channels.teams.agents" in path.read_text(encoding="utf-8")
    )
    assert importers == ["bot/channels/teams/app.py"]
    tree = ast.parse((ROOT / importers[0]).read_text(encoding="utf-8"))
    at_module_level = [
        node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("teams.agents")
    ]
    in_functions = [
        node.module
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.ImportFrom) and node.module == "bot.channels.teams.agents"
    ]
    assert at_module_level == [] and in_functions == ["bot.channels.teams.agents"]


def test_slack_sdks_live_in_the_slack_package():
    users = sorted(
        str(path.relative_to(ROOT))
        for package in ("bot", "handlers", "storage", "schedules")
        for path in python_files(package)
        if any(name in ("slack_bolt", "slack_sdk") for name in imports(path))
    )
    assert users and all(u.startswith("bot/channels/slack/") for u in users), users


def test_bot_modules_and_classes_stay_small():
    """A module in bot/ fits in 400 lines and a class in 250: each file has one job (the
    channels' shared rules live in bot/channels/interactions, not in each adapter)."""
    too_long = []
    for path in python_files("bot"):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 400:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 250:
                too_long.append(f"{path.relative_to(ROOT)}: class {node.name}")
    assert too_long == []
