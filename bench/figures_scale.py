"""How long the promise-keeping figures take on a large history (PostgreSQL).

Fills a throwaway database with N commitments spread over 10 units and 2,000 people, each
with its history (a request; then a promise, a done report and an acceptance for most; a date
moved on one in ten; a block on one in twenty), made by the database itself
(generate_series), then times each figure for one unit, for IT, and the whole report.

Usage: python bench/figures_scale.py [--size 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlmodel import Session

from handlers import figures
from handlers.figures import Period, Scope
from storage.db import make_engine, upgrade
from tests.pg import LOCAL_URL, throwaway_database

NOW = dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC)
UNITS = 10
PEOPLE = 2000
FILL = """
INSERT INTO unit (id, name, timezone, cycle_months)
  SELECT 'u' || i, 'Unit ' || i, 'UTC', '3,9' FROM generate_series(0, {units} - 1) i;
INSERT INTO person (id, handle, display_name, created_at)
  SELECT i, 'p' || i, 'Person ' || i, now() FROM generate_series(1, {people}) i;
INSERT INTO commitment (id, what, owner_id, requester_id, unit_id, due, state, created_at,
                        updated_at, last_activity_at)
  SELECT i, 'item ' || i, 1 + i % {people}, 1 + (i * 7) % {people}, 'u' || (i % {units}),
         DATE '2026-11-23' - (i % 400) + 20,
         CASE WHEN i % 5 = 0 THEN 'promised' ELSE 'accepted' END,
         TIMESTAMPTZ '2026-11-23 12:00+00' - ((i % 400) || ' days')::interval,
         now(), now()
  FROM generate_series(1, {size}) i;
INSERT INTO commitmentevent (commitment_id, actor_id, act, from_state, to_state, due_before,
                             due_after, at)
  SELECT c.id, c.requester_id, 'request', NULL, 'requested', NULL, c.due, c.created_at
  FROM commitment c
  UNION ALL
  SELECT c.id, c.owner_id, 'promise', 'requested', 'promised', c.due, c.due,
         c.created_at + ((c.id % 72) || ' hours')::interval FROM commitment c
  UNION ALL
  SELECT c.id, c.owner_id, 'report_done', 'promised', 'done_reported', c.due, c.due,
         c.due - 2 + (c.id % 6) FROM commitment c WHERE c.state = 'accepted'
  UNION ALL
  SELECT c.id, c.owner_id, 'new_date', 'promised', 'promised', c.due - 7, c.due,
         c.created_at + interval '5 days' FROM commitment c WHERE c.id % 10 = 0
  UNION ALL
  SELECT c.id, c.owner_id, 'blocked', 'promised', 'promised', c.due, c.due,
         c.created_at + interval '6 days' FROM commitment c WHERE c.id % 20 = 0;
SELECT setval('commitment_id_seq', {size});
ANALYZE;
"""


def timed(label: str, call) -> float:
    start = time.perf_counter()
    call()
    took = time.perf_counter() - start
    print(f"  {label:<18} {took * 1000:8.0f} ms")
    return took


def time_scope(engine, scope: Scope, period: Period, today: dt.date) -> None:
    print(f"{scope.label}:")
    with Session(engine) as s:
        timed("on time", lambda: figures.on_time(s, scope, period, today))
        timed("days late", lambda: figures.days_late(s, scope, period, today))
        timed("dates moved", lambda: figures.dates_moved(s, scope, period))
        timed("time to answer", lambda: figures.time_to_answer(s, scope, period))
        timed("time stuck", lambda: figures.time_stuck(s, scope, period, NOW))
        timed("open by age", lambda: figures.open_by_age(s, scope, today))
        timed("whole report", lambda: figures.compute(s, scope, period, NOW, today))


def fill(url: str, size: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    with engine.begin() as conn:
        for statement in FILL.format(size=size, units=UNITS, people=PEOPLE).split(";"):
            if statement.strip():
                conn.execute(text(statement))
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM commitmentevent")).scalar()
    print(f"{size:,} commitments, {events:,} events, filled in {time.perf_counter() - start:.0f} s")
    engine.dispose()


def measure(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)  # a kept database gets any index added since it was filled
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    today = NOW.date()
    period = Period(dt.date(2026, 5, 23), today + dt.timedelta(days=1), "last 6 months")
    it = tuple(range(1, 201))  # 200 of the 2,000 people speak for IT
    time_scope(engine, Scope("unit", "Unit 3", unit_id="u3"), period, today)
    time_scope(engine, Scope("it", "IT", it_people=it), period, today)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=LOCAL_URL)
    parser.add_argument("--filled", help="the URL of a database this script filled (--keep)")
    parser.add_argument("--keep", action="store_true", help="fill a database and keep it")
    args = parser.parse_args()
    if args.filled:
        measure(args.filled)
        return 0
    if args.keep:
        name = f"liaison_figures_{args.size}"
        url = args.database_url.rsplit("/", 1)[0] + "/" + name
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
