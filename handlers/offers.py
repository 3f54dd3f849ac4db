"""Offers: to plan a signal with IT, and to track a promise someone made in chat.

An offer stores nothing until it is taken: its buttons carry what is needed. A message a
channel delivers twice gets one offer (a ledger claim per message).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from handlers import commitments, similar
from handlers.dates import describe_date
from handlers.messages import ActionId, Choice, Outgoing, Reply, ReplyKind, reply_to_dict
from handlers.promises import Promise
from handlers.signals import Signal
from handlers.signals import feedback as signal_feedback
from handlers.turn import Turn, say
from storage import ledger

MAX_ROLES_SHOWN = 6


def offer(
    turn: Turn, signal: Signal, unit_id: str | None = None, message_id: str | None = None
) -> list[Outgoing]:
    """Offer to plan it; a redelivered message (a channel's retry) is offered only once. A
    message from someone of another organisation gets no offer: it would name a unit to them,
    and they can't plan one (`planning.outsider_refusal`)."""
    if turn.from_outside:
        return []
    inbound = turn.inbound
    message_id = message_id or inbound.message_id
    unit_id = unit_id or turn.bot.org.unit_for_channel(inbound.conversation)
    # Offered already (a redelivery): the claim below finds the key taken, and says nothing.
    key = _offer_key(turn.channel, inbound.conversation, message_id) if message_id else None
    thread = inbound.thread_id or message_id
    # Planned or dismissed in this thread already: no second offer (with a message id, the
    # claim below checks it in the same statement).
    conversation = inbound.conversation
    closed = _closed_key(turn.channel, conversation, thread, signal.kind) if thread else None
    if closed is not None and key is None and ledger.taken(turn.session, closed):
        return []
    playbook = turn.bot.catalogue[signal.kind]
    who = turn.bot.org.units[unit_id].name if unit_id else "you"
    has = "has" if unit_id else "have"
    roles = ", ".join(r.title for r in playbook.roles[:MAX_ROLES_SHOWN])
    text = (
        f"Sounds like {who} {has} {_article(playbook.title)} {playbook.title.lower()} "
        f"coming up. {playbook.offer} Want to plan it together?"
    )
    value = {
        "kind": signal.kind,
        "unit": unit_id,
        "excerpt": signal.excerpt,
        "link": inbound.link,
        "mid": message_id,
        "conv": inbound.conversation,
    }
    if signal.title:
        value["title"] = signal.title[:120]  # a second opinion's title, suggested in the intake
    if thread and thread != message_id:
        value["th"] = thread  # a reply in a thread: the thread the answer closes
    label = {"kind": signal.kind, "excerpt": signal.excerpt}  # each answer is a label
    choices = (
        Choice.of("Plan it with IT", ActionId.OFFER_PLAN, "primary", **value),
        Choice.of("Not now", ActionId.OFFER_LATER, mid=message_id, **label),
        Choice.of(
            "IT isn't needed",
            ActionId.OFFER_DISMISS,
            mid=message_id,
            conv=inbound.conversation,
            **({"th": thread} if thread and thread != message_id else {}),
            **label,
        ),
    )
    facts = (("Roles IT often plays", roles),)
    reply = Reply(text, choices=choices, facts=facts, kind=ReplyKind.OFFER)
    meta: dict = {"signal": signal}
    if key is not None:
        # Who said it (a chat id, not a name) and where: enough to know who may dismiss it.
        said = {"author": inbound.sender.external_id, "unit": unit_id}
        if not _claim_until_sent(turn, key, "offer", said, reply, meta, unless=closed):
            return []
    turn.events.append("funnel.offered")
    # The same need planned in another unit: this unit's liaison hears of it (handlers.similar).
    heads_up = similar.on_offer(
        turn.session, turn.bot.org, signal.kind, signal.excerpt, unit_id, turn.now()
    )
    return [Outgoing(reply, meta=meta), *heads_up]


def offer_to_track(turn: Turn, promise: Promise) -> list[Outgoing]:
    """Someone said they will do something by a date: offer (to them only) to track it.
    Nothing is stored unless they press the button, which carries what and when."""
    inbound = turn.inbound
    message_id = inbound.message_id
    key = f"promise-offer:{turn.channel}:{inbound.conversation}:{message_id}"
    if message_id and ledger.find(turn.session, key) is not None:
        return []
    when = describe_date(promise.due, turn.today)
    who = "We'll" if promise.by_us else "You'll"
    value = {
        "what": promise.what,
        "due": promise.due.isoformat(),
        "conv": inbound.conversation,
        "mid": message_id,
    }
    choices = (
        Choice.of("Track it", ActionId.PROMISE_TRACK, "primary", **value),
        Choice.of("No thanks", ActionId.PROMISE_DISMISS),
    )
    text = (
        f"Want me to keep track of that? {who} {promise.what}, by {when}. "
        "I'll remind you if it gets close or stuck."
    )
    reply = Reply(text, choices=choices, private=True, kind=ReplyKind.PROMISE_OFFER)
    meta: dict = {}
    if message_id and not _claim_until_sent(turn, key, "promise-offer", {}, reply, meta):
        return []
    turn.events.append("promise.offered")
    return [Outgoing(reply, meta=meta)]


def track_promise(turn: Turn, data: dict) -> list[Outgoing]:
    """The speaker pressed "Track it": their promise becomes a commitment, promised."""
    what = " ".join(str(data.get("what") or "").split())[:500]
    try:
        due = dt.date.fromisoformat(str(data.get("due") or ""))
    except ValueError:
        due = None
    if not what or due is None:
        return say("That offer is out of date. Nothing was saved.", private=True)
    conv, mid = str(data.get("conv") or ""), str(data.get("mid") or "")
    if mid:
        key = f"promise:{turn.channel}:{conv}:{mid}:{turn.person.id}"
        if not ledger.claim(turn.session, key, "promise", now=turn.now()):
            return say("You're already tracking that one.", private=True)
    item = commitments.create(
        turn.session,
        requester=turn.person,
        owner=turn.person,
        what=what,
        due=due,
        channel=turn.channel,
        unit_id=turn.bot.org.unit_for_channel(conv) if conv else turn.unit_here(),
        promised=True,
        now=turn.now(),
        org=turn.bot.org,
    )
    turn.events.append("promise.tracked")
    text = f"Tracking it: {turn.describe(item)}. I'll nudge you if it gets stuck."
    return [Outgoing(Reply(text, private=True, kind=ReplyKind.ACK))]


def later(turn: Turn, data: dict) -> list[Outgoing]:
    return say("No problem. Type 'plan' whenever you're ready.", private=True)


def dismiss(turn: Turn, data: dict) -> list[Outgoing]:
    """ "IT isn't needed", for everyone: only the person who said it, the unit's lead or
    liaison, or an admin may decide that. Anyone else's press changes nothing."""
    said = _offer_record(turn, data)
    if said is not None and not _may_dismiss(turn, said):
        unit = turn.bot.org.units.get(said.get("unit") or "")
        deciders = f"or {unit.name}'s lead or liaison" if unit else "or an admin"
        return say(
            f"Only the person who said it, {deciders}, can mark this as not needing IT, so the "
            "offer stays open. If you think it needs no IT, tell them.",
            private=True,
        )
    close_thread(turn, data)  # remembered: that message, and its thread, for that kind
    return [
        Outgoing(
            Reply("Got it, I'll leave this one alone.", private=True, kind=ReplyKind.DISMISSED)
        )
    ]


# An answer to an offer is a label for the organisation's signal model (`liaison-bot train`).
OFFER_ANSWERS = {
    ActionId.OFFER_PLAN: signal_feedback.PLAN,
    ActionId.OFFER_LATER: signal_feedback.LATER,
    ActionId.OFFER_DISMISS: signal_feedback.NOT_IT,
}


def record_answer(turn: Turn, action_id: str, data: dict) -> None:
    """Keep an answer to an offer as a label (its 280-character excerpt, as privacy allows)."""
    if action_id in OFFER_ANSWERS and data.get("kind") and data.get("excerpt"):
        known = turn.known_person()
        signal_feedback.record_label(
            turn.session,
            data["excerpt"],
            data["kind"],
            OFFER_ANSWERS[action_id],
            turn.now(),
            known.id if known else None,
        )


def _claim_until_sent(
    turn: Turn,
    key: str,
    kind: str,
    note: dict,
    reply: Reply,
    meta: dict,
    unless: str | None = None,
) -> bool:
    """Claim the offer for this message (False: someone else did, or someone claimed the key
    `unless`), keeping the reply and whom it is for with the claim. The channel confirms the
    claim once the offer is posted (`meta["claim"]`); a claim never confirmed (the process
    died in between) is sent by a later sweep, after a lease, as a DM to its person
    (`schedules.sweep`, `RECOVERED_KINDS`)."""
    if not turn.inbound.confirms_delivery:  # nobody would confirm it: the claim is all
        payload = json.dumps(note) if note else None
        return ledger.claim(turn.session, key, kind, payload, now=turn.now(), unless=unless)
    # Whom it is for, as the channel knows them: no person is created for an offer.
    payload = {**note, "to": dataclasses.asdict(turn.inbound.sender), "reply": reply_to_dict(reply)}
    if not ledger.claim(turn.session, key, kind, json.dumps(payload), turn.now(), unless=unless):
        return False
    meta["claim"] = key
    return True


def close_thread(turn: Turn, data: dict) -> None:
    """An offer's answer that settles it for its thread ("IT isn't needed", or a plan made
    from it): that kind of initiative is not offered again in that thread. `data` is the
    offer's (or the intake form's) data: conv, mid or th, kind."""
    conv, kind = data.get("conv"), data.get("kind")
    thread = data.get("th") or data.get("mid")
    if all(isinstance(v, str) and v for v in (conv, kind, thread)):
        key = _closed_key(turn.channel, conv, thread, kind)
        ledger.claim(turn.session, key, "offer-closed", now=turn.now())


def _closed_key(channel: str, conversation: str, thread: str, kind: str) -> str:
    return f"offer-closed:{channel}:{conversation}:{thread}:{kind}"


def _offer_key(channel: str, conversation: str, message_id: str) -> str:
    return f"offer:{channel}:{conversation}:{message_id}"


def _offer_record(turn: Turn, data: dict) -> dict | None:
    """What the offer's ledger row says about it (its author and unit), if it has one."""
    mid, conv = data.get("mid"), data.get("conv")
    if not isinstance(mid, str) or not isinstance(conv, str):
        return None
    row = ledger.find(turn.session, _offer_key(turn.channel, conv, mid))
    try:
        said = json.loads(row.payload) if row is not None and row.payload else None
    except ValueError:
        return None
    return said if isinstance(said, dict) else None


def _may_dismiss(turn: Turn, said: dict) -> bool:
    if said.get("author") == turn.inbound.sender.external_id:
        return True
    org, handle = turn.bot.org, turn.person.handle
    unit = org.units.get(said.get("unit") or "")
    return handle in org.admins or (unit is not None and handle in (unit.lead, unit.liaison))


def dismiss_promise(turn: Turn, data: dict) -> list[Outgoing]:
    return say("OK, I won't track it.", private=True)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
