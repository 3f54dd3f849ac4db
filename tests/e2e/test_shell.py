"""The terminal shell, as a person would use it: `liaison-bot shell` with lines piped in."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE_CONFIG, ROOT


def run_cli(args, tmp_path: Path, stdin: str = "", config: Path | None = EXAMPLE_CONFIG):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.pop("LIAISON_CONFIG", None)  # without a config: ./liaison.toml, absent, so the defaults
    path = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'liaison.db'}", PYTHONPATH=path)
    if config is not None:
        env["LIAISON_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


MOVE = """\
/in #finance
We're moving to a new building in ten months
1
Move to the Elm Street building
in ten months
me
about 40 people
skip
ok
save
commitments unit finance
/as @sam
1
/quit
"""


def test_a_piped_move_goes_through_intake_into_the_database(tmp_path):
    result = run_cli(["shell", "--as", "pat"], tmp_path, MOVE)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Sounds like Finance has an office move coming up" in out
    assert "[1] Plan it with IT" in out
    assert "Saved initiative #1: Move to the Elm Street building." in out
    assert "bot → DM to @sam" in out
    assert "You are now @sam. You have 24 choices waiting" in out
    assert "promised" in out.split("/as @sam")[-1]
    db = sqlite3.connect(tmp_path / "liaison.db")
    kind, title, unit = db.execute("select kind, title, unit_id from initiative").fetchone()
    assert (kind, title, unit) == ("office_move", "Move to the Elm Street building", "finance")
    assert db.execute("select count(*) from roleassignment").fetchone()[0] > 8
    states = dict(db.execute("select state, count(*) from commitment group by state").fetchall())
    assert states == {"promised": 1, "requested": 7}
    assert db.execute("select count(*) from commitmentevent").fetchone()[0] == 9
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_an_intake_survives_a_restart(tmp_path):
    first = "/in #finance\nWe're moving to a new building in ten months\n1\nElm Street move\n"
    run_cli(["shell", "--as", "pat"], tmp_path, first)
    second = run_cli(["shell", "--as", "pat"], tmp_path, "/in #finance\nin ten months\n")
    assert "Who owns it on the business side?" in second.stdout


def test_the_shell_with_no_config_still_works(tmp_path):
    result = run_cli(["shell"], tmp_path, "help\nwe're buying a new CRM next quarter\n", None)
    assert result.returncode == 0, result.stderr
    assert "You are @you" in result.stdout
    assert "software purchase" in result.stdout


def test_detect_speaks_json_lines_in_order(tmp_path):
    lines = [
        {"text": "We're hiring 15 new customer service reps in March"},
        {"text": "I'm buying coffee, anyone want some?"},
        {"nope": 1},
        {"text": "We're launching a new customer portal in the spring"},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    result = run_cli(["detect"], tmp_path, stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["kind"] for o in out] == ["staffing_change", None, None, "event_or_launch", None]
    assert "error" in out[2] and "error" in out[4]


def test_db_upgrade_and_a_bad_config(tmp_path):
    result = run_cli(["db", "upgrade"], tmp_path)
    assert result.returncode == 0 and "revision" in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[units.finance]\nname = 'Finance'\nliaison = 'ghost'\n")
    result = run_cli(["shell"], tmp_path, "", bad)
    assert result.returncode == 2
    assert f"{bad}, line 3: units.finance.liaison: 'ghost' is not in [people]" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_console_script_is_installed():
    assert shutil.which("liaison-bot", path=str(Path(sys.executable).parent))


def test_export_and_forget_from_the_command_line(tmp_path):
    run_cli(["shell", "--as", "pat"], tmp_path, MOVE)
    result = run_cli(["export", "--format", "csv", "--out", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "commitments.csv",
        "figures.csv",  # promise-keeping figures of the last 6 months
        "history.csv",
        "initiatives.csv",
        "rasci.csv",
    ]
    assert "8 commitments" in result.stderr
    raw = (tmp_path / "out" / "commitments.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,what,")  # a BOM, so Excel reads it as UTF-8
    exported = json.loads(run_cli(["export", "--format", "json"], tmp_path).stdout)
    assert exported["initiatives"][0]["requester"] == "pat"
    refused = run_cli(["forget", "@pat"], tmp_path)  # no tty, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    unknown = run_cli(["forget", "@ghost", "--yes"], tmp_path)
    assert unknown.returncode == 2 and "I don't know @ghost" in unknown.stderr
    done = run_cli(["forget", "@pat", "--yes"], tmp_path)
    assert done.returncode == 0 and "Forgot @pat" in done.stdout
    db = sqlite3.connect(tmp_path / "liaison.db")
    assert db.execute("select source_excerpt from initiative").fetchone() == (None,)


def test_a_sweep_from_cron_without_chat_credentials_marks_nothing_sent(tmp_path):
    """Run from cron on a machine with no Slack or Teams settings, a sweep shows what is owed
    and keeps it owed: the next sweep with a channel still sends every digest."""
    import sqlite3

    from tests.overdue import org_file, seed

    config = org_file(tmp_path, owners=2)
    seed(f"sqlite:///{tmp_path / 'liaison.db'}", config, owners=2)
    for _ in range(2):
        result = run_cli(["sweep", "--at", "2026-11-24T15:30:00+00:00"], tmp_path, config=config)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("would send") == 2  # each owner's one digest, both times
        assert "nothing was marked as sent" in result.stderr
    db = sqlite3.connect(tmp_path / "liaison.db")
    assert db.execute("select count(*) from ledger where status = 'sent'").fetchone() == (0,)


def test_an_unreachable_database_is_one_clear_line_and_serve_waits_for_it_first(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.pop("LIAISON_CONFIG", None)
    env.update(
        DATABASE_URL="postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none",
        DATABASE_WAIT_SECONDS="1.5",
        PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
        LOG_FORMAT="text",
    )
    for args in (["db", "upgrade"], ["serve", "--port", "0"]):
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        assert result.returncode == 3, result.stderr
        assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("liaison-bot: the database at postgresql+psycopg://nobody:***@")
        assert "Check DATABASE_URL" in last
    assert "is not answering yet; trying again" in result.stderr  # serve waited first


def test_a_number_typed_at_a_question_without_choices_is_the_answer(tmp_path):
    """ "40" to "how many people" is 40, not the choice numbered 1 a question before."""
    script = MOVE.replace("about 40 people", "40")
    result = run_cli(["shell", "--as", "pat"], tmp_path, script)
    assert result.returncode == 0, result.stderr
    assert "Pick a number" not in result.stdout
    with sqlite3.connect(tmp_path / "liaison.db") as db:
        (details,) = db.execute("SELECT details FROM initiative").fetchone()
    assert json.loads(details) == {"headcount": "40"}
