"""The data's life cycle: export for the liaison's spreadsheet, retention, and forgetting a person.

Export writes commitments, initiatives, their RASCI and the commitment history as CSV files or
one JSON document. Retention deletes what was closed long ago. Forgetting a person removes what
identifies them and keeps everyone else's records readable: their commitments and history stay,
shown as "a former colleague".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, select

from storage.models import (
    Address,
    Commitment,
    CommitmentEvent,
    Initiative,
    InitiativeStatus,
    IntakeSession,
    Ledger,
    LedgerStatus,
    Nudge,
    Person,
    RoleAssignment,
)

FORGOTTEN_NAME = "a former colleague"
LEDGER_DAYS = 30  # once-only keys older than this can no longer collide


def _handles(session: Session) -> dict[int, str]:
    return {p.id: p.handle for p in session.exec(select(Person)).all()}


def export_tables(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every initiative, RASCI cell, commitment and history event, with handles, not ids."""
    who = _handles(session)
    name = lambda pid: who.get(pid, "") if pid else ""  # noqa: E731
    initiatives = [
        {
            "id": i.id,
            "kind": i.kind,
            "title": i.title,
            "unit": i.unit_id or "",
            "requester": name(i.requester_id),
            "owner": name(i.owner_id),
            "target_date": i.target_date.isoformat() if i.target_date else "",
            "status": i.status,
            "source_excerpt": i.source_excerpt or "",
            "source_link": i.source_link or "",
            "created_at": i.created_at.isoformat(),
        }
        for i in session.exec(select(Initiative).order_by(Initiative.id)).all()
    ]
    rasci = [
        {
            "initiative_id": r.initiative_id,
            "role": r.role_key,
            "role_title": r.role_title,
            "letter": r.letter,
            "party": r.party,
            "person": name(r.person_id),
        }
        for r in session.exec(select(RoleAssignment).order_by(RoleAssignment.id)).all()
    ]
    commitments = [
        {
            "id": c.id,
            "what": c.what,
            "owner": name(c.owner_id),
            "requester": name(c.requester_id),
            "unit": c.unit_id or "",
            "initiative_id": c.initiative_id or "",
            "role": c.role_key or "",
            "due": c.due.isoformat() if c.due else "",
            "state": c.state,
            "created_at": c.created_at.isoformat(),
            "last_activity_at": c.last_activity_at.isoformat(),
            "closed_at": c.closed_at.isoformat() if c.closed_at else "",
        }
        for c in session.exec(select(Commitment).order_by(Commitment.id)).all()
    ]
    history = [
        {
            "commitment_id": e.commitment_id,
            "at": e.at.isoformat(),
            "actor": name(e.actor_id),
            "act": e.act,
            "from_state": e.from_state or "",
            "to_state": e.to_state,
            "due_before": e.due_before.isoformat() if e.due_before else "",
            "due_after": e.due_after.isoformat() if e.due_after else "",
            "note": e.note or "",
            "channel": e.channel or "",
        }
        for e in session.exec(select(CommitmentEvent).order_by(CommitmentEvent.id)).all()
    ]
    return {
        "initiatives": initiatives,
        "rasci": rasci,
        "commitments": commitments,
        "history": history,
    }


def to_json(tables: dict[str, list[dict[str, Any]]]) -> str:
    return json.dumps(tables, indent=2, ensure_ascii=False)


def to_csv(rows: list[dict[str, Any]], columns: Iterable[str] | None = None) -> str:
    """One table as CSV, with a header row even when it is empty."""
    buffer = io.StringIO()
    fieldnames = list(columns or (rows[0].keys() if rows else []))
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@dataclass(frozen=True)
class Forgotten:
    handle: str
    addresses: int
    excerpts: int
    intakes: int


def forget(session: Session, person: Person) -> Forgotten:
    """Remove what identifies a person; keep the shared records, attributed to no one by name."""
    handle = person.handle
    addresses = session.exec(delete(Address).where(Address.person_id == person.id)).rowcount
    intakes = session.exec(
        delete(IntakeSession).where(IntakeSession.person_id == person.id)
    ).rowcount
    excerpts = session.exec(
        update(Initiative)
        .where(Initiative.requester_id == person.id, Initiative.source_excerpt.is_not(None))
        .values(source_excerpt=None, source_link=None)
    ).rowcount
    person.handle = f"forgotten-{person.id}"
    session.info.pop("handles", None)  # handles cached for describing items are stale now
    person.display_name = FORGOTTEN_NAME
    person.email = None
    person.timezone = None
    person.calendar_token = None
    person.home_unit = None
    session.add(person)
    session.flush()
    return Forgotten(handle, addresses or 0, excerpts or 0, intakes or 0)


@dataclass(frozen=True)
class Retention:
    initiatives_closed: int
    initiatives_deleted: int
    commitments_deleted: int
    ledger_deleted: int


def apply_retention(session: Session, closed_days: int, now: dt.datetime) -> Retention:
    """Close initiatives whose commitments are all closed and whose date has passed; delete
    initiatives and commitments closed more than `closed_days` ago, with their history."""
    closed_now = _close_finished_initiatives(session, now)
    cutoff = now - dt.timedelta(days=closed_days)
    old_commitments = session.exec(
        select(Commitment.id).where(
            Commitment.closed_at.is_not(None), Commitment.closed_at < cutoff
        )
    ).all()
    old_initiatives = session.exec(
        select(Initiative.id).where(
            Initiative.closed_at.is_not(None), Initiative.closed_at < cutoff
        )
    ).all()
    for start in range(0, len(old_commitments), 500):
        chunk = old_commitments[start : start + 500]
        session.exec(delete(CommitmentEvent).where(CommitmentEvent.commitment_id.in_(chunk)))
        session.exec(delete(Nudge).where(Nudge.commitment_id.in_(chunk)))
        session.exec(delete(Commitment).where(Commitment.id.in_(chunk)))
    deleted_initiatives = 0
    for start in range(0, len(old_initiatives), 500):
        chunk = old_initiatives[start : start + 500]
        still_open = set(
            session.exec(
                select(Commitment.initiative_id).where(Commitment.initiative_id.in_(chunk))
            ).all()
        )
        chunk = [i for i in chunk if i not in still_open]
        session.exec(delete(RoleAssignment).where(RoleAssignment.initiative_id.in_(chunk)))
        session.exec(
            update(IntakeSession)
            .where(IntakeSession.initiative_id.in_(chunk))
            .values(initiative_id=None)
        )
        session.exec(delete(Initiative).where(Initiative.id.in_(chunk)))
        deleted_initiatives += len(chunk)
    ledger_cutoff = now - dt.timedelta(days=max(LEDGER_DAYS, 1))
    ledger_deleted = session.exec(
        delete(Ledger).where(Ledger.status == LedgerStatus.SENT, Ledger.updated_at < ledger_cutoff)
    ).rowcount
    return Retention(closed_now, deleted_initiatives, len(old_commitments), ledger_deleted or 0)


def _close_finished_initiatives(session: Session, now: dt.datetime) -> int:
    """An initiative is done once its target date has passed and nothing of it is open."""
    candidates = session.exec(
        select(Initiative).where(
            Initiative.status.in_([InitiativeStatus.PLANNING.value, InitiativeStatus.ACTIVE.value]),
            Initiative.target_date.is_not(None),
            Initiative.target_date < now.date(),
        )
    ).all()
    closed = 0
    for initiative in candidates:
        items = session.exec(
            select(Commitment).where(Commitment.initiative_id == initiative.id)
        ).all()
        if all(c.closed_at for c in items):
            initiative.status = InitiativeStatus.DONE
            initiative.closed_at = max((c.closed_at for c in items), default=now)
            session.add(initiative)
            closed += 1
    return closed
