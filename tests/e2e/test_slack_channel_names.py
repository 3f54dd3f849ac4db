"""`channels = ["#parks"]` in the config matches: at start the bot reads each #name as the id
Slack's events carry (conversations.list, page by page), and says which names no channel has."""

from __future__ import annotations

import logging

import pytest

from storage.models import Initiative
from tests.e2e.test_slack import MOVE, TOKEN, USERS, ok, serve
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr

# Many channels, so that #parks is found on a later page than the first.
CROWD = {f"C0X{n:06d}": f"team-{n}" for n in range(450)}


async def test_channel_names_in_the_config_are_read_as_ids_at_start(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="liaison.slack")
    channels = {**CROWD, "C0PARKS1": "parks", "C0FINANCE1": "finance"}
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS, channels=channels) as fake,
        serve(fake, tmp_path / "liaison.db") as srv,
    ):
        pages = ok(fake, "conversations.list")
        assert len(pages) >= 2 and pages[1].payload.get("cursor")  # it followed the cursor
        assert "unit parks: channel #parks is C0PARKS1" in caplog.text
        event = sr.message_event(MOVE, channel="C0PARKS1")
        assert (await srv.event(event))[0] == 200
        (offer,) = await fake.wait_for("chat.postMessage")
        assert "Parks and Recreation" in offer.payload["text"]
        assert '"unit":"parks"' in offer.payload["blocks"][-1]["elements"][0]["value"]
        assert srv.count(Initiative) == 0


async def test_a_channel_name_no_channel_has_is_refused_with_one_line_naming_unit_and_channel(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="liaison.slack")
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS, channels={"C0FINANCE1": "finance"}) as fake,
        serve(fake, tmp_path / "liaison.db"),
    ):
        refused = [r.getMessage() for r in caplog.records if "#parks" in r.getMessage()]
        assert len(refused) == 1 and refused[0].startswith("unit parks: no Slack channel")
        assert [r.levelname for r in caplog.records if "#parks" in r.getMessage()] == ["WARNING"]
        assert "unit finance: channel #finance is C0FINANCE1" in caplog.text
