"""The schema: migrations apply on both databases, match the models, and keep their promises."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from storage.db import current_revision, make_engine, normalise_url, session_scope, upgrade
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


@pytest.mark.postgres
def test_replicas_migrating_a_fresh_postgres_together_all_succeed(postgres_url):
    """Three processes upgrade one new database at once: an advisory lock serialises them."""
    import subprocess
    import sys
    import uuid

    from tests.conftest import ROOT

    base = postgres_url.rsplit("/", 1)[0]
    name = f"liaison_race_{uuid.uuid4().hex[:8]}"
    admin = make_engine(postgres_url.rsplit("/", 1)[0] + "/postgres").execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        code = (
            "import sys; from storage.db import make_engine, upgrade; "
            "upgrade(make_engine(sys.argv[1]))"
        )
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", code, f"{base}/{name}"],
                cwd=ROOT,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
        assert all(status == 0 for status, _ in results), results
        assert current_revision(make_engine(f"{base}/{name}")) is not None
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
