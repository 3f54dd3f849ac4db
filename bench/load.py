"""The load: signed Slack events at 1,000 a second for 60 seconds, on SQLite and on PostgreSQL.

Run from the repository root: ``python bench/load.py`` (``make bench``). For each database it
starts the real ``liaison-bot serve`` in a subprocess (the in-process scheduler turned off by
its organisation file), with its Web API pointed at a fake Slack served by this process, and
sends it really signed Events API callbacks on a fixed schedule:

- ``--rate`` events a second (default 1,000) for ``--seconds`` (default 60): 95% everyday chat
  and 5% signals ("we're hiring 12 nurses in March"), varied sentences from 200 people in five
  channels, two of them mapped to units;
- 10% of the events are delivered a second time, 0.5 to 2 seconds later, as Slack retries
  them: the same body and event id, with ``X-Slack-Retry-Num: 1`` and
  ``X-Slack-Retry-Reason: http_timeout``.

The load comes from a lean HTTP/1.1 client on raw asyncio streams (keep-alive connections, one
request at a time on each, a new connection whenever none is idle, up to ``--connections`` in
flight), so the schedule does not wait for the server: a slow acknowledgement shows as latency,
not as a slower load. The client reports the rate it really achieved and how far behind the
schedule it fell.

It reports, per database:

- the requests sent, and the answers by status (5xx, and requests that got no answer at all);
- the acknowledgement latency (p50, p99, max) from the request's write to the end of its
  answer, and (p50, p99) from the moment the schedule said to send it, which also counts any
  wait for a free connection when the server falls behind;
- offers at the fake Slack (one ``chat.postMessage`` in the thread of each signal), duplicate
  offers (a thread with more than one), lost signals (acknowledged, but no offer) and signals
  never acknowledged (no delivery answered 200);
- the server's CPU use, errors in its log, and the machine's load average, because the figures
  mean little when other work shares the CPUs.

The goals are zero 5xx (indeed, every answer a 200), zero duplicate offers and zero lost
signals. It prints a table and exits 1 when a goal is missed. The PostgreSQL run creates a
fresh database on ``--postgres-url`` (default: ``$LIAISON_TEST_POSTGRES_URL``) and drops it at
the end; without a URL, ``--database both`` runs SQLite only and says so.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import gc
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from chatter import CHATTER, fill  # noqa: E402  (bench/, the folder of this script)

from tests.fakes import FakeSlack  # noqa: E402
from tests.fakes import slack_requests as sr  # noqa: E402
from tests.serving import cli, free_port, wait_until_healthy  # noqa: E402

TOKEN = "xoxb-load-bench"
SECRET = "load-bench-signing-secret"
POSTGRES_ENV = "LIAISON_TEST_POSTGRES_URL"
SIGNAL_SHARE = 0.05
RETRY_SHARE = 0.10
USERS = 200

# (channel id, channel type): Finance and Parks are mapped to their units by id.
CHANNELS = [
    ("C0FINANCE1", "channel"),
    ("C0PARKS001", "channel"),
    ("C0GENERAL1", "channel"),
    ("C0RANDOM01", "channel"),
    ("G0PROJECTS", "group"),
]
ORG = """\
[organisation]
name = "City of Riverton"
timezone = "America/Chicago"
admins = ["dana"]

[schedule]
enabled = false

[people.dana]
name = "Dana Okafor"
email = "dana.okafor@riverton.example"

[people.sam]
name = "Sam Rivera"
email = "sam.rivera@riverton.example"
slack = "U0SAMRIVRA"

[people.pat]
name = "Pat Lee"
email = "pat.lee@riverton.example"

[people.kim]
name = "Kim Nguyen"
email = "kim.nguyen@riverton.example"
timezone = "America/Denver"

[units.finance]
name = "Finance"
lead = "pat"
liaison = "sam"
channels = ["#finance", "C0FINANCE1"]

[units.parks]
name = "Parks and Recreation"
lead = "kim"
liaison = "sam"
channels = ["#parks", "C0PARKS001"]
timezone = "America/Denver"
"""

SIGNALS = [
    "We're moving to a new building in {month}",
    "Heads up: the whole team relocates to the Elm Street office in {month}",
    "Our unit is opening a second office downtown in {month}",
    "We're buying a new CRM next quarter",
    "Finance is switching to a new payroll system in {month}",
    "We signed a contract with a new ticketing vendor for the pools",
    "We're hiring {n} new nurses who start in {month}",
    "Parks is bringing on {n} seasonal staff for the summer",
    "We're onboarding {n} new accountants in {month}",
    "We're launching the new public website in {month}",
    "We're planning a community festival for 2,000 people in {month}",
    "We're rolling out a new scheduling app for the rec centers in {month}",
    "We need to buy {n} new laptops for the new hires",
    "We're ordering {n} tablets for the field inspectors",
    "We want to build a dashboard of permit data for the council",
    "We're starting a data project to combine the service request records",
]


# The schedule: every request, signed, with the second it is due at


@dataclass(slots=True)
class Planned:
    at: float  # seconds after the start
    raw: bytes  # the whole HTTP request
    signal: tuple[str, str] | None  # (channel, ts) of a signal
    retry: bool


@dataclass
class Plan:
    requests: list[Planned]
    signals: set[tuple[str, str]]  # (channel, ts) of every signal event
    events: int


def _http(port: int, body: str, headers: dict[str, str]) -> bytes:
    data = body.encode()
    head = [
        "POST /slack/events HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Length: {len(data)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def make_plan(rate: float, seconds: float, port: int, detect, seed: int = 7) -> Plan:
    """Every request of the run, signed now (Slack allows five minutes), in send order.

    Exactly 5% of the events are signals and exactly 10% are retried; each sentence is checked
    with the bot's own detector first, so a "lost signal" is the server's doing, not a
    sentence it never saw as one."""
    rng = random.Random(seed)
    events = int(rate * seconds)
    signal_ids = set(rng.sample(range(events), round(events * SIGNAL_SHARE)))
    retry_ids = set(rng.sample(range(events), round(events * RETRY_SHARE)))
    verdict: dict[str, bool] = {}
    planned: list[Planned] = []
    signals: set[tuple[str, str]] = set()
    base = int(time.time())
    for n in range(events):
        is_signal = n in signal_ids
        text = fill(rng.choice(SIGNALS if is_signal else CHATTER), rng)
        if text not in verdict:
            verdict[text] = detect(text) is not None
        if verdict[text] != is_signal:
            raise SystemExit(f"bench sentence misread by the detector: {text!r}")
        channel, kind = rng.choice(CHANNELS)
        ts = f"{base + n // 100_000}.{n % 100_000:06d}"  # unique, like Slack's
        event = sr.message_event(
            text, user=f"U0LOAD{rng.randrange(USERS):04d}", channel=channel, ts=ts,
            channel_type=kind,
        )  # fmt: skip
        body = sr.event_body(event, event_id=f"Ev{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}")
        at = n / rate
        key = (channel, ts) if is_signal else None
        planned.append(Planned(at, _http(port, body, sr.headers(SECRET, body)), key, False))
        if key:
            signals.add(key)
        if n in retry_ids:
            headers = sr.headers(SECRET, body, retry_num=1, retry_reason="http_timeout")
            later = at + rng.uniform(0.5, 2.0)
            planned.append(Planned(later, _http(port, body, headers), key, True))
    planned.sort(key=lambda p: p.at)
    return Plan(planned, signals, events)


# The client: raw HTTP/1.1 on asyncio streams, keep-alive, one request at a time per connection


class Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, request: bytes) -> tuple[int, bool]:
        """One request and its whole answer: (status, keep the connection)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, keep = 0, True
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
        if length:
            await self.reader.readexactly(length)
        return status, keep

    def close(self) -> None:
        self.writer.close()


@dataclass
class Results:
    statuses: Counter = field(default_factory=Counter)
    latencies: array.array = field(default_factory=lambda: array.array("d"))  # from the write
    late: array.array = field(default_factory=lambda: array.array("d"))  # from the schedule
    when: array.array = field(default_factory=lambda: array.array("d"))  # scheduled offset
    lag: array.array = field(default_factory=lambda: array.array("d"))
    acked_signals: set[tuple[str, str]] = field(default_factory=set)
    first_sent: float = 0.0
    last_sent: float = 0.0
    last_event_sent: float = 0.0  # the last first delivery (not a retry)
    last_answer: float = 0.0
    connections: int = 0
    most_in_flight: int = 0


class Client:
    """Open connections as needed, up to `limit` in flight; past that, requests wait for a
    connection (and their wait shows in the latency counted from the schedule)."""

    def __init__(self, port: int, limit: int) -> None:
        self.port = port
        self.idle: list[Connection] = []
        self.opened = 0
        self.gate = asyncio.Semaphore(limit)
        self.open: set[Connection] = set()
        self.in_flight = 0

    async def _connection(self) -> Connection:
        if self.idle:
            return self.idle.pop()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = Connection(reader, writer)
        self.opened += 1
        self.open.add(connection)
        return connection

    def _drop(self, connection: Connection) -> None:
        connection.close()
        self.open.discard(connection)

    async def one(self, planned: Planned, due: float, results: Results) -> None:
        async with self.gate:
            self.in_flight += 1
            results.most_in_flight = max(results.most_in_flight, self.in_flight)
            try:
                await self._send(planned, due, results)
            finally:
                self.in_flight -= 1

    async def _send(self, planned: Planned, due: float, results: Results) -> None:
        try:
            connection = await self._connection()
        except OSError as exc:
            results.statuses[f"no connection ({exc.strerror or exc})"] += 1
            return
        started = time.perf_counter()
        try:
            status, keep = await connection.send(planned.raw)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.CancelledError):
            results.statuses["no answer"] += 1
            self._drop(connection)
            return
        finished = time.perf_counter()
        results.latencies.append(finished - started)
        results.late.append(finished - due)
        results.when.append(planned.at)
        results.statuses[status] += 1
        results.last_answer = finished
        if status == 200 and planned.signal:
            results.acked_signals.add(planned.signal)
        if keep:
            self.idle.append(connection)
        else:
            self._drop(connection)

    async def paced(self, requests: list[Planned], results: Results) -> None:
        """Send each request at its time, without waiting for earlier answers."""
        pending: set[asyncio.Task] = set()
        start = time.perf_counter() + 0.05
        results.first_sent = start
        index, total = 0, len(requests)
        while index < total:
            now = time.perf_counter() - start
            while index < total and requests[index].at <= now:
                planned = requests[index]
                results.lag.append(now - planned.at)
                if not planned.retry:
                    results.last_event_sent = start + now
                task = asyncio.ensure_future(self.one(planned, start + planned.at, results))
                pending.add(task)
                task.add_done_callback(pending.discard)
                index += 1
            if index < total:
                await asyncio.sleep(max(0.0, requests[index].at - (time.perf_counter() - start)))
        results.last_sent = time.perf_counter()
        if pending:  # a request still unanswered two minutes after the last one gets none
            _, stuck = await asyncio.wait(pending, timeout=120)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        results.connections = self.opened

    def close(self) -> None:
        for connection in list(self.open):
            self._drop(connection)


# The server under test and its database


@contextlib.contextmanager
def database(kind: str, workdir: Path, postgres_url: str | None) -> Iterator[str]:
    """A SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'load.db'}"
        return
    from tests.pg import throwaway_database

    with throwaway_database(postgres_url, "liaison_load") as url:
        yield url


@dataclass
class Server:
    port: int
    process: asyncio.subprocess.Process
    log: Path

    def cpu_seconds(self) -> float | None:
        """User and system CPU the server has used so far (Linux /proc; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def serve(url: str, api_url: str, workdir: Path, log_level: str) -> AsyncIterator[Server]:
    """`liaison-bot serve` on 127.0.0.1, as deployed, until it answers /healthz."""
    config = workdir / "liaison.toml"
    config.write_text(ORG, encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.update(
        DATABASE_URL=url,
        LIAISON_CONFIG=str(config),
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
        LOG_LEVEL=log_level,
        LOG_FORMAT="json",
        PYTHONPATH=str(ROOT),
    )
    log = workdir / f"serve-{port}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *cli(), "serve", "--host", "127.0.0.1", "--port", str(port),
            env=env, cwd=workdir, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    server = Server(port, process, log)
    try:
        try:
            await wait_until_healthy(
                f"http://127.0.0.1:{port}", process, lambda: log.read_text()[-3000:]
            )
        except AssertionError as exc:
            raise SystemExit(f"liaison-bot serve did not start: {exc}") from None
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


# One run


@dataclass
class Run:
    database: str
    events: int
    sent: int
    retries: int
    statuses: Counter
    seconds: float
    rate: float
    event_rate: float
    lag_p99: float
    lag_max: float
    p50: float
    p99: float
    worst: float
    late_p50: float
    late_p99: float
    connections: int
    most_in_flight: int
    signals: int
    offers: int
    duplicates: int
    lost: int
    undelivered: int
    unexpected: int
    ledger_offers: int | None
    cpu: float | None
    own_cpu: float  # this process: the load client and the fake Slack
    errors_logged: int
    load: tuple[float, float]  # the machine's 1-minute load average before and after
    windows: list[tuple[float, float]]  # (p50, p99) ack latency of each 10 s of the schedule

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if str(status).startswith("5"))

    @property
    def ok(self) -> bool:
        answered_200 = set(self.statuses) <= {200}
        clean = self.duplicates == 0 and self.lost == 0 and self.unexpected == 0
        return answered_200 and clean and self.undelivered == 0


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def windows(results: Results, width: float = 10.0) -> list[tuple[float, float]]:
    """p50 and p99 acknowledgement latency of the requests due in each `width` seconds."""
    buckets: dict[int, list[float]] = {}
    for at, latency in zip(results.when, results.latencies, strict=True):
        buckets.setdefault(int(at // width), []).append(latency)
    return [(percentile(v, 50), percentile(v, 99)) for _, v in sorted(buckets.items())]


def offers_at(fake: FakeSlack) -> Counter:
    """Successful chat.postMessage calls per (channel, thread_ts)."""
    return Counter(
        (c.response["channel"], c.payload.get("thread_ts"))
        for c in fake.calls_to("chat.postMessage")
        if c.ok
    )


async def drain(fake: FakeSlack, expected: int, quiet: float = 5.0, limit: float = 90.0) -> None:
    """Wait for the offers still being worked on: all of them, or no progress for `quiet` s."""
    deadline = time.monotonic() + limit
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = sum(offers_at(fake).values())
        if count >= expected:
            await asyncio.sleep(1.0)  # and a moment for any duplicate to show
            return
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since > quiet:
            return
        await asyncio.sleep(0.25)


def ledger_offers(url: str) -> int | None:
    from sqlalchemy import func
    from sqlmodel import Session, select

    from storage.db import make_engine
    from storage.models import Ledger

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            query = select(func.count()).select_from(Ledger).where(Ledger.kind == "offer")
            return session.exec(query).one()
    except Exception:
        return None
    finally:
        engine.dispose()


def errors_in(log: Path) -> int:
    text = log.read_text(encoding="utf-8", errors="replace")
    return sum(1 for line in text.splitlines() if '"level": "ERROR"' in line or "Traceback" in line)


async def run_one(kind: str, args, detect, postgres_url: str | None) -> Run:
    users = {
        f"U0LOAD{n:04d}": {
            "name": f"person{n}",
            "tz": "America/Chicago",
            "profile": {"email": f"person{n}@riverton.example", "display_name": f"person{n}"},
        }
        for n in range(USERS)
    }
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        async with FakeSlack(bot_token=TOKEN, users=users) as fake:
            with database(kind, workdir, postgres_url) as url:
                async with serve(url, fake.base_url, workdir, args.log_level) as server:
                    client = Client(server.port, args.connections)
                    try:
                        # Warm up (Bolt's auth.test, connections, caches): chat only, not counted.
                        warm = make_plan(200, 1.0, server.port, detect, seed=1)
                        await client.paced([p for p in warm.requests if not p.signal], Results())
                        fake.reset()
                        print(f"[{kind}] building {args.rate:g}/s x {args.seconds:g} s", flush=True)
                        plan = make_plan(args.rate, args.seconds, server.port, detect)
                        gc.collect()
                        gc.freeze()  # a quarter of a million request objects: out of GC's way
                        print(f"[{kind}] sending {len(plan.requests):,} requests", flush=True)
                        results = Results()
                        load_before = os.getloadavg()[0]
                        cpu_before = server.cpu_seconds()
                        own_before = time.process_time()
                        await client.paced(plan.requests, results)
                        cpu_after = server.cpu_seconds()
                        own = time.process_time() - own_before
                        load_after = os.getloadavg()[0]
                        await drain(fake, len(plan.signals))
                    finally:
                        client.close()
                        gc.unfreeze()
                    errors = errors_in(server.log)
                ledger = ledger_offers(url)
    per_thread = offers_at(fake)
    offered = {key for key in per_thread if key in plan.signals}
    sent = len(plan.requests)
    seconds = results.last_sent - results.first_sent
    span = results.last_event_sent - results.first_sent
    answered = results.last_answer - results.first_sent
    cpu = None
    if cpu_before is not None and cpu_after is not None and answered > 0:
        cpu = (cpu_after - cpu_before) / answered
    return Run(
        database=kind,
        events=plan.events,
        sent=sent,
        retries=sum(1 for p in plan.requests if p.retry),
        statuses=results.statuses,
        seconds=seconds,
        rate=sent / seconds if seconds > 0 else 0.0,
        event_rate=(plan.events - 1) / span if span > 0 else 0.0,
        lag_p99=percentile(results.lag, 99),
        lag_max=max(results.lag, default=0.0),
        p50=percentile(results.latencies, 50),
        p99=percentile(results.latencies, 99),
        worst=max(results.latencies, default=float("nan")),
        late_p50=percentile(results.late, 50),
        late_p99=percentile(results.late, 99),
        connections=results.connections,
        most_in_flight=results.most_in_flight,
        signals=len(plan.signals),
        offers=sum(per_thread[key] for key in offered),
        duplicates=sum(1 for key in offered if per_thread[key] > 1),
        # Lost: acknowledged by the server (at least one delivery answered 200), never offered.
        lost=len(results.acked_signals - offered),
        undelivered=len(plan.signals - results.acked_signals),
        unexpected=sum(n for key, n in per_thread.items() if key not in plan.signals),
        ledger_offers=ledger,
        cpu=cpu,
        own_cpu=own / answered if answered > 0 else 0.0,
        errors_logged=errors,
        load=(load_before, load_after),
        windows=windows(results),
    )


def _ms(seconds: float, digits: int = 1) -> str:
    return f"{seconds * 1e3:.{digits}f}"


def _maybe(value, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


def _statuses(statuses: Counter) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in sorted(statuses.items(), key=str))


def report(runs: list[Run], args) -> None:
    print()
    print(
        f"POST /slack/events: {args.rate:g} events/s for {args.seconds:g} s "
        f"({SIGNAL_SHARE:.0%} signals, {RETRY_SHARE:.0%} delivered twice as Slack retries), "
        f"liaison-bot serve with LOG_LEVEL={args.log_level}"
    )
    rows = [
        ("events (first deliveries)", lambda r: f"{r.events:,}"),
        ("requests sent (with retries)", lambda r: f"{r.sent:,}"),
        ("achieved events/s (first sends)", lambda r: f"{r.event_rate:,.0f}"),
        ("achieved requests/s", lambda r: f"{r.rate:,.0f} over {r.seconds:.1f} s"),
        ("client behind schedule p99/max", lambda r: f"{_ms(r.lag_p99)}/{_ms(r.lag_max)} ms"),
        ("connections opened / most in flight", lambda r: f"{r.connections}/{r.most_in_flight}"),
        ("answers by status", lambda r: _statuses(r.statuses)),
        ("5xx", lambda r: f"{r.server_errors}"),
        ("ack latency p50", lambda r: f"{_ms(r.p50, 2)} ms"),
        ("ack latency p99", lambda r: f"{_ms(r.p99, 2)} ms"),
        ("ack latency max", lambda r: f"{_ms(r.worst)} ms"),
        ("from schedule p50/p99", lambda r: f"{_ms(r.late_p50)}/{_ms(r.late_p99)} ms"),
        ("distinct signals", lambda r: f"{r.signals:,}"),
        ("offers at the fake Slack", lambda r: f"{r.offers:,}"),
        ("duplicate offers", lambda r: f"{r.duplicates}"),
        ("lost signals", lambda r: f"{r.lost}"),
        ("signals never acknowledged", lambda r: f"{r.undelivered}"),
        ("messages for non-signals", lambda r: f"{r.unexpected}"),
        ("offer keys in the ledger", lambda r: _maybe(r.ledger_offers, "{:,}")),
        ("server CPU (1.0 = one core)", lambda r: _maybe(r.cpu, "{:.2f}")),
        ("client + fake Slack CPU", lambda r: f"{r.own_cpu:.2f}"),
        ("errors in the server log", lambda r: f"{r.errors_logged}"),
        (f"load average ({os.cpu_count()} CPUs)", lambda r: f"{r.load[0]:.1f} -> {r.load[1]:.1f}"),
        ("goals met", lambda r: "yes" if r.ok else "NO"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    print(f"{'':<{width}}" + "".join(f"{r.database:>26}" for r in runs))
    for label, cell in rows:
        print(f"{label:<{width}}" + "".join(f"{cell(r):>26}" for r in runs))
    print("ack latency p50/p99 in ms, by 10 s of the schedule:")
    for run in runs:
        cells = "  ".join(f"{_ms(p50)}/{_ms(p99)}" for p50, p99 in run.windows)
        print(f"  {run.database:<10}{cells}")
    for run in runs:
        if run.event_rate < 0.98 * args.rate:
            print(f"note: {run.database}: {run.event_rate:,.0f} events/s sent, below the plan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="events a second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV))
    parser.add_argument("--log-level", default="INFO", help="the server's LOG_LEVEL")
    parser.add_argument(
        "--connections", type=int, default=256, help="most requests in flight at once"
    )
    args = parser.parse_args()

    from handlers.commands import strip_mentions
    from handlers.org import load_organisation
    from handlers.playbooks import load_catalogue
    from handlers.signals import detect as detect_with

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as handle:
        handle.write(ORG)
    try:
        cues = load_catalogue(load_organisation(handle.name)).cues()
    finally:
        os.unlink(handle.name)

    def detect(text: str):
        return detect_with(strip_mentions(text), cues)

    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    if "postgres" in kinds and not args.postgres_url:
        if args.database == "postgres":
            print(f"bench: --postgres-url (or {POSTGRES_ENV}) is needed", file=sys.stderr)
            return 2
        print(f"PostgreSQL skipped: set {POSTGRES_ENV} or --postgres-url to run it too.")
        kinds.remove("postgres")
    runs = [asyncio.run(run_one(kind, args, detect, args.postgres_url)) for kind in kinds]
    report(runs, args)
    return 0 if all(run.ok for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
