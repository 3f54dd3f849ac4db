"""The commitment acts, declared once: `ACT_TABLE`.

Each `ActSpec` says who may do the act from which state and where it leads, the words a person
types for it, its past tense, the input it needs (a date or a note), its buttons and its help
line. Everything else is read from the table: the parser and help text (handlers.commands), the
buttons (`buttons()`), the act forms (`act_form()`), the protocol checks and effects in
`handlers.commitments.apply()`, and what the others are told (`ACT_PAST`). Adding an act means
adding one `ActSpec` here, and its tests.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from handlers.messages import COMMITMENT_ACT_PREFIX, Choice, Form, FormField
from storage.models import OPEN_STATES, Commitment, CommitmentState

State = CommitmentState
Side = Literal["owner", "requester", "either"]
Needs = Literal["due", "note"]
# How the words typed after the commitment number are read:
#   due_or_note "by <date>" is a date, anything else a note · due: a date ("by"/"to" optional)
#   until: a snooze ("for 3 days", "until Monday") · note / optional_note: free text
Reads = Literal["due_or_note", "due", "until", "note", "optional_note"]


@dataclass(frozen=True)
class Rule:
    side: Side
    to_state: State | None  # None keeps the state (an act that only records activity)


@dataclass(frozen=True)
class Change:
    """What an act brings to a commitment: the state it found, a date, a note, the time."""

    before: State
    due: dt.date | None
    note: str | None
    now: dt.datetime


Effect = Callable[[Commitment, Change], None]


@dataclass(frozen=True)
class ActSpec:
    """One act of the protocol, everything about it in one place."""

    name: str
    rules: Mapping[State, Rule]  # the states it applies in -> who may do it, where it leads
    words: str  # what a refusal says you can't do: "promise it"
    past: str  # what the others are told: "@sam promised: ..."
    typed: tuple[str, ...]  # what a person may type; the first is the one help shows
    help: tuple[str, str]  # (example, meaning) for the help text; the example uses #12
    reads: Reads = "optional_note"
    typed_missing: str = ""  # the typed command lacks its input: "{typed}" and "{n}" filled in
    needs: Needs | None = None  # asked for before the act: a button opens a small form first
    ask: str = ""  # the question for what it needs (the form's field)
    form_title: str = ""
    refusal: str = ""  # the act arrived without what it needs
    owner_buttons: Mapping[State, str] = field(default_factory=dict)  # state -> button label
    requester_buttons: Mapping[State, str] = field(default_factory=dict)
    nudge_button: str | None = None  # its button in the owner's daily digest
    nudge_states: tuple[State, ...] = (State.REQUESTED, State.PROMISED)
    primary: bool = False  # its button is the highlighted one
    counts_as_activity: bool = True  # a snooze is not activity: the item may still go stale
    effect: Effect | None = None  # what it changes besides the state


def _snooze(item: Commitment, change: Change) -> None:
    item.snoozed_until = change.due or (change.now.date() + dt.timedelta(days=1))


def _propose_date(item: Commitment, change: Change) -> None:
    item.proposed_due = change.due


def _move_date(item: Commitment, change: Change) -> None:
    item.due = change.due or item.due


def _take_proposed_date(item: Commitment, change: Change) -> None:
    if change.before == State.COUNTERED and item.proposed_due:
        item.due = item.proposed_due


def _done(item: Commitment, change: Change) -> None:
    if item.owner_id == item.requester_id:  # a promise to oneself needs no acceptance
        item.state = State.ACCEPTED


_DATE_REFUSAL = "Which date would work? Try 'by Friday' or 'by 2027-03-01'."
_EVERY_OPEN = tuple(OPEN_STATES)
_NOT_REPORTED = tuple(s for s in OPEN_STATES if s != State.DONE_REPORTED)

ACT_TABLE: tuple[ActSpec, ...] = (
    ActSpec(
        "promise",
        {State.REQUESTED: Rule("owner", State.PROMISED)},
        words="promise it",
        past="promised",
        typed=("yes", "promise", "commit"),
        help=("yes 12", "promise to do it (or: yes 12 by Friday)"),
        reads="due_or_note",
        owner_buttons={State.REQUESTED: "Accept"},
        nudge_button="Accept",
        nudge_states=(State.REQUESTED,),
        primary=True,
    ),
    ActSpec(
        "decline",
        {
            State.REQUESTED: Rule("owner", State.DECLINED),
            State.COUNTERED: Rule("owner", State.DECLINED),
        },
        words="decline it",
        past="declined",
        typed=("no", "decline"),
        help=("no 12 not our area", "decline it, with a reason if you like"),
        owner_buttons={State.REQUESTED: "Decline", State.COUNTERED: "Decline"},
    ),
    ActSpec(
        "counter",
        {
            State.REQUESTED: Rule("owner", State.COUNTERED),
            State.COUNTERED: Rule("owner", State.COUNTERED),
        },
        words="propose another date",
        past="proposed another date for",
        typed=("counter",),
        help=("counter 12 by March 1", "offer another date (or: counter 12 laptops only)"),
        reads="due_or_note",
        typed_missing=(
            "What would you offer instead? Try 'counter {n} by Friday' or "
            "'counter {n} the laptops but not the phones'."
        ),
        needs="due",
        ask="Which date would work?",
        form_title="Propose a date",
        refusal=_DATE_REFUSAL,
        owner_buttons={State.REQUESTED: "Propose another date"},
        effect=_propose_date,
    ),
    ActSpec(
        "report_done",
        {
            State.REQUESTED: Rule("owner", State.DONE_REPORTED),
            State.PROMISED: Rule("owner", State.DONE_REPORTED),
        },
        words="mark it done",
        past="marked done",
        typed=("done", "report_done", "finished", "complete", "completed"),
        help=("done 12", "say it's done"),
        owner_buttons={State.PROMISED: "Done"},
        nudge_button="Done",
        primary=True,
        effect=_done,
    ),
    ActSpec(
        "accept",
        {
            State.COUNTERED: Rule("requester", State.PROMISED),
            State.DONE_REPORTED: Rule("requester", State.ACCEPTED),
        },
        words="accept it",
        past="accepted",
        typed=("accept",),
        help=("accept 12", "confirm the work is what you needed"),
        requester_buttons={State.COUNTERED: "Accept new date", State.DONE_REPORTED: "Accept"},
        primary=True,
        effect=_take_proposed_date,
    ),
    ActSpec(
        "reject",
        {
            State.COUNTERED: Rule("requester", State.REQUESTED),
            State.DONE_REPORTED: Rule("requester", State.PROMISED),
        },
        words="send it back",
        past="sent back",
        typed=("reject",),
        help=("reject 12 link broken", "send it back with a reason"),
        requester_buttons={State.COUNTERED: "Decline new date", State.DONE_REPORTED: "Send back"},
    ),
    ActSpec(
        "new_date",
        {s: Rule("either", None) for s in _EVERY_OPEN},
        words="set a new date",
        past="set a new date for",
        typed=("new date", "new_date", "newdate", "new-date", "reschedule"),
        help=("new date 12 by Friday", "move the due date"),
        reads="due",
        typed_missing="What's the new date? Try '{typed} {n} by Friday'.",
        needs="due",
        ask="What's the new date?",
        form_title="A new date",
        refusal=_DATE_REFUSAL,
        owner_buttons={State.PROMISED: "New date"},
        requester_buttons={State.PROMISED: "New date"},
        nudge_button="New date",
        effect=_move_date,
    ),
    ActSpec(
        "blocked",
        {State.REQUESTED: Rule("owner", None), State.PROMISED: Rule("owner", None)},
        words="report it blocked",
        past="is blocked on",
        typed=("blocked",),
        help=("blocked 12 waiting for the vendor contract", ""),
        reads="note",
        typed_missing=(
            "What's blocking it? Add a reason, like 'blocked {n} waiting for the vendor contract'."
        ),
        needs="note",
        ask="What is it blocked on?",
        form_title="I'm blocked",
        refusal="What is it blocked on? A few words help the requester unblock it.",
        owner_buttons={State.PROMISED: "I'm blocked"},
        nudge_button="I'm blocked",
    ),
    ActSpec(
        "snooze",
        {s: Rule("either", None) for s in _EVERY_OPEN},
        words="snooze it",
        past="snoozed",
        typed=("snooze",),
        help=("snooze 12 for 3 days", "remind me later (or: snooze 12 until Monday)"),
        reads="until",
        nudge_button="Snooze",
        counts_as_activity=False,
        effect=_snooze,
    ),
    ActSpec(
        "not_mine",
        {s: Rule("owner", State.RELEASED) for s in _NOT_REPORTED},
        words="hand it back",
        past="says this isn't theirs",
        typed=("not mine", "not_mine", "notmine", "not-mine"),
        help=("not mine 12", "it belongs to someone else"),
        nudge_button="Not mine",
    ),
    ActSpec(
        "cancel",
        {s: Rule("requester", State.CANCELLED) for s in _EVERY_OPEN},
        words="cancel it",
        past="cancelled",
        typed=("cancel",),
        help=("cancel 12", "you no longer need it"),
        requester_buttons={State.REQUESTED: "Cancel"},
    ),
    ActSpec(
        "release",
        {s: Rule("owner", State.RELEASED) for s in _NOT_REPORTED},
        words="release it",
        past="released",
        typed=("release",),
        help=("release 12", "let go of a promise you made"),
    ),
    ActSpec(
        "note",
        {s: Rule("either", None) for s in _EVERY_OPEN},
        words="add a note",
        past="added a note to",
        typed=("note",),
        help=("note 12 waiting on facilities", "tell everyone involved"),
        reads="note",
        typed_missing="What's the note? Add a few words, like 'note {n} waiting on facilities'.",
        needs="note",
        ask="What should the others know?",
        form_title="Add a note",
        refusal="What's the note? A few words are enough.",
    ),
)
ACTS: dict[str, ActSpec] = {spec.name: spec for spec in ACT_TABLE}

# Views of the table, under the names the rest of the code has always used.
PROTOCOL: dict[str, dict[State, Rule]] = {spec.name: dict(spec.rules) for spec in ACT_TABLE}
ACT_WORDS: dict[str, str] = {spec.name: spec.words for spec in ACT_TABLE}
ACT_PAST: dict[str, str] = {spec.name: spec.past for spec in ACT_TABLE}
NEEDS_DATE: frozenset[str] = frozenset(s.name for s in ACT_TABLE if s.needs == "due")
NEEDS_NOTE: frozenset[str] = frozenset(s.name for s in ACT_TABLE if s.needs == "note")
ACT_INPUTS: dict[str, str] = {s.name: s.needs for s in ACT_TABLE if s.needs}  # act -> field
TYPED_ACTS: dict[str, str] = {word: spec.name for spec in ACT_TABLE for word in spec.typed}

STATE_WORDS = {
    State.REQUESTED: "requested",
    State.COUNTERED: "another date proposed",
    State.PROMISED: "promised",
    State.DONE_REPORTED: "reported done",
    State.ACCEPTED: "done and accepted",
    State.DECLINED: "declined",
    State.CANCELLED: "cancelled",
    State.RELEASED: "released",
}


def act_form(act: str, commitment_id: Any, state: Mapping[str, Any] | None = None) -> Form:
    """The small form for an act that needs a date or a note before it can be done.

    Its state carries the commitment id, the act, and whatever a channel adds in `state`
    (say, where to answer); its one field is keyed by what the act needs ("due" or "note").
    """
    spec = ACTS[act]
    if spec.needs is None:
        raise ValueError(f"the act {act!r} needs no form")
    kind = "date" if spec.needs == "due" else "long_text"
    data = {"id": commitment_id, "act": act, **(state or {})}
    return Form(
        "act",
        spec.form_title,
        (FormField(spec.needs, spec.ask, kind),),
        submit_label="Send",
        state=json.dumps(data),
    )


def missing_input(act: str, commitment_id: int) -> str | None:
    """What to say when an act arrives without the date or note it needs (a typed command is
    refused by the parser first; this is for a button pressed where no form can open)."""
    spec = ACTS[act]
    if spec.needs == "due":
        example = "e.g. 'by next Friday'"
        return f"{spec.ask} Type: {spec.typed[0]} {commitment_id} by <date>, {example}."
    if spec.needs == "note":
        return f"{spec.ask} Type: {spec.typed[0]} {commitment_id} <a few words>."
    return None


# Buttons, shared by every channel and by the nudges; all read from the act table.

NUDGE_STATES = tuple(
    dict.fromkeys(s for spec in ACT_TABLE if spec.nudge_button for s in spec.nudge_states)
)


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
    state = State(state)
    acts: list[tuple[str, ActSpec]] = []
    if owner and nudge and state in NUDGE_STATES:
        acts = [
            (s.nudge_button, s) for s in ACT_TABLE if s.nudge_button and state in s.nudge_states
        ]
    elif owner:
        acts = [(s.owner_buttons[state], s) for s in ACT_TABLE if state in s.owner_buttons]
    if requester and not owner:
        acts += [(s.requester_buttons[state], s) for s in ACT_TABLE if state in s.requester_buttons]
    return tuple(
        (label, f"{COMMITMENT_ACT_PREFIX}{spec.name}", "primary" if spec.primary else None)
        for label, spec in acts
    )
