"""State that travels through a client comes back as the bot sent it, or is refused.

Every button value and form state is sealed by the bot (bot.channels.interactions.seal: HMAC
with a server key, bound to its button or form). A value changed on the way (a forged unit,
kind, excerpt, source link or answer place), an unsigned one, or one made for another button,
gets "That button is out of date" and changes nothing: no form opens, nothing is saved. The
source link of an intake is derived by the bot even from genuine state."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.channels.interactions import OUT_OF_DATE
from bot.config import Settings
from storage.models import Commitment, Initiative
from tests.conftest import EXAMPLE_CONFIG
from tests.e2e import test_teams as teams
from tests.e2e.test_slack import (
    PAT,
    SAM,
    TOKEN,
    USERS,
    Server,
    button,
    click,
    in_days,
    offer_for,
    ok,
    posted,
    serve,
    submission,
)
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr
from tests.fakes.teams_connector import PAT as TEAMS_PAT
from tests.fakes.teams_connector import (
    FakeConnector,
    card_actions,
    card_inputs,
    card_invoke,
    card_text,
    message_action_fetch,
    message_action_submit,
    task_card,
)
from tests.fakes.teams_connector import click as card_click
from tests.sealed import forged, sealed_document

FORGED = "https://evil.example/phish"
MOVE_VALUES = {
    "title": sr.text_value("Move to the Elm Street building"),
    "target_date": sr.date_value(in_days(300)),
    "owner": sr.user_value(PAT),
}


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as server,
    ):
        yield server


def _pressed_with(offer, value: str) -> dict:
    payload = click(offer, "offer.plan", PAT, trigger_id=sr.new_trigger_id())
    payload["actions"][0]["value"] = value
    return payload


async def test_a_slack_button_with_a_forged_unit_kind_or_excerpt_is_refused(srv: Server) -> None:
    _, offer = await offer_for(srv)
    genuine = button(offer.payload["blocks"], "offer.plan")["value"]
    assert sealed_document(genuine)["unit"] == "finance"
    tampered = [
        forged(genuine, unit="hr"),
        forged(genuine, kind="software_purchase"),
        forged(genuine, excerpt="Buy everyone a new laptop"),
        json.dumps({**sealed_document(genuine), "unit": "hr"}),  # unsigned
        button(offer.payload["blocks"], "offer.dismiss")["value"],  # another button's value
    ]
    for value in tampered:
        assert (await srv.interact(_pressed_with(offer, value)))[0] == 200
    refusals = await srv.fake.wait_for("chat.postEphemeral", count=len(tampered))
    assert [r.payload["text"] for r in refusals] == [OUT_OF_DATE] * len(tampered)
    assert {r.payload["user"] for r in refusals} == {PAT}
    assert ok(srv.fake, "views.open") == [] and srv.count(Initiative) == 0

    # The genuine value, pressed the same way, still opens the form.
    await srv.interact(_pressed_with(offer, genuine))
    (form,) = await srv.fake.wait_for("views.open")
    assert form.payload["view"]["callback_id"] == "intake"


async def test_a_slack_modal_with_forged_private_metadata_saves_nothing(srv: Server) -> None:
    _, offer = await offer_for(srv)
    await srv.interact(click(offer, "offer.plan", PAT, trigger_id=sr.new_trigger_id()))
    (form,) = await srv.fake.wait_for("views.open")
    view = form.payload["view"]
    genuine = view["private_metadata"]
    for metadata in (
        forged(genuine, link=FORGED),
        forged(genuine, unit="hr", conv="C0HR"),
        json.dumps(sealed_document(genuine)),  # unsigned
        "",
    ):
        view["private_metadata"] = metadata
        status, body = await srv.interact(submission(form, MOVE_VALUES))
        answer = json.loads(body)
        assert status == 200 and answer["response_action"] == "update"
        assert OUT_OF_DATE in json.dumps(answer["view"])
    assert (
        srv.count(Initiative) == 0
        and ok(srv.fake, "chat.postMessage", channel="C0FINANCE1")[1:] == []
    )

    # The genuine state saves, and the source link is Slack's permalink, derived by the bot.
    view["private_metadata"] = genuine
    assert await srv.interact(submission(form, MOVE_VALUES)) == (200, "")
    await srv.fake.wait_for("chat.postMessage", count=2)
    (initiative,) = srv.all(Initiative)
    said = offer.payload["thread_ts"].replace(".", "")  # the message the offer answers
    permalink = f"https://fake.slack.test/archives/C0FINANCE1/p{said}"
    assert initiative.unit_id == "finance" and initiative.source_link == permalink


async def test_an_act_modal_with_a_forged_answer_place_is_refused(srv: Server) -> None:
    """The `where` an act's modal carries (which message to update, which response_url to
    answer on) is sealed with the rest of its state."""
    await srv.slash(f"ask <@{SAM}> to send the floor plans by Friday", key="ask")
    (dm,) = await posted(srv.fake, srv.fake.dm_channel(SAM))
    pressed = click(dm, "commitment.counter", SAM, trigger_id=sr.new_trigger_id())
    await srv.interact(pressed)
    (form,) = await srv.fake.wait_for("views.open")
    view = form.payload["view"]
    view["private_metadata"] = forged(view["private_metadata"], where={"ch": "C0FINANCE1"})
    status, body = await srv.interact(
        submission(form, {"due": sr.date_value(in_days(20))}, user=SAM)
    )
    assert status == 200 and OUT_OF_DATE in body
    (item,) = srv.all(Commitment)
    assert item.state == "requested" and item.proposed_due is None


@pytest.fixture
async def connector():
    async with FakeConnector() as fake:
        yield fake


@pytest.fixture
async def bot(tmp_path: Path, connector: FakeConnector):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'liaison.db'}",
        config_path=str(EXAMPLE_CONFIG),
        teams_emulator=True,
    )
    running = await teams.RunningBot(settings).start()
    yield running
    await running.stop()


async def test_a_teams_dialog_with_forged_state_saves_nothing(bot, connector) -> None:
    url = connector.service_url
    html = "<div>Heads up: we're moving to the Elm Street building in March</div>"
    status, answer = await bot.post(message_action_fetch(url, TEAMS_PAT, "planWithIt", html))
    form = task_card(answer)
    assert status == 200 and "f:title" in card_inputs(form)
    inputs = {"f:unit": "finance", "f:target_date": in_days(120), "f:owner": "me"}
    _, data = card_click(form, "Save", inputs)
    genuine = data["state"]
    for state in (forged(genuine, link=FORGED), forged(genuine, unit="hr"), "{}"):
        status, answer = await bot.post(
            message_action_submit(url, TEAMS_PAT, "planWithIt", {**data, "state": state})
        )
        assert status == 200 and answer["task"]["value"] == OUT_OF_DATE
    assert bot.count(Initiative) == 0

    status, answer = await bot.post(message_action_submit(url, TEAMS_PAT, "planWithIt", data))
    assert status == 200 and "Saved initiative #1" in answer["task"]["value"]
    with bot.session() as session:
        [initiative] = session.exec(select(Initiative)).all()
    assert initiative.source_link.startswith("https://teams.microsoft.com/l/message/")


async def test_a_teams_card_with_a_forged_button_or_form_is_refused(bot, connector) -> None:
    url = connector.service_url
    card, card_id = await teams.offer_card(bot, connector, "We're moving buildings in ten months")
    verb, data = card_click(card, "Plan it with IT")
    genuine = data["value"]
    for value in (forged(genuine, unit="hr"), json.dumps(sealed_document(genuine)), None):
        pressed = {**data, "value": value} if value is not None else {"act": verb}
        status, body = await bot.post(
            card_invoke(url, TEAMS_PAT, verb, pressed, reply_to_id=card_id)
        )
        assert status == 200 and card_text(body["value"]) == OUT_OF_DATE
    form = await teams.execute(bot, connector, TEAMS_PAT, card, "Plan it with IT", card_id=card_id)
    assert "f:title" in card_inputs(form)

    inputs = {"f:title": "Elm Street", "f:target_date": in_days(120), "f:owner": "me"}
    verb, data = card_click(form, "Save", inputs)
    data["state"] = forged(data["state"], kind="software_purchase")
    status, body = await bot.post(card_invoke(url, TEAMS_PAT, verb, data, reply_to_id=card_id))
    assert status == 200 and OUT_OF_DATE in card_text(body["value"])
    assert card_actions(body["value"]) == [] and bot.count(Initiative) == 0
