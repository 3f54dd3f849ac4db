"""Slack Connect: a user of another organisation's workspace, in a shared channel, gets no offer
naming a unit and cannot plan one; they keep their own commitments, and their email is neither
stored nor used to link them to a colleague."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from storage.models import Address, Commitment, Initiative, Person
from tests.e2e.test_slack import MOVE, TOKEN, USERS, Server, click, ok, posted, serve, settle
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr

PARTNER = "U0PARTNER"
# Someone at a partner company, whose email happens to match a colleague's in the config.
PARTNER_USER = {
    "name": "partner",
    "team_id": sr.PARTNER_TEAM_ID,
    "tz": "Europe/London",
    "profile": {"email": "pat.lee@riverton.example", "display_name": "partner"},
}


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    async with (
        FakeSlack(bot_token=TOKEN, users={**USERS, PARTNER: PARTNER_USER}) as fake,
        serve(fake, tmp_path / "liaison.db") as server,
    ):
        yield server


async def test_a_slack_connect_user_gets_no_offer_naming_a_unit(srv: Server) -> None:
    event = sr.message_event(MOVE, user=PARTNER, user_team=sr.PARTNER_TEAM_ID)
    assert (await srv.event(event))[0] == 200
    await settle()
    assert ok(srv.fake, "chat.postMessage") == [] and ok(srv.fake, "chat.postEphemeral") == []
    assert srv.count(Initiative) == 0
    # The same words from someone of this workspace get the unit's offer.
    assert (await srv.event(sr.message_event(MOVE)))[0] == 200
    (offer,) = await srv.fake.wait_for("chat.postMessage")
    assert "Finance" in offer.payload["text"]


async def test_a_slack_connect_user_keeps_their_own_commitments_and_no_email_is_kept(
    srv: Server,
) -> None:
    assert (await srv.slash("ask me send the floor plan by Friday", user=PARTNER))[0] == 200
    await srv.fake.wait_for("response_url")
    (commitment,) = srv.all(Commitment)
    with Session(srv.app.engine) as session:
        address = session.exec(select(Address).where(Address.external_id == PARTNER)).one()
        person = session.get(Person, address.person_id)
        assert person is not None and person.email is None and person.handle != "pat"
        assert commitment.owner_id == person.id
    dm = sr.message_event(
        "plan office move",
        user=PARTNER,
        channel="D0PARTNER",
        channel_type="im",
        user_team=sr.PARTNER_TEAM_ID,
    )
    assert (await srv.event(dm))[0] == 200
    (refused,) = await srv.fake.wait_for("chat.postMessage")
    assert "for people in this organisation" in refused.payload["text"]
    assert srv.count(Initiative) == 0


async def test_a_slack_connect_user_is_refused_at_the_start_of_an_intake(srv: Server) -> None:
    """A colleague's offer in a shared channel, pressed by the partner: no form opens."""
    assert (await srv.event(sr.message_event(MOVE)))[0] == 200
    (offer,) = await srv.fake.wait_for("chat.postMessage")
    pressed = click(offer, "offer.plan", PARTNER, trigger_id=sr.new_trigger_id())
    assert (await srv.interact(pressed))[0] == 200
    (refused,) = await srv.fake.wait_for("chat.postEphemeral")
    assert refused.payload["user"] == PARTNER
    assert "for people in this organisation" in refused.payload["text"]
    shortcut = sr.shortcut_payload("plan_with_it", message={"text": MOVE}, user_id=PARTNER)
    assert (await srv.interact(shortcut))[0] == 200
    (dm,) = await posted(srv.fake, srv.fake.dm_channel(PARTNER))
    assert "for people in this organisation" in dm.payload["text"]
    assert ok(srv.fake, "views.open") == [] and srv.count(Initiative) == 0


async def test_an_outsider_is_refused_in_the_modal_when_users_info_is_slow(srv: Server) -> None:
    """users.info slower than the trigger lives: the modal opens first, showing nothing of a
    unit, and says no once the partner is known to be from another organisation."""
    srv.fake.trigger_ttl = 1.0
    srv.fake.latency["users.info"] = 1.5
    shortcut = sr.shortcut_payload("plan_with_it", message={"text": MOVE}, user_id=PARTNER)
    assert (await srv.interact(shortcut))[0] == 200
    (opened,) = await srv.fake.wait_for("views.open")
    (update,) = await srv.fake.wait_for("views.update", timeout=5.0)
    assert "for people in this organisation" in str(update.payload["view"])
    units = [unit.name for unit in srv.app.liaison.org.units.values()]
    assert units and "Finance" in " ".join(units)
    shown = str(opened.payload["view"]) + str(update.payload["view"])
    assert not [name for name in units if name in shown]
    assert "submit" not in update.payload["view"] and srv.count(Initiative) == 0
