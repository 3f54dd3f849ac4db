"""Teams guests and external users are from other organisations: no offer naming a unit, no
plan of a unit's, no email kept or linked; their own commitments stay theirs."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.models import Address, Commitment, Initiative, Person
from tests.e2e.test_teams import RunningBot, settings  # noqa: F401  (settings is a fixture)
from tests.fakes.teams_connector import (
    ALEX,
    EXTERNAL,
    GUEST,
    KIM,
    PAT,
    SAM,
    FakeConnector,
    card_inputs,
    card_invoke,
    card_text,
    channel_message,
    click,
    message_action_fetch,
    personal_message,
)

MOVE = "We're moving to a new building in ten months"


@pytest.fixture
async def connector():
    async with FakeConnector(users=(PAT, SAM, KIM, ALEX, GUEST, EXTERNAL)) as fake:
        yield fake


@pytest.fixture
async def bot(settings, connector: FakeConnector):  # noqa: F811
    running = await RunningBot(settings).start()
    yield running
    await running.stop()


@pytest.mark.parametrize("outsider", [GUEST, EXTERNAL], ids=["guest", "external user"])
async def test_a_teams_outsider_gets_no_offer_naming_a_unit_nor_a_plan(bot, connector, outsider):
    assert (await bot.post(channel_message(connector.service_url, outsider, MOVE)))[0] == 201
    assert connector.messages() == []
    assert (await bot.post(personal_message(connector.service_url, outsider, "plan")))[0] == 201
    [refused] = connector.messages()
    assert "for people in this organisation" in refused.text
    assert bot.count(Initiative) == 0
    # A colleague's same words get the unit's offer.
    await bot.post(channel_message(connector.service_url, KIM, MOVE))
    assert "office move" in connector.messages()[-1].text.lower()


@pytest.mark.parametrize("outsider", [GUEST, EXTERNAL], ids=["guest", "external user"])
async def test_a_teams_outsider_keeps_their_own_commitments_and_no_email(bot, connector, outsider):
    ask = "commitments ask me send the floor plan by Friday"
    assert (await bot.post(personal_message(connector.service_url, outsider, ask)))[0] == 201
    with bot.session() as session:
        address = session.exec(select(Address).where(Address.external_id == outsider.aad)).one()
        person = session.get(Person, address.person_id)
        assert person.email is None and person.handle not in ("pat", "sam")
        (commitment,) = session.exec(select(Commitment)).all()
        assert commitment.owner_id == person.id


@pytest.mark.parametrize("outsider", [GUEST, EXTERNAL], ids=["guest", "external user"])
async def test_a_teams_outsider_is_refused_at_the_start_of_an_intake(bot, connector, outsider):
    """Not only at submit: the intake card is never offered to them, from a colleague's offer
    or from the "Plan it with IT" message action."""
    url = connector.service_url
    await bot.post(channel_message(url, KIM, MOVE))
    offer = connector.messages()[-1]
    verb, data = click(offer.card, "Plan it with IT")
    pressed = card_invoke(url, outsider, verb, data, reply_to_id=offer.response["id"])
    status, body = await bot.post({**pressed, "conversation": offer.body["conversation"]})
    assert status == 200 and "for people in this organisation" in card_text(body["value"])
    assert card_inputs(body["value"]) == {}

    html = f"<div>{MOVE}</div>"
    status, answer = await bot.post(message_action_fetch(url, outsider, "planWithIt", html))
    assert status == 200 and answer["task"]["type"] == "message"
    assert "for people in this organisation" in answer["task"]["value"]
    assert bot.count(Initiative) == 0

    # A colleague pressing the same button gets the form.
    status, body = await bot.post(
        {**card_invoke(url, KIM, verb, data, reply_to_id=offer.response["id"]),
         "conversation": offer.body["conversation"]}
    )  # fmt: skip
    assert status == 200 and "f:title" in card_inputs(body["value"])
