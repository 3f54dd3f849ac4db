"""State that travels through a client and comes back is not trusted for what it could forge:
an intake's source link is derived from the message ids by the bot, never read from the
modal's private_metadata (Slack) or the card's data (Teams)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import Settings
from storage.models import Initiative
from tests.conftest import EXAMPLE_CONFIG
from tests.e2e import test_teams as teams
from tests.e2e.test_slack import (
    PAT,
    TOKEN,
    USERS,
    Server,
    click,
    in_days,
    offer_for,
    ok,
    serve,
    submission,
)
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr
from tests.fakes.teams_connector import PAT as TEAMS_PAT
from tests.fakes.teams_connector import (
    FakeConnector,
    card_inputs,
    message_action_fetch,
    message_action_submit,
    task_card,
)
from tests.fakes.teams_connector import click as card_click

FORGED = "https://evil.example/phish"


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as server,
    ):
        yield server


async def test_a_forged_source_link_in_a_slack_modal_is_never_stored(srv: Server) -> None:
    _, offer = await offer_for(srv)
    await srv.interact(click(offer, "offer.plan", PAT, trigger_id=sr.new_trigger_id()))
    (opened,) = await srv.fake.wait_for("views.open")
    view = opened.payload["view"]
    view["private_metadata"] = json.dumps({**json.loads(view["private_metadata"]), "link": FORGED})
    values = {
        "title": sr.text_value("Move to the Elm Street building"),
        "target_date": sr.date_value(in_days(300)),
        "owner": sr.user_value(PAT),
    }
    assert await srv.interact(submission(opened, values)) == (200, "")
    await srv.fake.wait_for("chat.postMessage", count=2)
    (initiative,) = srv.all(Initiative)
    permalinks = [c.response["permalink"] for c in ok(srv.fake, "chat.getPermalink")]
    assert initiative.source_link in permalinks and FORGED not in json.dumps(srv.fake.summary())


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


async def test_a_forged_source_link_in_a_teams_card_is_never_stored(bot, connector) -> None:
    url = connector.service_url
    html = "<div>Heads up: we're moving to the Elm Street building in March</div>"
    status, answer = await bot.post(message_action_fetch(url, TEAMS_PAT, "planWithIt", html))
    form = task_card(answer)
    assert status == 200 and "f:title" in card_inputs(form)
    inputs = {"f:unit": "finance", "f:target_date": in_days(120), "f:owner": "me"}
    _, data = card_click(form, "Save", inputs)
    data["state"] = json.dumps({**json.loads(data["state"]), "link": FORGED})
    status, answer = await bot.post(message_action_submit(url, TEAMS_PAT, "planWithIt", data))
    assert status == 200 and "Saved initiative #1" in answer["task"]["value"]
    with bot.session() as session:
        [initiative] = session.exec(select(Initiative)).all()
    assert initiative.source_link.startswith("https://teams.microsoft.com/l/message/")
