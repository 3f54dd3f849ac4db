"""Stuck commitments: which open ones are overdue, unanswered or stale, and why.

"Overdue" is judged on the local date of the person whose move it is (handlers.localtime).
`stuck` reads them all (the sweeps); `stuck_page` reads a page of them and counts them (the
listings), and `stuck_counts` counts them per unit (the metrics), each with SQL doing the
reading and only the few items whose answer depends on a time zone judged here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Row, and_, func, not_, or_
from sqlmodel import Session, select

from handlers.commitment_queries import (
    CLOSED,
    COUNT_CAP,
    OPEN,
    Key,
    Page,
    capped_count,
    in_order,
    load_people,
    whose_move,
)
from handlers.dates import business_days_between
from handlers.localtime import earliest_today, latest_today, local_today
from handlers.org import Organisation
from storage.models import OPEN_STATES, Commitment, CommitmentState


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
    after: Key | None = None,
) -> Page:
    """A page of `stuck` (same items, same order, same reasons) and their count (up to
    COUNT_CAP), in a handful of statements at any size of the table; from `offset`, or after
    the place `after` (as `page`).

    SQL finds the candidates (every stuck item is one) and counts them; the few candidates
    that may not be stuck after all (due within the day that differs between time zones)
    are judged here only when the count needs them (fewer than COUNT_CAP are sure)."""
    candidates, unsure = _stuck_clauses(org, now)
    conditions = [OPEN, candidates, *where]
    columns = select(*Commitment.__table__.columns)
    sure = or_(Commitment.due.is_(None), not_(or_(*unsure)))  # a dated row's clauses: not NULL
    total = capped_count(session, [*conditions, sure], COUNT_CAP)
    if total <= COUNT_CAP:
        doubtful = list(session.execute(columns.where(*conditions, or_(*unsure))))
        total = min(COUNT_CAP + 1, total + len(_judge(session, org, now, doubtful)))
    found: list[Row] = []
    reasons: dict[int, str] = {}
    skip = 0 if after is not None else offset
    wanted, chunk, place = skip + limit + 1, skip + limit + 8, after  # one more: a next page?
    while total and len(found) < wanted:  # by place in the index: no OFFSET to walk past
        rows = in_order(session, columns, conditions, 0, chunk, place)
        reasons.update(_judge(session, org, now, rows))
        found += [row for row in rows if row.id in reasons]
        if len(rows) < chunk:
            break
        place, chunk = (rows[-1].due, rows[-1].id), chunk * 2
    shown = found[skip:wanted]
    return Page.cut(shown, limit, total, offset, {row.id: reasons[row.id] for row in shown})


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
    """Why each of these rows is stuck (by id); rows that are not stuck are left out.

    Everyone's today lies between the earliest and the latest date on Earth, and each test
    of `stuck_reason` turns at most once as today grows: a row judged the same on both is
    judged so everywhere, and only the others need the zone of the person whose move it is."""
    earliest, latest = earliest_today(now), latest_today(now)
    found: dict[int, str | None] = {}
    zoned = []
    for row in rows:
        reason = stuck_reason(row, now, org, earliest) if row.due else None
        if row.due and reason != stuck_reason(row, now, org, latest):
            zoned.append(row)
        else:
            found[row.id] = reason if row.due else stuck_reason(row, now, org)
    people = load_people(session, {whose_move(row) for row in zoned}) if zoned else {}
    for row in zoned:
        today = local_today(org, now, people.get(whose_move(row)), row.unit_id)
        found[row.id] = stuck_reason(row, now, org, today)
    return {row.id: found[row.id] for row in rows if found[row.id]}


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
