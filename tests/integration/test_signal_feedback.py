"""Detection in the conversation: who is speaking decides, and answers to offers are labels.

An offer's three answers ("Plan it with IT", "Not now", "IT isn't needed") are kept as the
280-character excerpt with the kind, for `liaison-bot train`; IT staff (here sam, the
units' liaison, and dana, an admin) talking about their own work get no offer.
"""

from __future__ import annotations

from sqlmodel import select

from storage.db import session_scope
from storage.models import SignalLabel
from tests.integration.test_conversation import choice, say
from tests.integration.test_conversation import press as press_choice

MOVE = "We're moving to a new building in ten months"


def labels(liaison) -> list[tuple[str, str, str]]:
    with session_scope(liaison.engine) as session:
        rows = session.exec(select(SignalLabel).order_by(SignalLabel.id)).all()
        return [(row.excerpt, row.kind, row.answer) for row in rows]


def test_each_answer_to_an_offer_is_kept_as_a_label(liaison):
    assert labels(liaison) == []
    for label, answer in (
        ("IT isn't needed", "not_it"),
        ("Not now", "later"),
        ("Plan it with IT", "plan"),
    ):
        offer = say(liaison, "pat", MOVE, "finance")
        press_choice(liaison, "pat", choice(offer, label), "finance")
        assert labels(liaison)[-1] == (MOVE, "office_move", answer)
    assert len(labels(liaison)) == 3


def test_it_staff_talking_about_their_own_work_get_no_offer(liaison):
    assert (
        say(liaison, "sam", "We're replacing every laptop in Finance next month", "finance") == []
    )
    assert say(liaison, "dana", "IT here: we're moving the servers in May", "finance") == []
    offer = say(liaison, "sam", "Finance is buying 40 new laptops for the auditors", "finance")
    assert offer and offer[0].reply.kind == "offer"
    offer = say(liaison, "pat", "We're replacing every laptop in Finance next month", "finance")
    assert offer and offer[0].reply.kind == "offer"


def test_an_input_cycle_answer_with_two_initiatives_offers_both(liaison):
    import json

    from handlers.messages import Action, Inbound, Sender

    value = json.dumps(
        {
            "state": {"unit": "finance", "cycle": "2027-03-01"},
            "values": {"six_months": "We're buying a CRM and hiring 12 reps for it."},
        }
    )
    out = liaison.handle(
        Inbound(Sender("shell", "pat", name="pat"), "dm", action=Action("cycle.submit", value))
    )
    offers = [o.reply for o in out if o.reply.kind == "offer"]
    kinds = [json.loads(o.choices[0].value)["kind"] for o in offers]
    assert sorted(kinds) == ["software_purchase", "staffing_change"]
