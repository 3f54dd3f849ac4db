"""How fast POST /slack/events is acknowledged: our server next to a bare Bolt app.

Run from the repository root: ``python bench/slack_ack.py``. Both servers run in their own
process on 127.0.0.1, through the same aiohttp adapter, with their Web API client pointed at a
fake Slack (Bolt calls auth.test once). This process sends them really signed Events API
callbacks for everyday, non-signal channel messages (the common case: most chat is not a
signal) and measures, for each server:

- throughput: events per second with a fixed number of requests in flight, and the server's
  own CPU time per event (a steadier figure than wall-clock throughput on a shared machine);
- acknowledgement latency (p50/p90/p99) in that closed loop;
- p99 acknowledgement at a paced 200 events per second.

The load comes from a lean HTTP/1.1 keep-alive client on raw asyncio streams, which costs far
less per request than the servers it measures, so that the servers, not the client, set the
pace.

The bare Bolt app is an AsyncApp with a no-op ``message`` listener. Both servers stay up and
take turns, so a busy neighbour on the machine hurts both alike; the table shows medians.
It prints a small table and exits 0; the goal (at least 1.0 of bare Bolt's
throughput, p99 under 50 ms at 200 events per second) is reported, not enforced, because the
figures depend on the machine. ``--profile DIR`` writes each server's cProfile statistics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatter import CHATTER, plain  # noqa: E402  (bench/, the folder of this script)

from tests.fakes import FakeSlack  # noqa: E402
from tests.fakes import slack_requests as sr  # noqa: E402
from tests.fakes.slack_api import STARTUP_METHODS  # noqa: E402

TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret"


# Servers (each runs in its own process)


async def serve(kind: str, api_url: str, workdir: str, profile: str | None = None) -> None:
    from aiohttp import web

    if kind == "ours":
        from bot.bootstrap import bootstrap
        from bot.config import load_settings
        from bot.server import build_web_app

        settings = load_settings(
            {
                "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
                "LIAISON_CONFIG": str(ROOT / "liaison.example.toml"),
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": api_url,
            },
            dotenv_path=None,
        )
        web_app = build_web_app(bootstrap(settings), scheduler=False)
    else:
        from slack_bolt.async_app import AsyncApp
        from slack_sdk.web.async_client import AsyncWebClient

        bolt = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token=TOKEN, base_url=api_url))

        @bolt.event("message")
        async def noop() -> None:
            return None

        web_app = bolt.web_app(path="/slack/events")
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(runner.addresses[0][1], flush=True)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    loop = asyncio.get_running_loop()
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        if line == "start" and profiler is not None:  # profile the measured part only
            profiler.enable()
        print(time.process_time(), flush=True)  # the CPU this server has used so far
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    await runner.cleanup()


@dataclass
class ServerProcess:
    port: int
    process: asyncio.subprocess.Process

    async def cpu(self, command: str = "cpu") -> float:
        """The server's CPU seconds so far (`start` also starts its profiler, if any)."""
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        return float(await asyncio.wait_for(self.process.stdout.readline(), 10))


@contextlib.asynccontextmanager
async def server_process(kind: str, api_url: str, workdir: str, profile: str | None = None):
    extra = ["--profile", profile] if profile else []
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        kind,
        "--api-url",
        api_url,
        "--workdir",
        workdir,
        *extra,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        yield ServerProcess(int(line), process)
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


# Load: a lean HTTP/1.1 keep-alive client on raw asyncio streams, so that the load generator
# costs far less per request than the servers it measures (an aiohttp client costs about as
# much as an aiohttp server, and would be measured instead of them).


def signed_requests(count: int, port: int) -> list[bytes]:
    """Whole HTTP requests, signed now (Slack allows five minutes), ready to write."""
    requests = []
    for n in range(count):
        text = f"{plain(CHATTER[n % len(CHATTER)])} ({n})"
        body = sr.event_body(sr.message_event(text, user=f"U0USER{n % 50}")).encode()
        head = [
            "POST /slack/events HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in sr.headers(SECRET, body.decode()).items()),
        ]
        requests.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return requests


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, request: bytes) -> float:
        """One request and its whole response; the seconds it took."""
        started = time.perf_counter()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            status = head.split(b"\r\n", 1)[0].decode()
            raise RuntimeError(f"answered {status}")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await self.reader.readexactly(length)
        return time.perf_counter() - started

    def close(self) -> None:
        self.writer.close()


async def closed_loop(
    server: ServerProcess, count: int, concurrency: int
) -> tuple[float, float, list[float]]:
    """Events per second with `concurrency` requests in flight, the server's CPU
    microseconds per event, and every latency."""
    queue = list(reversed(signed_requests(count, server.port)))
    warm_up = signed_requests(concurrency * 4, server.port)
    latencies: list[float] = []
    connections = [await Connection.open(server.port) for _ in range(concurrency)]

    async def worker(connection: Connection, work: list[bytes], out: list[float]) -> None:
        while work:
            out.append(await connection.send(work.pop()))

    try:
        await asyncio.gather(*(worker(c, warm_up, []) for c in connections))
        cpu = await server.cpu("start")
        started = time.perf_counter()
        await asyncio.gather(*(worker(c, queue, latencies) for c in connections))
        elapsed = time.perf_counter() - started
        cpu = await server.cpu() - cpu
    finally:
        for connection in connections:
            connection.close()
    return len(latencies) / elapsed, cpu / len(latencies) * 1e6, latencies


async def paced(server: ServerProcess, rate: float, seconds: float) -> list[float]:
    """Latencies of requests sent on a fixed schedule of `rate` per second."""
    requests = signed_requests(int(rate * seconds), server.port)
    idle = [await Connection.open(server.port) for _ in range(8)]
    opened = list(idle)

    async def one(request: bytes) -> float:
        connection = idle.pop() if idle else None
        if connection is None:
            connection = await Connection.open(server.port)
            opened.append(connection)
        try:
            return await connection.send(request)
        finally:
            idle.append(connection)

    try:
        for request in signed_requests(50, server.port):  # warm up
            await one(request)
        start = time.perf_counter()
        tasks = []
        for n, request in enumerate(requests):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(request)))
        return list(await asyncio.gather(*tasks))
    finally:
        for connection in opened:
            connection.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Run:
    server: str
    rps: float
    cpu_us: float
    latencies: list[float]


def _ms(values: list[float], p: float) -> float:
    return percentile(values, p) * 1000


async def measure(args) -> int:
    runs: list[Run] = []
    paced_p99: dict[str, float] = {}
    async with FakeSlack(bot_token=TOKEN) as fake, contextlib.AsyncExitStack() as stack:
        workdir = stack.enter_context(tempfile.TemporaryDirectory())
        servers = {}
        for kind in ("ours", "bolt"):
            profile = f"{args.profile}/{kind}.prof" if args.profile else None
            servers[kind] = await stack.enter_async_context(
                server_process(kind, fake.base_url, workdir, profile)
            )
        for round_ in range(args.rounds):  # take turns, first one then the other
            for kind in ("ours", "bolt") if round_ % 2 == 0 else ("bolt", "ours"):
                rps, cpu_us, lat = await closed_loop(servers[kind], args.requests, args.concurrency)
                runs.append(Run(kind, rps, cpu_us, lat))
        for kind in ("ours", "bolt"):
            paced_p99[kind] = _ms(await paced(servers[kind], args.rate, args.seconds), 99)
        # Only auth.test should have reached Slack: non-signal chat makes no API call.
        other = {c.method for c in fake.calls} - STARTUP_METHODS  # what start-up asks, once

    def median(kind: str, field: str) -> float:
        return statistics.median(getattr(r, field) for r in runs if r.server == kind)

    print(
        f"POST /slack/events, non-signal messages: {args.rounds} rounds of {args.requests} "
        f"requests, {args.concurrency} in flight (medians); then {args.rate:g}/s for "
        f"{args.seconds:g} s"
    )
    header = ("server", "events/s", "CPU µs/ev", "p50 ms", "p90 ms", "p99 ms", "p99@rate")
    print(f"{header[0]:<10}" + "".join(f"{h:>10}" for h in header[1:]))
    for kind, label in (("ours", "ours"), ("bolt", "bare Bolt")):
        latencies = [x for r in runs if r.server == kind for x in r.latencies]
        figures = (
            f"{median(kind, 'rps'):>10.0f}",
            f"{median(kind, 'cpu_us'):>10.0f}",
            *(f"{_ms(latencies, p):>10.2f}" for p in (50, 90, 99)),
            f"{paced_p99[kind]:>10.2f}",
        )
        print(f"{label:<10}" + "".join(figures))
    ratio = median("ours", "rps") / median("bolt", "rps")
    cpu_ratio = median("bolt", "cpu_us") / median("ours", "cpu_us")
    goal = ratio >= 1.0 and paced_p99["ours"] < 50
    print(
        f"throughput ours/bare Bolt {ratio:.2f} (by server CPU per event {cpu_ratio:.2f}); "
        f"goal >= 1.0 and p99 < 50 ms at {args.rate:g}/s ({paced_p99['ours']:.1f} ms): "
        f"{'met' if goal else 'NOT met'}"
    )
    if other:
        print(f"warning: non-signal messages reached the Web API: {sorted(other)}")
    if args.json:
        rows = [{"server": r.server, "rps": r.rps, "cpu_us": r.cpu_us} for r in runs]
        print(json.dumps({"runs": rows, "paced_p99_ms": paced_p99}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="also print every round as JSON")
    parser.add_argument("--profile", metavar="DIR", help="write each server's cProfile stats")
    parser.add_argument("--serve", choices=("ours", "bolt"), help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.api_url, args.workdir, args.profile))
        return 0
    return asyncio.run(measure(args))


if __name__ == "__main__":
    sys.exit(main())
