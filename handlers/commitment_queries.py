"""Reading commitments: the open ones by person, unit or initiative, and the stuck ones.

Each query returns open commitments, soonest due first. "Overdue" is judged on the local date
of the person whose move it is (handlers.localtime), never on the server's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Row, and_, func, or_, true
from sqlmodel import Session, select

from handlers.dates import business_days_between
from handlers.localtime import earliest_today, latest_today, local_today
from handlers.org import Organisation
from storage.models import OPEN_STATES, Commitment, CommitmentState, Person

CLOSED = tuple(state for state in CommitmentState if state not in OPEN_STATES)
WAITING_ON_REQUESTER = (CommitmentState.COUNTERED, CommitmentState.DONE_REPORTED)


@dataclass(frozen=True)
class Page:
    """One page of a listing: its items (soonest due first), how many there are in all, and
    where the page starts; `reasons` says why each item is stuck (by id), for `stuck_page`."""

    items: list[Commitment | Row]
    total: int
    offset: int = 0
    reasons: dict[int, str] = field(default_factory=dict)

    @property
    def rest(self) -> int:
        """How many come after this page."""
        return max(0, self.total - self.offset - len(self.items))


def overseen_units(org: Organisation, person: Person) -> list[str] | None:
    """The units whose commitments a person oversees: all of them (None) for an admin, else
    the units they are liaison of. `can_oversee`, `can_see` and `visible_to` all ask here."""
    return None if person.handle in org.admins else org.liaison_units(person.handle)


def visible_to(org: Organisation, person: Person) -> ColumnElement[bool]:
    """`commitments.can_see` as a WHERE clause: their own items, and their units' items."""
    units = overseen_units(org, person)
    if units is None:
        return true()
    mine = or_(Commitment.owner_id == person.id, Commitment.requester_id == person.id)
    return or_(mine, Commitment.unit_id.in_(units)) if units else mine


def whose_move(item: Commitment | Row) -> int:
    """Whose move it is: the requester answers a counter or a done report, else the owner."""
    return item.requester_id if item.state in WAITING_ON_REQUESTER else item.owner_id


def _open() -> select:
    return select(Commitment).where(Commitment.state.in_([s.value for s in OPEN_STATES]))


def _ordered(query) -> select:
    return query.order_by(Commitment.due.is_(None), Commitment.due, Commitment.id)


def owed_by(session: Session, person_id: int) -> list[Commitment]:
    return list(session.exec(_ordered(_open().where(Commitment.owner_id == person_id))).all())


def owed_to(session: Session, person_id: int) -> list[Commitment]:
    query = _open().where(Commitment.requester_id == person_id, Commitment.owner_id != person_id)
    return list(session.exec(_ordered(query)).all())


def involving(session: Session, person_id: int) -> list[Commitment]:
    query = _open().where(
        or_(Commitment.owner_id == person_id, Commitment.requester_id == person_id)
    )
    return list(session.exec(_ordered(query)).all())


def page(
    session: Session, where: Iterable[ColumnElement[bool]], limit: int, offset: int = 0
) -> Page:
    """Open commitments matching `where`: `limit` of them from `offset`, and the count of all;
    two statements whatever the size of the table."""
    conditions = [Commitment.state.in_([s.value for s in OPEN_STATES]), *where]
    total = session.execute(select(func.count(Commitment.id)).where(*conditions)).scalar_one()
    query = _ordered(select(Commitment).where(*conditions)).offset(offset).limit(limit)
    return Page(list(session.exec(query).all()) if total > offset else [], total, offset)


def owed_by_where(person_id: int) -> list[ColumnElement[bool]]:
    return [Commitment.owner_id == person_id]


def owed_to_where(person_id: int) -> list[ColumnElement[bool]]:
    return [Commitment.requester_id == person_id, Commitment.owner_id != person_id]


def involving_where(person_id: int) -> list[ColumnElement[bool]]:
    return [or_(Commitment.owner_id == person_id, Commitment.requester_id == person_id)]


def unit_where(units: Iterable[str]) -> list[ColumnElement[bool]]:
    return [Commitment.unit_id.in_(list(units))]


def overdue_where(today: dt.date) -> list[ColumnElement[bool]]:
    return [Commitment.due < today, Commitment.state != CommitmentState.DONE_REPORTED.value]


def for_unit(session: Session, unit_id: str) -> list[Commitment]:
    return list(session.exec(_ordered(_open().where(Commitment.unit_id == unit_id))).all())


def for_initiative(session: Session, initiative_id: int) -> list[Commitment]:
    query = select(Commitment).where(Commitment.initiative_id == initiative_id)
    return list(session.exec(_ordered(query)).all())


def overdue(session: Session, today: dt.date) -> list[Commitment]:
    query = _open().where(
        Commitment.due < today, Commitment.state != CommitmentState.DONE_REPORTED.value
    )
    return list(session.exec(_ordered(query)).all())


def stuck_reason(
    item: Commitment | Row, now: dt.datetime, org: Organisation, today: dt.date | None = None
) -> str | None:
    """Why an open commitment is stuck ('overdue', 'unanswered', 'stale'), or None.

    Stale is a quiet week (`stale_days`) on an item with no due date or one due within that
    many days; an item due further off is left alone until it comes near.

    `today` is the local date of whoever is asking (the viewer, or the one whose move it is);
    without it, the date of the person whose move it is is unknown and UTC's is used."""
    if item.state in CLOSED:
        return None
    today = today or now.astimezone(dt.UTC).date()
    if item.due and item.due < today and item.state != CommitmentState.DONE_REPORTED:
        return "overdue"
    last = _aware(item.last_activity_at)
    if item.state in (CommitmentState.REQUESTED, CommitmentState.COUNTERED):
        waited = business_days_between(last, now, org.business_days)
        if waited >= org.thresholds.unanswered_business_days:
            return "unanswered"
    quiet = dt.timedelta(days=org.thresholds.stale_days)
    if now - last >= quiet and not (item.due and item.due > today + quiet):
        # A promise due in eight months is not stuck for a quiet week: its date is the check.
        return "stale"
    return None


def stuck(
    session: Session, org: Organisation, now: dt.datetime, units: Iterable[str] | None = None
) -> list[tuple[Row, str]]:
    """Open commitments that are overdue, unanswered or stale, optionally for some units.

    An item is overdue once its due date is before the local today of the person whose move
    it is. The items come back as read-only rows with the commitment's columns (not ORM
    objects): the sweeps read thousands of them, and a row costs a fraction of an entity.
    """
    stale_before = now - dt.timedelta(days=org.thresholds.stale_days)
    # Unanswered needs N business days, which is never less than N calendar days.
    unanswered_before = now - dt.timedelta(days=org.thresholds.unanswered_business_days)
    open_states = [s.value for s in OPEN_STATES]
    waiting = [CommitmentState.REQUESTED.value, CommitmentState.COUNTERED.value]
    columns = select(*Commitment.__table__.columns)
    # Three range scans on the (state, ...) indexes rather than one OR that scans the table.
    queries = [
        columns.where(Commitment.state.in_(open_states), Commitment.due < latest_today(now)),
        columns.where(
            Commitment.state.in_(open_states), Commitment.last_activity_at < stale_before
        ),
        columns.where(
            Commitment.state.in_(waiting), Commitment.last_activity_at < unanswered_before
        ),
    ]
    items: dict[int, Row] = {}
    for query in queries:
        if units is not None:
            query = query.where(Commitment.unit_id.in_(list(units)))
        for item in session.execute(query):
            items[item.id] = item
    ordered = sorted(items.values(), key=lambda c: (c.due is None, c.due or dt.date.min, c.id))
    people = load_people(session, {whose_move(item) for item in ordered if item.due})
    found = []
    for item in ordered:
        today = (
            local_today(org, now, people.get(whose_move(item)), item.unit_id) if item.due else None
        )
        reason = stuck_reason(item, now, org, today)
        if reason:
            found.append((item, reason))
    return found


def stuck_page(
    session: Session,
    org: Organisation,
    now: dt.datetime,
    *,
    limit: int,
    offset: int = 0,
    where: Iterable[ColumnElement[bool]] = (),
) -> Page:
    """A page of `stuck` (same items, same order, same reasons) and the count of all of them,
    in a handful of statements at any size of the table.

    SQL finds the candidates (every stuck item is one) and counts them; the few candidates
    that may not be stuck after all (due within the day that differs between time zones,
    or waiting a little less than the business days) are judged here and taken off."""
    candidates, unsure = _stuck_clauses(org, now)
    where = list(where)
    total = session.execute(
        select(func.count(Commitment.id)).where(candidates, *where)
    ).scalar_one()
    columns = select(*Commitment.__table__.columns)
    doubtful = list(session.execute(columns.where(candidates, unsure, *where)))
    judged = _judge(session, org, now, doubtful)
    total -= sum(1 for item in doubtful if item.id not in judged)
    found: list[Row] = []
    reasons: dict[int, str] = {}
    wanted, chunk, start = offset + limit, max(2 * (offset + limit), 50), 0
    ordered = _ordered(columns.where(candidates, *where))
    while len(found) < wanted:
        rows = list(session.execute(ordered.offset(start).limit(chunk)))
        reasons.update(_judge(session, org, now, rows))
        found += [row for row in rows if row.id in reasons]
        if len(rows) < chunk:
            break
        start, chunk = start + chunk, chunk * 2
    shown = found[offset:wanted]
    return Page(shown, total, offset, {row.id: reasons[row.id] for row in shown})


def _stuck_clauses(
    org: Organisation, now: dt.datetime
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Two WHERE clauses: every stuck item matches the first; a match of the first is stuck
    unless it also matches the second (which only a few days of items can match)."""
    quiet = dt.timedelta(days=org.thresholds.stale_days)
    stale_before = now - quiet
    unanswered_before = now - dt.timedelta(days=org.thresholds.unanswered_business_days)
    earliest, latest = earliest_today(now), latest_today(now)
    open_states = Commitment.state.in_([s.value for s in OPEN_STATES])
    waiting = Commitment.state.in_(
        [CommitmentState.REQUESTED.value, CommitmentState.COUNTERED.value]
    )
    overdue = and_(
        open_states,
        Commitment.state != CommitmentState.DONE_REPORTED.value,
        Commitment.due < latest,
    )
    stale = and_(
        open_states,
        Commitment.last_activity_at < stale_before,
        or_(Commitment.due.is_(None), Commitment.due <= latest + quiet),
    )
    unanswered = and_(waiting, Commitment.last_activity_at < unanswered_before)
    unsure = or_(
        and_(overdue, Commitment.due >= earliest),
        and_(stale, Commitment.due > earliest + quiet),
        and_(unanswered, Commitment.last_activity_at >= _surely_unanswered(org, now)),
    )
    return or_(overdue, stale, unanswered), unsure


def _surely_unanswered(org: Organisation, now: dt.datetime) -> dt.datetime:
    """A moment before which any request has waited the unanswered business days, whatever
    the time zone it is read in (a day's margin either side)."""
    needed = org.thresholds.unanswered_business_days
    day = now.astimezone(dt.UTC).date()
    while business_days_between(day, now, org.business_days) < needed:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), dt.UTC)


def _judge(
    session: Session, org: Organisation, now: dt.datetime, rows: list[Row]
) -> dict[int, str]:
    """Why each of these rows is stuck (by id); rows that are not stuck are left out."""
    people = load_people(session, {whose_move(row) for row in rows if row.due})
    found = {}
    for row in rows:
        today = local_today(org, now, people.get(whose_move(row)), row.unit_id) if row.due else None
        reason = stuck_reason(row, now, org, today)
        if reason:
            found[row.id] = reason
    return found


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def load_people(session: Session, person_ids: Iterable[int]) -> dict[int, Row]:
    """Many people at once (id, handle, timezone, home unit), a few queries in all; their
    handles are cached for describing items in this session."""
    handles = session.info.setdefault("handles", {})
    ids = list(set(person_ids))
    found: dict[int, Row] = {}
    columns = select(Person.id, Person.handle, Person.timezone, Person.home_unit)
    for start in range(0, len(ids), 500):
        for person in session.execute(columns.where(Person.id.in_(ids[start : start + 500]))):
            found[person.id] = person
            handles[person.id] = f"@{person.handle}"
    return found
