"""Whether the partial indexes on open commitments (migrations 0008, 0011l) help, on PostgreSQL:
EXPLAIN (ANALYZE) of the statements a `commitments stuck` and a `unit` listing send, with the
indexes and then without them, on one table of --size commitments (after ANALYZE).

Usage: python bench/listing_explain.py [--size 100000]
Uses a throwaway database beside LIAISON_TEST_POSTGRES_URL (or 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from listing import NOW, ROOT, populate
from sqlalchemy import event, text

from handlers.core import Liaison
from handlers.messages import Inbound, Sender
from handlers.org import load_organisation
from handlers.playbooks import load_catalogue
from storage.db import make_engine, upgrade
from tests.pg import find_postgres, throwaway_database

INDEXES = (
    "ix_commitment_open_due_activity",
    "ix_commitment_open_unit_activity",
    "ix_commitment_open_owner_due",
    "ix_commitment_open_requester_due",
    "ix_commitment_open_activity",
)
ASKS = (("dana", "commitments stuck"), ("sam", "commitments unit finance"))


def statements(bot: Liaison, who: str, typed: str) -> list[tuple[str, dict]]:
    """The SELECTs on commitment one listing sends, with their parameters."""
    seen: list[tuple[str, dict]] = []

    def keep(conn, cursor, statement, parameters, context, many) -> None:
        if "FROM commitment" in statement and statement.lstrip().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(bot.engine, "before_cursor_execute", keep)
    bot.handle(Inbound(Sender("shell", who, name=who), "dm", text=typed, is_direct=True))
    event.remove(bot.engine, "before_cursor_execute", keep)
    return seen


def explain(bot: Liaison, sent: list[tuple[str, dict]], show: bool = True) -> list[float]:
    times = []
    with bot.engine.connect() as conn:
        cursor = conn.connection.cursor()
        for statement, parameters in sent:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + statement, parameters)
            plan = [row[0] for row in cursor.fetchall()]
            total = float(re.search(r"Execution Time: ([\d.]+)", plan[-1])[1])
            times.append(total)
            if show:
                used = re.findall(
                    r"(?:Index|Bitmap Index) (?:Only )?Scan using (\w+)", "\n".join(plan)
                )
                print(f"  {total:8.2f} ms  {plan[0].strip()[:60]}  {sorted(set(used))}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    base, how = find_postgres()
    if base is None:
        raise SystemExit(f"no PostgreSQL: {how}")
    org = load_organisation(ROOT / "liaison.example.toml")
    with throwaway_database(base, "liaison_explain") as url:
        engine = make_engine(url)
        upgrade(engine)
        bot = Liaison(engine=engine, org=org, catalogue=load_catalogue(org), clock=lambda: NOW)
        populate(bot, args.size)
        sent = {ask: statements(bot, *ask) for ask in ASKS}
        for label in ("with the partial indexes", "without them"):
            print(f"{args.size:,} commitments, {label}:")
            for ask, found in sent.items():
                explain(bot, found, show=False)  # warm: the figures are of a warm cache
                print(f" {ask[1]} ({ask[0]}): {sum(explain(bot, found)):.2f} ms in all")
            with engine.begin() as conn:
                for name in INDEXES:
                    conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
                conn.execute(text("ANALYZE commitment"))
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
