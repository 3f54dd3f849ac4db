"""Claim a side effect once, across retries, restarts and replicas, with a unique key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from storage.models import Ledger, LedgerStatus, utcnow


def claim(
    session: Session,
    key: str,
    kind: str,
    payload: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Insert the key if nobody has; True when this caller got it."""
    now = now or utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Ledger)
        .values(
            key=key[:300],
            kind=kind,
            payload=payload,
            status=LedgerStatus.CLAIMED,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Ledger.id)
    )
    return session.exec(statement).first() is not None


def find(session: Session, key: str) -> Ledger | None:
    return session.exec(select(Ledger).where(Ledger.key == key)).first()


def mark_sent(session: Session, key: str, now: dt.datetime | None = None) -> None:
    row = find(session, key)
    if row is not None:
        row.status, row.sent_at, row.updated_at = (
            LedgerStatus.SENT,
            now or utcnow(),
            now or utcnow(),
        )
        row.attempts += 1
        session.add(row)


def mark_failed(session: Session, key: str, error: str, now: dt.datetime | None = None) -> None:
    row = find(session, key)
    if row is not None:
        row.status, row.error, row.updated_at = LedgerStatus.FAILED, error[:500], now or utcnow()
        row.attempts += 1
        session.add(row)
