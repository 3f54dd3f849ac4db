"""Reading commitments: the open ones by person, unit or initiative (the stuck ones are in
handlers.stuck_queries).

Each query returns open commitments, soonest due first; a listing reads a page of them and
counts them (up to COUNT_CAP), and its next page starts after the last item shown (its Key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Row, func, literal_column, or_, true, tuple_
from sqlmodel import Session, select

from handlers.org import Organisation
from storage.models import OPEN_STATES, Commitment, CommitmentState, Person

CLOSED = tuple(state for state in CommitmentState if state not in OPEN_STATES)
# "Is open", with the states written into the SQL as the partial indexes' WHERE says it
# (storage.models.OPEN_SQL): SQLite uses a partial index only for a query that repeats it.
OPEN = Commitment.state.in_([literal_column(f"'{state.value}'") for state in OPEN_STATES])
COUNT_CAP = 1000  # a listing counts up to this many; beyond, it says "more than 1,000"
WAITING_ON_REQUESTER = (CommitmentState.COUNTERED, CommitmentState.DONE_REPORTED)
Key = tuple[dt.date | None, int]  # an item's place in a listing: (due, id), the undated last


@dataclass(frozen=True)
class Page:
    """One page of a listing: its items (soonest due first), how many there are in all (up
    to COUNT_CAP, then COUNT_CAP + 1), where the page starts and whether an item follows it;
    `reasons` says why each item is stuck (by id), for `stuck_page`."""

    items: list[Commitment | Row]
    total: int
    offset: int = 0
    reasons: dict[int, str] = field(default_factory=dict)
    more: bool = False

    @classmethod
    def cut(
        cls, rows: list, limit: int, total: int, offset: int, reasons: dict | None = None
    ) -> Page:
        """The first `limit` of `rows` (read one further, to know whether a next page has
        anything), counted at least as far as they go: items that closed since an earlier
        page was read leave the count lower than where a later page starts."""
        items, more = rows[:limit], len(rows) > limit
        seen = offset + len(items) + more if items else 0
        return cls(items, max(total, seen), offset, reasons or {}, more)

    @property
    def rest(self) -> int:
        """How many come after this page (at least one when one does, none when none does)."""
        return max(1, self.total - self.offset - len(self.items)) if self.more else 0

    @property
    def last(self) -> Key | None:
        """Where the next page starts: the place of this page's last item."""
        return (self.items[-1].due, self.items[-1].id) if self.items else None

    @property
    def counted(self) -> str:
        """The count in words: "27", or "more than 1,000"."""
        return f"more than {COUNT_CAP:,}" if self.total > COUNT_CAP else f"{self.total:,}"


def overseen_units(org: Organisation, person: Person) -> list[str] | None:
    """The units whose commitments a person oversees: all of them (None) for an admin, else
    the units they are liaison of. `can_oversee`, `can_see` and `visible_to` all ask here."""
    return None if person.handle in org.admins else org.liaison_units(person.handle)


def visible_to(
    org: Organisation, person: Person, within: Iterable[str] | None = None
) -> ColumnElement[bool]:
    """`commitments.can_see` as a WHERE clause: their own items, and their units' items.
    `within`: the units a listing is already limited to; when the person oversees them all,
    everything in them is visible and the clause says so (nothing for the query to check
    row by row, so it counts from its unit's index alone)."""
    units = overseen_units(org, person)
    if units is None or (within is not None and set(within) <= set(units)):
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
    session: Session,
    where: Iterable[ColumnElement[bool]],
    limit: int,
    offset: int = 0,
    after: Key | None = None,
) -> Page:
    """Open commitments matching `where`: `limit` of them from `offset` (or, given `after`,
    those that come after that place: a "next" page that neither repeats nor skips an item
    when others close meanwhile), and their count (up to COUNT_CAP); a few statements, each
    reading a page's worth of an index."""
    conditions = [OPEN, *where]
    total = capped_count(session, conditions, COUNT_CAP)
    if not total:
        return Page([], 0, offset)
    rows = in_order(session, select(Commitment), conditions, offset, limit + 1, after)
    return Page.cut([row[0] for row in rows], limit, total, offset)


def capped_count(session: Session, conditions: list, cap: int) -> int:
    """How many rows match, counting no further than cap + 1."""
    matching = select(Commitment.id).where(*conditions).limit(cap + 1).subquery()
    return session.execute(select(func.count()).select_from(matching)).scalar_one()


def in_order(
    session: Session, columns, conditions: list, offset: int, limit: int, after: Key | None = None
) -> list[Row]:
    """Rows soonest due first (by id among equals), the undated last: the dated ones walk
    the partial index on (due, id), then the undated ones follow by id. Given `after`, the
    rows after that place (by the index, not by skipping), else from `offset`."""
    rows: list[Row] = []
    if after is None or after[0] is not None:
        dated = columns.where(*conditions, Commitment.due.is_not(None))
        if after is not None:
            dated, offset = dated.where(tuple_(Commitment.due, Commitment.id) > after), 0
        query = dated.order_by(Commitment.due, Commitment.id).offset(offset).limit(limit)
        rows = list(session.execute(query))
        if len(rows) == limit:
            return rows
    undated = columns.where(*conditions, Commitment.due.is_(None)).order_by(Commitment.id)
    if after is not None:
        skip = 0
        undated = undated.where(Commitment.id > after[1]) if after[0] is None else undated
    elif rows or not offset:
        skip = 0
    else:
        skip = offset - capped_count(session, [*conditions, Commitment.due.is_not(None)], offset)
    rest = undated.offset(max(0, skip)).limit(limit - len(rows))
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
