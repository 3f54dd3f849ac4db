"""Writing commitments: ask someone, act on one (typed or by button), the track form, and
the DMs that tell the other side. Which acts exist and what they do is handlers.protocol's."""

from __future__ import annotations

from handlers import commitments
from handlers.commands import Act, Ask
from handlers.dates import DateParseError, parse_due
from handlers.messages import COMMITMENT_ACT_PREFIX, Outgoing, Reply, ReplyKind
from handlers.people import name_of, resolve_person
from handlers.turn import Turn, form_errors, record_id, say
from storage.models import Commitment, Unit


def ask(turn: Turn, command: Ask) -> list[Outgoing]:
    """`ask @pat send the floor plan by Friday`: a request, and a DM to the person asked."""
    owner = resolve_person(turn.session, command.mention, turn.person, turn.channel)
    if owner is None:
        shown = command.mention.handle or command.mention.display or command.mention.external_id
        return say(
            f"I don't know @{shown} yet. Check the spelling; nothing was saved.", private=True
        )
    due = None
    if command.due_text:
        try:
            due = parse_due(command.due_text, turn.today, **turn.bot.org.date_rules)
        except DateParseError as exc:
            return say(f"{exc} Nothing was saved.", private=True)
    try:
        item = commitments.create(
            turn.session,
            requester=turn.person,
            owner=owner,
            what=command.what,
            due=due,
            channel=turn.channel,
            unit_id=turn.unit_here(),
            now=turn.now(),
            org=turn.bot.org,
        )
    except commitments.CommitmentError as exc:
        return say(str(exc), private=True)
    who = name_of(turn.session, owner.id)
    if owner.id != turn.person.id and not turn.reachable(owner.id):
        # Saved, but nobody can tell them yet: say so, rather than "Asked @lee".
        text = (
            f"Saved, but I can't reach {who} in chat yet, so they haven't been told: "
            f"{turn.describe(item)}. Let them know, or ask them to say hello to me; I'll "
            "nudge them from then on."
        )
        return [Outgoing(Reply(text, kind=ReplyKind.ACK))]
    out = [Outgoing(Reply(f"Asked {who}: {turn.describe(item)}", kind=ReplyKind.ACK))]
    if owner.id != turn.person.id:
        out.append(commitment_dm(turn, item, owner.id, "asks you for"))
    return out


def act_from_button(turn: Turn, data: dict) -> list[Outgoing]:
    """A `commitment.<act>` button (or an act form sent back with its date or note)."""
    name = turn.inbound.action.id.removeprefix(COMMITMENT_ACT_PREFIX)
    return act(turn, Act(record_id(data.get("id")), name, data.get("due"), data.get("note")))


def act(turn: Turn, command: Act) -> list[Outgoing]:
    """One act of the protocol on one commitment, and a DM to each other side."""
    name = command.act
    needed = command.due_text if name in commitments.NEEDS_DATE else command.note
    if name in commitments.ACT_INPUTS and not needed:
        return say(commitments.missing_input(name, command.commitment_id), private=True)
    due = None
    if command.due_text:
        try:
            due = parse_due(command.due_text, turn.today, **turn.bot.org.date_rules)
        except DateParseError as exc:
            return say(f"{exc} Nothing was changed.", private=True)
    try:
        item = commitments.apply(
            turn.session,
            turn.bot.org,
            command.commitment_id,
            turn.person,
            name,
            channel=turn.channel,
            due=due,
            note=command.note,
            now=turn.now(),
        )
    except commitments.CommitmentError as exc:
        return say(str(exc), private=True)
    if name == "snooze":
        until = turn.describe_date(item.snoozed_until)
        return say(f"Snoozed #{item.id} until {until}. I won't nudge you about it before.")
    out = [Outgoing(Reply(f"Got it. {turn.describe(item)}", kind=ReplyKind.ACK))]
    others = {item.owner_id, item.requester_id} - {turn.person.id}
    if name == "not_mine":
        # The requester and the unit's liaison should know it has no owner now.
        others |= {_liaison_of(turn, item.unit_id)} - {None, turn.person.id}
    note = f" ({command.note})" if command.note else ""
    past = commitments.ACT_PAST[name]
    out += [commitment_dm(turn, item, other, f"{past}{note}") for other in others]
    return out


def submit_commitment(turn: Turn, data: dict) -> list[Outgoing]:
    """The 'Track as commitment' form: what, who, by when."""
    values = data.get("values") or {}
    errors: dict[str, str] = {}
    what = " ".join(str(values.get("what") or "").split())
    if not what:
        errors["what"] = "What will be done? A few words are enough."
    typed_owner = str(values.get("owner") or "")
    owner = resolve_person(turn.session, typed_owner or "me", turn.person, turn.channel)
    if owner is None:
        typed = " ".join(typed_owner.split())[:60]
        errors["owner"] = (
            f"I don't know {typed} yet. Check the spelling, or leave it empty for yourself."
        )
    due = None
    if values.get("due"):
        try:
            due = parse_due(str(values["due"]), turn.today, **turn.bot.org.date_rules)
        except DateParseError as exc:
            errors["due"] = str(exc)
    if errors:
        return form_errors(errors)
    try:
        item = commitments.create(
            turn.session,
            requester=turn.person,
            owner=owner,
            what=what,
            due=due,
            channel=turn.channel,
            unit_id=turn.unit_here(),
            promised=owner.id == turn.person.id,
            now=turn.now(),
            org=turn.bot.org,
        )
    except commitments.CommitmentError as exc:
        return form_errors({"what": str(exc)})
    out = [Outgoing(Reply(f"Tracking it: {turn.describe(item)}", kind=ReplyKind.ACK))]
    if owner.id != turn.person.id:
        out.append(commitment_dm(turn, item, owner.id, "asks you for"))
    return out


def commitment_dm(turn: Turn, item: Commitment, to_person: int, what_happened: str) -> Outgoing:
    """A DM about a commitment, with the buttons that person can use next."""
    actor = name_of(turn.session, turn.person.id)
    text = f"{actor} {what_happened}: {turn.describe(item)}"
    return Outgoing(
        Reply(text, choices=turn.buttons(item, to_person), kind=ReplyKind.COMMITMENT),
        to_person=to_person,
        meta={"commitment": item.id},
    )


def _liaison_of(turn: Turn, unit_id: str | None) -> int | None:
    unit = turn.session.get(Unit, unit_id) if unit_id else None
    return unit.liaison_id if unit else None
