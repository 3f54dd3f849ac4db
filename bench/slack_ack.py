"""How fast POST /slack/events is acknowledged: our server next to a bare Bolt app.

Run from the repository root: ``python bench/slack_ack.py``. Both servers run in their own
process on 127.0.0.1, through the same aiohttp adapter, with their Web API client pointed at a
fake Slack (Bolt calls auth.test once). This process sends them really signed Events API
callbacks on every path people use: everyday chatter (most chat is not a signal), channel
messages with a signal, DMs to the bot, `/commitments mine` and a press of an offer's "Not now"
(its value sealed as the bot seals it, so the press is acted on, not refused); and measures,
for each path and each server:

- throughput: events per second with a fixed number of requests in flight, and the server's
  own CPU time per event (a steadier figure than wall-clock throughput on a shared machine),
  counted once the work after the acknowledgements has finished (our server's backlog is
  empty, and the fake Slack has taken no call for half a second);
- "ratio": our acknowledgements per second over bare Bolt's (what Slack sees; the work after
  an acknowledgement waits in the backlog meanwhile), and "per CPU": bare Bolt's CPU per event
  over ours, the share of bare Bolt's rate one process sustains once that work is counted;
- acknowledgement latency (p50/p90/p99) in that closed loop;
- p99 acknowledgement at a paced 200 events per second, for chatter and for signals.

The load comes from a lean HTTP/1.1 keep-alive client on raw asyncio streams, which costs far
less per request than the servers it measures, so that the servers, not the client, set the
pace.

The bare Bolt app is an AsyncApp with a no-op ``message`` listener, and a command and an
action listener that only acknowledge. Both servers stay up and
take turns, so a busy neighbour on the machine hurts both alike; the table shows medians.
It prints a small table and exits 0; the goal (at least 1.0 of bare Bolt's
throughput for chatter, 0.5 for the other paths, p99 under 50 ms for chatter and 20 ms for
signals at 200 events per second) is reported, not enforced, because the
figures depend on the machine. ``--profile DIR`` writes each server's cProfile statistics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatter import CHATTER, plain  # noqa: E402  (bench/, the folder of this script)

from bot.channels.sealing import seal, use_state_secret  # noqa: E402
from tests.fakes import FakeSlack  # noqa: E402
from tests.fakes import slack_requests as sr  # noqa: E402
from tests.fakes.slack_api import STARTUP_METHODS  # noqa: E402

TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret"


# Servers (each runs in its own process)


async def serve(kind: str, api_url: str, workdir: str, profile: str | None = None) -> None:
    from aiohttp import web

    ours = None
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
        ours = bootstrap(settings)
        web_app = build_web_app(ours, scheduler=False)
    else:
        from slack_bolt.async_app import AsyncApp
        from slack_sdk.web.async_client import AsyncWebClient

        bolt = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token=TOKEN, base_url=api_url))

        @bolt.event("message")
        async def noop() -> None:
            return None

        @bolt.command("/commitments")
        async def command(ack) -> None:
            await ack()

        @bolt.action(re.compile(".*"))
        async def pressed(ack) -> None:
            await ack()

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
        while ours is not None and ours.in_flight.pending():  # the work after the acks first
            await asyncio.sleep(0.01)
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
        return float(await asyncio.wait_for(self.process.stdout.readline(), 60))


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


SETTLE = 0.5  # the work after the acknowledgements is done once Slack hears nothing this long
SETTLE_AT_MOST = 60.0
SIGNAL = "We're moving the finance team to a new building in ten months"
USERS = {  # the people writing: Slack knows them, so users.info answers once for each
    f"U0USER{n}": {
        "id": f"U0USER{n}",
        "name": f"user{n}",
        "real_name": f"User {n}",
        "tz": "America/Chicago",
        "profile": {"real_name": f"User {n}", "display_name": f"user{n}"},
    }
    for n in range(50)
}
RESPONSE_URL = [None]  # the fake Slack's response_url, once it runs
PATHS = ("chatter", "signal", "dm", "slash", "button")
PACED = {"chatter": 50.0, "signal": 20.0}  # paced at --rate: the goal for each p99, in ms


def body_for(path: str, n: int) -> str:
    """One request body of a path: everyday chatter, a channel message with a signal, a DM,
    `/commitments mine`, or a press of an offer's "Not now" (sealed as the bot seals it)."""
    user = f"U0USER{n % 50}"
    if path == "chatter":
        return sr.event_body(
            sr.message_event(f"{plain(CHATTER[n % len(CHATTER)])} ({n})", user=user)
        )
    if path == "signal":
        return sr.event_body(sr.message_event(f"{SIGNAL} ({n})", user=user))
    if path == "dm":
        event = sr.message_event(
            f"hello there ({n})", user=user, channel="D0DM1", channel_type="im"
        )
        return sr.event_body(event)
    if path == "slash":
        return sr.slash_body("/commitments", "mine", user_id=user, response_url=RESPONSE_URL[0])
    value = {"mid": f"1700000000.{n:06d}", "kind": "office_move", "excerpt": SIGNAL}
    sealed = seal(json.dumps(value, separators=(",", ":")), "offer.later")
    payload = sr.block_action_payload(
        "offer.later", sealed, user_id=user, response_url=RESPONSE_URL[0]
    )
    return sr.interaction_body(payload)


def signed_requests(count: int, port: int, path: str = "chatter") -> list[bytes]:
    """Whole HTTP requests, signed now (Slack allows five minutes), ready to write."""
    requests = []
    for n in range(count):
        body = body_for(path, n).encode()
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


async def settled(fake: FakeSlack) -> None:
    """Wait until the work after the acknowledgements is done: Slack has heard nothing for
    `SETTLE` seconds (at most `SETTLE_AT_MOST`)."""
    deadline = time.perf_counter() + SETTLE_AT_MOST
    seen = -1
    while len(fake.calls) != seen and time.perf_counter() < deadline:
        seen = len(fake.calls)
        await asyncio.sleep(SETTLE)


async def closed_loop(
    server: ServerProcess,
    count: int,
    concurrency: int,
    path: str = "chatter",
    fake: FakeSlack | None = None,
) -> tuple[float, float, list[float]]:
    """Events per second with `concurrency` requests in flight, the server's CPU
    microseconds per event (what runs after the acknowledgement too, once it settles), and
    every latency."""
    queue = list(reversed(signed_requests(count, server.port, path)))
    warm_up = signed_requests(concurrency * 4, server.port, path)
    latencies: list[float] = []
    connections = [await Connection.open(server.port) for _ in range(concurrency)]

    async def worker(connection: Connection, work: list[bytes], out: list[float]) -> None:
        while work:
            out.append(await connection.send(work.pop()))

    try:
        await asyncio.gather(*(worker(c, warm_up, []) for c in connections))
        if fake is not None:
            await settled(fake)  # the warm-up's own work is not counted
        cpu = await server.cpu("start")
        started = time.perf_counter()
        await asyncio.gather(*(worker(c, queue, latencies) for c in connections))
        elapsed = time.perf_counter() - started
        if fake is not None and path != "chatter":
            await settled(fake)  # the work after the acknowledgements finishes
        cpu = await server.cpu() - cpu
    finally:
        for connection in connections:
            connection.close()
    return len(latencies) / elapsed, cpu / len(latencies) * 1e6, latencies


async def paced(
    server: ServerProcess, rate: float, seconds: float, path: str = "chatter"
) -> list[float]:
    """Latencies of requests of a path sent on a fixed schedule of `rate` per second."""
    requests = signed_requests(int(rate * seconds), server.port, path)
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
        for request in signed_requests(50, server.port, path):  # warm up
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
    paced_p99: dict[tuple[str, str], float] = {}
    paths = [p for p in args.paths.split(",") if p]
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        contextlib.AsyncExitStack() as stack,
    ):
        workdir = stack.enter_context(tempfile.TemporaryDirectory())
        RESPONSE_URL[0] = fake.response_url()
        use_state_secret(SECRET)  # what the server signs button values with (no state secret)
        servers = {}
        for kind in ("ours", "bolt"):
            profile = f"{args.profile}/{kind}.prof" if args.profile else None
            servers[kind] = await stack.enter_async_context(
                server_process(kind, fake.base_url, workdir, profile)
            )
        for path in paths:
            count = args.requests if path == "chatter" else args.path_requests
            for round_ in range(args.rounds):  # take turns, first one then the other
                for kind in ("ours", "bolt") if round_ % 2 == 0 else ("bolt", "ours"):
                    rps, cpu_us, lat = await closed_loop(
                        servers[kind], count, args.concurrency, path, fake
                    )
                    runs.append(Run(f"{kind}:{path}", rps, cpu_us, lat))
            if path == "chatter":
                other = {c.method for c in fake.calls} - STARTUP_METHODS
        for path in PACED:
            for kind in ("ours", "bolt"):
                latencies = await paced(servers[kind], args.rate, args.seconds, path)
                paced_p99[kind, path] = _ms(latencies, 99)
                await settled(fake)

    def median(kind: str, field: str) -> float:
        return statistics.median(getattr(r, field) for r in runs if r.server == kind)

    print(
        f"POST /slack/events: {args.rounds} rounds per path, {args.concurrency} in flight "
        f"(medians); then chatter, and then signals, at {args.rate:g}/s for {args.seconds:g} s"
    )
    header = (
        "path",
        "server",
        "events/s",
        "CPU µs/ev",
        "p50 ms",
        "p99 ms",
        "ratio",
        "goal",
        "per CPU",
    )
    print(f"{header[0]:<9}{header[1]:<11}" + "".join(f"{h:>10}" for h in header[2:]))
    met = True
    for path in paths:
        ratio = median(f"ours:{path}", "rps") / median(f"bolt:{path}", "rps")
        # Events a CPU second handles, ours over bare Bolt's: what one process sustains once
        # the work after the acknowledgements (kept in the backlog meanwhile) is counted too.
        sustained = median(f"bolt:{path}", "cpu_us") / median(f"ours:{path}", "cpu_us")
        goal = 1.0 if path == "chatter" else 0.5
        met &= ratio >= goal
        for kind, label in (("ours", "ours"), ("bolt", "bare Bolt")):
            latencies = [x for r in runs if r.server == f"{kind}:{path}" for x in r.latencies]
            figures = (
                f"{median(f'{kind}:{path}', 'rps'):>10.0f}",
                f"{median(f'{kind}:{path}', 'cpu_us'):>10.0f}",
                *(f"{_ms(latencies, p):>10.2f}" for p in (50, 99)),
                f"{ratio:>10.2f}" if kind == "ours" else "",
                f"{'>= ' + format(goal, '.1f'):>10}" if kind == "ours" else "",
                f"{sustained:>10.2f}" if kind == "ours" else "",
            )
            print(f"{path:<9}{label:<11}" + "".join(figures))
    paced_ok = True
    for path, goal in PACED.items():
        paced_ok &= paced_p99["ours", path] < goal
        print(
            f"{path} p99 at {args.rate:g}/s: ours {paced_p99['ours', path]:.1f} ms, bare Bolt "
            f"{paced_p99['bolt', path]:.1f} ms (goal < {goal:g} ms)"
        )
    print(f"all goals {'met' if met and paced_ok else 'NOT met'}")
    if "chatter" in paths and other:
        print(f"warning: non-signal messages reached the Web API: {sorted(other)}")
    if args.json:
        rows = [{"server": r.server, "rps": r.rps, "cpu_us": r.cpu_us} for r in runs]
        paced_rows = {f"{kind}:{path}": ms for (kind, path), ms in paced_p99.items()}
        print(json.dumps({"runs": rows, "paced_p99_ms": paced_rows}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--paths", default=",".join(PATHS), help=f"some of {','.join(PATHS)}")
    parser.add_argument(
        "--path-requests",
        type=int,
        default=400,
        help="requests per round on a path other than chatter",
    )
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
