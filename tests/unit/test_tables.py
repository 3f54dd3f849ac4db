"""The act table is complete: every act can be typed, has words, a past tense, help, and the
buttons and forms it should; every button is one its presser may press."""

from __future__ import annotations

import json

import pytest

from handlers import routes, views
from handlers.commands import ACT_NAMES, HELP_TEXT, Act, parse_commitments_command
from handlers.commitment_queries import whose_move
from handlers.intake_slots import INTAKE_SLOTS, SLOTS
from handlers.intake_slots import form as intake_form
from handlers.messages import COMMITMENT_ACT_PREFIX, ActionId
from handlers.playbooks import load_catalogue
from handlers.protocol import ACT_TABLE, ACTS, PROTOCOL, act_form, buttons
from handlers.views import BOT_HELP
from storage.models import OPEN_STATES, Commitment, CommitmentState

OWNER, REQUESTER = 1, 2
SPECS = [pytest.param(spec, id=spec.name) for spec in ACT_TABLE]


def item(state: CommitmentState) -> Commitment:
    return Commitment(id=12, what="x", owner_id=OWNER, requester_id=REQUESTER, state=state)


def test_the_table_is_the_protocol_and_names_each_act_once() -> None:
    assert list(ACTS) == [spec.name for spec in ACT_TABLE] == list(PROTOCOL) == list(ACT_NAMES)
    typed = [word for spec in ACT_TABLE for word in spec.typed]
    assert len(typed) == len(set(typed)), "a typed word may mean only one act"


@pytest.mark.parametrize("spec", SPECS)
def test_every_act_has_words_a_past_tense_help_and_rules(spec) -> None:
    assert spec.rules and set(spec.rules) <= set(OPEN_STATES)
    assert spec.words and spec.past and spec.typed
    example, _ = spec.help
    assert example.split(" 12")[0] == spec.typed[0]
    assert f"  {example}" in HELP_TEXT


@pytest.mark.parametrize("spec", SPECS)
def test_every_act_is_routed_from_what_a_person_types(spec) -> None:
    """The help example parses to the act, and so does each word listed for it."""
    example, _ = spec.help
    assert isinstance(parsed := parse_commitments_command(example), Act)
    assert (parsed.act, parsed.commitment_id) == (spec.name, 12)
    for word in spec.typed:
        tail = "by Friday" if spec.reads == "due" else "because"
        assert parse_commitments_command(f"{word} 12 {tail}").act == spec.name


@pytest.mark.parametrize("spec", SPECS)
def test_an_act_that_needs_input_has_a_form_and_a_typed_hint(spec) -> None:
    if spec.needs is None:
        with pytest.raises(ValueError):
            act_form(spec.name, 12)
        return
    form = act_form(spec.name, 12, {"where": {"ch": "C1"}})
    (field,) = form.fields
    assert field.key == spec.needs and field.label == spec.ask and form.title
    assert field.kind == ("date" if spec.needs == "due" else "long_text")
    assert json.loads(form.state) == {"id": 12, "act": spec.name, "where": {"ch": "C1"}}
    assert spec.refusal and spec.typed_missing
    with pytest.raises(ValueError, match=r"Add|Try"):
        parse_commitments_command(f"{spec.typed[0]} 12")


def test_counter_is_titled_propose_a_date_everywhere() -> None:
    assert act_form("counter", 4).title == "Propose a date"


@pytest.mark.parametrize("spec", SPECS)
def test_every_button_is_one_its_presser_may_press(spec) -> None:
    for state in spec.owner_buttons:
        assert spec.rules[state].side in ("owner", "either"), (spec.name, state)
    for state in spec.requester_buttons:
        assert spec.rules[state].side in ("requester", "either"), (spec.name, state)
    if spec.nudge_button:
        for state in spec.nudge_states:
            assert spec.rules[state].side in ("owner", "either"), (spec.name, state)


@pytest.mark.parametrize("state", OPEN_STATES)
def test_whoever_has_the_move_gets_a_button_for_it(state) -> None:
    mover = whose_move(item(state))
    pressed = buttons(item(state), mover)
    assert pressed, f"no button for the one whose move it is in {state}"
    for choice in pressed:
        act = choice.action.removeprefix(COMMITMENT_ACT_PREFIX)
        assert state in ACTS[act].rules
        assert json.loads(choice.value) == {"id": 12}


def test_the_buttons_keep_their_order_and_labels() -> None:
    labels = lambda state, viewer, nudge=False: [  # noqa: E731
        c.label for c in buttons(item(state), viewer, nudge=nudge)
    ]
    assert labels(CommitmentState.REQUESTED, OWNER) == ["Accept", "Decline", "Propose another date"]
    assert labels(CommitmentState.PROMISED, OWNER) == ["Done", "New date", "I'm blocked"]
    assert labels(CommitmentState.COUNTERED, REQUESTER) == ["Accept new date", "Decline new date"]
    assert labels(CommitmentState.DONE_REPORTED, REQUESTER) == ["Accept", "Send back"]
    assert labels(CommitmentState.REQUESTED, OWNER, nudge=True) == [
        "Accept",
        "Done",
        "New date",
        "I'm blocked",
        "Snooze",
        "Not mine",
    ]


def test_every_action_id_is_routed_in_the_core_or_answered_by_the_channels() -> None:
    for action in ActionId:
        routed = action in routes.ACTIONS or action in routes.CHANNEL_ACTIONS
        assert routed, f"{action} has no handler"
    assert not set(routes.ACTIONS) & routes.CHANNEL_ACTIONS


@pytest.mark.parametrize("spec", SPECS)
def test_every_act_button_reaches_the_act_handler(spec) -> None:
    action = f"{COMMITMENT_ACT_PREFIX}{spec.name}"
    assert action not in routes.ACTIONS
    assert [p for p in routes.ACTION_PREFIXES if action.startswith(p)] == [COMMITMENT_ACT_PREFIX]


def test_help_names_every_text_command_and_query() -> None:
    texts = {**routes.TEXT_COMMANDS, **routes.EXACT_TEXTS}
    for word in (w for w, handler in texts.items() if handler is not views.bot_help):
        assert f"• {word}" in BOT_HELP
    for scope in routes.QUERIES:
        shown = {
            "person": "@pat",
            "initiative": "initiative 12",
            "unit": "unit Finance",
            "initiative_edit": "initiative 12 owner @kim",
        }
        assert shown.get(scope, scope) in HELP_TEXT


def test_each_intake_slot_is_one_question_in_the_chat_and_the_form(org) -> None:
    catalogue = load_catalogue(org)
    whole = intake_form(catalogue, org, kind=None, unit_id=None, suggested_title="Elm Street")
    fields = {f.key: f for f in whole.fields}
    assert list(fields) == [slot.key for slot in INTAKE_SLOTS]
    for slot in INTAKE_SLOTS:
        field = fields[slot.key]
        assert (field.label, field.kind, field.hint) == (slot.label, slot.field, slot.hint)
        assert slot.prompt({}).startswith(slot.label)
        assert not slot.hint or slot.prompt({}).endswith(slot.hint)
    assert fields["title"].initial == "Elm Street"
    assert "keep “Elm Street”" in SLOTS["title"].prompt({"suggested_title": "Elm Street"})
    known = intake_form(catalogue, org, kind="office_move", unit_id="finance", suggested_title=None)
    assert not {"kind", "unit"} & {f.key for f in known.fields}
    assert known.fields[-1].key == "roles"
