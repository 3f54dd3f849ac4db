"""Arrivals on Slack: the bot added to a channel says once what it listens for and keeps, and
points to the README's privacy section; a person's first DM is answered with a welcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.test_slack import TOKEN, USERS, Server, serve
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as server,
    ):
        yield server


def joined(user: str, channel: str = "C0PARKS1") -> dict:
    return {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": sr.TEAM_ID,
        "event_ts": sr.new_ts(),
    }


async def test_the_bot_added_to_a_channel_says_once_what_it_reads_and_keeps(srv: Server) -> None:
    await srv.event(joined(sr.BOT_USER_ID))
    (notice,) = await srv.fake.wait_for("chat.postMessage")
    text = notice.payload["text"]
    assert notice.payload["channel"] == "C0PARKS1"
    assert "Ordinary chat is not stored" in text and "*Privacy* section of my README" in text
    await srv.event(joined(sr.BOT_USER_ID))  # removed and added again: said once already
    await srv.event(joined("U0PAT"))  # a person joining is none of its business
    await srv.event(joined(sr.BOT_USER_ID, "C0RANDOM1"))  # another channel: said there too
    calls = await srv.fake.wait_for("chat.postMessage", 2)
    await asyncio.sleep(0.3)
    assert [c.payload["channel"] for c in srv.fake.calls_to("chat.postMessage")] == [
        "C0PARKS1",
        "C0RANDOM1",
    ], calls


async def test_a_first_dm_is_answered_with_a_short_welcome_and_the_next_without(
    srv: Server,
) -> None:
    await srv.event(sr.message_event("help", channel="D0PAT", channel_type="im"))
    (first,) = await srv.fake.wait_for("chat.postMessage")
    assert first.payload["text"].startswith("Hi, I'm the IT Liaison Bot.")
    assert "commitments" in first.payload["text"]
    await srv.event(sr.message_event("help", channel="D0PAT", channel_type="im"))
    _, second = await srv.fake.wait_for("chat.postMessage", 2)
    assert not second.payload["text"].startswith("Hi, I'm the IT Liaison Bot.")
    await srv.event(sr.message_event("help", user="U0KIM", channel="D0KIM", channel_type="im"))
    *_, third = await srv.fake.wait_for("chat.postMessage", 3)
    assert third.payload["channel"] == "D0KIM"
    assert third.payload["text"].startswith("Hi, I'm the IT Liaison Bot.")
