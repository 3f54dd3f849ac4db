"""A mixed load on POST /slack/events: 95% chatter, 4% signals, 1% commands at 200 events/s,
with a liaison asking `/commitments stuck` every 2 seconds over a table of --commitments
commitments; acknowledgement p50/p99 per path.

The goals (issue 14): chatter and signals acknowledged with p99 under 20 ms while the liaison
lists. Run from the repository root: ``python bench/mixed.py [--seconds 20]``. The server is
the one bench/slack_ack.py starts (its own process, a fake Slack), on a SQLite file filled
first with bench/listing.py's rows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import slack_ack
from listing import NOW, ROOT, populate
from slack_ack import SECRET, TOKEN, Connection, body_for, server_process

from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr

LIAISON = "U0SAMRIVRA"  # sam, the liaison of two units in liaison.example.toml
GOAL_MS = 20.0
USERS = {
    **slack_ack.USERS,
    LIAISON: {
        "id": LIAISON,
        "name": "sam",
        "real_name": "Sam Rivera",
        "tz": "America/Chicago",
        "profile": {"email": "sam.rivera@riverton.example", "real_name": "Sam Rivera"},
    },
}


def request(body: str, port: int) -> bytes:
    encoded = body.encode()
    head = [
        "POST /slack/events HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Length: {len(encoded)}",
        *(f"{k}: {v}" for k, v in sr.headers(SECRET, body).items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + encoded


def schedule(
    rate: float, seconds: float, every: float, port: int
) -> list[tuple[float, str, bytes]]:
    """(when, path, request): the mix in random order, and the liaison's `stuck` on time."""
    rng = random.Random(14)
    found = []
    for n in range(int(rate * seconds)):
        draw = rng.random()
        path = "chatter" if draw < 0.95 else "signal" if draw < 0.99 else "slash"
        found.append((n / rate, path, request(body_for(path, n), port)))
    stuck = sr.slash_body(
        "/commitments", "stuck", user_id=LIAISON, response_url=slack_ack.RESPONSE_URL[0]
    )
    found += [(t * every, "stuck", request(stuck, port)) for t in range(int(seconds / every))]
    return sorted(found, key=lambda row: row[0])


async def run(port: int, plan: list[tuple[float, str, bytes]]) -> dict[str, list[float]]:
    idle = [await Connection.open(port) for _ in range(16)]
    opened = list(idle)
    latencies: dict[str, list[float]] = {}

    async def one(path: str, body: bytes) -> None:
        connection = idle.pop() if idle else None
        if connection is None:
            connection = await Connection.open(port)
            opened.append(connection)
        try:
            latencies.setdefault(path, []).append(await connection.send(body))
        finally:
            idle.append(connection)

    try:
        start = time.perf_counter()
        tasks = []
        for when, path, body in plan:
            delay = start + when - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(path, body)))
        await asyncio.gather(*tasks)
    finally:
        for connection in opened:
            connection.close()
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


async def measure(args) -> int:
    with tempfile.TemporaryDirectory() as workdir:
        from handlers.core import Liaison
        from handlers.org import load_organisation
        from handlers.playbooks import load_catalogue
        from storage.db import make_engine, upgrade

        engine = make_engine(f"sqlite:///{workdir}/bench.db")
        upgrade(engine)
        org = load_organisation(ROOT / "liaison.example.toml")
        bot = Liaison(engine=engine, org=org, catalogue=load_catalogue(org), clock=lambda: NOW)
        populate(bot, args.commitments)
        engine.dispose()
        async with contextlib.AsyncExitStack() as stack:
            fake = await stack.enter_async_context(FakeSlack(bot_token=TOKEN, users=USERS))
            slack_ack.RESPONSE_URL[0] = fake.response_url()
            server = await stack.enter_async_context(server_process("ours", fake.base_url, workdir))
            warm = schedule(args.rate, 2, args.every, server.port)
            await run(server.port, warm)
            latencies = await run(
                server.port, schedule(args.rate, args.seconds, args.every, server.port)
            )
    print(
        f"mixed load at {args.rate:g} events/s for {args.seconds:g} s over {args.commitments:,} "
        f"commitments, `stuck` every {args.every:g} s:"
    )
    met = True
    for path in ("chatter", "signal", "slash", "stuck"):
        found = latencies.get(path, [])
        if not found:
            continue
        p50, p99 = statistics.median(found) * 1000, percentile(found, 99)
        goal = f"goal p99 < {GOAL_MS:.0f} ms: {'ok' if p99 < GOAL_MS else 'OVER'}"
        if path in ("chatter", "signal"):
            met &= p99 < GOAL_MS
        print(
            f"  {path:8} {len(found):6} events  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  "
            + (goal if path in ("chatter", "signal") else "")
        )
    print(f"goals {'met' if met else 'NOT met'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between `stuck`s")
    parser.add_argument("--commitments", type=int, default=100_000)
    return asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
