"""Idle memory of the server with Slack only, next to a bare Bolt app: the resident set size
of each (the servers bench/slack_ack.py starts, against a fake Slack) once started and idle.

The goal (issue 14): at most 1.5x bare Bolt's. Linux only (reads /proc). Run from the
repository root: ``python bench/idle_rss.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from slack_ack import TOKEN, USERS, server_process

from tests.fakes import FakeSlack

GOAL = 1.5


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def measure() -> int:
    found = {}
    async with FakeSlack(bot_token=TOKEN, users=USERS) as fake:
        with tempfile.TemporaryDirectory() as workdir:
            for kind in ("ours", "bolt"):
                async with contextlib.AsyncExitStack() as stack:
                    server = await stack.enter_async_context(
                        server_process(kind, fake.base_url, workdir)
                    )
                    await asyncio.sleep(3)  # started, connected, idle
                    found[kind] = rss_mib(server.process.pid)
    ratio = found["ours"] / found["bolt"]
    print(
        f"idle RSS: serve with Slack only {found['ours']:.1f} MiB, bare Bolt "
        f"{found['bolt']:.1f} MiB: {ratio:.2f}x (goal at most {GOAL}x: "
        f"{'met' if ratio <= GOAL else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(measure()))
