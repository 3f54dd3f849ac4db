"""What the sweeps owe people now: nudge digests, escalations, cycle briefings and questionnaires.

Pure decisions over the database: this module says *who* gets *what* under *which once-only
key*; schedules/ claims the key in the ledger and sends through an outbox. Keys carry the
recipient's local day, so a nudge goes out once per day whatever the time zone or daylight
saving, and a sweep that runs late still sends what is due.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import Row, func, insert
from sqlmodel import Session, select

from handlers import commitments
from handlers.briefings import (  # noqa: F401  (re-exported: their old home was here)
    CYCLE_WINDOW_DAYS,
    cycle_dates,
    cycle_form,
    cycle_messages,
    next_cycle,
    unit_months,
)
from handlers.cycle_followup import follow_ups
from handlers.escalations import escalation_choices
from handlers.messages import (
    MAX_ITEMS,
    Item,
    Reply,
    reply_from_dict,  # noqa: F401  (its old home was here)
)
from handlers.org import Organisation
from handlers.owed import Due, OwedMessage, SendWindow  # noqa: F401  (Due: the old name)
from handlers.people import by_handle
from storage import ledger
from storage.models import (
    Commitment,
    CommitmentState,
    Ledger,
    Nudge,
    Person,
    Unit,
)

MAX_DIGEST_ITEMS = MAX_ITEMS  # a digest shows what every channel can show, and counts the rest


def all_due(session: Session, org: Organisation, now: dt.datetime) -> list[OwedMessage]:
    """Everything owed now that has not been claimed yet."""
    window = SendWindow(session, org, now)
    stuck = commitments.stuck(session, org, now, people=window.people)  # shared by the rules
    found = [due for rule in NUDGE_RULES for due in rule(session, org, window, stuck)]
    return unclaimed(session, found)


def unclaimed(session: Session, found: list[OwedMessage]) -> list[OwedMessage]:
    if not found:
        return []
    keys = [d.key for d in found]
    taken: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        taken |= set(session.exec(select(Ledger.key).where(Ledger.key.in_(chunk))).all())
    return [d for d in found if d.key not in taken]


# Digests: one message a day per person, listing every stuck or soon-due item of theirs.


def digests(
    session: Session,
    org: Organisation,
    window: SendWindow,
    stuck: list[tuple[Row, str]] | None = None,
) -> list[OwedMessage]:
    if stuck is None:
        stuck = commitments.stuck(session, org, window.now, people=window.people)
    soon_until = window.now.date() + dt.timedelta(days=org.thresholds.due_soon_days + 1)
    soon = session.execute(
        select(*Commitment.__table__.columns).where(
            Commitment.state.in_([CommitmentState.REQUESTED.value, CommitmentState.PROMISED.value]),
            Commitment.due >= window.now.date() - dt.timedelta(days=1),
            Commitment.due <= soon_until,
        )
    ).all()
    per_person: dict[int, list[tuple[Row, str]]] = defaultdict(list)
    seen: set[int] = set()
    for item, reason in stuck:
        per_person[commitments.whose_move(item)].append((item, reason))
        seen.add(item.id)
    for item in soon:
        if item.id not in seen:
            per_person[commitments.whose_move(item)].append((item, "due soon"))
    people = commitments.load_people(
        session,
        {p for entries in per_person.values() for c, _ in entries for p in _both(c)},
        window.people,
    )
    found = []
    for person_id, entries in per_person.items():
        local = window.local(people.get(person_id), entries[0][0].unit_id)
        if not window.send_time(local):
            continue
        today = local.date()
        entries = [
            (item, reason)
            for item, reason in entries
            if not (item.snoozed_until and item.snoozed_until > today)
            and (reason != "due soon" or (item.due and today <= item.due <= _soon(org, today)))
            and (reason != "overdue" or (item.due and item.due < today))
        ]
        if not entries:
            continue
        found.append(
            OwedMessage(
                key=f"digest:{person_id}:{today.isoformat()}",
                kind="digest",
                person_id=person_id,
                reply=_digest_reply(session, person_id, entries, today),
                # The owner's own moves: each counts as one unanswered nudge once sent.
                commitment_ids=tuple(
                    item.id
                    for item, _ in entries
                    if item.state in (CommitmentState.REQUESTED, CommitmentState.PROMISED)
                ),
            )
        )
    return found


def _both(item: Row) -> tuple[int, int]:
    return item.owner_id, item.requester_id


def _soon(org: Organisation, today: dt.date) -> dt.date:
    return today + dt.timedelta(days=org.thresholds.due_soon_days)


def _digest_reply(
    session: Session, person_id: int, entries: list[tuple[Row, str]], today: dt.date
) -> Reply:
    entries.sort(key=lambda e: (e[1] == "due soon", e[0].due or dt.date.max, e[0].id))
    stuck = sum(1 for _, reason in entries if reason != "due soon")
    parts = []
    if stuck:
        parts.append(f"{stuck} commitment{'s' if stuck > 1 else ''} could use a nudge")
    if len(entries) > stuck:
        n = len(entries) - stuck
        parts.append(f"{n} {'is' if n == 1 else 'are'} coming up")
    text = f"Good morning! {' and '.join(parts)}. One click is enough:"
    if len(entries) > MAX_DIGEST_ITEMS:
        text += (
            f" (the {MAX_DIGEST_ITEMS} most pressing below; type 'commitments mine' for all "
            f"{len(entries)})"
        )
    items = tuple(
        Item(
            f"{commitments.describe(session, item, today)} · {reason}",
            commitments.buttons(item, person_id, nudge=True),
        )
        for item, reason in entries[:MAX_DIGEST_ITEMS]
    )
    return Reply(text, items=items, kind="nudge")


# Escalations: items whose owner did not answer N nudges go to the unit's liaison, one digest.


def escalations(
    session: Session,
    org: Organisation,
    window: SendWindow,
    stuck: list[tuple[Row, str]] | None = None,
) -> list[OwedMessage]:
    """Stuck items whose owner left N nudges unanswered, one digest per person they climb to:
    the unit's liaison, or the next level (the unit's IT lead, else the admins) when the
    liaison is the owner. The requester is told, once, that their request was raised."""
    if stuck is None:
        stuck = commitments.stuck(session, org, window.now, people=window.people)
    limit = org.thresholds.escalate_after_nudges
    candidates = [(item, reason) for item, reason in stuck if item.unit_id]
    counts = unanswered_nudges(session, [item.id for item, _ in candidates])
    units = {unit.id: unit for unit in session.exec(select(Unit)).all()}
    per_person: dict[int, list[tuple[Row, str]]] = defaultdict(list)
    raised_to: dict[int, list[int]] = {}
    climbs: dict[tuple[str, int], list[int]] = {}
    for item, reason in candidates:
        unit = units.get(item.unit_id)
        if counts.get(item.id, 0) < limit or unit is None:
            continue
        climb = (unit.id, item.owner_id)  # one answer per unit and owner, not one per item
        if climb not in climbs:
            climbs[climb] = _escalate_to(session, org, unit, item.owner_id)
        targets = climbs[climb]
        for person_id in targets:
            per_person[person_id].append((item, reason))
        if targets:
            raised_to[item.id] = targets
    involved = {p for entries in per_person.values() for c, _ in entries for p in _both(c)}
    people = commitments.load_people(session, set(per_person) | involved, window.people)
    found = []
    for person_id, entries in per_person.items():
        local = window.local(people.get(person_id))
        if not window.send_time(local):
            continue
        today = local.date()
        items = tuple(
            Item(
                f"{commitments.describe(session, item, today)} · {reason} "
                f"for {_stuck_for(item, reason, window.now)} · {counts[item.id]} nudges "
                "unanswered",
                choices=escalation_choices(item.id),
            )
            for item, reason in entries[:MAX_DIGEST_ITEMS]
        )
        text = (
            f"Heads-up from your units: {len(entries)} stuck "
            f"item{'s' if len(entries) > 1 else ''} got no answer after "
            f"{org.thresholds.escalate_after_nudges} nudges. A word from you may help:"
        )
        if len(entries) > MAX_DIGEST_ITEMS:
            text += f" (the first {MAX_DIGEST_ITEMS}; type 'commitments stuck' for all)"
        found.append(
            OwedMessage(
                key=f"escalation:{person_id}:{today.isoformat()}",
                kind="escalation",
                person_id=person_id,
                reply=Reply(text, items=items, kind="escalation"),
            )
        )
    return found + _raised_notes(session, window, candidates, raised_to, people)


def _escalate_to(session: Session, org: Organisation, unit: Unit, owner_id: int) -> list[int]:
    """Who an unanswered item climbs to: the unit's liaison, unless the liaison owns it (or
    there is none); then the unit's IT lead, else the admins. Never the owner themself."""
    if unit.liaison_id and unit.liaison_id != owner_id:
        return [unit.liaison_id]
    config = org.units.get(unit.id)
    handles = [config.it_lead] if config is not None and config.it_lead else sorted(org.admins)
    ids = [p.id for p in (by_handle(session, h) for h in handles) if p is not None]
    return [i for i in ids if i != owner_id]


def _raised_notes(
    session: Session,
    window: SendWindow,
    candidates: list[tuple[Row, str]],
    raised_to: dict[int, list[int]],
    people: dict,
) -> list[OwedMessage]:
    """One message per raised item to its requester (once ever, keyed by the item)."""
    notes = []
    for item, _reason in candidates:
        targets = raised_to.get(item.id)
        if not targets or item.requester_id in targets or item.requester_id == item.owner_id:
            continue
        requester = people.get(item.requester_id) or session.get(Person, item.requester_id)
        local = window.local(requester)
        if not window.send_time(local):
            continue
        handles = (people.get(p) or session.get(Person, p) for p in targets)
        names = " and ".join(f"@{p.handle}" for p in handles if p is not None)
        text = (
            f"Your request got no answer after {window.org.thresholds.escalate_after_nudges} "
            f"nudges, so I've raised it with {names}: "
            f"{commitments.describe(session, item, local.date())}"
        )
        notes.append(
            OwedMessage(
                key=f"raised:{item.id}",
                kind="escalation",
                person_id=item.requester_id,
                reply=Reply(text, kind="escalation"),
            )
        )
    return notes


def unanswered_nudges(session: Session, commitment_ids: list[int]) -> dict[int, int]:
    """How many nudges each item's owner has not answered (their next act clears them)."""
    counts: dict[int, int] = {}
    for start in range(0, len(commitment_ids), 500):
        chunk = commitment_ids[start : start + 500]
        counts.update(
            session.execute(
                select(Nudge.commitment_id, func.count())
                .where(Nudge.commitment_id.in_(chunk))
                .group_by(Nudge.commitment_id)
            ).all()
        )
    return counts


def _stuck_for(item: Row, reason: str, now: dt.datetime) -> str:
    if reason == "overdue" and item.due:
        days = (now.date() - item.due).days
    else:
        last = item.last_activity_at
        last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
        days = (now - last).days
    return f"{days} day{'s' if days != 1 else ''}"


def record_sent(session: Session, sent: list[OwedMessage], now: dt.datetime) -> None:
    """After digests went out, each owner's item in them counts one more unanswered nudge."""
    rows = [
        {"commitment_id": cid, "sent_at": now}
        for due in sent
        if due.kind == "digest"
        for cid in due.commitment_ids
    ]
    if rows:
        session.connection().execute(insert(Nudge.__table__), rows)


def claim(session: Session, due: OwedMessage, now: dt.datetime) -> bool:
    return ledger.claim(session, due.key, due.kind, payload=due.to_json(), now=now)


# Every rule the sweeps run, in order: (session, org, send window, stuck items) -> what is owed.
# A new kind of nudge is one function here and one entry in this list.
NudgeRule = Callable[[Session, Organisation, SendWindow, list[tuple[Row, str]]], list[OwedMessage]]
NUDGE_RULES: list[NudgeRule] = [digests, escalations, cycle_messages, follow_ups]
