"""Where each message is handled: three explicit tables, read top to bottom.

"Where is `/commitments done 4` handled?" -> TEXT_COMMANDS["commitments"] parses it into an
`Act`, and COMMANDS[Act] is `acts.act`. "Where is the Done button handled?" -> its id is
`commitment.report_done`, so ACTION_PREFIXES["commitment."]. Each handler is a function of
the per-request `Turn` and what was asked, and returns the replies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from handlers import (
    acts,
    cycles,
    escalations,
    initiatives,
    offers,
    planning,
    reports,
    signin,
    similar,
    views,
)
from handlers.commands import (
    Act,
    Ask,
    Command,
    CommandError,
    Help,
    Query,
    parse_commitments_command,
    strip_mentions,
)
from handlers.messages import COMMITMENT_ACT_PREFIX, ActionId, Outgoing
from handlers.promises import find_promise, may_hold_promise
from handlers.turn import Turn, say

Handler = Callable[[Turn, Any], list[Outgoing]]


def commitments_command(turn: Turn, rest: str) -> list[Outgoing]:
    """`commitments ...`: parse it, then hand the command to COMMANDS by its type. The other
    top-level words typed after it (`/commitments plan`, `history 12`, `home`: a slash command
    always starts with "commitments") are those words' own commands."""
    inner = " ".join(rest.split())
    if inner.split(" ", 1)[0].lower() in BEHIND_THE_SLASH:
        return dispatch_text(turn, inner)
    try:
        command = parse_commitments_command(rest)
    except CommandError as exc:
        return say(str(exc), private=True)
    return COMMANDS[type(command)](turn, command)


def query(turn: Turn, command: Query) -> list[Outgoing]:
    """A `commitments <scope>` query, handed to QUERIES by its scope."""
    return QUERIES.get(command.scope, views.commands_help)(turn, command)


# The whole message is one of these words (after the bot's mention; "/home" too).
EXACT_TEXTS: dict[str, Handler] = {
    "help": views.bot_help,
    "?": views.bot_help,
    "home": views.home,
}
# The first word typed -> handler(turn, the rest as typed).
TEXT_COMMANDS: dict[str, Handler] = {
    "commitments": commitments_command,
    "history": views.history,
    "plan": planning.plan,
}
# Top-level words that also work after `commitments` (as Slack's /commitments sends them).
BEHIND_THE_SLASH = frozenset({"home", *TEXT_COMMANDS} - {"commitments"})
# A parsed `commitments ...` command, by its type.
COMMANDS: dict[type[Command], Handler] = {
    Help: views.commands_help,
    Ask: acts.ask,
    Act: acts.act,
    Query: query,
}
# `commitments <scope>` -> handler(turn, query).
QUERIES: dict[str, Handler] = {
    "mine": views.mine,
    "person": views.person,
    "unit": views.unit,
    "stuck": views.stuck,
    "overdue": views.overdue,
    "initiative": views.initiative_query,
    "initiatives": initiatives.listing,
    "initiative_edit": initiatives.edit,
    "cycle": views.cycles,
    "calendar": views.calendar_link,
    "report": reports.report,
    "dashboard": signin.dashboard_link,
}
# A button or a form sent back: its action id -> handler(turn, its data).
ACTIONS: dict[str, Handler] = {
    ActionId.OFFER_PLAN: planning.start_from_offer,
    ActionId.OFFER_LATER: offers.later,
    ActionId.OFFER_DISMISS: offers.dismiss,
    ActionId.PROMISE_TRACK: offers.track_promise,
    ActionId.PROMISE_DISMISS: offers.dismiss_promise,
    ActionId.HOME_OPEN: views.home,
    ActionId.HOME_INITIATIVE: views.initiative_button,
    ActionId.INTAKE_ANSWER: planning.answer_button,
    ActionId.INTAKE_SUBMIT: planning.submit,
    ActionId.COMMITMENT_SUBMIT: acts.submit_commitment,
    ActionId.CYCLE_SUBMIT: cycles.submit,
    ActionId.LIST_MORE: views.more,
    ActionId.SIMILAR_LINK: similar.link_button,
    ActionId.ESCALATION_NUDGE: escalations.nudge_again,
    ActionId.ESCALATION_TAKE: escalations.take_over,
    ActionId.ESCALATION_KNOWN: escalations.mark_known,
    ActionId.REASSIGN_SUBMIT: escalations.reassign,
}
# Ids with a variable tail: `commitment.<act>`, one per act in handlers.protocol.
ACTION_PREFIXES: dict[str, Handler] = {COMMITMENT_ACT_PREFIX: acts.act_from_button}
# Ids the channels answer themselves (they open a form), so the core never sees them.
CHANNEL_ACTIONS = frozenset(
    {ActionId.CYCLE_OPEN, ActionId.FORM_CANCEL, ActionId.ESCALATION_REASSIGN}
)

# Linear on any text: no part of a mention may contain "<", so no scan runs past the next tag.
LEADING_MENTIONS = re.compile(
    r"^(?:\s*(?:<@[^<>]+>|<at(?:\s[^<>]*)?>[^<]*</at>|@[\w.\-]+)[\s,:;]*)+"
)
TEXT_FIELDS = (
    "q",
    "a",
    "s",
    "due",
    "note",
    "answer",
    "excerpt",
    "link",
    "kind",
    "unit",
    "mid",
    "conv",
    "what",
    "title",
)


def dispatch(turn: Turn) -> list[Outgoing]:
    """The replies to one inbound message or button press."""
    if turn.inbound.action is not None:
        return dispatch_action(turn)
    return dispatch_text(turn, " ".join(turn.inbound.text.split()))


def dispatch_text(turn: Turn, text: str) -> list[Outgoing]:
    lowered = strip_mentions(text).strip().lower().lstrip("/")
    if lowered in EXACT_TEXTS:
        return EXACT_TEXTS[lowered](turn, "")
    word = lowered.split(" ", 1)[0]
    if word in TEXT_COMMANDS:
        # Only a leading mention (of the bot) goes: "ask <@U1|pat> ..." keeps its person.
        typed = LEADING_MENTIONS.sub("", text).strip().lstrip("/")
        return TEXT_COMMANDS[word](turn, typed[len(word) :])
    return free_text(turn, text)


def free_text(turn: Turn, text: str) -> list[Outgoing]:
    """Anything else: an answer to an intake in progress, a signal to offer, a promise to
    offer to track, or chat (answered only when it was addressed to the bot)."""
    person = turn.known_person()
    open_one = turn.open_intake(person) if person else None
    if open_one is not None:
        turn.known_as(person)
        return planning.answer(turn, open_one, text)
    signal = turn.bot.detect(text, speaker=turn.speaker(person), consult=True)
    if signal is not None:
        return offers.offer(turn, signal)
    plain = strip_mentions(text)
    # Chat that holds no promise must not touch the sender (nor create them).
    today = turn.bot.today_for(person) if may_hold_promise(plain) else None
    promise = find_promise(plain, today) if today is not None else None
    if promise is not None:
        return offers.offer_to_track(turn, promise)
    if turn.inbound.is_direct and not turn.from_outside:  # an outsider's chat gets no pitch
        return say(
            "I'm here to help plan things that have an IT side. Tell me what's coming up "
            "(\"we're hiring 12 nurses in March\"), or type 'help'."
        )
    return []


def dispatch_action(turn: Turn) -> list[Outgoing]:
    action = turn.inbound.action
    data = _checked(action.data())
    handler = ACTIONS.get(action.id)
    if handler is None:
        prefix = next((p for p in ACTION_PREFIXES if action.id.startswith(p)), None)
        handler = ACTION_PREFIXES.get(prefix) if prefix else None
    if handler is None:
        return say("I didn't recognise that button. It may be from an older message.", private=True)
    offers.record_answer(turn, action.id, data)  # an answer to an offer is a label to learn from
    return handler(turn, data)


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    """Button values come from outside: read them by type, never trust their shape."""
    for key in ("state", "values"):
        if key in data and not isinstance(data[key], dict):
            data[key] = {}
    for key in TEXT_FIELDS:
        if key in data and data[key] is not None and not isinstance(data[key], str):
            data[key] = None
    return data
