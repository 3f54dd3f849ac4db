"""How the sweep's cost grows: 10k, 100k and 1M commitments, of which 1% are due.

The goal: the cost follows the due items, not the table. With 1% due, the due items grow with
the table too (100 at 10k, 10,000 at 1M), so the script also times a sweep over a fixed 100 due
items in each table, which isolates what the table's size itself costs. It prints both ratios
(1M time over 10k time).

Usage: python bench/sweep_scale.py [--sizes 10000,100000,1000000] [--database-url URL]
Each size gets a fresh SQLite file, or a throwaway database on the PostgreSQL server named.
"""

from __future__ import annotations

import argparse
import asyncio
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

from sqlalchemy import Engine, insert, text

from handlers.org import DEFAULT_ORG
from schedules.sweep import Sweeper
from storage.db import make_engine, upgrade
from storage.models import Address, Commitment, Person
from tests.pg import throwaway_database

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)  # a Tuesday, after 9:00 UTC
PEOPLE = 2000


class NullOutbox:
    channel = "shell"

    def __init__(self) -> None:
        self.count = 0

    async def send(self, address, reply) -> None:
        self.count += 1


@contextlib.contextmanager
def fresh_engine(url: str | None, folder: Path, name: str) -> Iterator[Engine]:
    """An empty, migrated database: a new SQLite file, or a throwaway database on the server
    of the PostgreSQL URL given (created beside the one named, dropped afterwards)."""
    with contextlib.ExitStack() as stack:
        if url is None:
            url = f"sqlite:///{folder / f'sweep-{name}.db'}"
        else:
            url = stack.enter_context(throwaway_database(url, "liaison_sweep"))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        upgrade(engine)
        yield engine


def populate(engine, size: int, due: int) -> None:
    rng = random.Random(size)
    with engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {"id": i + 1, "handle": f"p{i}", "display_name": f"Person {i}", "created_at": NOW}
                for i in range(PEOPLE)
            ],
        )
        conn.execute(
            insert(Address),
            [
                {"person_id": i + 1, "channel": "shell", "external_id": f"p{i}", "updated_at": NOW}
                for i in range(PEOPLE)
            ],
        )
        due_rows = set(rng.sample(range(size), due))
        batch = []
        for n in range(size):
            owner = rng.randrange(PEOPLE) + 1
            if n in due_rows:  # overdue
                row_due = NOW.date() - dt.timedelta(days=rng.randrange(1, 30))
            else:  # promised, recently active, due later
                row_due = NOW.date() + dt.timedelta(days=rng.randrange(10, 300))
            batch.append(
                {
                    "what": f"Commitment {n}",
                    "owner_id": owner,
                    "requester_id": (owner % PEOPLE) + 1,
                    "due": row_due,
                    "state": "promised",
                    "created_at": NOW - dt.timedelta(days=2),
                    "updated_at": NOW - dt.timedelta(days=1),
                    "last_activity_at": NOW - dt.timedelta(days=1),
                }
            )
            if len(batch) == 50_000:
                conn.execute(insert(Commitment), batch)
                batch = []
        if batch:
            conn.execute(insert(Commitment), batch)


def time_sweep(engine, repeats: int = 3) -> tuple[float, int]:
    """The median of a few sweeps, each from the same state (the ledger is emptied between)."""
    times = []
    for _ in range(repeats):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger"))
            conn.execute(text("DELETE FROM nudge"))
        outbox = NullOutbox()
        sweeper = Sweeper(engine, DEFAULT_ORG, {"shell": outbox})
        start = time.perf_counter()
        asyncio.run(sweeper.run(NOW))
        times.append(time.perf_counter() - start)
    return statistics.median(times), outbox.count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default SQLite)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            for label, due in (("1% due", size // 100), ("100 due", 100)):
                name = f"{size}-{len(results)}"
                with fresh_engine(args.database_url, Path(folder), name) as engine:
                    started = time.perf_counter()
                    populate(engine, size, due)
                    loaded = time.perf_counter() - started
                    seconds, sent = time_sweep(engine)
                results.append((size, label, due, sent, seconds, loaded))
                print(
                    f"{size:>9,} commitments, {label:>7}: sweep {seconds:7.3f} s, "
                    f"{sent:>5} digests sent (load {loaded:.1f} s)",
                    flush=True,
                )
    print()
    for label in ("1% due", "100 due"):
        rows = [r for r in results if r[1] == label]
        if len(rows) > 1:
            ratio = rows[-1][4] / rows[0][4]
            print(f"{label}: {rows[-1][0]:,} vs {rows[0][0]:,} commitments: ratio {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
