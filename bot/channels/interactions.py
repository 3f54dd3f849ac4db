"""The channel-neutral UI protocol every channel speaks, written once.

Slack, Teams and the shell differ in how a button, a form or a message looks; they agree on
what it means. These rules decide that meaning, so the channels only translate:

- which button opens which form (`form_for_button`), and the small form of an act that needs a
  date or a note (`act_form`);
- what a submitted form asks of the core (`submission`), and which replies refuse it
  (`field_errors`);
- what a shortcut or message action on a message starts (`intake_data`);
- that an act a person waits for (a command, a button, a form) is either done or refused with
  one sentence when the database is away, never acknowledged and lost (`answer_now`);
- where each reply goes (`destination`), and that a reply a platform keeps refusing is kept for
  the sweeps (`deliver`, `keep_for_later`) rather than lost;
- that state which travels through a client comes back as it was sent: every button value and
  form state is sealed when rendered and unsealed when it returns (`seal`, `unseal`), and
  anything else is refused with `OUT_OF_DATE`;
- reading a button's JSON value (`read_json`), clipping text (`clip`), the shared list limit
  (`MAX_ITEMS`), and a bounded cache of who people are (`TTLCache`).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

from bot.channels.sealing import seal, unseal, use_state_secret  # noqa: F401  (re-exported)
from bot.retry import Retrier
from handlers.commitments import ACT_INPUTS
from handlers.commitments import act_form as table_act_form
from handlers.core import Liaison
from handlers.escalations import reassign_form
from handlers.messages import (  # noqa: F401  (MAX_ITEMS: the channels read it here)
    COMMITMENT_ACT_PREFIX,
    MAX_ITEMS,
    Action,
    ActionId,
    Form,
    Outgoing,
    Reply,
    ReplyKind,
    Sender,
)
from handlers.planning import OUTSIDERS
from storage.db import database_away

log = logging.getLogger("liaison.channels")
ACT_FORM = "act"  # the id of an act's small form
FORM_IDS = ("intake", "commitment", ACT_FORM, "cycle")  # every form a channel may get back
LONG_TEXT = 1000  # characters: a longer message is read for signals off the event loop
GENERAL = "_"  # the field-errors key of a refusal that belongs to no one field
STALE_QUESTIONNAIRE = "That questionnaire is out of date. Nothing was saved."
OUT_OF_DATE = "That button is out of date, please start again. Nothing was saved."
K = TypeVar("K")
V = TypeVar("V")


# Reading and clipping


def read_json(value: Any) -> dict[str, Any]:
    """A button's or a form's small JSON document as a dict; anything else is empty."""
    if isinstance(value, dict):
        return value
    try:
        loaded = json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, an ellipsis showing the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Buttons and forms


def act_input(act: str) -> str | None:
    """The one input an act needs before the core can apply it: "due", "note", or None (the
    act table decides it)."""
    return ACT_INPUTS.get(act)


def act_form(act: str, commitment_id: Any, where: dict | None = None) -> Form:
    """The small form of a button that needs a date or a reason: the act table's form, the same
    on every channel. `where` is the channel's note of where the button was, carried through."""
    return table_act_form(act, commitment_id, {"where": where or {}})


def intake_for(core: Liaison, sender: Sender | None, data: dict[str, Any]) -> Form | Reply:
    """The intake form, for someone who may plan a unit's initiative; for someone from another
    organisation (a Slack Connect user, a Teams guest or external user), the core's refusal
    instead (handlers.planning.OUTSIDERS): the form is never offered to them."""
    if sender is not None and sender.external:
        return Reply(OUTSIDERS, private=True)
    return core.intake_form(data)


def form_for_button(
    core: Liaison,
    action_id: str,
    data: dict[str, Any],
    where: dict | None = None,
    sender: Sender | None = None,
) -> Form | Reply | None:
    """What a button opens instead of going to the core: a form, a Reply saying why it can't
    (a stale questionnaire, an outsider's intake), or None when the core acts on the button.

    `data` is the button's value, already completed by the channel with where it was pressed
    (`conv`, `mid`, `offer`) for an offer; `sender` is who pressed it."""
    if action_id == ActionId.OFFER_PLAN:
        return intake_for(core, sender, data)
    if action_id == ActionId.CYCLE_OPEN:
        form = core.cycle_form(data)
        return form if form is not None else Reply(STALE_QUESTIONNAIRE, private=True)
    if action_id == ActionId.ESCALATION_REASSIGN:
        return reassign_form(data.get("id"))
    if action_id.startswith(COMMITMENT_ACT_PREFIX):
        act = action_id.removeprefix(COMMITMENT_ACT_PREFIX)
        needs = act_input(act)
        if needs and not data.get(needs):
            return act_form(act, data.get("id"), where)
    return None


def rebuild_form(core: Liaison, form_id: str, state_text: str) -> Form | None:
    """The form a submission came from, to show it again with its errors."""
    state = read_json(state_text)
    if form_id == "intake":
        return core.intake_form(state)
    if form_id == "commitment":
        return core.commitment_form("", state_text)
    if form_id == "cycle":
        return core.cycle_form(state)
    if form_id == ACT_FORM:
        act = str(state.get("act") or "new_date")
        if act_input(act) is None:
            return None  # a state naming an act that has no form (forged or stale): none to show
        where = state.get("where")
        return act_form(act, state.get("id"), where if isinstance(where, dict) else None)
    return None


def submission(form_id: str, state: dict[str, Any], values: dict[str, Any]) -> Action:
    """The core action a submitted form stands for: an act's form applies the act to its
    commitment (empty inputs left out); any other form is `<form>.submit` with its state."""
    if form_id == ACT_FORM:
        payload = {"id": state.get("id"), **{k: v for k, v in values.items() if v}}
        return Action(f"{COMMITMENT_ACT_PREFIX}{state.get('act')}", json.dumps(payload))
    return Action(f"{form_id}.submit", json.dumps({"state": state, "values": values}))


def field_errors(replies: Iterable[Outgoing]) -> dict[str, str]:
    """Why the core refused a submitted form, by field key (`GENERAL` for the whole form);
    empty when it was accepted. A refusal is a `form_errors` reply, or an answer to the asker
    that is private throughout (say, "that date is in the past")."""
    replies = list(replies)
    errors: dict[str, str] = {}
    for out in replies:
        if out.reply.kind == ReplyKind.FORM_ERRORS:
            errors.update(dict(out.reply.errors))
    mine = [r for r in replies if r.to_person is None]
    if not errors and mine and all(r.reply.private for r in mine):
        errors[GENERAL] = " ".join(r.reply.text for r in mine)
    return errors


def intake_data(
    core: Liaison, text: str, conv: str | None, mid: str | None, link: str | None = None
) -> dict[str, Any]:
    """The intake form's data for "Plan it with IT" on a message: the signal it holds (or its
    first words), the unit of the conversation, and where it came from."""
    signal = core.detect(text) if text else None
    return {
        "kind": signal.kind if signal else None,
        "unit": core.org.unit_for_channel(conv),
        "excerpt": (signal.excerpt if signal else text[:280]) or None,
        "mid": mid,
        "conv": conv,
        "link": link if isinstance(link, str) and link.startswith("https://") else None,
    }


def trusted_intake_state(state: dict[str, Any], link: str | None) -> dict[str, Any]:
    """An intake form's state as it came back from a client, with the source link the channel
    derived itself from the conversation and message ids (`link`, None when it can't). The
    state travels through the client, so a link in it is never stored: a forged one would be
    shown to everyone as the initiative's source."""
    return {
        **state,
        "link": link if isinstance(link, str) and link.startswith("https://") else None,
    }


# Acts a person waits for

COULD_NOT_SAVE = "I couldn't save that, please try again in a minute. Nothing was changed."


async def answer_now(what: str, work: Callable[[], Awaitable[list[Outgoing]]]) -> list[Outgoing]:
    """The core's answer to an act a person is waiting for: a command, a button, a form.

    Slack does not send a command or a button again, and a person who pressed it is looking
    at the screen. So, unlike a message event (kept and handled again once the database is
    back: `bot.retry.once_the_database_answers`), such an act is answered now: done, or, when
    the database is away, refused with one private sentence asking to try again, which a form
    shows as its error. Nothing is half done: the core's transaction rolled back. `work` is
    everything the act needs from the database (who the sender is, the core's answer)."""
    try:
        return await work()
    except Exception as exc:
        if not database_away(exc):
            raise
        log.warning("%s refused: the database is away (%s)", what, type(exc).__name__)
        return [Outgoing(Reply(COULD_NOT_SAVE, private=True, kind=ReplyKind.REFUSED))]


# Delivery


class Destination(enum.Enum):
    CONVERSATION = "conversation"  # where the asker is
    PRIVATE = "private"  # the asker only (ephemeral, or their 1:1 chat)
    PERSON = "person"  # a DM to someone (the asker or another person)


def destination(out: Outgoing, *, private_place: bool) -> Destination:
    """Where a reply goes: a DM to its person; a private answer asked for where others see
    it, to the asker alone; anything else, to the conversation it answers."""
    if out.to_person is not None:
        return Destination.PERSON
    if out.reply.private and not private_place:
        return Destination.PRIVATE
    return Destination.CONVERSATION


async def keep_for_later(
    core: Liaison,
    out: Outgoing,
    asker: Callable[[], Awaitable[int | None]],
    why: str,
) -> None:
    """A reply the platform would not take, even after retries: the sweeps send it later as a
    DM (to its person, or to the asker), so it is late rather than lost. Never raises: when the
    database is the reason, there is nothing more to do than log it."""
    try:
        person_id = out.to_person if out.to_person is not None else await asker()
        if person_id is not None:
            await asyncio.to_thread(core.defer, person_id, out.reply, why)
    except Exception:
        log.exception("could not keep a failed reply for later")


async def confirm(core: Liaison | None, out: Outgoing) -> None:
    """A reply that carries a claim (an offer: `meta["claim"]`) was delivered or kept for the
    sweeps: confirm the claim, so the recovery pass for claims whose process died leaves it
    alone. Never raises: at worst the offer is sent once more, as a DM, after the lease."""
    key = out.meta.get("claim")
    if core is None or not key:
        return
    try:
        await asyncio.to_thread(core.confirm, key)
    except Exception as exc:
        log.warning("could not confirm %s: %s", key, type(exc).__name__)


async def deliver(
    outgoing: Iterable[Outgoing],
    send: Callable[[Outgoing], Awaitable[None]],
    *,
    failures: tuple[type[BaseException], ...],
    describe: Callable[[BaseException], str],
    passing: Callable[[BaseException], bool],
    retrier: Retrier,
    keep: Callable[[Outgoing, str], Awaitable[None]],
    what: str,
    asked: Callable[[BaseException], float | None] | None = None,
    core: Liaison | None = None,
) -> None:
    """Send each reply with `send`. One that fails with one of `failures` is tried again in
    the background while the failure looks `passing` (after the pause `asked` reads from the
    failure, a Retry-After, when it is longer than the retrier's own), then given to `keep`
    (the sweeps); a lasting refusal goes to `keep` at once. A reply that carries a claim is
    confirmed with `core` once sent or kept (`confirm`). Every channel delivers this way."""
    for out in outgoing:

        async def attempt(out: Outgoing = out) -> None:
            await send(out)
            await confirm(core, out)

        async def fall_back(reason: str, out: Outgoing = out) -> None:
            await keep(out, reason)
            await confirm(core, out)

        try:
            await attempt()
        except failures as exc:
            why = describe(exc)
            log.error("%s failed: %s", what, why)
            if passing(exc):  # again after the pause the platform asked for, if it did
                first = asked(exc) if asked is not None else None
                retrier.later(
                    what,
                    attempt,
                    retry_on=passing,
                    give_up=fall_back,
                    why=why,
                    asked=asked,
                    first_wait=first,
                )
            else:
                await fall_back(why)


# Caches


class TTLCache(Generic[K, V]):
    """A small cache of lookups (who a sender is): entries live `ttl` seconds, and beyond
    `size` entries the least recently used goes, so a busy workspace cannot grow it forever."""

    def __init__(self, ttl: float = 3600.0, size: int = 5000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry[0] >= self.ttl:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (time.monotonic(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
