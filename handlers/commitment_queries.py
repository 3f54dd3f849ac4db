"""Reading commitments: the open ones by person, unit or initiative, and the stuck ones.

Each query returns open commitments, soonest due first. "Overdue" is judged on the local date
of the person whose move it is (handlers.localtime), never on the server's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Row, and_, func, literal_column, or_, true
from sqlmodel import Session, select

from handlers.dates import business_days_between
from handlers.localtime import earliest_today, latest_today, local_today
from handlers.org import Organisation
from storage.models import OPEN_STATES, Commitment, CommitmentState, Person

CLOSED = tuple(state for state in CommitmentState if state not in OPEN_STATES)
# "Is open", with the states written into the SQL as the partial indexes' WHERE says it
# (storage.models.OPEN_SQL): SQLite uses a partial index only for a query that repeats it.
OPEN = Commitment.state.in_([literal_column(f"'{state.value}'") for state in OPEN_STATES])
COUNT_CAP = 1000  # a listing counts up to this many; beyond, it says "more than 1,000"
WAITING_ON_REQUESTER = (CommitmentState.COUNTERED, CommitmentState.DONE_REPORTED)


@dataclass(frozen=True)
class Page:
    """One page of a listing: its items (soonest due first), how many there are in all (up
    to COUNT_CAP, then COUNT_CAP + 1), and where the page starts; `reasons` says why each
    item is stuck (by id), for `stuck_page`."""

    items: list[Commitment | Row]
    total: int
    offset: int = 0
    reasons: dict[int, str] = field(default_factory=dict)

    @property
    def rest(self) -> int:
        """How many come after this page (at least)."""
        return max(0, self.total - self.offset - len(self.items))

    @property
    def counted(self) -> str:
        """The count in words: "27", or "more than 1,000"."""
        return f"more than {COUNT_CAP:,}" if self.total > COUNT_CAP else f"{self.total:,}"


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
    """Open commitments matching `where`: `limit` of them from `offset`, and their count (up
    to COUNT_CAP); a few statements, each reading a page's worth of an index."""
    conditions = [OPEN, *where]
    total = _count(session, conditions, COUNT_CAP)
    rows = _in_order(session, select(Commitment), conditions, offset, limit) if total else []
    return Page([row[0] for row in rows], total, offset)


def _count(session: Session, conditions: list, cap: int) -> int:
    """How many rows match, counting no further than cap + 1."""
    matching = select(Commitment.id).where(*conditions).limit(cap + 1).subquery()
    return session.execute(select(func.count()).select_from(matching)).scalar_one()


def _in_order(session: Session, columns, conditions: list, offset: int, limit: int) -> list[Row]:
    """Rows soonest due first (by id among equals), the undated last: the dated ones walk
    the partial index on (due, id), then the undated ones follow by id."""
    dated = columns.where(*conditions, Commitment.due.is_not(None))
    query = dated.order_by(Commitment.due, Commitment.id).offset(offset).limit(limit)
    rows = list(session.execute(query))
    if len(rows) == limit:
        return rows
    before = (
        offset + len(rows)
        if rows or not offset
        else _count(session, [*conditions, Commitment.due.is_not(None)], offset)
    )
    undated = columns.where(*conditions, Commitment.due.is_(None)).order_by(Commitment.id)
    rest = undated.offset(max(0, offset - before)).limit(limit - len(rows))
    return rows + list(session.execute(rest))


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
    session: Session,
    org: Organisation,
    now: dt.datetime,
    units: Iterable[str] | None = None,
    people: dict[int, Row] | None = None,
) -> list[tuple[Row, str]]:
    """Open commitments that are overdue, unanswered or stale, optionally for some units.

    An item is overdue once its due date is before the local today of the person whose move
    it is. The items come back as read-only rows with the commitment's columns (not ORM
    objects): the sweeps read thousands of them, and a row costs a fraction of an entity.
    `people`, if given, holds people loaded already (`load_people`); those missing are added.
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
    movers = {item.id: whose_move(item) for item in ordered if item.due}
    people = load_people(session, set(movers.values()), people)
    todays: dict[tuple[int, str | None], dt.date] = {}  # one local date per person and unit
    found = []
    for item in ordered:
        today = None
        if item.due:
            place = (movers[item.id], item.unit_id)
            today = todays.get(place)
            if today is None:
                today = todays[place] = local_today(org, now, people.get(place[0]), place[1])
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
    """A page of `stuck` (same items, same order, same reasons) and their count (up to
    COUNT_CAP), in a handful of statements at any size of the table.

    SQL finds the candidates (every stuck item is one) and counts them; the few candidates
    that may not be stuck after all (due within the day that differs between time zones)
    are judged here and taken off."""
    candidates, unsure = _stuck_clauses(org, now)
    conditions = [OPEN, candidates, *where]
    columns = select(*Commitment.__table__.columns)
    doubtful = {
        row.id: row
        for clause in unsure
        for row in session.execute(columns.where(*conditions, clause))
    }
    judged = _judge(session, org, now, list(doubtful.values()))
    not_stuck = len(doubtful) - len(judged)
    total = _count(session, conditions, COUNT_CAP + not_stuck) - not_stuck
    found: list[Row] = []
    reasons: dict[int, str] = {}
    wanted, chunk, start = offset + limit, offset + limit + max(8, not_stuck), 0
    while len(found) < wanted:
        rows = _in_order(session, columns, conditions, start, chunk)
        reasons.update(_judge(session, org, now, rows))
        found += [row for row in rows if row.id in reasons]
        if len(rows) < chunk:
            break
        start, chunk = start + chunk, chunk * 2
    shown = found[offset:wanted]
    return Page(shown, total, offset, {row.id: reasons[row.id] for row in shown})


def stuck_counts(session: Session, org: Organisation, now: dt.datetime) -> dict[str | None, int]:
    """How many items are stuck, per unit (None: no unit), as `stuck` judges them: counted in
    SQL, with only the doubtful few judged here (a metrics scrape asks every few seconds)."""
    candidates, unsure = _stuck_clauses(org, now)
    query = select(Commitment.unit_id, func.count(Commitment.id)).where(OPEN, candidates)
    counts = {unit: n for unit, n in session.execute(query.group_by(Commitment.unit_id))}
    columns = select(*Commitment.__table__.columns).where(OPEN, candidates)
    doubtful = {row.id: row for clause in unsure for row in session.execute(columns.where(clause))}
    judged = _judge(session, org, now, list(doubtful.values()))
    for item in doubtful.values():
        if item.id not in judged:
            counts[item.unit_id] -= 1
    return {unit: n for unit, n in counts.items() if n}


def _stuck_clauses(
    org: Organisation, now: dt.datetime
) -> tuple[ColumnElement[bool], list[ColumnElement[bool]]]:
    """A WHERE clause and a few more: every stuck item matches the first; a match of the
    first is stuck unless it also matches one of the others (each a range of a few days)."""
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
    # Exact: a request is unanswered once its last activity's date is on or before the
    # last day that leaves the business days (`stuck` reads no later than `unanswered_before`).
    answered_after = min(unanswered_before, _unanswered_before(org, now))
    unanswered = and_(waiting, Commitment.last_activity_at < answered_after)
    unsure = [
        and_(overdue, Commitment.due >= earliest),
        and_(stale, Commitment.due > earliest + quiet),
    ]
    return or_(overdue, stale, unanswered), unsure


def _unanswered_before(org: Organisation, now: dt.datetime) -> dt.datetime:
    """The moment before which a request has waited the unanswered business days: the start
    of the day after the last date that leaves that many business days up to `now` (dates
    in UTC, as the columns store them and `stuck_reason` reads them)."""
    needed = org.thresholds.unanswered_business_days
    day = now.astimezone(dt.UTC).date()
    while business_days_between(day, now, org.business_days) < needed:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)


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


def load_people(
    session: Session, person_ids: Iterable[int], known: dict[int, Row] | None = None
) -> dict[int, Row]:
    """Many people at once (id, handle, timezone, home unit), a few queries in all; their
    handles are cached for describing items in this session. With `known` (people loaded
    earlier in the same piece of work), only the others are read, and `known` is returned
    with them added."""
    handles = session.info.setdefault("handles", {})
    found: dict[int, Row] = {} if known is None else known
    ids = list(set(person_ids) - found.keys())
    columns = select(Person.id, Person.handle, Person.timezone, Person.home_unit)
    for start in range(0, len(ids), 500):
        for person in session.execute(columns.where(Person.id.in_(ids[start : start + 500]))):
            found[person.id] = person
            handles[person.id] = f"@{person.handle}"
    return found
