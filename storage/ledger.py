"""Claim a side effect once, across retries, restarts and replicas, with a unique key."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

from sqlalchemy import Connection, bindparam, exists, literal, update
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
    *,
    unless: str | None = None,
) -> bool:
    """Insert the key if nobody has (and, with `unless`, if nobody has claimed that other key
    either, in the same statement); True when this caller got it."""
    now = now or utcnow()
    connection = session.connection()  # Core, not the ORM's bulk insert: one row, no objects
    statement = _claim_statement(connection.dialect.name, unless is not None)
    values = {"key": key[:300], "kind": kind, "payload": payload, "now": now, "unless": unless}
    return connection.execute(statement, values).first() is not None


@functools.cache
def _claim_statement(dialect: str, guarded: bool = False):
    """The INSERT ... ON CONFLICT DO NOTHING of `claim`, built once per dialect (a message
    that claims something pays for the round trip, not for building the statement); when
    `guarded`, an INSERT ... SELECT ... WHERE NOT EXISTS (the key `unless`)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    columns = Ledger.__table__.c
    if not guarded:
        statement = insert(Ledger).values(
            key=bindparam("key"),
            kind=bindparam("kind"),
            payload=bindparam("payload"),
            status=LedgerStatus.CLAIMED.value,
            attempts=0,
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
    else:
        other = Ledger.__table__.alias("other")
        row = select(
            bindparam("key", type_=columns.key.type),
            bindparam("kind", type_=columns.kind.type),
            bindparam("payload", type_=columns.payload.type),
            literal(LedgerStatus.CLAIMED.value, columns.status.type),
            literal(0, columns.attempts.type),
            bindparam("now", type_=columns.created_at.type),
            bindparam("now", type_=columns.updated_at.type),
        ).where(~exists().where(other.c.key == bindparam("unless", type_=columns.key.type)))
        names = ("key", "kind", "payload", "status", "attempts", "created_at", "updated_at")
        statement = insert(Ledger).from_select([columns[name] for name in names], row)
    return statement.on_conflict_do_nothing(index_elements=["key"]).returning(Ledger.id)


def claim_many(
    session: Session, rows: list[tuple[str, str, str | None]], now: dt.datetime | None = None
) -> set[str]:
    """Claim many (key, kind, payload) at once; return the keys this caller got.

    One statement compiled once and sent in batches (SQLAlchemy's "insertmanyvalues"), with
    the keys that were inserted coming back through RETURNING.
    """
    if not rows:
        return set()
    now = now or utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Ledger).on_conflict_do_nothing(index_elements=["key"]).returning(Ledger.key)
    values = [
        {
            "key": key[:300],
            "kind": kind,
            "payload": payload,
            "status": LedgerStatus.CLAIMED.value,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "error": None,
            "sent_at": None,
        }
        for key, kind, payload in rows
    ]
    return set(session.connection().execute(statement, values).scalars().all())


def mark_many(
    session: Session, keys: list[str], status: str, now: dt.datetime | None = None
) -> None:
    """Record the outcome of many sends in one statement per 500 keys (built once)."""
    now = now or utcnow()
    statement = _mark_statement(status == LedgerStatus.SENT)
    for start in range(0, len(keys), 500):
        values = {"keys": keys[start : start + 500], "new_status": str(status), "at": now}
        session.connection().execute(statement, values)


@functools.cache
def _sent_statement():
    return (
        update(Ledger)
        .where(Ledger.key == bindparam("k"))
        .values(
            status=bindparam("new_status"),
            sent_at=bindparam("at"),
            updated_at=bindparam("at"),
            attempts=Ledger.attempts + 1,
        )
    )


@functools.cache
def _mark_statement(sent: bool):
    values = {
        "status": bindparam("new_status"),
        "updated_at": bindparam("at"),
        "attempts": Ledger.attempts + 1,
    }
    if sent:
        values["sent_at"] = bindparam("at")
    return update(Ledger).where(Ledger.key.in_(bindparam("keys", expanding=True))).values(values)


def mark_failed_many(
    session: Session, failures: list[tuple[str, str]], now: dt.datetime | None = None
) -> None:
    """`mark_failed` for many (key, error) at once: one statement, sent as a batch."""
    if failures:
        rows = [{"k": key, "why": error[:500], "at": now or utcnow()} for key, error in failures]
        session.connection().execute(_failed_statement(), rows)


@functools.cache
def _failed_statement():
    return (
        update(Ledger)
        .where(Ledger.key == bindparam("k"))
        .values(
            status=LedgerStatus.FAILED.value,
            error=bindparam("why"),
            updated_at=bindparam("at"),
            attempts=Ledger.attempts + 1,
        )
    )


def take(
    session: Session,
    ids: list[int],
    still: tuple,
    now: dt.datetime,
    status: str = LedgerStatus.CLAIMED,
) -> list[str]:
    """Claim the rows `ids` that still meet the conditions `still`, in one conditional UPDATE
    (to `status`);
    the payloads of the rows this caller took (in id order). Exclusive across processes: run
    it as the first statement of a transaction (see schedules.sweep), and a row taken by
    someone else meanwhile no longer meets `still`."""
    statement = (
        update(Ledger)
        .where(Ledger.id.in_(ids), *still)
        .values(status=status, updated_at=now)
        .returning(Ledger.id, Ledger.payload)
    )
    rows = session.connection().execute(statement).all()
    return [payload for _, payload in sorted(rows)]


def find(session: Session, key: str) -> Ledger | None:
    return session.exec(select(Ledger).where(Ledger.key == key)).first()


def taken(session: Session, key: str) -> bool:
    """Whether someone claimed the key (`find` without loading the row)."""
    return session.connection().execute(_taken_statement(), {"k": key}).first() is not None


@functools.cache
def _taken_statement():
    return select(Ledger.id).where(Ledger.key == bindparam("k")).limit(1)


def mark_sent(session: Session | Connection, key: str, now: dt.datetime | None = None) -> None:
    """The key's side effect happened: one UPDATE (no row is loaded; a missing key is none),
    in a session's transaction or on a connection of its own (`Liaison.confirm`)."""
    connection = session if isinstance(session, Connection) else session.connection()
    values = {"k": key, "new_status": LedgerStatus.SENT.value, "at": now or utcnow()}
    connection.execute(_sent_statement(), values)


def mark_failed(session: Session, key: str, error: str, now: dt.datetime | None = None) -> None:
    row = find(session, key)
    if row is not None:
        row.status, row.error, row.updated_at = LedgerStatus.FAILED, error[:500], now or utcnow()
        row.attempts += 1
        session.add(row)


# A message sent in several parts (a Teams digest over the size limit): each part delivered is
# recorded under the message's key, so a retry sends only the parts that did not arrive.

PART_KIND = "part"


def part_key(key: str, index: int, count: int) -> str:
    """The ledger key of part `index` (from 0) of `count` of the message `key`."""
    base = key if len(key) <= 250 else hashlib.sha256(key.encode()).hexdigest()
    return f"part {index + 1}/{count} of {base}"


def parts_sent(session: Session, key: str, count: int) -> set[int]:
    """Which parts (by index) of the message `key`, cut in `count`, were delivered."""
    keys = {part_key(key, index, count): index for index in range(count)}
    rows = session.exec(
        select(Ledger.key).where(Ledger.key.in_(list(keys)), Ledger.status == LedgerStatus.SENT)
    ).all()
    return {keys[row] for row in rows}


def mark_part_sent(
    session: Session, key: str, index: int, count: int, now: dt.datetime | None = None
) -> None:
    """Part `index` of `count` of the message `key` was delivered."""
    part = part_key(key, index, count)
    claim(session, part, PART_KIND, now=now)
    mark_sent(session, part, now)
