"""Issue 13's table of faults, reproduced against the real server and CLI, with figures.

Run from the repository root: ``python bench/faults.py`` (all scenarios) or name some:
``python bench/faults.py db-outage sqlite-sweeps``. Each scenario prints one line of figures
and the goal it checks; the script exits 1 when a goal is missed. A fake Slack on 127.0.0.1
(tests/fakes) counts what reached Slack; nothing is mocked inside the bot.

- ``db-outage``: the database away for ``--outage`` seconds (default 150) while people send
  slash commands, press buttons and post signals: every command and button gets an answer or
  "I couldn't save that, please try again in a minute" (none acknowledged and lost), and every
  signal gets its offer once the database is back, once (held in memory, then in the spool).
  The server runs in this process and its engine points at a closed port for the outage.
- ``sqlite-sweeps``: ``--owners`` digests (default 300) that failed once, then two
  ``liaison-bot sweep`` processes retrying them at the same moment on one SQLite file: each
  owner gets exactly one digest.
- ``killed-sweep``: a sweep of ``--stranded`` digests (default 1,500) SIGKILLed mid-way; the
  next sweep after the lease sends everything stranded, in one run.
- ``first-users``: 240 people's first slash commands at once on PostgreSQL
  (``$LIAISON_TEST_POSTGRES_URL``): 240 answers, no apology.
- ``slack-down``: Slack answering 500/503 to every post for ``--slack-down`` seconds (default
  150) while signals keep coming: the posts that reach Slack meanwhile (one shared back-off:
  a probe per pause, 1 to 30 s), and every offer delivered once when it is back.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.interactions import COULD_NOT_SAVE  # noqa: E402
from tests.e2e.test_durable_acts import DatabaseAway  # noqa: E402
from tests.e2e.test_faults import ShakySlack, cli_env, signal_event, thread_of  # noqa: E402
from tests.e2e.test_faults import serve as serve_process  # noqa: E402
from tests.e2e.test_first_users import USERS as NEWCOMERS  # noqa: E402
from tests.e2e.test_first_users import serve_on  # noqa: E402
from tests.e2e.test_slack import PAT, TOKEN, USERS, serve  # noqa: E402
from tests.e2e.test_sweep_slack import AT, run_sweep, sent_dms  # noqa: E402
from tests.fakes import FakeSlack  # noqa: E402
from tests.fakes import slack_requests as sr  # noqa: E402
from tests.overdue import org_file, seed  # noqa: E402
from tests.pg import find_postgres, throwaway_database  # noqa: E402
from tests.serving import cli  # noqa: E402

Result = tuple[str, bool]  # the line of figures, and whether the goal was met


# ---------------------------------------------------------------------- the database away


async def db_outage(args, tmp: Path) -> Result:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp / "outage.db") as srv,
    ):
        if True:  # one block for the whole scenario
            signals, commands, buttons = [], [], []
            away = DatabaseAway(srv)
            away.__enter__()
            began = time.monotonic()
            n = 0
            while time.monotonic() - began < args.outage:
                n += 1
                event = signal_event(n)
                signals.append(event)
                assert (await srv.event(event))[0] == 200
                if n % 3 == 0:
                    key = f"cmd{n}"
                    commands.append(key)
                    assert (await srv.slash("mine", user=PAT, key=key))[0] == 200
                if n % 3 == 1:
                    key = f"btn{n}"
                    buttons.append(key)
                    press = sr.block_action_payload(
                        "commitment.done",
                        json.dumps({"id": 1}),
                        user_id=PAT,
                        message={"ts": sr.new_ts(), "text": "x", "blocks": []},
                        response_url=fake.response_url(key),
                    )
                    assert (await srv.interact(press))[0] == 200
                await asyncio.sleep(1.0)
            offered_during = len([c for c in fake.calls_to("chat.postMessage") if c.ok])
            await asyncio.sleep(1.0)
            away.__exit__()
            spooled = srv.app.spool.waiting()
            wanted = {thread_of(e) for e in signals}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got = Counter(
                    (c.response["channel"], c.payload.get("thread_ts"))
                    for c in fake.calls_to("chat.postMessage")
                    if c.ok
                )
                if wanted <= set(got):
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(2.0)
            got = Counter(
                (c.response["channel"], c.payload.get("thread_ts"))
                for c in fake.calls_to("chat.postMessage")
                if c.ok
            )
            answered = {c.path.rsplit("/", 1)[-1] for c in fake.calls_to("response_url")}
            refused = sum(
                1 for c in fake.calls_to("response_url") if COULD_NOT_SAVE in str(c.payload)
            )
    lost_signals = len(wanted - set(got))
    doubled = sum(1 for n in got.values() if n > 1)
    lost_acts = len(set(commands + buttons) - answered)
    line = (
        f"db-outage {args.outage:g} s: {len(signals)} signals, {len(commands)} commands, "
        f"{len(buttons)} buttons; commands+buttons answered {len(answered)} "
        f"({refused} with 'couldn't save'), lost {lost_acts}; signals offered during the "
        f"outage {offered_during}, spooled at its end {spooled}, lost {lost_signals}, "
        f"doubled {doubled}"
    )
    return line, lost_acts == 0 and lost_signals == 0 and doubled == 0


# ---------------------------------------------------------------------- sweeps on SQLite


async def sqlite_sweeps(args, tmp: Path) -> Result:
    url = f"sqlite:///{tmp / 'sweeps.db'}"
    config = org_file(tmp, args.owners)
    seed(url, config, args.owners)
    async with FakeSlack(bot_token="xoxb-test") as fake:
        fake.fail("chat.postMessage", status=500, retry_after=None, times=10**6)
        await run_sweep(url, config, fake)  # every digest fails and is kept
        fake.reset()
        results = await asyncio.gather(run_sweep(url, config, fake), run_sweep(url, config, fake))
        dms = Counter(sent_dms(fake))
    twice = sum(1 for n in dms.values() if n > 1)
    missing = args.owners - len(dms)
    codes = [code for code, _ in results]
    line = (
        f"sqlite-sweeps: {args.owners} failed digests, two sweeps retrying at once (exit "
        f"{codes}): {len(dms)} owners got one, {twice} got two, {missing} got none"
    )
    return line, twice == 0 and missing == 0


# ---------------------------------------------------------------------- a sweep killed


async def killed_sweep(args, tmp: Path) -> Result:
    url = f"sqlite:///{tmp / 'killed.db'}"
    config = org_file(tmp, args.stranded)
    seed(url, config, args.stranded)
    async with ShakySlack(bot_token="xoxb-test") as fake:
        fake.delays["chat.postMessage"] = 0.05
        process = await asyncio.create_subprocess_exec(
            *cli(), "sweep", "--at", AT,
            env=cli_env(url, config, fake.base_url, "xoxb-test"), cwd=tmp,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        while len(sent_dms(fake)) < args.stranded // 10:
            await asyncio.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await asyncio.sleep(0.5)
        before = len(sent_dms(fake))
        fake.delays["chat.postMessage"] = 0.0
        later = (dt.datetime.fromisoformat(AT) + dt.timedelta(minutes=15)).isoformat()
        started = time.monotonic()
        code, _ = await run_sweep_at(url, config, fake, later)
        took = time.monotonic() - started
        after = len(sent_dms(fake)) - before
        _, last = await run_sweep_at(
            url, config, fake, (dt.datetime.fromisoformat(later) + dt.timedelta(minutes=15))
        )
        dms = Counter(sent_dms(fake))
    twice = sum(1 for n in dms.values() if n > 1)
    missing = args.stranded - len(dms)
    line = (
        f"killed-sweep: {args.stranded} digests, sweep SIGKILLed after {before} posts; the next "
        f"sweep sent {after} in {took:.1f} s (exit {code}); one more found "
        f"{'nothing' if 'Nothing is due.' in last else 'more'}; {missing} never sent, "
        f"{twice} sent twice"
    )
    return line, missing == 0 and "Nothing is due." in last


async def run_sweep_at(url: str, config: Path, fake: FakeSlack, at) -> tuple[int, str]:
    at = at.isoformat() if isinstance(at, dt.datetime) else at
    process = await asyncio.create_subprocess_exec(
        *cli(), "sweep", "--at", at,
        env=cli_env(url, config, fake.base_url, fake.bot_token), cwd=config.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 600)
    return process.returncode, out.decode()


# ---------------------------------------------------------------------- 240 newcomers


async def first_users(args, tmp: Path) -> Result:
    base, why = find_postgres()
    if not base:
        return f"first-users: skipped ({why})", True
    with throwaway_database(base, "liaison_bench_newcomers") as url:
        async with FakeSlack(bot_token=TOKEN, users=NEWCOMERS) as fake, serve_on(fake, url) as srv:
            started = time.monotonic()
            statuses = await asyncio.gather(
                *(srv.slash("mine", user=user, key=user) for user in NEWCOMERS)
            )
            deadline = time.monotonic() + 120
            while len(fake.calls_to("response_url")) < len(NEWCOMERS):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            took = time.monotonic() - started
            await asyncio.sleep(0.5)
            answers = fake.calls_to("response_url")
    sorry = sum(1 for c in answers if "Sorry, something went wrong" in str(c.payload))
    who = {c.path.rsplit("/", 1)[-1] for c in answers}
    acked = sum(1 for status, _ in statuses if status == 200)
    line = (
        f"first-users: {len(NEWCOMERS)} first commands at once on PostgreSQL: {acked} "
        f"acknowledged, {len(who)} answered in {took:.1f} s, {sorry} apologies"
    )
    return line, len(who) == len(NEWCOMERS) and sorry == 0


# ---------------------------------------------------------------------- Slack down


async def slack_down(args, tmp: Path) -> Result:
    async with (
        ShakySlack(bot_token="xoxb-faults", users=FAULT_USERS) as fake,
        serve_process(fake, f"sqlite:///{tmp / 'down.db'}", tmp) as server,
    ):
        fake.storm(args.slack_down, methods=("chat.postMessage",), statuses=(500, 503))
        began = time.monotonic()
        events = []
        n = 0
        while time.monotonic() - began < args.slack_down:
            n += 1
            event = signal_event(n)
            events.append(event)
            await server.post(sr.event_body(event))
            await asyncio.sleep(2.0)
        posts = [a for a in fake.arrivals if a.method == "chat.postMessage"]
        during = len([a for a in posts if a.at < began + args.slack_down])
        wanted = {thread_of(e) for e in events}
        deadline = time.monotonic() + 180  # the retries' pauses reach a minute
        while time.monotonic() < deadline:
            got = Counter(
                (c.response["channel"], c.payload.get("thread_ts"))
                for c in fake.calls_to("chat.postMessage")
                if c.ok
            )
            if wanted <= set(got):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)
        got = Counter(
            (c.response["channel"], c.payload.get("thread_ts"))
            for c in fake.calls_to("chat.postMessage")
            if c.ok
        )
        log = server.log.read_text(encoding="utf-8", errors="replace")
    with sqlite3.connect(tmp / "down.db") as db:
        (kept,) = db.execute("SELECT count(*) FROM ledger WHERE kind = 'deferred'").fetchone()
    opened = log.count("circuit breaker open")
    missing = len(wanted - set(got))
    doubled = sum(1 for n in got.values() if n > 1)
    line = (
        f"slack-down {args.slack_down:g} s: {len(events)} signals; {during} posts reached "
        f"Slack while it was down; breaker opened {opened}x; offered in their thread "
        f"{len(wanted) - missing}, kept for the sweeps (a DM) {kept}, lost "
        f"{max(0, missing - kept)}, doubled {doubled}"
    )
    return line, doubled == 0 and missing <= kept


FAULT_USERS = {
    f"U0FAULT{n}": {"name": f"person{n}", "tz": "America/Chicago", "profile": {}} for n in range(6)
}

SCENARIOS: dict[str, Callable[..., Awaitable[Result]]] = {
    "db-outage": db_outage,
    "sqlite-sweeps": sqlite_sweeps,
    "killed-sweep": killed_sweep,
    "first-users": first_users,
    "slack-down": slack_down,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], default=[])
    parser.add_argument("--outage", type=float, default=150.0)
    parser.add_argument("--slack-down", type=float, default=150.0)
    parser.add_argument("--owners", type=int, default=300)
    parser.add_argument("--stranded", type=int, default=1500)
    args = parser.parse_args()
    ok = True
    for name in args.scenarios or list(SCENARIOS):
        with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as tmp:
            started = time.monotonic()
            line, met = asyncio.run(SCENARIOS[name](args, Path(tmp)))
        print(f"{'ok  ' if met else 'MISS'} {line} [{time.monotonic() - started:.0f} s]")
        ok = ok and met
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
