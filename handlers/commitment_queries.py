"""Reading commitments: the open ones by person, unit or initiative, and the stuck ones.

Each query returns open commitments, soonest due first. "Overdue" is judged on the local date
of the person whose move it is (handlers.localtime), never on the server's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Row, or_
from sqlmodel import Session, select

from handlers.dates import business_days_between
from handlers.localtime import latest_today, local_today
from handlers.org import Organisation
from storage.models import OPEN_STATES, Commitment, CommitmentState, Person

CLOSED = tuple(state for state in CommitmentState if state not in OPEN_STATES)
WAITING_ON_REQUESTER = (CommitmentState.COUNTERED, CommitmentState.DONE_REPORTED)


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
