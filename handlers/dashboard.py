"""What the dashboard shows a liaison or an admin, as plain data (bot/dashboard draws it).

For the viewer's units (every unit for an admin): the initiatives by target date, the stuck
commitments by unit and age, the on-time rate per month, each unit's input cycle, and the
similar-initiative suggestions and links. The same rules as the chat commands decide what is
shown (handlers.signin.dashboard_units, handlers.similar.describe).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Row
from sqlmodel import Session, or_, select

from handlers import commitments, cycle_status, figures, similar
from handlers.figures import Period, Scope
from handlers.localtime import local_today
from handlers.org import Organisation
from handlers.signin import dashboard_units
from storage.models import Initiative, InitiativeLink, InitiativeStatus, Person

MONTHS_SHOWN = 6
STUCK_AGES = ((7, "under a week"), (30, "1–4 weeks"), (90, "1–3 months"), (None, "older"))
MAX_TIMELINE = 60


@dataclass(frozen=True)
class Planned:
    id: int
    title: str
    unit: str
    kind: str
    target: dt.date | None
    status: str


@dataclass(frozen=True)
class MonthFigure:
    month: str  # "2026-11"
    due: int
    kept: int

    @property
    def rate(self) -> int | None:
        return round(100 * self.kept / self.due) if self.due else None


@dataclass(frozen=True)
class LinkRow:
    ours: str
    theirs: str
    score: float
    linked: bool


@dataclass
class Board:
    viewer: str
    today: dt.date
    units: list[tuple[str, str]]  # (id, name)
    timeline: list[Planned] = field(default_factory=list)
    stuck: list[tuple[str, list[int]]] = field(default_factory=list)  # unit name, per STUCK_AGES
    months: list[tuple[str, list[MonthFigure]]] = field(default_factory=list)  # scope label
    cycles: list[cycle_status.CycleStatus] = field(default_factory=list)
    links: list[LinkRow] = field(default_factory=list)

    @property
    def stuck_ages(self) -> list[str]:
        return [label for _, label in STUCK_AGES]


def board(session: Session, org: Organisation, viewer: Person, now: dt.datetime) -> Board:
    """Everything the viewer's dashboard shows, from a handful of queries."""
    units = dashboard_units(org, viewer)
    today = local_today(org, now, viewer)
    found = Board(viewer.handle, today, [(u, org.units[u].name) for u in units])
    found.timeline = _timeline(session, org, units)
    found.stuck = _stuck(session, org, units, now, today)
    found.months = _months(session, org, units, today)
    found.cycles = [cycle_status.status(session, org, u, today) for u in units]
    found.links = _links(session, org, viewer, units)
    return found


def _timeline(session: Session, org: Organisation, units: list[str]) -> list[Planned]:
    rows = session.exec(
        select(Initiative)
        .where(
            Initiative.unit_id.in_(units or [""]),
            Initiative.status.in_((InitiativeStatus.PLANNING, InitiativeStatus.ACTIVE)),
        )
        .order_by(Initiative.target_date.is_(None), Initiative.target_date, Initiative.id)
        .limit(MAX_TIMELINE)
    ).all()
    return [
        Planned(i.id, i.title, org.units[i.unit_id].name, i.kind, i.target_date, i.status)
        for i in rows
    ]


def _age_bucket(days: int) -> int:
    for index, (limit, _) in enumerate(STUCK_AGES):
        if limit is not None and days < limit:
            return index
    return len(STUCK_AGES) - 1


def _stuck(
    session: Session, org: Organisation, units: list[str], now: dt.datetime, today: dt.date
) -> list[tuple[str, list[int]]]:
    """Per unit, the stuck commitments by how long: days overdue, else days quiet."""
    counts = {u: [0] * len(STUCK_AGES) for u in units}
    for row, why in commitments.stuck(session, org, now, units) if units else []:
        if row.unit_id not in counts:
            continue
        days = (today - row.due).days if why == "overdue" and row.due else _quiet_days(row, now)
        counts[row.unit_id][_age_bucket(days)] += 1
    return [(org.units[u].name, counts[u]) for u in units]


def _quiet_days(row: Row, now: dt.datetime) -> int:
    last = row.last_activity_at
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return max((now - last).days, 0)


def _months(
    session: Session, org: Organisation, units: list[str], today: dt.date
) -> list[tuple[str, list[MonthFigure]]]:
    """The on-time rate per month of the last MONTHS_SHOWN months: each unit, then IT and the
    business side within these units."""
    first = today.replace(day=1)
    for _ in range(MONTHS_SHOWN - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    period = Period(first, today + dt.timedelta(days=1), f"the last {MONTHS_SHOWN} months")
    labels = []
    month = first
    while month <= today:
        labels.append(f"{month:%Y-%m}")
        month = (month + dt.timedelta(days=32)).replace(day=1)
    people = figures.it_people(session, org)
    scopes = [Scope("unit", org.units[u].name, unit_id=u) for u in units]
    scopes += [
        Scope("it", "IT", it_people=people, units=tuple(units)),
        Scope("business", "Business", it_people=people, units=tuple(units)),
    ]
    out = []
    for scope in scopes:
        rows = {m: (n, k) for m, n, k in figures.on_time_by_month(session, scope, period, today)}
        out.append((scope.label, [MonthFigure(m, *rows.get(m, (0, 0))) for m in labels]))
    return out


def _links(session: Session, org: Organisation, viewer: Person, units: list[str]) -> list[LinkRow]:
    ids = select(Initiative.id).where(Initiative.unit_id.in_(units or [""]))
    rows = session.exec(
        select(InitiativeLink)
        .where(or_(InitiativeLink.first_id.in_(ids), InitiativeLink.second_id.in_(ids)))
        .order_by(InitiativeLink.id.desc())
        .limit(50)
    ).all()
    out = []
    for link in rows:
        pair = [session.get(Initiative, link.first_id), session.get(Initiative, link.second_id)]
        ours = pair[0] if pair[0].unit_id in units else pair[1]
        theirs = pair[1] if ours is pair[0] else pair[0]
        if link.linked_at is not None:
            other = f"{org.units[theirs.unit_id].name}'s #{theirs.id} “{theirs.title}”"
        else:
            other = similar.describe(session, org, viewer, theirs)
        out.append(
            LinkRow(
                similar.describe(session, org, viewer, ours),
                other,
                link.score,
                link.linked_at is not None,
            )
        )
    return out
