"""Characterisation of the routes: what each kind of message gets, through Liaison.handle.

One row per route (a typed command, a query, a button), so a change of routing that sends
a message to the wrong handler shows up as the wrong kind of reply.
"""

from __future__ import annotations

import json

import pytest

from handlers.messages import Action, ActionId, Inbound, ReplyKind, Sender

TEXTS = [
    ("help", ReplyKind.INFO, "Here's what I can do"),
    ("/help", ReplyKind.INFO, "Here's what I can do"),
    ("?", ReplyKind.INFO, "Here's what I can do"),
    ("home", ReplyKind.LIST, "Your open commitments:"),
    ("commitments", ReplyKind.LIST, "Your open commitments:"),
    ("commitments help", ReplyKind.INFO, "Here's what you can type"),
    ("commitments stuck", ReplyKind.INFO, "Stuck commitments: nothing open"),
    ("commitments overdue", ReplyKind.INFO, "Overdue commitments: nothing open"),
    ("commitments unit finance", ReplyKind.LIST, "Open commitments of Finance:"),
    ("commitments unit mars", ReplyKind.INFO, "I don't know the unit 'mars'"),
    ("commitments @sam", ReplyKind.LIST, "Open commitments of @sam:"),
    ("commitments @nobody", ReplyKind.INFO, "I don't know that person yet"),
    ("commitments initiative 99", ReplyKind.INFO, "I can't find initiative #99"),
    ("commitments cycle", ReplyKind.LIST, "Input cycles:"),
    ("commitments calendar", ReplyKind.INFO, "Your private calendar link"),
    ("commitments frobnicate", ReplyKind.INFO, "I didn't understand 'frobnicate'"),
    ("commitments done 1", ReplyKind.ACK, "Got it."),
    ("commitments note 1 waiting on facilities", ReplyKind.ACK, "Got it."),
    ("commitments done 999", ReplyKind.INFO, "I can't find commitment #999"),
    ("history 1", ReplyKind.HISTORY, "#1 move the printers"),
    ("history", ReplyKind.INFO, "Which commitment?"),
    ("plan", ReplyKind.INTAKE, "Let's plan it."),
    ("plan a spaceship", ReplyKind.INFO, "I don't have a playbook for 'spaceship'"),
    # Behind Slack's /commitments, the top-level words are their own commands.
    ("commitments history 1", ReplyKind.HISTORY, "#1 move the printers"),
    ("commitments home", ReplyKind.LIST, "Your open commitments:"),
    ("commitments plan", ReplyKind.INTAKE, "Let's plan it."),
    ("I'll send the floor plans by Friday", ReplyKind.PROMISE_OFFER, "Want me to keep track"),
    ("good morning", ReplyKind.INFO, "I'm here to help plan things"),
]


def inbound(text: str = "", action: Action | None = None, who: str = "sam") -> Inbound:
    return Inbound(Sender("shell", who, name=who), "dm", text=text, action=action, is_direct=True)


@pytest.fixture
def bot(liaison):
    asked = liaison.handle(
        inbound("commitments ask @sam to move the printers by Friday", who="pat")
    )
    assert asked[0].reply.kind == ReplyKind.ACK
    return liaison


@pytest.mark.parametrize(("text", "kind", "starts"), TEXTS, ids=[t for t, _, _ in TEXTS])
def test_each_text_reaches_its_handler(bot, text, kind, starts) -> None:
    first = bot.handle(inbound(text))[0].reply
    assert (first.kind, first.text[: len(starts)]) == (kind, starts), first.text


def test_a_plan_is_offered_to_the_business_and_not_to_it_staff_about_their_own_move(bot):
    said = "We're moving to a new building in ten months"
    offer = bot.handle(inbound(said, who="lee"))[0].reply
    assert (offer.kind, offer.text[:11]) == (ReplyKind.OFFER, "Sounds like")
    from_it = bot.handle(inbound(said, who="sam"))[0].reply  # Sam is a liaison: IT's own move
    assert from_it.kind == ReplyKind.INFO and from_it.text.startswith("I'm here to help")


BUTTONS = [
    (ActionId.HOME_OPEN, {}, ReplyKind.LIST, "Your open commitments:"),
    (ActionId.HOME_INITIATIVE, {"id": 99}, ReplyKind.INFO, "I can't find initiative #99"),
    (ActionId.OFFER_LATER, {}, ReplyKind.INFO, "No problem."),
    (ActionId.OFFER_DISMISS, {}, ReplyKind.DISMISSED, "Got it, I'll leave this one alone."),
    (ActionId.PROMISE_DISMISS, {}, ReplyKind.INFO, "OK, I won't track it."),
    (ActionId.PROMISE_TRACK, {"what": "x"}, ReplyKind.INFO, "That offer is out of date."),
    (ActionId.INTAKE_ANSWER, {"intake": 99}, ReplyKind.INFO, "That plan belongs to someone"),
    (ActionId.INTAKE_SUBMIT, {"values": {}}, ReplyKind.FORM_ERRORS, "Please check the form."),
    (ActionId.COMMITMENT_SUBMIT, {"values": {}}, ReplyKind.FORM_ERRORS, "Please check"),
    (ActionId.CYCLE_SUBMIT, {"state": {}}, ReplyKind.INFO, "That questionnaire is out of date."),
    ("commitment.promise", {"id": 1}, ReplyKind.ACK, "Got it."),
    ("commitment.counter", {"id": 1}, ReplyKind.INFO, "Which date would work? Type: counter 1"),
    ("commitment.blocked", {"id": 1}, ReplyKind.INFO, "What is it blocked on? Type: blocked 1"),
    ("commitment.bogus", {"id": 1}, ReplyKind.INFO, "I don't know how to 'bogus'"),
    (ActionId.CYCLE_OPEN, {}, ReplyKind.INFO, "I didn't recognise that button."),
    ("nothing.at.all", {}, ReplyKind.INFO, "I didn't recognise that button."),
]


@pytest.mark.parametrize(
    ("action", "data", "kind", "starts"), BUTTONS, ids=[str(b[0]) for b in BUTTONS]
)
def test_each_button_reaches_its_handler(bot, action, data, kind, starts) -> None:
    first = bot.handle(inbound(action=Action(action, json.dumps(data))))[0].reply
    assert (first.kind, first.text[: len(starts)]) == (kind, starts), first.text


def test_the_form_an_act_button_opens_first(liaison) -> None:
    counter = liaison.act_form("counter", 4, {"where": {"ch": "C1"}})
    assert (counter.title, [f.key for f in counter.fields]) == ("Propose a date", ["due"])
    assert json.loads(counter.state) == {"id": 4, "act": "counter", "where": {"ch": "C1"}}
    assert [f.key for f in liaison.act_form("note", 4).fields] == ["note"]
    assert liaison.act_form("report_done", 4) is None
    assert liaison.act_form("bogus", 4) is None
