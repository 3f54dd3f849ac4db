"""People from other organisations (Slack Connect users, Teams guests and external users) keep
their own commitments, and nothing of a unit's: no offer naming a unit, no initiative started or
saved, no email stored or linked."""

from __future__ import annotations

import json

from sqlmodel import select

from handlers.messages import Action, Inbound, Sender
from storage.db import session_scope
from storage.models import Commitment, Initiative, IntakeSession, Person
from tests.integration.test_conversation import choice, count, say

MOVE = "We're moving to a new building in ten months"
GUEST = Sender("slack", "U0GUEST", name="guest", email="pat.lee@riverton.example", external=True)


def from_guest(bot, text, where="finance", **kw):
    return bot.handle(
        Inbound(GUEST, where, text=text, message_id="g1", is_direct=where == "dm", **kw)
    )


def test_an_outsiders_message_gets_no_offer_naming_a_unit(liaison) -> None:
    assert from_guest(liaison, MOVE) == []
    assert say(liaison, "pat", MOVE, "finance")[0].reply.kind == "offer"  # an insider still does


def test_an_outsider_cannot_start_or_save_a_units_initiative(liaison) -> None:
    offer = say(liaison, "pat", MOVE, "finance")
    pressed = liaison.handle(
        Inbound(GUEST, "finance", action=Action(*_choice(offer, "Plan it with IT")), is_direct=True)
    )
    assert "for people in this organisation" in pressed[0].reply.text
    assert from_guest(liaison, "plan office move", "dm")[0].reply.text == pressed[0].reply.text
    form = {
        "state": {"kind": "office_move", "unit": "finance", "conv": "finance", "mid": "x1"},
        "values": {"title": "Move", "target_date": "2027-06-01", "owner": "@pat"},
    }
    submitted = liaison.handle(
        Inbound(GUEST, "finance", action=Action("intake.submit", json.dumps(form)), is_direct=True)
    )
    assert "for people in this organisation" in submitted[0].reply.text
    assert count(liaison, Initiative) == 0 and count(liaison, IntakeSession) == 0


def test_an_outsider_keeps_their_own_commitments_and_their_email_is_not_stored(liaison) -> None:
    asked = from_guest(liaison, "commitments ask me send the floor plan by Friday", "dm")
    assert asked and count(liaison, Commitment) == 1, [o.reply.text for o in asked]
    mine = from_guest(liaison, "commitments mine", "dm")
    assert "floor plan" in " ".join(o.reply.text + str(o.reply.items) for o in mine)
    with session_scope(liaison.engine) as session:
        guest = session.exec(select(Person).where(Person.display_name == "guest")).all()
        assert len(guest) == 1 and not guest[0].email  # not linked to Pat by Pat's email
        assert guest[0].handle != "pat"


def _choice(outgoing, label):
    found = choice(outgoing, label)
    return found.action, found.value
