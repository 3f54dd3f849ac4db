"""Teams: a button pressed while the database is away is refused in one sentence, in the card
it was pressed on, and nothing is lost behind the acknowledgement (the same rule as Slack's,
`interactions.answer_now`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels.interactions import COULD_NOT_SAVE, seal
from bot.channels.teams.host import SDKS
from bot.config import Settings
from storage.db import make_engine
from tests.conftest import EXAMPLE_CONFIG
from tests.e2e.test_durable_acts import AWAY
from tests.e2e.test_teams import RunningBot
from tests.fakes.teams_connector import PAT, FakeConnector, card_invoke


@pytest.mark.parametrize("sdk", SDKS)
async def test_a_card_button_during_an_outage_is_refused_in_words(tmp_path: Path, sdk: str):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'liaison.db'}",
        config_path=str(EXAMPLE_CONFIG),
        teams_emulator=True,
        teams_sdk=sdk,
    )
    async with FakeConnector() as connector:
        bot = await RunningBot(settings).start()
        try:
            core = bot.app.liaison
            real, core.engine = core.engine, make_engine(AWAY)
            try:
                press = card_invoke(
                    connector.service_url,
                    PAT,
                    "commitment.done",
                    {"value": seal(json.dumps({"id": 1}), "commitment.done")},
                    reply_to_id="1:card",
                )
                status, body = await bot.post(press)
            finally:
                core.engine.dispose()
                core.engine = real
        finally:
            await bot.stop()
    assert status == 200
    assert COULD_NOT_SAVE in json.dumps(body)
