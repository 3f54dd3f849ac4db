"""How long the promise-keeping figures take on a large history, on PostgreSQL or SQLite.

Fills a database with N commitments spread over 10 units and 2,000 people, each with its
history, made by the database itself (generate_series on PostgreSQL, a recursive query on
SQLite): a request; a promise (or, one in 37, a decline; one in 31 is never answered); a done
report and an acceptance for the ones not left open (one in 7 is); a due date moved on one in
11; a block on one in 13, followed by a note on half of those. The digest the history keeps on
each commitment (done_at, answered_at: what the trigger of migration 0011f writes) is filled
with the same values, and checked against the history on the first 2,000 items. Indexes and
the trigger are set aside while filling and put back after, then the statistics are gathered
(VACUUM ANALYZE on PostgreSQL, ANALYZE on SQLite).

Then, for one unit, for IT (200 of the 2,000 people), for one person and for the business side,
each figure is timed (the median of 3 runs) beside a reference measured in the same run: a
COUNT(*) of the scope's commitments (one unit's: 100,000 at 1M) and of the whole table.
"CPU" is this process's: on SQLite the query itself, on PostgreSQL only the client's part.

Usage: python bench/figures_scale.py [--size 1000000] [--database-url URL]
       python bench/figures_scale.py --sqlite [PATH]      (a file, kept; default a temp file)
       python bench/figures_scale.py --keep [--resume] | --filled URL
                                   (PostgreSQL: fill once, or finish a fill cut off; time again)
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from handlers import figures
from handlers.figures import Period, Scope
from storage.db import make_engine, upgrade, wait_for_database
from storage.models import Commitment
from tests.pg import LOCAL_URL, throwaway_database

NOW = dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC)
UNITS = 10
PEOPLE = 2000
IT_PEOPLE = tuple(range(1, 201))

# One row per commitment, from its number i: who, which unit, due when, in which state, and
# the times of its acts (the history below is made from the same expressions).
POSTGRES_FILL = """
INSERT INTO unit (id, name, timezone, cycle_months)
  SELECT 'u' || i, 'Unit ' || i, 'UTC', '3,9' FROM generate_series(0, {units} - 1) i;
INSERT INTO person (id, handle, display_name, created_at)
  SELECT i, 'p' || i, 'Person ' || i, now() FROM generate_series(1, {people}) i;
CREATE UNLOGGED TABLE plan AS
  SELECT i, 1 + i % {people} AS owner, 1 + (i * 7) % {people} AS requester,
         'u' || (i % {units}) AS unit, DATE '2026-11-23' - (i % 400) + 20 AS due,
         CASE WHEN i % 7 = 0 THEN 'promised' WHEN i % 31 = 1 THEN 'requested'
              WHEN i % 37 = 2 THEN 'declined' ELSE 'accepted' END AS state,
         TIMESTAMPTZ '2026-11-23 12:00+00' - ((i % 400) || ' days')::interval AS created,
         TIMESTAMPTZ '2026-11-23 12:00+00' - ((i % 400) || ' days')::interval
           + ((i % 72) || ' hours')::interval AS answered,
         TIMESTAMPTZ '2026-11-23 08:00+00' - ((i % 400) || ' days')::interval
           + ((18 + i % 6) || ' days')::interval AS done
  FROM generate_series(1, {size}) i;
WITH chunk AS (SELECT * FROM plan WHERE i > {{lo}} AND i <= {{hi}})
INSERT INTO commitment (id, what, owner_id, requester_id, unit_id, due, state, created_at,
                        updated_at, last_activity_at, done_at, answered_at)
  SELECT i, 'item ' || i, owner, requester, unit, due, state, created, now(), now(),
         CASE WHEN state = 'accepted' THEN done END,
         CASE WHEN state <> 'requested' THEN answered END
  FROM chunk;
WITH chunk AS (SELECT * FROM plan WHERE i > {{lo}} AND i <= {{hi}})
INSERT INTO commitmentevent (commitment_id, actor_id, act, from_state, to_state, due_before,
                             due_after, at)
  SELECT i, requester, 'request', NULL, 'requested', NULL, due, created FROM chunk
  UNION ALL
  SELECT i, owner, CASE WHEN state = 'declined' THEN 'decline' ELSE 'promise' END,
         'requested', CASE WHEN state = 'declined' THEN 'declined' ELSE 'promised' END,
         due, due, answered FROM chunk WHERE state <> 'requested'
  UNION ALL
  SELECT i, owner, 'report_done', 'promised', 'done_reported', due, due, done
  FROM chunk WHERE state = 'accepted'
  UNION ALL
  SELECT i, requester, 'accept', 'done_reported', 'accepted', due, due,
         done + interval '1 day' FROM chunk WHERE state = 'accepted'
  UNION ALL
  SELECT i, owner, 'new_date', 'promised', 'promised', due - 7, due,
         created + interval '5 days' FROM chunk WHERE i % 11 = 0 AND state <> 'requested'
  UNION ALL
  SELECT i, owner, 'blocked', 'promised', 'promised', due, due,
         created + interval '6 days' FROM chunk WHERE i % 13 = 0 AND state <> 'requested'
  UNION ALL
  SELECT i, owner, 'note', 'promised', 'promised', due, due,
         created + ((6 + i % 9) || ' days')::interval FROM chunk
  WHERE i % 26 = 0 AND state <> 'requested';
SELECT setval('commitment_id_seq', {size});
DROP TABLE plan;
"""

SQLITE_FILL = """
INSERT INTO unit (id, name, timezone, cycle_months)
  WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {units} - 1)
  SELECT 'u' || i, 'Unit ' || i, 'UTC', '3,9' FROM n;
INSERT INTO person (id, handle, display_name, created_at)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {people})
  SELECT i, 'p' || i, 'Person ' || i, '2026-01-01 00:00:00.000000' FROM n;
CREATE TEMPORARY TABLE plan AS
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {size})
  SELECT i, 1 + i % {people} AS owner, 1 + (i * 7) % {people} AS requester,
         'u' || (i % {units}) AS unit, date('2026-11-23', printf('%+d days', 20 - i % 400)) AS due,
         CASE WHEN i % 7 = 0 THEN 'promised' WHEN i % 31 = 1 THEN 'requested'
              WHEN i % 37 = 2 THEN 'declined' ELSE 'accepted' END AS state,
         datetime('2026-11-23 12:00:00', printf('-%d days', i % 400)) AS created,
         datetime('2026-11-23 12:00:00', printf('-%d days', i % 400),
                  printf('+%d hours', i % 72)) AS answered,
         datetime('2026-11-23 08:00:00', printf('-%d days', i % 400),
                  printf('+%d days', 18 + i % 6)) AS done
  FROM n;
INSERT INTO commitment (id, what, owner_id, requester_id, unit_id, due, state, created_at,
                        updated_at, last_activity_at, done_at, answered_at)
  SELECT i, 'item ' || i, owner, requester, unit, due, state, {t_created}, {t_created},
         {t_created}, CASE WHEN state = 'accepted' THEN {t_done} END,
         CASE WHEN state <> 'requested' THEN {t_answered} END
  FROM plan;
INSERT INTO commitmentevent (commitment_id, actor_id, act, from_state, to_state, due_before,
                             due_after, at)
  SELECT i, requester, 'request', NULL, 'requested', NULL, due, {t_created} FROM plan
  UNION ALL
  SELECT i, owner, CASE WHEN state = 'declined' THEN 'decline' ELSE 'promise' END,
         'requested', CASE WHEN state = 'declined' THEN 'declined' ELSE 'promised' END,
         due, due, {t_answered} FROM plan WHERE state <> 'requested'
  UNION ALL
  SELECT i, owner, 'report_done', 'promised', 'done_reported', due, due, {t_done}
  FROM plan WHERE state = 'accepted'
  UNION ALL
  SELECT i, requester, 'accept', 'done_reported', 'accepted', due, due,
         datetime(done, '+1 day') || '.000000' FROM plan WHERE state = 'accepted'
  UNION ALL
  SELECT i, owner, 'new_date', 'promised', 'promised', date(due, '-7 days'), due,
         datetime(created, '+5 days') || '.000000' FROM plan
  WHERE i % 11 = 0 AND state <> 'requested'
  UNION ALL
  SELECT i, owner, 'blocked', 'promised', 'promised', due, due,
         datetime(created, '+6 days') || '.000000' FROM plan
  WHERE i % 13 = 0 AND state <> 'requested'
  UNION ALL
  SELECT i, owner, 'note', 'promised', 'promised', due, due,
         datetime(created, printf('+%d days', 6 + i % 9)) || '.000000' FROM plan
  WHERE i % 26 = 0 AND state <> 'requested'
"""
# SQLite keeps timestamps as text, in SQLAlchemy's format.
SQLITE_TIMES = {f"t_{name}": f"{name} || '.000000'" for name in ("created", "answered", "done")}

# The digest as the history defines it (migration 0011f), on the first items.
CHECK = """
SELECT count(*) FROM commitment c WHERE c.id <= 2000 AND (
  c.done_at IS DISTINCT FROM (SELECT max(e.at) FROM commitmentevent e
                              WHERE e.commitment_id = c.id AND e.to_state = 'done_reported')
  OR c.answered_at IS DISTINCT FROM (SELECT min(e.at) FROM commitmentevent e
                                     WHERE e.commitment_id = c.id AND e.actor_id = c.owner_id
                                       AND e.from_state = 'requested'))
"""


def set_aside(conn, sqlite: bool) -> list[str]:
    """Drop the indexes and triggers of the two big tables; return the SQL to put them back."""
    tables = ("commitment", "commitmentevent")
    if sqlite:
        rows = conn.execute(
            text(
                "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN (:a, :b) "
                "AND type IN ('index', 'trigger') AND sql IS NOT NULL"
            ),
            dict(zip("ab", tables, strict=True)),
        ).all()
        for kind, name, _ in rows:
            conn.execute(text(f'DROP {kind.upper()} "{name}"'))
        return [sql for _, _, sql in rows]
    rows = conn.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('commitment', "
            "'commitmentevent') AND indexname NOT LIKE '%pkey'"
        )
    ).all()
    for name, _ in rows:
        conn.execute(text(f'DROP INDEX "{name}"'))
    conn.execute(text("ALTER TABLE commitmentevent DISABLE TRIGGER USER"))
    return [sql for _, sql in rows] + ["ALTER TABLE commitmentevent ENABLE TRIGGER USER"]


CHUNK = 100_000


def steps(script: str, size: int) -> list[tuple[str, str]]:
    """(name, statement) in order; a statement over `chunk` once per CHUNK items."""
    out = []
    for n, statement in enumerate(s for s in script.split(";\n") if s.strip()):
        if "{lo}" not in statement:
            out.append((f"{n}", statement))
            continue
        for lo in range(0, size, CHUNK):
            hi = min(lo + CHUNK, size)
            out.append((f"{n}:{lo}", statement.format(lo=lo, hi=hi)))
    return out


def run_steps(url: str, engine, todo: list[tuple[str, str]]) -> None:
    """Each step in its own transaction, recorded as done with it; a step the server cut off
    (a restart) is run again once it answers, and a second run of the script carries on."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_step (name text PRIMARY KEY)"))
    for name, statement in todo:
        for attempt in range(5):
            try:
                with engine.begin() as conn:
                    done = conn.execute(
                        text("SELECT 1 FROM bench_step WHERE name = :n"), {"n": name}
                    ).first()
                    if not done:
                        conn.execute(text(statement))
                        conn.execute(text("INSERT INTO bench_step VALUES (:n)"), {"n": name})
                break
            except OperationalError as exc:
                print(f"  step {name} cut off ({type(exc.orig).__name__}); again", flush=True)
                wait_for_database(url, 600, lambda *_: None)
                if attempt == 4:
                    raise


def fill(url: str, size: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    sqlite = engine.dialect.name == "sqlite"
    script = (SQLITE_FILL if sqlite else POSTGRES_FILL).format(
        size=size, units=UNITS, people=PEOPLE, **SQLITE_TIMES
    )
    start = time.perf_counter()
    if sqlite:
        with engine.begin() as conn:
            restore = set_aside(conn, sqlite)
            for statement in script.split(";\n"):
                if statement.strip():
                    conn.execute(text(statement))
            for statement in restore:
                conn.execute(text(statement))
    else:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_restore (n int, statement text)"))
            if not conn.execute(text("SELECT 1 FROM bench_restore")).first():
                for n, statement in enumerate(set_aside(conn, sqlite)):
                    conn.execute(
                        text("INSERT INTO bench_restore VALUES (:n, :s)"),
                        {"n": n, "s": statement},
                    )
        with engine.connect() as conn:
            restore = conn.execute(text("SELECT statement FROM bench_restore ORDER BY n"))
            put_back = [(f"restore {i}", sql) for i, (sql,) in enumerate(restore)]
        run_steps(url, engine, steps(script, size) + put_back)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE bench_step"))
            conn.execute(text("DROP TABLE bench_restore"))
    with engine.begin() as conn:
        check = CHECK.replace("IS DISTINCT FROM", "IS NOT") if sqlite else CHECK
        wrong = conn.execute(text(check)).scalar()
        if wrong:
            raise SystemExit(f"the filled digest disagrees with the history on {wrong} items")
    if sqlite:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM commitmentevent")).scalar()
    took = time.perf_counter() - start
    print(f"{size:,} commitments, {events:,} history events, filled in {took:.0f} s")
    engine.dispose()


def timed(call, runs: int = 5) -> tuple[float, float]:
    """The medians of `runs` timings of `call` in ms: wall clock, and this process's CPU (on
    SQLite the work itself, which the other processes of a busy machine do not slow down)."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def time_scope(engine, scope: Scope, period: Period, today: dt.date, reference: float) -> None:
    rows = {
        "on time": lambda s: figures.on_time(s, scope, period, today),
        "days late": lambda s: figures.days_late(s, scope, period, today),
        "dates moved": lambda s: figures.dates_moved(s, scope, period),
        "time to answer": lambda s: figures.time_to_answer(s, scope, period),
        "time stuck": lambda s: figures.time_stuck(s, scope, period, NOW),
        "open by age": lambda s: figures.open_by_age(s, scope, today),
        "on time by month": lambda s: figures.on_time_by_month(s, scope, period, today),
        "whole report": lambda s: figures.compute(s, scope, period, NOW, today),
    }
    with Session(engine) as s:
        count = select(func.count()).select_from(Commitment).where(scope.condition())
        in_scope = s.execute(count).scalar()
        own, own_cpu = timed(lambda: s.execute(count).scalar())
        print(
            f"{scope.label} ({in_scope:,} commitments; their COUNT(*) {own:.1f} ms, "
            f"CPU {own_cpu:.1f} ms):"
        )
        for label, call in rows.items():
            if engine.dialect.name == "postgresql":
                s.execute(text("SET LOCAL jit = off"))  # as figures.compute does
            ms, cpu = timed(lambda call=call: call(s))
            print(
                f"  {label:<17} {ms:7.1f} ms (CPU {cpu:6.1f} ms)  {ms / reference:5.2f} x the "
                f"table's COUNT(*), {ms / own:5.2f} x the scope's"
            )
        s.rollback()


def measure(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)  # a kept database gets any index added since it was filled
    today = NOW.date()
    period = Period(dt.date(2026, 5, 23), today + dt.timedelta(days=1), "last 6 months")
    with Session(engine) as s:
        reference, cpu = timed(lambda: s.execute(text("SELECT count(*) FROM commitment")).scalar())
    print(
        f"{engine.dialect.name}: reference, COUNT(*) of the whole table: {reference:.1f} ms "
        f"(CPU {cpu:.1f} ms)"
    )
    scopes = [
        Scope("unit", "Unit 3", unit_id="u3"),
        Scope("it", "IT", it_people=IT_PEOPLE),
        Scope("person", "Person 1234", person_id=1234),
        Scope("business", "Business", it_people=IT_PEOPLE),
    ]
    for scope in scopes:
        time_scope(engine, scope, period, today, reference)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=LOCAL_URL)
    parser.add_argument("--sqlite", nargs="?", const="", help="SQLite, in this file (kept)")
    parser.add_argument("--filled", help="the URL of a database this script filled (--keep)")
    parser.add_argument("--keep", action="store_true", help="fill a database and keep it")
    parser.add_argument("--resume", action="store_true", help="with --keep: finish a fill")
    args = parser.parse_args()
    if args.filled:
        measure(args.filled)
        return 0
    if args.sqlite is not None:
        if args.sqlite:
            url = f"sqlite:///{args.sqlite}"
            if not Path(args.sqlite).exists():
                fill(url, args.size)
            measure(url)
            return 0
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/figures.db"
            fill(url, args.size)
            measure(url)
        return 0
    if args.keep:
        name = f"liaison_figures_{args.size}"
        url = args.database_url.rsplit("/", 1)[0] + "/" + name
        if not args.resume:
            admin = make_engine(args.database_url).execution_options(isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
        fill(url, args.size)
        print(f"kept: --filled {url}")
        measure(url)
        return 0
    with throwaway_database(args.database_url, "liaison_figures") as url:
        fill(url, args.size)
        measure(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
