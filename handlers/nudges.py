"""What the sweeps owe people now: nudge digests, escalations, cycle briefings and questionnaires.

Pure decisions over the database: this module says *who* gets *what* under *which once-only
key*; schedules/ claims the key in the ledger and sends through an outbox. Keys carry the
recipient's local day, so a nudge goes out once per day whatever the time zone or daylight
saving, and a sweep that runs late still sends what is due.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Row, func, insert
from sqlmodel import Session, select

from handlers import commitments
from handlers.dates import describe_date
from handlers.localtime import Placed, local_now
from handlers.messages import (  # noqa: F401  (reply_from_dict: its old home was here)
    ActionId,
    Choice,
    Form,
    FormField,
    Item,
    Reply,
    ReplyKind,
    reply_from_dict,
    reply_to_dict,
)
from handlers.org import Organisation
from storage import ledger
from storage.models import (
    Commitment,
    CommitmentState,
    Cycle,
    Initiative,
    Ledger,
    Nudge,
    Person,
    Unit,
)

CYCLE_WINDOW_DAYS = 14  # a questionnaire still goes out this long after its day
MAX_DIGEST_ITEMS = 25


@dataclass(frozen=True)
class Due:
    """One message the sweeps owe someone now (a digest, an escalation, a briefing...)."""

    key: str
    kind: str  # digest | escalation | briefing | questionnaire | deferred
    person_id: int
    reply: Reply
    commitment_ids: tuple[int, ...] = ()

    def to_json(self) -> str:
        """The ledger payload, so a retry sends the very same words and buttons."""
        data = {
            "key": self.key,
            "kind": self.kind,
            "person_id": self.person_id,
            "commitment_ids": list(self.commitment_ids),
            "reply": reply_to_dict(self.reply),
        }
        return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> Due:
        data = json.loads(text)
        data["reply"] = reply_from_dict(data["reply"])
        data["commitment_ids"] = tuple(data.get("commitment_ids") or ())
        return Due(**data)


class SendWindow:
    """When the sweeps may write to someone: on a business day, from the nudge hour, on the
    recipient's own clock (handlers.localtime)."""

    def __init__(self, session: Session, org: Organisation, now: dt.datetime) -> None:
        self.session, self.org, self.now = session, org, now

    def local(self, person: Placed | None, unit_id: str | None = None) -> dt.datetime:
        return local_now(self.org, self.now, person, unit_id)

    def send_time(self, local: dt.datetime) -> bool:
        """A business day, at or after the nudge hour."""
        return (
            local.weekday() in self.org.business_days
            and local.hour >= self.org.thresholds.nudge_hour
        )


def all_due(session: Session, org: Organisation, now: dt.datetime) -> list[Due]:
    """Everything owed now that has not been claimed yet."""
    window = SendWindow(session, org, now)
    stuck = commitments.stuck(session, org, now)  # read once, shared by the rules
    found = [due for rule in NUDGE_RULES for due in rule(session, org, window, stuck)]
    return unclaimed(session, found)


def unclaimed(session: Session, found: list[Due]) -> list[Due]:
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
) -> list[Due]:
    if stuck is None:
        stuck = commitments.stuck(session, org, window.now)
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
        session, {p for entries in per_person.values() for c, _ in entries for p in _both(c)}
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
            Due(
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
) -> list[Due]:
    """Stuck items whose owner left N nudges unanswered, one digest per liaison of their units."""
    if stuck is None:
        stuck = commitments.stuck(session, org, window.now)
    limit = org.thresholds.escalate_after_nudges
    candidates = [(item, reason) for item, reason in stuck if item.unit_id]
    counts = unanswered_nudges(session, [item.id for item, _ in candidates])
    units = {unit.id: unit for unit in session.exec(select(Unit)).all()}
    per_liaison: dict[int, list[tuple[Row, str]]] = defaultdict(list)
    for item, reason in candidates:
        unit = units.get(item.unit_id)
        if counts.get(item.id, 0) < limit or unit is None or not unit.liaison_id:
            continue
        if unit.liaison_id != item.owner_id:
            per_liaison[unit.liaison_id].append((item, reason))
    involved = {p for entries in per_liaison.values() for c, _ in entries for p in _both(c)}
    people = commitments.load_people(session, set(per_liaison) | involved)
    found = []
    for liaison_id, entries in per_liaison.items():
        local = window.local(people.get(liaison_id))
        if not window.send_time(local):
            continue
        today = local.date()
        items = tuple(
            Item(
                f"{commitments.describe(session, item, today)} · {reason} "
                f"for {_stuck_for(item, reason, window.now)} · {counts[item.id]} nudges "
                "unanswered"
            )
            for item, reason in entries[:MAX_DIGEST_ITEMS]
        )
        text = (
            f"Heads-up from your units: {len(entries)} stuck "
            f"item{'s' if len(entries) > 1 else ''} got no answer after "
            f"{org.thresholds.escalate_after_nudges} nudges. A word from you may help:"
        )
        found.append(
            Due(
                key=f"escalation:{liaison_id}:{today.isoformat()}",
                kind="escalation",
                person_id=liaison_id,
                reply=Reply(text, items=items, kind="escalation"),
            )
        )
    return found


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


# Input cycles: a briefing for the liaison ahead of time, the questionnaire for the lead on the day.


def cycle_dates(months: Iterable[int], around: dt.date) -> list[dt.date]:
    """Cycle days (the 1st of each cycle month) from last year to next year."""
    return sorted(
        dt.date(year, month, 1)
        for year in (around.year - 1, around.year, around.year + 1)
        for month in months
    )


def unit_months(unit: Unit) -> list[int]:
    return [int(m) for m in unit.cycle_months.split(",") if m.strip().isdigit()]


def next_cycle(unit: Unit, today: dt.date) -> dt.date | None:
    return next((d for d in cycle_dates(unit_months(unit), today) if d >= today), None)


def cycle_messages(
    session: Session,
    org: Organisation,
    window: SendWindow,
    stuck: list[tuple[Row, str]] | None = None,
) -> list[Due]:
    """The liaison's briefing ahead of each unit's cycle, and the lead's questionnaire on the
    day (sent for a while after, so a sweep that runs late still asks)."""
    found = []
    ahead = dt.timedelta(days=org.thresholds.briefing_days_ahead)
    for unit in session.exec(select(Unit).order_by(Unit.id)).all():
        for day in cycle_dates(unit_months(unit), window.now.date()):
            if unit.liaison_id:
                liaison = session.get(Person, unit.liaison_id)
                local = window.local(liaison, unit.id)
                if window.send_time(local) and day - ahead <= local.date() < day:
                    found.append(_briefing(session, org, unit, day, local.date()))
            lead_id = unit.lead_id or unit.liaison_id
            if lead_id:
                lead = session.get(Person, lead_id)
                local = window.local(lead, unit.id)
                late = dt.timedelta(days=CYCLE_WINDOW_DAYS)
                if window.send_time(local) and day <= local.date() < day + late:
                    found.append(_questionnaire(session, unit, day, lead_id))
    return found


def _briefing(session: Session, org: Organisation, unit: Unit, day: dt.date, today: dt.date) -> Due:
    open_initiatives = session.exec(
        select(Initiative)
        .where(Initiative.unit_id == unit.id, Initiative.status.in_(["planning", "active"]))
        .order_by(Initiative.target_date)
    ).all()
    stuck = commitments.stuck(
        session, org, dt.datetime.combine(today, dt.time(12), dt.UTC), [unit.id]
    )
    last = session.exec(
        select(Cycle)
        .where(Cycle.unit_id == unit.id, Cycle.cycle_date < day, Cycle.answered_at.is_not(None))
        .order_by(Cycle.cycle_date.desc())
    ).first()
    items = [Item(f"Open initiatives ({len(open_initiatives)})", heading=True)]
    items += [
        Item(
            f"#{i.id} {i.title}"
            + (f", target {describe_date(i.target_date, today)}" if i.target_date else "")
        )
        for i in open_initiatives[:15]
    ]
    items.append(Item(f"Stuck items ({len(stuck)})", heading=True))
    items += [Item(f"{commitments.describe(session, c, today)} · {why}") for c, why in stuck[:15]]
    if last is not None:
        items.append(Item(f"Last cycle ({last.cycle_date:%B %Y})", heading=True))
        for label, text in (("6 months", last.six_months), ("12 months", last.twelve_months)):
            if text:
                items.append(Item(f"{label}: {text[:500]}"))
        if last.notes:
            items.append(Item(f"Notes: {last.notes[:500]}"))
    text = (
        f"Your input cycle with {unit.name} is on {describe_date(day, today)}. "
        "Here's where things stand:"
    )
    return Due(
        key=f"briefing:{unit.id}:{day.isoformat()}",
        kind="briefing",
        person_id=unit.liaison_id,
        reply=Reply(text, items=tuple(items), kind="briefing"),
    )


def cycle_form(unit_id: str, unit_name: str, day: dt.date) -> Form:
    state = json.dumps({"unit": unit_id, "cycle": day.isoformat()})
    fields = (
        FormField(
            "six_months",
            "In the next 6 months: any purchases, moves, hiring, events or data projects?",
            "long_text",
            optional=True,
        ),
        FormField(
            "twelve_months",
            "And in 6 to 12 months?",
            "long_text",
            optional=True,
        ),
    )
    return Form("cycle", f"{unit_name} look-ahead"[:24], fields, submit_label="Send", state=state)


def _questionnaire(session: Session, unit: Unit, day: dt.date, lead_id: int) -> Due:
    form = cycle_form(unit.id, unit.name, day)
    text = (
        f"It's input-cycle time for {unit.name}. Set the clock ahead six and twelve months: "
        "what's coming up? Purchases, moves, hiring, events, data? A line or two each is plenty, "
        "and I'll pick out what IT should help with."
    )
    choice = Choice("Answer the questions", ActionId.CYCLE_OPEN, form.state, "primary")
    return Due(
        key=f"questionnaire:{unit.id}:{day.isoformat()}",
        kind="questionnaire",
        person_id=lead_id,
        reply=Reply(text, choices=(choice,), form=form, kind="questionnaire"),
    )


def record_sent(session: Session, sent: list[Due], now: dt.datetime) -> None:
    """After digests went out, each owner's item in them counts one more unanswered nudge."""
    rows = [
        {"commitment_id": cid, "sent_at": now}
        for due in sent
        if due.kind == "digest"
        for cid in due.commitment_ids
    ]
    if rows:
        session.connection().execute(insert(Nudge.__table__), rows)


def claim(session: Session, due: Due, now: dt.datetime) -> bool:
    return ledger.claim(session, due.key, due.kind, payload=due.to_json(), now=now)


# Every rule the sweeps run, in order: (session, org, send window, stuck items) -> what is owed.
# A new kind of nudge is one function here and one entry in this list.
NudgeRule = Callable[[Session, Organisation, SendWindow, list[tuple[Row, str]]], list[Due]]
NUDGE_RULES: list[NudgeRule] = [digests, escalations, cycle_messages]
