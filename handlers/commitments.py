"""Commitments: who promised what to whom by when, as a small Conversations-for-Action protocol.

requested -> promised -> done_reported -> accepted, with decline, counter, reject, cancel,
release and new dates on the side. Every act is a history event. Only the owner, the requester,
the unit's liaison or an admin may act; anyone else gets a plain refusal and nothing changes.

The acts themselves are declared once, in handlers.protocol (`ACT_TABLE`); the reads (mine,
overdue...) live in handlers.commitment_queries, the stuck ones in handlers.stuck_queries.
All are re-exported here, so callers keep one name for "commitments".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update
from sqlmodel import Session, select

from handlers import webhooks
from handlers.commitment_queries import (  # noqa: F401  (re-exported: callers read them here)
    CLOSED,
    Key,
    Page,
    for_initiative,
    for_unit,
    involving,
    involving_where,
    load_people,
    overdue,
    overdue_where,
    overseen_units,
    owed_by,
    owed_by_where,
    owed_to,
    owed_to_where,
    page,
    unit_where,
    visible_to,
    whose_move,
)
from handlers.dates import describe_date
from handlers.org import Organisation
from handlers.people import readable_mentions
from handlers.protocol import (  # noqa: F401  (re-exported: callers read them here)
    ACT_INPUTS,
    ACT_PAST,
    ACT_TABLE,
    ACT_WORDS,
    ACTS,
    NEEDS_DATE,
    NEEDS_NOTE,
    PROTOCOL,
    STATE_WORDS,
    TYPED_ACTS,
    ActSpec,
    Change,
    Rule,
    Side,
    State,
    act_form,
    buttons,
    missing_input,
)
from handlers.stuck_queries import (  # noqa: F401  (re-exported: callers read them here)
    stuck,
    stuck_counts,
    stuck_page,
    stuck_reason,
)
from storage.models import Commitment, CommitmentEvent, Nudge, Person, Unit


class CommitmentError(Exception):
    """A refusal or a mistake, in a sentence the person can act on."""


class NotAllowed(CommitmentError):
    pass


def can_oversee(org: Organisation, person: Person, unit_id: str | None) -> bool:
    """Admins oversee everything; a liaison oversees their units."""
    units = overseen_units(org, person)
    return units is None or (bool(unit_id) and unit_id in units)


def can_see(org: Organisation, person: Person, item: Commitment) -> bool:
    """Their own items and those of units they oversee (`visible_to` is the same in SQL)."""
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
    org: Organisation | None = None,
) -> Commitment:
    """Record a request (or, when the owner offers it, a promise) and its first history event.

    People mentioned in `what` are stored by name, never as a channel's markup.
    `now` comes from the caller's clock, never the wall clock, so that the first event, the
    activity time and every later "stale" decision agree with the clock that decides them.
    With the organisation, a `commitment.created` webhook is owed when one is configured
    (every caller in the bot passes it; tests that build data may not).
    """
    what = " ".join(readable_mentions(session, what, channel).split())
    if not what:
        raise CommitmentError("What should be done? Say it in a few words.")
    if len(what) > 500:
        raise CommitmentError("That's a long one. Keep what's promised under 500 characters.")
    state = State.PROMISED if promised or owner.id == requester.id else State.REQUESTED
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
    actor = owner if state == State.PROMISED else requester
    act = "promise" if state == State.PROMISED else "request"
    _record(session, item, actor.id, act, None, channel, now=now)
    if org is not None:
        data = webhooks.commitment_data(item, act, None, actor.handle)
        webhooks.record(session, org, "commitment.created", data, now)
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
    spec = ACTS.get(act)
    if spec is None:
        raise CommitmentError(f"I don't know how to '{act}' a commitment.")
    state = State(item.state)
    rule = spec.rules.get(state)
    if rule is None:
        raise CommitmentError(f"#{item.id} is {STATE_WORDS[state]}, so you can't {spec.words} now.")
    _authorise(session, org, item, actor, rule.side, act)
    if spec.needs == "due" and due is None and not note:
        raise CommitmentError(spec.refusal)
    if spec.needs == "note" and not (note and note.strip()):
        raise CommitmentError(spec.refusal)
    before_due = item.due
    if rule.to_state is not None and rule.to_state != state:
        # Conditional on the state it came from: of two presses at the same instant (or a
        # replayed request), one moves it and the other finds it already moved.
        moved = session.execute(
            update(Commitment)
            .where(Commitment.id == item.id, Commitment.state == state)
            .values(state=rule.to_state)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            raise CommitmentError(
                f"#{item.id} changed a moment ago, so I did nothing. "
                f"Type 'history {item.id}' to see what happened."
            )
    if rule.to_state is not None:
        item.state = rule.to_state
    if spec.effect is not None:
        spec.effect(item, Change(state, due, note, now))
    if item.state in CLOSED:
        item.closed_at = now
    item.updated_at = now
    if spec.counts_as_activity:
        item.last_activity_at = item.updated_at
    if item.state in CLOSED or actor.id == item.owner_id:
        # Any answer from the owner counts, and a closed item has nothing left to escalate.
        session.exec(delete(Nudge).where(Nudge.commitment_id == item.id))
    session.add(item)
    _record(session, item, actor.id, act, state, channel, before_due, note, now=now)
    data = webhooks.commitment_data(item, act, state, actor.handle)
    webhooks.record(session, org, "commitment.changed", data, now)
    return item


def _authorise(
    session: Session, org: Organisation, item: Commitment, actor: Person, side: Side, act: str
) -> None:
    allowed = {
        "owner": actor.id == item.owner_id,
        "requester": actor.id == item.requester_id,
        "either": actor.id in (item.owner_id, item.requester_id),
    }[side]
    if allowed:
        return
    oversees = can_oversee(org, actor, item.unit_id)
    if oversees and _other_side_of_own(item, actor, side):
        # Accountability: nobody acts for the other party of their own commitment. An owner
        # who is also the unit's liaison or an admin does not accept (or cancel, or answer)
        # for the business side; the requester, or an admin who is not on it, does.
        party = "own" if side == "requester" else "asked for"
        raise NotAllowed(
            f"You {party} #{item.id}, so the other side decides this one: "
            f"{_party_handle(session, item, side)}, or an admin who is not on it. "
            "Nothing was changed."
        )
    if oversees:
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


def _other_side_of_own(item: Commitment, actor: Person, side: Side) -> bool:
    """Is the actor the other party of this commitment, asking to act for `side`?"""
    if item.owner_id == item.requester_id:
        return False  # a promise to oneself has one side
    return (side == "requester" and actor.id == item.owner_id) or (
        side == "owner" and actor.id == item.requester_id
    )


def _party_handle(session: Session, item: Commitment, side: Side) -> str:
    person = session.get(Person, item.requester_id if side == "requester" else item.owner_id)
    return f"@{person.handle}"


def _liaison_handle(session: Session, unit_id: str | None) -> str | None:
    unit = session.get(Unit, unit_id) if unit_id else None
    liaison = session.get(Person, unit.liaison_id) if unit and unit.liaison_id else None
    return liaison.handle if liaison else None


def _record(
    session: Session,
    item: Commitment,
    actor_id: int | None,
    act: str,
    from_state: State | None,
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
