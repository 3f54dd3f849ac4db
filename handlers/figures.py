"""Promise-keeping figures: how well commitments are kept, computed from the history table.

Each figure is one SQL query, grouped in the database (a count, or a histogram of whole days
or hours), so the answer is a handful of rows whatever the size of the tables. What a figure
needs of an item's history is kept on the item by the database (commitment.done_at and
answered_at, a trigger on each new history row, migration 0011f), and indexes hold what each
figure reads for a unit or a person in a period, so a figure reads one range of one index and
no lookup per item; the acts in a period (blocks, due dates moved) are range scans on the
history. Medians and 90th percentiles are read from the histograms here (at most one row per
distinct value), which works the same on SQLite and PostgreSQL (SQLite has no percentile
function).

What each figure means (for the commitments *owed* by the person, the unit's, IT's or the
business side's people):

- on time: of the commitments due in the period (and before today), the share done (the last
  "done" report) by the due date and accepted; declined, cancelled and released ones are left
  out.
- days late: for those due in the period that were (or still are) late, how late: the day
  done was reported, or today for the ones still open.
- dates moved: how many due dates were changed in the period, and on how many commitments.
- time to answer: for requests made in the period, the hours until the owner's first act
  (promise, decline, counter, done, blocked); the ones never answered are counted apart.
- time stuck: each "I'm blocked" in the period, in days until the next act on that item.
- open by age: the open commitments now, by how long ago they were asked for.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, func, literal, select, text, tuple_
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from handlers.org import Organisation
from handlers.sql_days import day_literal, day_number, hours_between, time_day_number, year_month
from storage.models import OPEN_STATES, Commitment, CommitmentEvent, CommitmentState, Person

LEFT_OUT = (CommitmentState.DECLINED, CommitmentState.CANCELLED, CommitmentState.RELEASED)
AGE_BUCKETS = ((7, "under a week"), (30, "1–4 weeks"), (90, "1–3 months"), (None, "over 3 months"))


# --- scope, period, spread -------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose promises: a person's, a unit's, IT's or the business side's. `units` narrows any
    of them to some units (a liaison who is not an admin sees their own units only)."""

    kind: str  # "person" | "unit" | "it" | "business" | "all"
    label: str
    person_id: int | None = None
    unit_id: str | None = None
    it_people: tuple[int, ...] = ()
    units: tuple[str, ...] | None = None

    def condition(self) -> ColumnElement:
        """The commitments in scope, as a condition on the commitment table."""
        parts: list[ColumnElement] = []
        if self.kind == "person":
            parts.append(Commitment.owner_id == self.person_id)
        elif self.kind == "unit":
            parts.append(Commitment.unit_id == self.unit_id)
        elif self.kind == "it":
            parts.append(Commitment.owner_id.in_(self.it_people or (-1,)))
        elif self.kind == "business":
            parts.append(Commitment.owner_id.not_in(self.it_people or (-1,)))
        if self.units is not None:
            parts.append(Commitment.unit_id.in_(self.units or ("",)))
        return and_(*parts) if parts else literal(True)


def it_people(session: Session, org: Organisation) -> tuple[int, ...]:
    """The ids of the people who speak for IT (admins, liaisons, it_staff)."""
    rows = session.exec(select(Person.id, Person.handle)).all()
    return tuple(pid for pid, handle in rows if org.is_it(handle))


@dataclass(frozen=True)
class Period:
    """[start, end): dates; `label` is how a person said it."""

    start: dt.date
    end: dt.date
    label: str


@dataclass(frozen=True)
class Spread:
    """A distribution read from a histogram: how many, the median and the 90th percentile."""

    count: int = 0
    median: int | None = None
    p90: int | None = None


def spread(histogram: Iterable[tuple[int, int]]) -> Spread:
    """Nearest-rank median and 90th percentile of (value, how many) pairs."""
    pairs = sorted((int(v), int(n)) for v, n in histogram if v is not None and n)
    total = sum(n for _, n in pairs)
    if not total:
        return Spread()

    def rank(share: float) -> int:
        wanted, seen = max(1, math.ceil(share * total)), 0
        for value, n in pairs:
            seen += n
            if seen >= wanted:
                return value
        return pairs[-1][0]

    return Spread(total, rank(0.5), rank(0.9))


# --- the figures, one query each -------------------------------------------------------------


def _kept() -> ColumnElement:
    """Accepted, and its owner last said it was done on or before its due day."""
    return and_(
        Commitment.state == CommitmentState.ACCEPTED,
        time_day_number(Commitment.done_at) <= day_number(Commitment.due),
    )


def _due_in(period: Period, today: dt.date) -> list[ColumnElement]:
    return [
        Commitment.due >= period.start,
        Commitment.due < min(period.end, today),
        Commitment.state.not_in(LEFT_OUT),
    ]


def on_time(session: Session, scope: Scope, period: Period, today: dt.date) -> tuple[int, int]:
    """(commitments due in the period, of which done by their date and accepted)."""
    kept = case((_kept(), 1), else_=0)
    query = select(func.count(), func.coalesce(func.sum(kept), 0)).where(
        scope.condition(), *_due_in(period, today)
    )
    due, kept_count = session.execute(query).one()
    return int(due), int(kept_count)


def days_late(session: Session, scope: Scope, period: Period, today: dt.date) -> Spread:
    """How late the late ones were: done day (or today, if still open) minus due day."""
    finished = Commitment.state.in_((CommitmentState.ACCEPTED, CommitmentState.DONE_REPORTED))
    until = case((finished, time_day_number(Commitment.done_at)), else_=day_literal(today))
    late = (until - day_number(Commitment.due)).label("late")
    inner = select(late).where(scope.condition(), *_due_in(period, today)).subquery()
    query = (
        select(inner.c.late, func.count())
        .where(inner.c.late > 0)
        .group_by(inner.c.late)
        .order_by(inner.c.late)
    )
    return spread(session.execute(query).all())


def dates_moved(session: Session, scope: Scope, period: Period) -> tuple[int, int]:
    """(due-date changes made in the period, commitments they were made on)."""
    query = (
        select(func.count(CommitmentEvent.id), func.count(CommitmentEvent.commitment_id.distinct()))
        .join(Commitment, Commitment.id == CommitmentEvent.commitment_id)
        .where(
            scope.condition(),
            CommitmentEvent.at >= _start_of(period.start),
            CommitmentEvent.at < _start_of(period.end),
            # As the partial index on the changes says it (a NULL on either side is no change).
            CommitmentEvent.due_before != CommitmentEvent.due_after,
        )
    )
    changes, items = session.execute(query).one()
    return int(changes), int(items)


def time_to_answer(session: Session, scope: Scope, period: Period) -> tuple[Spread, int]:
    """(hours from a request to its owner's first answer, requests never answered)."""
    hours = hours_between(Commitment.created_at, Commitment.answered_at).label("hours")
    inner = (
        select(hours)
        .where(
            scope.condition(),
            Commitment.owner_id != Commitment.requester_id,
            Commitment.created_at >= _start_of(period.start),
            Commitment.created_at < _start_of(period.end),
        )
        .subquery()
    )
    rows = session.execute(select(inner.c.hours, func.count()).group_by(inner.c.hours)).all()
    unanswered = sum(n for h, n in rows if h is None)
    return spread((max(h, 0), n) for h, n in rows if h is not None), int(unanswered)


def time_stuck(session: Session, scope: Scope, period: Period, now: dt.datetime) -> Spread:
    """Days from each "I'm blocked" in the period to the next act on that item (or now).

    The blocks in the period are a range scan on the history's (act, at) index, and the act
    after each one a lookup on its (commitment_id, at) index, so the cost follows the blocks,
    not the history."""
    block, after = aliased(CommitmentEvent), aliased(CommitmentEvent)
    next_at = (
        select(func.min(after.at))
        .where(
            after.commitment_id == block.commitment_id,
            tuple_(after.at, after.id) > tuple_(block.at, block.id),
        )
        .correlate(block)
        .scalar_subquery()
    )
    days = (
        func.coalesce(time_day_number(next_at), day_literal(now.date())) - time_day_number(block.at)
    ).label("days")
    inner = (
        select(days)
        .join(Commitment, Commitment.id == block.commitment_id)
        .where(
            scope.condition(),
            block.act == "blocked",
            block.at >= _start_of(period.start),
            block.at < _start_of(period.end),
        )
        .subquery()
    )
    return spread(session.execute(select(inner.c.days, func.count()).group_by(inner.c.days)).all())


def open_by_age(session: Session, scope: Scope, today: dt.date) -> list[tuple[str, int]]:
    """The open commitments now, by the age of the request (AGE_BUCKETS)."""
    age = day_literal(today) - time_day_number(Commitment.created_at)
    bucket = case(
        *((age < limit, index) for index, (limit, _) in enumerate(AGE_BUCKETS) if limit),
        else_=len(AGE_BUCKETS) - 1,
    ).label("bucket")
    inner = select(bucket).where(scope.condition(), Commitment.state.in_(OPEN_STATES)).subquery()
    rows = dict(
        session.execute(select(inner.c.bucket, func.count()).group_by(inner.c.bucket)).all()
    )
    return [(label, int(rows.get(index, 0))) for index, (_, label) in enumerate(AGE_BUCKETS)]


def on_time_by_month(
    session: Session, scope: Scope, period: Period, today: dt.date
) -> list[tuple[str, int, int]]:
    """(month 'YYYY-MM', due that month, kept) for each month of the period with items due."""
    kept = _kept()
    month = year_month(Commitment.due).label("month")
    inner = select(month, case((kept, 1), else_=0).label("kept")).where(
        scope.condition(), *_due_in(period, today)
    )
    sub = inner.subquery()
    query = (
        select(sub.c.month, func.count(), func.sum(sub.c.kept))
        .group_by(sub.c.month)
        .order_by(sub.c.month)
    )
    return [(str(m), int(n), int(k or 0)) for m, n, k in session.execute(query).all()]


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


# --- all of them together --------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    scope: Scope
    period: Period
    due: int
    kept: int
    late: Spread
    date_changes: int
    moved_items: int
    answer_hours: Spread
    unanswered: int
    stuck_days: Spread
    open_ages: Sequence[tuple[str, int]]

    @property
    def on_time_rate(self) -> float | None:
        return self.kept / self.due if self.due else None


def compute(
    session: Session, scope: Scope, period: Period, now: dt.datetime, today: dt.date
) -> Figures:
    """Every figure for one scope and period (seven queries)."""
    if session.get_bind().dialect.name == "postgresql":
        # Each query reads thousands of rows, not millions: compiling it (JIT) costs more
        # than it saves. For this transaction only.
        session.execute(text("SET LOCAL jit = off"))
    due, kept = on_time(session, scope, period, today)
    changes, moved = dates_moved(session, scope, period)
    answer, unanswered = time_to_answer(session, scope, period)
    return Figures(
        scope=scope,
        period=period,
        due=due,
        kept=kept,
        late=days_late(session, scope, period, today),
        date_changes=changes,
        moved_items=moved,
        answer_hours=answer,
        unanswered=unanswered,
        stuck_days=time_stuck(session, scope, period, now),
        open_ages=open_by_age(session, scope, today),
    )


def overall(org: Organisation, session: Session) -> list[Scope]:
    """The scopes an organisation-wide report covers: each unit, IT, the business side."""
    people = it_people(session, org)
    scopes = [Scope("unit", unit.name, unit_id=key) for key, unit in org.units.items()]
    scopes.append(Scope("it", "IT", it_people=people))
    scopes.append(Scope("business", "Business", it_people=people))
    return scopes
