"""Start-up pays only for what it uses: `--help` imports no channel SDK and no Alembic, a
channel's SDK is imported only when that channel is configured, and a database already at
the newest migration is recognised without Alembic. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from storage.db import make_engine, migration_heads, upgrade
from tests.conftest import EXAMPLE_CONFIG, ROOT

HEAVY = ("slack_bolt", "slack_sdk", "botbuilder", "alembic")
# What an idle server does without: the signal model's numpy (loaded by the first message
# read), Jinja2 (the first dashboard page) and icalendar (the first calendar feed).
ON_FIRST_USE = ("numpy", "jinja2", "icalendar")


def imported_after(code: str, heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """The heavy packages a fresh interpreter has imported after running `code`."""
    probe = (
        f"{code}\nimport sys, json\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_imports_no_channel_sdk_and_no_alembic() -> None:
    code = (
        "import contextlib, io\nfrom bot.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\nassert 'db upgrade' in out.getvalue() or 'db' in out.getvalue()"
    )
    assert imported_after(code) == set()
    # Nor logging or typing (a dozen modules between them): only argparse's own.
    assert imported_after(code, ("logging", "typing")) == set()


def test_slack_alone_imports_no_teams_sdk_and_a_migrated_database_no_alembic(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'liaison.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    code = (
        "from bot.bootstrap import bootstrap\nfrom bot.config import Settings\n"
        f"app = bootstrap(Settings(database_url={url!r}, config_path={str(EXAMPLE_CONFIG)!r},"
        " slack_bot_token='xoxb-test', slack_signing_secret='s3cret'))\n"
        "assert list(app.channels) == ['slack']"
    )
    assert imported_after(code) == {"slack_bolt", "slack_sdk"}


def test_an_idle_server_loads_numpy_jinja2_and_icalendar_on_first_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'liaison.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    start = (
        "from bot.bootstrap import bootstrap\nfrom bot.config import Settings\n"
        "from bot.server import build_web_app\n"
        f"app = bootstrap(Settings(database_url={url!r}, config_path={str(EXAMPLE_CONFIG)!r},"
        " slack_bot_token='xoxb-test', slack_signing_secret='s3cret'))\n"
        "build_web_app(app, scheduler=False)\n"
    )
    assert imported_after(start, ON_FIRST_USE) == set()
    first_message = (
        "from handlers import signals\n"
        "found = signals.detect('We are hiring 15 new reps in March')\n"
        "assert found is not None and found.kind == 'staffing_change', found\n"
    )
    assert imported_after(start + first_message, ON_FIRST_USE) == {"numpy"}


def test_a_new_database_is_migrated_and_then_known_to_be_current(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        found = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
        assert set(found) == migration_heads() != frozenset()
    engine.dispose()
