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
    channel_message,
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
