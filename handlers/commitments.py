"""Commitments: who promised what to whom by when, as a small Conversations-for-Action protocol.

requested -> promised -> done_reported -> accepted, with decline, counter, reject, cancel,
release and new dates on the side. Every act is a history event. Only the owner, the requester,
the unit's liaison or an admin may act; anyone else gets a plain refusal and nothing changes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Row, delete, or_
from sqlmodel import Session, select

from handlers.dates import business_days_between, describe_date
from handlers.messages import Choice
from handlers.org import Organisation
from storage.models import (
    OPEN_STATES,
    Commitment,
    CommitmentEvent,
    CommitmentState,
    Nudge,
    Person,
    Unit,
)

S = CommitmentState
Side = Literal["owner", "requester", "either"]


class CommitmentError(Exception):
    """A refusal or a mistake, in a sentence the person can act on."""


class NotAllowed(CommitmentError):
    pass


@dataclass(frozen=True)
class Rule:
    side: Side
    to_state: S | None  # None keeps the state (an act that only records activity)


# act -> state it applies in -> who may do it and where it leads
PROTOCOL: dict[str, dict[S, Rule]] = {
    "promise": {S.REQUESTED: Rule("owner", S.PROMISED)},
    "decline": {S.REQUESTED: Rule("owner", S.DECLINED), S.COUNTERED: Rule("owner", S.DECLINED)},
    "counter": {S.REQUESTED: Rule("owner", S.COUNTERED), S.COUNTERED: Rule("owner", S.COUNTERED)},
    "accept": {
        S.COUNTERED: Rule("requester", S.PROMISED),
        S.DONE_REPORTED: Rule("requester", S.ACCEPTED),
    },
    "reject": {
        S.COUNTERED: Rule("requester", S.REQUESTED),
        S.DONE_REPORTED: Rule("requester", S.PROMISED),
    },
    "report_done": {
        S.REQUESTED: Rule("owner", S.DONE_REPORTED),
        S.PROMISED: Rule("owner", S.DONE_REPORTED),
    },
    "cancel": {s: Rule("requester", S.CANCELLED) for s in OPEN_STATES},
    "release": {s: Rule("owner", S.RELEASED) for s in OPEN_STATES if s != S.DONE_REPORTED},
    "new_date": {s: Rule("either", None) for s in OPEN_STATES},
    "blocked": {S.REQUESTED: Rule("owner", None), S.PROMISED: Rule("owner", None)},
    "snooze": {s: Rule("either", None) for s in OPEN_STATES},
    "not_mine": {s: Rule("owner", S.RELEASED) for s in OPEN_STATES if s != S.DONE_REPORTED},
    "note": {s: Rule("either", None) for s in OPEN_STATES},
}

ACT_WORDS = {
    "promise": "promise it",
    "decline": "decline it",
    "counter": "propose another date",
    "accept": "accept it",
    "reject": "send it back",
    "report_done": "mark it done",
    "cancel": "cancel it",
    "release": "release it",
    "new_date": "set a new date",
    "blocked": "report it blocked",
    "note": "add a note",
    "snooze": "snooze it",
    "not_mine": "hand it back",
}

STATE_WORDS = {
    S.REQUESTED: "requested",
    S.COUNTERED: "another date proposed",
    S.PROMISED: "promised",
    S.DONE_REPORTED: "reported done",
    S.ACCEPTED: "done and accepted",
    S.DECLINED: "declined",
    S.CANCELLED: "cancelled",
    S.RELEASED: "released",
}

CLOSED = (S.ACCEPTED, S.DECLINED, S.CANCELLED, S.RELEASED)


def can_oversee(org: Organisation, person: Person, unit_id: str | None) -> bool:
    """Admins oversee everything; a liaison oversees their units."""
    if person.handle in org.admins:
        return True
    return bool(unit_id) and unit_id in org.liaison_units(person.handle)


def can_see(org: Organisation, person: Person, item: Commitment) -> bool:
    return person.id in (item.owner_id, item.requester_id) or can_oversee(org, person, item.unit_id)


def create(
    session: Session,
    *,
    requester: Person,
    owner: Person,
    what: str,
    due: dt.date | None,
    channel: str,
    unit_id: str | None = None,
    initiative_id: int | None = None,
    role_key: str | None = None,
    promised: bool = False,
    now: dt.datetime,
) -> Commitment:
    """Record a request (or, when the owner offers it, a promise) and its first history event.

    `now` comes from the caller's clock, never the wall clock, so that the first event, the
    activity time and every later "stale" decision agree with the clock that decides them.
    """
    what = " ".join(what.split())
    if not what:
        raise CommitmentError("What should be done? Say it in a few words.")
    if len(what) > 500:
        raise CommitmentError("That's a long one. Keep what's promised under 500 characters.")
    state = S.PROMISED if promised or owner.id == requester.id else S.REQUESTED
    item = Commitment(
        what=what,
        owner_id=owner.id,
        requester_id=requester.id,
        unit_id=unit_id,
        initiative_id=initiative_id,
        role_key=role_key,
        due=due,
        state=state,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    session.add(item)
    session.flush()
    actor = owner if state == S.PROMISED else requester
    act = "promise" if state == S.PROMISED else "request"
    _record(session, item, actor.id, act, None, channel, now=now)
    return item


def apply(
    session: Session,
    org: Organisation,
    commitment_id: int,
    actor: Person,
    act: str,
    *,
    channel: str,
    due: dt.date | None = None,
    note: str | None = None,
    now: dt.datetime,
) -> Commitment:
    """Apply one act of the protocol, after checking who may do it; returns the commitment."""
    item = session.get(Commitment, commitment_id)
    if item is None or not can_see(org, actor, item):
        raise CommitmentError(
            f"I can't find commitment #{commitment_id}. Try 'commitments mine' to see yours."
        )
    rules = PROTOCOL.get(act)
    if rules is None:
        raise CommitmentError(f"I don't know how to '{act}' a commitment.")
    state = S(item.state)
    rule = rules.get(state)
    if rule is None:
        raise CommitmentError(
            f"#{item.id} is {STATE_WORDS[state]}, so you can't {ACT_WORDS[act]} now."
        )
    _authorise(session, org, item, actor, rule.side, act)
    before_due = item.due
    if act in ("counter", "new_date") and due is None and not note:
        raise CommitmentError("Which date would work? Try 'by Friday' or 'by 2027-03-01'.")
    if act == "blocked" and not (note and note.strip()):
        raise CommitmentError("What is it blocked on? A few words help the requester unblock it.")
    if act == "snooze":
        item.snoozed_until = due or (now.date() + dt.timedelta(days=1))
    if act == "counter":
        item.proposed_due = due
    elif act == "new_date":
        item.due = due or item.due
    elif act == "accept" and state == S.COUNTERED and item.proposed_due:
        item.due = item.proposed_due
    if rule.to_state is not None:
        item.state = rule.to_state
    if act == "report_done" and item.owner_id == item.requester_id:
        item.state = S.ACCEPTED
    if item.state in CLOSED:
        item.closed_at = now
    item.updated_at = now
    if act != "snooze":
        item.last_activity_at = item.updated_at
    if item.state in CLOSED or actor.id == item.owner_id:
        # Any answer from the owner counts, and a closed item has nothing left to escalate.
        session.exec(delete(Nudge).where(Nudge.commitment_id == item.id))
    session.add(item)
    _record(session, item, actor.id, act, state, channel, before_due, note, now=now)
    return item


def _authorise(
    session: Session, org: Organisation, item: Commitment, actor: Person, side: Side, act: str
) -> None:
    allowed = {
        "owner": actor.id == item.owner_id,
        "requester": actor.id == item.requester_id,
        "either": actor.id in (item.owner_id, item.requester_id),
    }[side]
    if allowed or can_oversee(org, actor, item.unit_id):
        return
    owner = session.get(Person, item.owner_id)
    requester = session.get(Person, item.requester_id)
    who = {
        "owner": f"@{owner.handle} (who owns it)",
        "requester": f"@{requester.handle} (who asked for it)",
        "either": f"@{owner.handle} or @{requester.handle}",
    }[side]
    liaison = _liaison_handle(session, item.unit_id)
    extra = f", the unit's liaison @{liaison}," if liaison else ","
    verb = (
        ACT_WORDS[act].replace(" it", f" #{item.id}", 1)
        if " it" in ACT_WORDS[act]
        else (f"{ACT_WORDS[act]} for #{item.id}")
    )
    raise NotAllowed(f"Only {who}{extra} or an admin can {verb}. Nothing was changed.")


def _liaison_handle(session: Session, unit_id: str | None) -> str | None:
    unit = session.get(Unit, unit_id) if unit_id else None
    liaison = session.get(Person, unit.liaison_id) if unit and unit.liaison_id else None
    return liaison.handle if liaison else None


def _record(
    session: Session,
    item: Commitment,
    actor_id: int | None,
    act: str,
    from_state: S | None,
    channel: str,
    due_before: dt.date | None = None,
    note: str | None = None,
    *,
    now: dt.datetime,
) -> None:
    session.add(
        CommitmentEvent(
            commitment_id=item.id,
            actor_id=actor_id,
            act=act,
            from_state=from_state,
            to_state=item.state,
            due_before=due_before,
            due_after=item.due,
            note=(note or None) and note.strip()[:1000],
            channel=channel,
            at=now,
        )
    )
    session.flush()


def history(session: Session, commitment_id: int) -> list[CommitmentEvent]:
    query = select(CommitmentEvent).where(CommitmentEvent.commitment_id == commitment_id)
    return list(session.exec(query.order_by(CommitmentEvent.id)).all())


# Queries. Each returns open commitments, soonest due first.


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
    item: Commitment, now: dt.datetime, org: Organisation, today: dt.date | None = None
) -> str | None:
    """Why an open commitment is stuck ('overdue', 'unanswered', 'stale'), or None."""
    if item.state in CLOSED:
        return None
    today = today or now.date()
    if item.due and item.due < today and item.state != S.DONE_REPORTED:
        return "overdue"
    last = _aware(item.last_activity_at)
    if item.state in (S.REQUESTED, S.COUNTERED):
        waited = business_days_between(last, now, org.business_days)
        if waited >= org.thresholds.unanswered_business_days:
            return "unanswered"
    if now - last >= dt.timedelta(days=org.thresholds.stale_days):
        return "stale"
    return None


def stuck(
    session: Session, org: Organisation, now: dt.datetime, units: Iterable[str] | None = None
) -> list[tuple[Row, str]]:
    """Open commitments that are overdue, unanswered or stale, optionally for some units.

    The items come back as read-only rows with the commitment's columns (not ORM objects):
    the sweeps read thousands of them, and a row costs a fraction of an entity to load.
    """
    stale_before = now - dt.timedelta(days=org.thresholds.stale_days)
    # Unanswered needs N business days, which is never less than N calendar days.
    unanswered_before = now - dt.timedelta(days=org.thresholds.unanswered_business_days)
    open_states = [s.value for s in OPEN_STATES]
    waiting = [S.REQUESTED.value, S.COUNTERED.value]
    columns = select(*Commitment.__table__.columns)
    # Three range scans on the (state, ...) indexes rather than one OR that scans the table.
    queries = [
        columns.where(Commitment.state.in_(open_states), Commitment.due < now.date()),
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
    found = []
    for item in ordered:
        reason = stuck_reason(item, now, org)
        if reason:
            found.append((item, reason))
    return found


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# Presentation shared by every channel and by the nudges.

OWNER_ACTS = {
    S.REQUESTED: [
        ("Accept", "promise"),
        ("Decline", "decline"),
        ("Propose another date", "counter"),
    ],
    S.COUNTERED: [("Decline", "decline")],
    S.PROMISED: [("Done", "report_done"), ("New date", "new_date"), ("I'm blocked", "blocked")],
    S.DONE_REPORTED: [],
}
REQUESTER_ACTS = {
    S.REQUESTED: [("Cancel", "cancel")],
    S.COUNTERED: [("Accept new date", "accept"), ("Decline new date", "reject")],
    S.PROMISED: [("New date", "new_date")],
    S.DONE_REPORTED: [("Accept", "accept"), ("Send back", "reject")],
}
NUDGE_ACTS = [
    ("Done", "report_done"),
    ("New date", "new_date"),
    ("I'm blocked", "blocked"),
    ("Snooze", "snooze"),
    ("Not mine", "not_mine"),
]
PRIMARY = {"promise", "report_done", "accept"}


def buttons(item: Commitment, viewer_id: int, *, nudge: bool = False) -> tuple[Choice, ...]:
    """The acts a viewer can take on a commitment now, as buttons; a nudge has its own set."""
    acts = _acts(item.state, viewer_id == item.owner_id, viewer_id == item.requester_id, nudge)
    value = f'{{"id":{int(item.id)}}}'  # the same JSON Choice.of would write, made cheaply
    return tuple(Choice(label, action, value, style) for label, action, style in acts)


@functools.cache
def _acts(
    state: str, owner: bool, requester: bool, nudge: bool
) -> tuple[tuple[str, str, str | None], ...]:
    """(label, action, style) of each button, worked out once per case: digests ask often."""
    state = S(state)
    acts: list[tuple[str, str]] = []
    if owner:
        if nudge and state in (S.REQUESTED, S.PROMISED):
            acts = list(NUDGE_ACTS)
            if state == S.REQUESTED:
                acts.insert(0, ("Accept", "promise"))
        else:
            acts += OWNER_ACTS.get(state, [])
    if requester and not owner:
        acts += REQUESTER_ACTS.get(state, [])
    return tuple(
        (label, f"commitment.{act}", "primary" if act in PRIMARY else None) for label, act in acts
    )


def describe(session: Session, item: Commitment, today: dt.date) -> str:
    """One line: '#7 Phones — @sam for @pat, due Fri 27 Nov 2026 (in 4 days) · promised'."""
    due = f", due {describe_date(item.due, today)}" if item.due else ""
    owner = _handle(session, item.owner_id)
    mine = item.owner_id == item.requester_id  # a promise to nobody in particular
    whose = owner if mine else f"{owner} for {_handle(session, item.requester_id)}"
    return f"#{item.id} {item.what} — {whose}{due} · {STATE_WORDS[item.state]}"


def _handle(session: Session, person_id: int) -> str:
    handles = session.info.setdefault("handles", {})
    if person_id not in handles:
        person = session.get(Person, person_id)
        handles[person_id] = f"@{person.handle}" if person else "someone"
    return handles[person_id]


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
