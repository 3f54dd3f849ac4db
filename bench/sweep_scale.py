"""How long a sweep takes at 10k, 100k and 1M commitments, 1% of them due (10,000 at 1M).

The goal (issue 14): at 1M rows with 10,000 due, a sweep under 1 s on SQLite. A sweep here is
the whole of it: find what is due, compose one digest per person, claim each in the ledger,
send it (to an outbox that only counts), record the results and the nudges. Each figure is
printed beside a reference measured in the same run on the same database: a bare SELECT of
the due rows through the driver (no composing, no writing), so a busy machine shows as a
slow reference, not as a slow sweep. The sweeps' CPU time (this process: Python and SQLite,
not a PostgreSQL server) is printed too.

Each size is also swept with only 100 of its rows due (the rest moved out of reach), which
isolates what the table's size itself costs; its 1M/10k ratio should stay near 1.

Usage: python bench/sweep_scale.py [--sizes 10000,100000,1000000] [--database sqlite|postgres|both]
       [--repeats 3]
Each size gets a fresh SQLite file, or a throwaway database beside LIAISON_TEST_POSTGRES_URL
(or 127.0.0.1:5432, see tests/pg.py), analysed after loading. The rows are written through
the driver with the table's secondary indexes built afterwards, so 1M loads in under a minute.
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
from tests.pg import find_postgres, throwaway_database

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)  # a Tuesday, after 9:00 UTC
PEOPLE = 2000
GOAL_S = 1.0
COLUMNS = ("what", "owner_id", "requester_id", "due", "state")
COLUMNS += ("created_at", "updated_at", "last_activity_at")
DUE_SQL = "SELECT * FROM commitment WHERE state IN ('requested', 'promised') AND due < '{}'"


class NullOutbox:
    channel = "shell"

    def __init__(self) -> None:
        self.count = 0

    async def send(self, address, reply) -> None:
        self.count += 1


@contextlib.contextmanager
def fresh_engine(database: str, folder: Path, name: str) -> Iterator[Engine]:
    """An empty, migrated database: a new SQLite file, or a throwaway PostgreSQL database."""
    with contextlib.ExitStack() as stack:
        if database == "sqlite":
            url = f"sqlite:///{folder / f'sweep-{name}.db'}"
        else:
            base, how = find_postgres()
            if base is None:
                raise SystemExit(how)
            url = stack.enter_context(throwaway_database(base, "liaison_sweep"))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        upgrade(engine)
        yield engine


def populate(engine: Engine, size: int, due: int) -> list[int]:
    """`size` promised commitments among PEOPLE people, `due` of them overdue (the rest due in
    10 to 300 days, recently active): the ids of the overdue ones, in random order."""
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
        indexes = _drop_indexes(conn)
        table = Commitment.__table__
        stored = {  # how the driver takes a date and a moment (SQLite: text)
            c: table.c[c].type.bind_processor(conn.dialect) or (lambda v: v)
            for c in ("due", "created_at", "last_activity_at")
        }
        days: dict[int, object] = {}  # each due date converted once for the driver

        def day(offset: int) -> object:
            if offset not in days:
                days[offset] = stored["due"](NOW.date() + dt.timedelta(days=offset))
            return days[offset]

        created = stored["created_at"](NOW - dt.timedelta(days=2))
        active = stored["last_activity_at"](NOW - dt.timedelta(days=1))
        overdue = set(rng.sample(range(size), due))
        marks = ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * len(COLUMNS))
        sql = f"INSERT INTO commitment ({', '.join(COLUMNS)}) VALUES ({marks})"
        for start in range(0, size, 50_000):
            rows = []
            for n in range(start, min(size, start + 50_000)):
                owner = rng.randrange(PEOPLE) + 1
                offset = -rng.randrange(1, 30) if n in overdue else rng.randrange(10, 300)
                what = f"Commitment {n}"
                rows.append((what, owner, owner % PEOPLE + 1, day(offset), "promised"))
                rows[-1] += (created, active, active)
            conn.exec_driver_sql(sql, rows)
        for statement in indexes:
            conn.exec_driver_sql(statement)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        ids = list(conn.exec_driver_sql(DUE_SQL.format(NOW.date().isoformat())).scalars())
    rng.shuffle(ids)
    return ids


def _drop_indexes(conn) -> list[str]:
    """Drop the commitment table's secondary indexes; the statements that build them again."""
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'commitment' AND sql IS NOT NULL"
        ).all()
    else:
        found = conn.exec_driver_sql(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'commitment' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [statement for _, statement in found]


def keep_due(engine: Engine, ids: list[int], keep: int) -> None:
    """Move all but `keep` of the overdue rows `ids` to later (due in 100 days)."""
    later = NOW.date() + dt.timedelta(days=100)
    with engine.begin() as conn:
        for start in range(keep, len(ids), 500):
            chunk = ids[start : start + 500]
            conn.execute(
                Commitment.__table__.update()
                .where(Commitment.__table__.c.id.in_(chunk))
                .values(due=later)
            )


def reference(engine: Engine) -> tuple[float, int]:
    """A bare SELECT of the due rows through the driver, fetched: the least a sweep must do."""
    with engine.connect() as conn:
        start = time.perf_counter()
        rows = conn.exec_driver_sql(DUE_SQL.format(NOW.date().isoformat())).all()
        return time.perf_counter() - start, len(rows)


def time_sweep(engine: Engine, repeats: int) -> tuple[float, float, float, int]:
    """Median sweep time, median reference time, median sweep CPU time, and digests sent:
    each sweep from the same state (the ledger and nudges are emptied between), each
    reference read just before its sweep."""
    sweeps, refs, cpus = [], [], []
    for _ in range(repeats):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger"))
            conn.execute(text("DELETE FROM nudge"))
        refs.append(reference(engine)[0])
        outbox = NullOutbox()
        sweeper = Sweeper(engine, DEFAULT_ORG, {"shell": outbox})
        cpu, start = time.process_time(), time.perf_counter()
        asyncio.run(sweeper.run(NOW))
        sweeps.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    median = statistics.median
    return median(sweeps), median(refs), median(cpus), outbox.count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(f"Sweep at 1% due; goal at 1M on SQLite: under {GOAL_S:.0f} s. Reference: a bare")
    print("SELECT of the due rows (the same run, the same database). Medians of", args.repeats)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for database in databases:
            for size in sizes:
                with fresh_engine(database, Path(folder), f"{size}") as engine:
                    started = time.perf_counter()
                    ids = populate(engine, size, size // 100)
                    loaded = time.perf_counter() - started
                    for label, keep in (("1% due", len(ids)), ("100 due", 100)):
                        if keep < len(ids):
                            keep_due(engine, ids, keep)
                        seconds, ref, cpu, sent = time_sweep(engine, args.repeats)
                        results[database, size, label] = seconds
                        print(
                            f"{database:>8} {size:>9,} rows, {min(keep, len(ids)):>6,} due: "
                            f"sweep {seconds:6.3f} s (CPU {cpu:.3f} s), "
                            f"reference {ref * 1000:6.1f} ms, ratio {seconds / ref:5.1f}x, "
                            f"{sent:>5} digests (load {loaded:.0f} s)",
                            flush=True,
                        )
    print()
    for (database, size, label), seconds in results.items():
        if size == sizes[-1] and len(sizes) > 1:
            ratio = seconds / results[database, sizes[0], label]
            verdict = ""
            if database == "sqlite" and label == "1% due" and size >= 1_000_000:
                verdict = f"; goal under {GOAL_S:.0f} s: {'met' if seconds < GOAL_S else 'NOT met'}"
            print(
                f"{database} {label}: {size:,} vs {sizes[0]:,} rows: {seconds:.3f} s, "
                f"ratio {ratio:.2f}{verdict}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
