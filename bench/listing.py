"""How long a listing takes as the table grows: `commitments stuck` (an admin), `unit`, `mine`
and the App Home, at 10k / 100k / 1M commitments, on SQLite and PostgreSQL (after ANALYZE).

The goal (issue 14): p99 under 50 ms at 1M on both, and the 1M/10k ratio at most 2. The
bot's own CPU time (thread time: Python and SQLite, not a PostgreSQL server) is printed too,
as wall-clock figures on a shared machine measure its neighbours as well. About a
quarter of the rows are open and most of those are stuck, as in the issue's measurement
(27,904 stuck of 100k), so "stuck" has hundreds of thousands of items to count at 1M.

Usage: python bench/listing.py [--sizes 10000,100000,1000000] [--database sqlite|postgres|both]
       [--repeats 30]
Each size gets a fresh SQLite file, or a throwaway database beside LIAISON_TEST_POSTGRES_URL
(or 127.0.0.1:5432, see tests/pg.py). The rows are written with bulk inserts.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, select, text

from handlers.core import Liaison
from handlers.messages import Inbound, Sender
from handlers.org import load_organisation
from handlers.playbooks import load_catalogue
from storage.db import make_engine, session_scope, upgrade
from storage.models import Commitment, Person
from tests.pg import find_postgres, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
PEOPLE = 2000
GOAL_MS, GOAL_RATIO = 50.0, 2.0
STATES = [("accepted", 55), ("cancelled", 15), ("declined", 5)]  # closed: 75%
STATES += [("requested", 6), ("promised", 14), ("countered", 2), ("done_reported", 3)]
ASKS = {
    "stuck (admin)": ("dana", "commitments stuck"),
    "unit (liaison)": ("sam", "commitments unit finance"),
    "mine": ("sam", "commitments mine"),
    "App Home": ("sam", "home"),
}


@contextlib.contextmanager
def fresh_engine(database: str, folder: Path, name: str) -> Iterator[Engine]:
    with contextlib.ExitStack() as stack:
        if database == "sqlite":
            url = f"sqlite:///{folder / f'listing-{name}.db'}"
        else:
            base, how = find_postgres()
            if base is None:
                raise SystemExit(f"no PostgreSQL: {how}")
            url = stack.enter_context(throwaway_database(base, "liaison_listing"))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        upgrade(engine)
        yield engine


def populate(bot: Liaison, size: int) -> None:
    rng = random.Random(size)
    bot.sync()
    for handle in ("dana", "sam"):  # the viewers, known on the shell
        bot.handle(Inbound(Sender("shell", handle, name=handle), "dm", text="help", is_direct=True))
    with session_scope(bot.engine) as session:
        known = list(session.execute(select(Person.id)).scalars())
    states = [s for s, weight in STATES for _ in range(weight)]
    with bot.engine.begin() as conn:
        first = max(known) + 1
        conn.execute(
            insert(Person),
            [
                {"id": first + i, "handle": f"p{i}", "display_name": f"P {i}", "created_at": NOW}
                for i in range(PEOPLE)
            ],
        )
        people = known + list(range(first, first + PEOPLE))
        batch = []
        for n in range(size):
            owner, requester = rng.choice(people), rng.choice(people)
            state = rng.choice(states)
            active = NOW - dt.timedelta(minutes=rng.randrange(60 * 24 * 60))
            batch.append(
                {
                    "what": f"Commitment {n}",
                    "owner_id": owner,
                    "requester_id": requester,
                    "unit_id": rng.choice(("finance", "parks", None)),
                    "due": NOW.date() + dt.timedelta(days=rng.randrange(-365, 365)),
                    "state": state,
                    "created_at": active - dt.timedelta(days=3),
                    "updated_at": active,
                    "last_activity_at": active,
                    "closed_at": active if state in ("accepted", "cancelled", "declined") else None,
                }
            )
            if len(batch) == 50_000:
                conn.execute(insert(Commitment), batch)
                batch = []
        if batch:
            conn.execute(insert(Commitment), batch)
    with bot.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(bot: Liaison, repeats: int) -> dict[str, tuple[float, float]]:
    found: dict[str, tuple[float, float, float]] = {}
    for name, (who, typed) in ASKS.items():
        inbound = Inbound(Sender("shell", who, name=who), "dm", text=typed, is_direct=True)
        bot.handle(inbound)  # warm: caches, statements
        times, cpu = [], []
        for _ in range(repeats):
            start, used = time.perf_counter(), time.thread_time()
            replies = bot.handle(inbound)
            cpu.append((time.thread_time() - used) * 1000)
            times.append((time.perf_counter() - start) * 1000)
        assert replies and replies[0].reply.items, f"{name}: {replies[0].reply.text}"
        found[name] = (statistics.median(times), percentile(times, 0.99), statistics.median(cpu))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    org = load_organisation(ROOT / "liaison.example.toml")
    catalogue = load_catalogue(org)
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        for database in databases:
            results: dict[int, dict[str, tuple[float, float, float]]] = {}
            for size in sizes:
                with fresh_engine(database, Path(folder), f"{size}") as engine:
                    bot = Liaison(engine=engine, org=org, catalogue=catalogue, clock=lambda: NOW)
                    started = time.perf_counter()
                    populate(bot, size)
                    loaded = time.perf_counter() - started
                    results[size] = measure(bot, args.repeats)
                for name, (p50, p99, cpu) in results[size].items():
                    ok = "ok" if p99 < GOAL_MS else "OVER"
                    print(
                        f"{database:8} {size:>9,} {name:15} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
                        f"  (goal p99 < {GOAL_MS:.0f} ms: {ok})  bot CPU p50 {cpu:5.1f} ms"
                        f"  (load {loaded:.0f} s)",
                        flush=True,
                    )
                    failed |= p99 >= GOAL_MS
            if len(sizes) > 1:
                big, small = results[sizes[-1]], results[sizes[0]]
                for name in ASKS:
                    ratio = big[name][1] / small[name][1]
                    ok = "ok" if ratio <= GOAL_RATIO else "OVER"
                    print(
                        f"{database:8} {name:15} p99 {sizes[-1]:,}/{sizes[0]:,}: {ratio:4.2f}"
                        f"  (goal at most {GOAL_RATIO:.0f}: {ok})"
                    )
                    failed |= ratio > GOAL_RATIO
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
