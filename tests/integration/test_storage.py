"""The schema: migrations apply on both databases, match the models, and keep their promises."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from handlers.org import load_organisation
from storage.db import (
    MIGRATIONS,
    current_revision,
    make_engine,
    normalise_url,
    session_scope,
    upgrade,
)
from storage.models import Address, IntakeSession, Person


def test_migrations_create_every_table(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert current_revision(engine) is not None


def test_migrations_match_the_models(engine):
    """A model change without a migration would fail here."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine):
    before = current_revision(engine)
    upgrade(engine)
    assert current_revision(engine) == before


def test_address_is_unique_per_channel(engine):
    with session_scope(engine) as session:
        person = Person(handle="pat", display_name="Pat")
        session.add(person)
        session.flush()
        session.add(Address(person_id=person.id, channel="slack", external_id="U1"))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Address(person_id=person.id, channel="slack", external_id="U1"))
    with session_scope(engine) as session:  # the same id on another channel is fine
        session.add(Address(person_id=person.id, channel="teams", external_id="U1"))


def test_an_intake_source_can_only_open_one_intake(engine):
    with session_scope(engine) as session:
        person = Person(handle="kim", display_name="Kim")
        session.add(person)
        session.flush()
        pid = person.id
        session.add(
            IntakeSession(
                source_key="slack:C1:1.0", person_id=pid, channel="slack", conversation="C1"
            )
        )
    with pytest.raises(IntegrityError), Session(engine) as session:
        session.add(
            IntakeSession(
                source_key="slack:C1:1.0", person_id=pid, channel="slack", conversation="C1"
            )
        )
        session.commit()


def test_timestamps_come_back_aware_utc(engine):
    with session_scope(engine) as session:
        session.add(Person(handle="lee", display_name="Lee"))
    with Session(engine) as session:
        person = session.exec(select(Person).where(Person.handle == "lee")).one()
        assert person.created_at.utcoffset() is not None


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_postgres_urls_get_the_psycopg_driver():
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_guarded_claim_is_refused_once_its_guard_is_claimed(engine):
    from storage import ledger

    with session_scope(engine) as session:
        assert ledger.claim(session, "offer:slack:C1:1.1", "offer", "{}", unless="closed:C1")
        assert not ledger.claim(session, "offer:slack:C1:1.1", "offer", "{}", unless="closed:C1")
        assert ledger.claim(session, "closed:C1", "offer-closed")
    with session_scope(engine) as session:
        assert not ledger.claim(session, "offer:slack:C1:2.2", "offer", "{}", unless="closed:C1")
        assert ledger.find(session, "offer:slack:C1:2.2") is None  # nothing was written
        row = ledger.find(session, "offer:slack:C1:1.1")
        assert (row.kind, row.status, row.attempts, row.payload) == ("offer", "claimed", 0, "{}")
        assert row.created_at == row.updated_at and row.created_at.tzinfo is not None


def test_a_ledger_key_is_claimed_once(engine):
    from storage import ledger

    with session_scope(engine) as session:
        assert ledger.claim(session, "nudge:7:2026-11-23", "nudge") is True
        assert ledger.claim(session, "nudge:7:2026-11-23", "nudge") is False
    with session_scope(engine) as session:
        assert ledger.claim(session, "nudge:7:2026-11-23", "nudge") is False
        ledger.mark_failed(session, "nudge:7:2026-11-23", "slack said 500")
    with session_scope(engine) as session:
        row = ledger.find(session, "nudge:7:2026-11-23")
        assert (row.status, row.attempts, row.error) == ("failed", 1, "slack said 500")
        ledger.mark_sent(session, row.key)
    with session_scope(engine) as session:
        assert ledger.find(session, "nudge:7:2026-11-23").status == "sent"


# Ten replicas of the bot: one interpreter imports the bot once and forks ten processes, which
# wait on a pipe and start together when it closes. Each is a process of its own, with its own
# connections, as ten containers would be; the import (a second of CPU) is not paid ten times.
REPLICAS = """
import os, sys, traceback
from bot.bootstrap import bootstrap
from bot.config import load_settings

go, start = os.pipe()
replicas = []
for _ in range(10):
    pid = os.fork()
    if pid == 0:
        os.close(start)
        os.read(go, 1)  # until the pipe closes: then all ten start at once
        try:
            settings = {"DATABASE_URL": sys.argv[1], "LIAISON_CONFIG": sys.argv[2]}
            bootstrap(load_settings(settings, dotenv_path=None))
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(1)
        os._exit(0)
    replicas.append(pid)
os.close(start)
statuses = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in replicas]
print(" ".join(map(str, statuses)))
"""


@pytest.mark.postgres
def test_ten_replicas_starting_together_on_a_fresh_postgres_all_start(postgres_url):
    """Ten processes start at once: the migration lock serialises the upgrade, and the config
    sync inserts each person, address and unit once (INSERT ... ON CONFLICT), so none fails."""
    import subprocess
    import sys

    from tests.conftest import EXAMPLE_CONFIG, ROOT
    from tests.pg import throwaway_database

    with throwaway_database(postgres_url, "liaison_race") as url:
        run = subprocess.run(
            [sys.executable, "-c", REPLICAS, url, str(EXAMPLE_CONFIG)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        engine = make_engine(url)
        assert run.stdout.split() == ["0"] * 10, run.stdout + run.stderr
        assert current_revision(engine) is not None
        with session_scope(engine) as session:
            handles = session.exec(select(Person.handle)).all()
        engine.dispose()
    assert sorted(handles) == sorted(load_organisation(EXAMPLE_CONFIG).people)


def test_upgrading_carries_unanswered_nudge_counts_into_the_nudge_log(tmp_path):
    """Before 0005 a commitment counted its unanswered nudges in a column; after, a row each."""
    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(eng, "0004")
    with eng.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO person (id, handle, display_name, created_at) "
                "VALUES (1, 'pat', 'Pat', '2026-11-01')"
            )
        )
        for cid, count, closed in ((1, 2, None), (2, 0, None), (3, 3, "2026-11-20")):
            conn.execute(
                text(
                    "INSERT INTO commitment (id, what, owner_id, requester_id, state, created_at,"
                    " updated_at, last_activity_at, closed_at, nudges_unanswered, last_nudged_at)"
                    " VALUES (:id, 'x', 1, 1, 'promised', '2026-11-01', '2026-11-01',"
                    " '2026-11-01', :closed, :count, '2026-11-19')"
                ),
                {"id": cid, "count": count, "closed": closed},
            )
    upgrade(eng)
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT commitment_id FROM nudge ORDER BY id")).scalars().all()
        columns = {c["name"] for c in inspect(conn).get_columns("commitment")}
    assert rows == [1, 1]  # the closed item had nothing left to escalate
    assert "nudges_unanswered" not in columns
    config = Config()  # and back: the counts return to the column
    config.set_main_option("script_location", str(MIGRATIONS))
    with eng.connect() as conn:  # as storage.db.upgrade does: a copied table keeps its rows
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        with conn.begin():
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()
    with eng.connect() as conn:
        counts = conn.execute(text("SELECT id, nudges_unanswered FROM commitment ORDER BY id"))
        assert counts.all() == [(1, 2), (2, 0), (3, 0)]
    eng.dispose()
