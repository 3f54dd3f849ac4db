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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, select

from handlers import figures
from handlers.org import Organisation
from handlers.reports import parse_period
from storage.models import (
    Address,
    Commitment,
    CommitmentEvent,
    Initiative,
    InitiativeEvent,
    InitiativeLink,
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


def _day(value: dt.date | dt.datetime | None) -> str:
    return value.isoformat() if value else ""


# One declaration per exported table: its rows, ordered by id, and its columns, each a getter
# of (row, handle of a person id). The CSV header, the JSON keys and the column order all come
# from here, so an empty table still has its header.
_Column = tuple[str, Callable[[Any, Callable[[int | None], str]], Any]]
EXPORTED: dict[str, tuple[type, tuple[_Column, ...]]] = {
    "initiatives": (
        Initiative,
        (
            ("id", lambda i, who: i.id),
            ("kind", lambda i, who: i.kind),
            ("title", lambda i, who: i.title),
            ("unit", lambda i, who: i.unit_id or ""),
            ("requester", lambda i, who: who(i.requester_id)),
            ("owner", lambda i, who: who(i.owner_id)),
            ("target_date", lambda i, who: _day(i.target_date)),
            ("status", lambda i, who: i.status),
            ("source_excerpt", lambda i, who: i.source_excerpt or ""),
            ("source_link", lambda i, who: i.source_link or ""),
            ("created_at", lambda i, who: _day(i.created_at)),
        ),
    ),
    "rasci": (
        RoleAssignment,
        (
            ("initiative_id", lambda r, who: r.initiative_id),
            ("role", lambda r, who: r.role_key),
            ("role_title", lambda r, who: r.role_title),
            ("letter", lambda r, who: r.letter),
            ("party", lambda r, who: r.party),
            ("person", lambda r, who: who(r.person_id)),
        ),
    ),
    "commitments": (
        Commitment,
        (
            ("id", lambda c, who: c.id),
            ("what", lambda c, who: c.what),
            ("owner", lambda c, who: who(c.owner_id)),
            ("requester", lambda c, who: who(c.requester_id)),
            ("unit", lambda c, who: c.unit_id or ""),
            ("initiative_id", lambda c, who: c.initiative_id or ""),
            ("role", lambda c, who: c.role_key or ""),
            ("due", lambda c, who: _day(c.due)),
            ("state", lambda c, who: c.state),
            ("created_at", lambda c, who: _day(c.created_at)),
            ("last_activity_at", lambda c, who: _day(c.last_activity_at)),
            ("closed_at", lambda c, who: _day(c.closed_at)),
        ),
    ),
    "history": (
        CommitmentEvent,
        (
            ("commitment_id", lambda e, who: e.commitment_id),
            ("at", lambda e, who: _day(e.at)),
            ("actor", lambda e, who: who(e.actor_id)),
            ("act", lambda e, who: e.act),
            ("from_state", lambda e, who: e.from_state or ""),
            ("to_state", lambda e, who: e.to_state),
            ("due_before", lambda e, who: _day(e.due_before)),
            ("due_after", lambda e, who: _day(e.due_after)),
            ("note", lambda e, who: e.note or ""),
            ("channel", lambda e, who: e.channel or ""),
        ),
    ),
}


def export_tables(
    session: Session,
    org: Organisation | None = None,
    now: dt.datetime | None = None,
    today: dt.date | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every initiative, RASCI cell, commitment and history event, with handles, not ids;
    with an organisation and a clock, also the promise-keeping figures of the last 6 months
    (each unit, IT, the business side: handlers.figures)."""
    handles = _handles(session)

    def who(person_id: int | None) -> str:
        return handles.get(person_id, "") if person_id else ""

    tables = {
        name: [
            {column: read(row, who) for column, read in columns}
            for row in session.exec(select(model).order_by(model.id)).all()
        ]
        for name, (model, columns) in EXPORTED.items()
    }
    if org is not None and now is not None and today is not None:
        period = parse_period("last 6 months", today)
        tables[FIGURES] = [
            export_row(figures.compute(session, scope, period, now, today))
            for scope in figures.overall(org, session)
        ]
    return tables


FIGURES = "figures"

FIGURE_COLUMNS = (
    "scope",
    "period_start",
    "period_end",
    "due",
    "on_time",
    "on_time_rate",
    "days_late_median",
    "days_late_p90",
    "date_changes",
    "commitments_moved",
    "answer_hours_median",
    "answer_hours_p90",
    "unanswered",
    "blocked_days_median",
    "blocked_days_p90",
    "open_under_week",
    "open_1_4_weeks",
    "open_1_3_months",
    "open_over_3_months",
)


def export_row(found: figures.Figures) -> dict[str, object]:
    rate = found.on_time_rate
    values = [
        found.scope.label,
        found.period.start.isoformat(),
        found.period.end.isoformat(),
        found.due,
        found.kept,
        "" if rate is None else round(rate, 3),
        _blank(found.late.median),
        _blank(found.late.p90),
        found.date_changes,
        found.moved_items,
        _blank(found.answer_hours.median),
        _blank(found.answer_hours.p90),
        found.unanswered,
        _blank(found.stuck_days.median),
        _blank(found.stuck_days.p90),
        *(n for _, n in found.open_ages),
    ]
    return dict(zip(FIGURE_COLUMNS, values, strict=True))


def _blank(value: int | None) -> object:
    return "" if value is None else value


def columns_of(table: str) -> list[str]:
    """The columns of an exported table, in order."""
    if table == FIGURES:
        return list(FIGURE_COLUMNS)
    return [column for column, _ in EXPORTED[table][1]]


def to_json(tables: dict[str, list[dict[str, Any]]]) -> str:
    return json.dumps(tables, indent=2, ensure_ascii=False)


# OWASP's CSV injection rule: a spreadsheet runs a cell that starts with one of these as a
# formula, so such a text cell gets a leading apostrophe, which shows it as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell that a spreadsheet will show as text, never run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]], columns: Iterable[str] | None = None) -> str:
    """One table as CSV, with a header row even when it is empty, every cell safe to open."""
    buffer = io.StringIO()
    fieldnames = list(columns or (rows[0].keys() if rows else []))
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\r\n")  # RFC 4180
    writer.writeheader()
    writer.writerows({key: neutralise(value) for key, value in row.items()} for row in rows)
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
        session.exec(delete(InitiativeEvent).where(InitiativeEvent.initiative_id.in_(chunk)))
        session.exec(
            delete(InitiativeLink).where(
                InitiativeLink.first_id.in_(chunk) | InitiativeLink.second_id.in_(chunk)
            )
        )
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
