"""Idle memory of the server with Slack only, next to a bare Bolt app: the resident set size
of each (the servers bench/slack_ack.py starts, against a fake Slack) once started and idle.

The goal (issue 14): at most 1.5x bare Bolt's. Linux only (reads /proc). Run from the
repository root: ``python bench/idle_rss.py``.

Our server is measured twice: on its first start, which migrates a new database (Alembic
stays loaded), and on a restart against that database, the usual idle state, which needs no
Alembic. Neither has read a message yet: numpy and the signal model load with the first one
(the figure after one signal is printed too).

It also times `liaison-bot --help` as a whole process (the fastest of 15 runs, taking turns
with `python -c pass`, the interpreter's own start-up, in the same run; goal under 0.2 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from slack_ack import SECRET, SIGNAL, TOKEN, USERS, server_process

from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr

GOAL = 1.5
HELP_GOAL = 0.2


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def measure() -> int:
    found = {}
    async with FakeSlack(bot_token=TOKEN, users=USERS) as fake:
        with tempfile.TemporaryDirectory() as workdir:
            for name, kind in (("first", "ours"), ("ours", "ours"), ("bolt", "bolt")):
                async with contextlib.AsyncExitStack() as stack:
                    server = await stack.enter_async_context(
                        server_process(kind, fake.base_url, workdir)
                    )
                    await asyncio.sleep(3)  # started, connected, idle
                    found[name] = rss_mib(server.process.pid)
                    if name == "ours":
                        await read_one_signal(server.port)
                        found["read"] = rss_mib(server.process.pid)
    ratio = found["ours"] / found["bolt"]
    print(
        f"idle RSS: serve with Slack only {found['ours']:.1f} MiB, bare Bolt "
        f"{found['bolt']:.1f} MiB: {ratio:.2f}x (goal at most {GOAL}x: "
        f"{'met' if ratio <= GOAL else 'NOT met'}); on its first start (migrating a new "
        f"database) {found['first']:.1f} MiB ({found['first'] / found['bolt']:.2f}x), after "
        f"one signal {found['read']:.1f} MiB ({found['read'] / found['bolt']:.2f}x)"
    )
    return 0


def help_seconds(runs: int = 15) -> None:
    """`liaison-bot --help` beside `python -c pass`, taking turns, the fastest of each."""
    script = Path(sys.executable).parent / "liaison-bot"  # the console script, as people run it
    commands = {
        "help": [str(script), "--help"]
        if script.exists()
        else [sys.executable, "-m", "bot", "--help"],
        "python": [sys.executable, "-c", "pass"],
    }
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(runs):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            best[name] = min(best[name], time.perf_counter() - started)
    print(
        f"liaison-bot --help: {best['help'] * 1000:.0f} ms, python -c pass "
        f"{best['python'] * 1000:.0f} ms (fastest of {runs}; goal under "
        f"{HELP_GOAL * 1000:.0f} ms: {'met' if best['help'] < HELP_GOAL else 'NOT met'})"
    )


async def read_one_signal(port: int) -> None:
    """One signed channel message with a signal, and a moment for the work after the ack."""
    import aiohttp

    body = sr.event_body(sr.message_event(f"{SIGNAL} (rss)", user="U0USER1"))
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{port}/slack/events"
        async with http.post(url, data=body, headers=sr.headers(SECRET, body)) as reply:
            assert reply.status == 200, reply.status
    await asyncio.sleep(2)


if __name__ == "__main__":
    help_seconds()
    sys.exit(asyncio.run(measure()))
