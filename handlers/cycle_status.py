"""Where a unit's input cycle stands: briefed, asked, reminded, answered, and the initiatives
its answers produced. Read from what the sweeps recorded (the ledger's once-only keys), the
cycle's row and the intakes its offers started; `commitments cycle` and the dashboard show it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, select

from handlers.briefings import cycle_dates, unit_months
from handlers.org import Organisation
from storage import ledger
from storage.models import Cycle, Initiative, IntakeSession, IntakeStatus, LedgerStatus, Unit

CURRENT_DAYS = 60  # a cycle is "the current one" this long after its day


@dataclass(frozen=True)
class CycleStatus:
    unit_id: str
    unit: str
    day: dt.date | None
    briefed: bool = False
    asked: bool = False
    reminded: bool = False
    liaison_told: bool = False
    answered: dt.datetime | None = None
    initiatives: tuple[tuple[int, str], ...] = ()
    today: dt.date | None = None

    @property
    def stage(self) -> str:
        if self.answered is not None:
            return "answered"
        if self.asked:
            return "asked, not answered yet"
        if self.day and self.today and self.day <= self.today:
            return "not asked yet"
        if self.briefed:
            return "briefed"
        return "coming up"


def current_cycle(unit: Unit, today: dt.date) -> dt.date | None:
    """The cycle being run now (its day passed less than CURRENT_DAYS ago), else the next."""
    days = cycle_dates(unit_months(unit), today)
    recent = [d for d in days if d <= today and (today - d).days < CURRENT_DAYS]
    if recent:
        return recent[-1]
    return next((d for d in days if d > today), None)


def _sent(session: Session, key: str) -> bool:
    row = ledger.find(session, key)
    return row is not None and row.status == LedgerStatus.SENT


def status(session: Session, org: Organisation, unit_id: str, today: dt.date) -> CycleStatus:
    unit = session.get(Unit, unit_id)
    name = org.units[unit_id].name if unit_id in org.units else unit_id
    day = current_cycle(unit, today) if unit is not None else None
    if day is None:
        return CycleStatus(unit_id, name, None)
    key = f"{unit_id}:{day.isoformat()}"
    cycle = session.exec(
        select(Cycle).where(Cycle.unit_id == unit_id, Cycle.cycle_date == day)
    ).first()
    produced: tuple[tuple[int, str], ...] = ()
    if cycle is not None:
        rows = session.exec(
            select(Initiative.id, Initiative.title)
            .join(IntakeSession, IntakeSession.initiative_id == Initiative.id)
            .where(
                IntakeSession.status == IntakeStatus.DONE,
                IntakeSession.source_key.like(f"%:cycle-{cycle.id}-%"),
            )
            .order_by(Initiative.id)
        ).all()
        produced = tuple((i, t) for i, t in rows)
    return CycleStatus(
        unit_id,
        name,
        day,
        briefed=_sent(session, f"briefing:{key}"),
        asked=_sent(session, f"questionnaire:{key}"),
        reminded=_sent(session, f"cycle-reminder:{key}"),
        liaison_told=_sent(session, f"cycle-unanswered:{key}"),
        answered=cycle.answered_at if cycle is not None else None,
        initiatives=produced,
        today=today,
    )
