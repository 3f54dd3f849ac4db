"""The buttons of a liaison's escalation digest: nudge the owner again, take the item over,
hand it to someone else (a small form picks who), or mark it as known. Only someone who
oversees the item's unit (its liaison, an admin) may.

"Known" is kept the way escalation is decided: the item's unanswered nudges are forgotten, so
it climbs to the liaison again only once its owner has let as many new nudges go unanswered.
"""

from __future__ import annotations

import json

from sqlmodel import delete

from handlers import commitments
from handlers.acts import commitment_dm
from handlers.messages import ActionId, Choice, Form, FormField, Outgoing, Reply, ReplyKind
from handlers.people import name_of, resolve_person
from handlers.turn import Turn, form_errors, record_id, say
from storage.models import OPEN_STATES, Commitment, CommitmentEvent, Nudge


def escalation_choices(item_id: int) -> tuple[Choice, ...]:
    """The buttons under each item of an escalation digest."""
    return (
        Choice.of("Nudge again", ActionId.ESCALATION_NUDGE, "primary", id=item_id),
        Choice.of("Take it over", ActionId.ESCALATION_TAKE, id=item_id),
        Choice.of("Reassign", ActionId.ESCALATION_REASSIGN, id=item_id),
        Choice.of("Mark as known", ActionId.ESCALATION_KNOWN, id=item_id),
    )


def _overseen(turn: Turn, data: dict) -> Commitment | list[Outgoing]:
    """The open item the button names, if the person pressing it oversees its unit."""
    item = turn.session.get(Commitment, record_id(data.get("id")))
    if item is None or not commitments.can_see(turn.bot.org, turn.person, item):
        return say("I can't find that commitment any more.", private=True)
    if not commitments.can_oversee(turn.bot.org, turn.person, item.unit_id):
        return say(
            f"Only the liaison of #{item.id}'s unit or an admin can do that. Nothing was changed.",
            private=True,
        )
    if item.state not in OPEN_STATES:
        return say(f"#{item.id} is closed already: {turn.describe(item)}", private=True)
    return item


def nudge_again(turn: Turn, data: dict) -> list[Outgoing]:
    """A nudge to the owner now, from the liaison by name, with the owner's buttons."""
    item = _overseen(turn, data)
    if isinstance(item, list):
        return item
    turn.session.add(Nudge(commitment_id=item.id, sent_at=turn.now()))
    owner = name_of(turn.session, item.owner_id)
    done = Reply(f"Nudged {owner} about #{item.id}.", private=True, kind=ReplyKind.ACK)
    return [Outgoing(done), commitment_dm(turn, item, item.owner_id, "asks for an update on")]


def take_over(turn: Turn, data: dict) -> list[Outgoing]:
    """The liaison becomes the owner; the previous owner and the requester are told."""
    item = _overseen(turn, data)
    if isinstance(item, list):
        return item
    if item.owner_id == turn.person.id:
        return say(f"#{item.id} is yours already.", private=True)
    previous = _hand_over(turn, item, turn.person.id, "take_over")
    out = [Outgoing(Reply(f"It's yours now: {turn.describe(item)}", kind=ReplyKind.ACK))]
    told = {previous, item.requester_id} - {turn.person.id}
    return out + [commitment_dm(turn, item, other, "took over") for other in sorted(told)]


REASSIGN_FORM = "reassign"


def reassign_form(item_id: object) -> Form:
    """The Reassign button's form: who should own the item now."""
    field = FormField("owner", "Who should own it now?", "person")
    return Form(REASSIGN_FORM, "Reassign", (field,), "Reassign", json.dumps({"id": item_id}))


def reassign(turn: Turn, data: dict) -> list[Outgoing]:
    """The reassign form sent back: the new owner gets the item (and its buttons); the
    previous owner and the requester are told."""
    item = _overseen(turn, data.get("state") or {})
    if isinstance(item, list):
        return item
    typed = str((data.get("values") or {}).get("owner") or "")
    owner = resolve_person(turn.session, typed, turn.person, turn.channel) if typed else None
    if owner is None:
        return form_errors({"owner": "Pick the person who should own it."})
    if owner.id == item.owner_id:
        return form_errors({"owner": f"{name_of(turn.session, owner.id)} owns it already."})
    previous = _hand_over(turn, item, owner.id, "reassign")
    new_owner = name_of(turn.session, owner.id)
    out = [Outgoing(Reply(f"Reassigned to {new_owner}: {turn.describe(item)}", kind=ReplyKind.ACK))]
    out += [commitment_dm(turn, item, owner.id, "hands you")] if owner.id != turn.person.id else []
    told = {previous, item.requester_id} - {turn.person.id, owner.id}
    what = f"reassigned to {new_owner}"
    return out + [commitment_dm(turn, item, other, what) for other in sorted(told)]


def _hand_over(turn: Turn, item: Commitment, owner_id: int, act: str) -> int:
    """A new owner: the old one's unanswered nudges go, and the history keeps who it was."""
    previous = item.owner_id
    item.owner_id, item.last_activity_at = owner_id, turn.now()
    turn.session.add(item)
    turn.session.execute(delete(Nudge).where(Nudge.commitment_id == item.id))
    _event(turn, item, act, f"from {name_of(turn.session, previous)}")
    return previous


def mark_known(turn: Turn, data: dict) -> list[Outgoing]:
    """Stop escalating the item for now: its unanswered nudges are forgotten."""
    item = _overseen(turn, data)
    if isinstance(item, list):
        return item
    turn.session.execute(delete(Nudge).where(Nudge.commitment_id == item.id))
    _event(turn, item, "known", "the liaison knows")
    limit = turn.bot.org.thresholds.escalate_after_nudges
    return say(
        f"Noted: #{item.id} won't be raised with you again unless {limit} more nudges go "
        "unanswered.",
        private=True,
        kind=ReplyKind.ACK,
    )


def _event(turn: Turn, item: Commitment, act: str, note: str) -> None:
    turn.session.add(
        CommitmentEvent(
            commitment_id=item.id,
            actor_id=turn.person.id,
            act=act,
            from_state=item.state,
            to_state=item.state,
            due_before=item.due,
            due_after=item.due,
            note=note,
            channel=turn.channel,
            at=turn.now(),
        )
    )
