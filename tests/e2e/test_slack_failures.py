"""Slack failing as Slack does, and the bot's answer to each: never silence.

- views.open with a trigger_id past its 3 seconds (or not one Slack issued): the person is told
  the form did not open and to press again;
- a response_url that answers 404 (expired, or used up): the answer goes by DM, and is logged;
- a listener that fails after its ack: logged with what it handled, and the person told by DM.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.slack.listeners.errors import FAILED
from bot.channels.slack.modals import FORM_NOT_OPENED
from storage.models import Initiative
from tests.e2e.test_slack import (
    PAT,
    TOKEN,
    USERS,
    Server,
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


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as server,
    ):
        server.fake.trigger_ttl = 3.0  # as Slack: a trigger_id opens a view within 3 seconds
        yield server


async def test_an_expired_trigger_tells_the_person_the_form_did_not_open(srv: Server) -> None:
    _, offer = await offer_for(srv)
    stale = sr.new_trigger_id(issued=time.time() - 10)
    for trigger in (stale, "not-a-trigger"):
        assert (await srv.interact(click(offer, "offer.plan", PAT, trigger_id=trigger)))[0] == 200
    told = await srv.fake.wait_for("chat.postEphemeral", count=2)
    assert [(t.payload["user"], t.payload["text"]) for t in told] == [(PAT, FORM_NOT_OPENED)] * 2
    errors = [c.response["error"] for c in srv.fake.calls_to("views.open")]
    assert errors == ["expired_trigger_id", "invalid_trigger_id"]

    # A fresh trigger opens the form, as before.
    await srv.interact(click(offer, "offer.plan", PAT, trigger_id=sr.new_trigger_id()))
    (opened,) = await srv.fake.wait_for("views.open")
    assert opened.payload["view"]["callback_id"] == "intake"


async def test_a_shortcut_whose_trigger_expired_is_answered_by_dm(srv: Server) -> None:
    message = {"text": "We're hiring 12 nurses in March", "user": PAT}
    shortcut = sr.shortcut_payload(
        "plan_with_it",
        message=message,
        trigger_id=sr.new_trigger_id(issued=time.time() - 10),
    )
    assert (await srv.interact(shortcut))[0] == 200
    (dm,) = await posted(srv.fake, srv.fake.dm_channel(PAT))
    assert dm.payload["text"] == FORM_NOT_OPENED
    assert ok(srv.fake, "views.open") == []


async def test_an_expired_response_url_falls_back_to_a_dm(srv: Server, caplog) -> None:
    caplog.set_level(logging.INFO, logger="liaison.slack")
    srv.fake.expire_response_url("gone")
    srv.fake.expire_response_url("used", error="used_url")

    # A slash command answers through its response_url.
    assert (await srv.slash("help", key="gone"))[0] == 200
    (answer,) = await posted(srv.fake, srv.fake.dm_channel(PAT))
    assert "commitments" in answer.payload["text"].lower()

    # A private answer to a button goes there too.
    _, offer = await offer_for(srv)
    later = click(offer, "offer.later", PAT, response_url=srv.fake.response_url("used"))
    assert (await srv.interact(later))[0] == 200
    answers = await posted(srv.fake, srv.fake.dm_channel(PAT), 2)
    assert "Type 'plan' whenever you're ready" in answers[-1].payload["text"]

    refused = [c for c in srv.fake.calls_to("response_url") if c.status == 404]
    assert [c.response for c in refused] == ["expired_url", "used_url"]
    assert "response_url answered 404" in caplog.text and "by DM" in caplog.text


async def test_a_handler_that_fails_after_its_ack_is_logged_and_the_person_told(
    srv: Server, caplog, monkeypatch
) -> None:
    async def broken(inbound):
        raise RuntimeError("the core fell over")

    monkeypatch.setattr(srv.app.slack, "answer", broken)
    status, _ = await srv.slash("mine", key="cmd")
    assert status == 200  # acknowledged before the handler ran; never Slack's error
    (told,) = await posted(srv.fake, srv.fake.dm_channel(PAT))
    assert told.payload["text"] == FAILED
    assert "slack: command /commitments failed for U0PAT" in caplog.text
    assert "the core fell over" in caplog.text


async def test_a_slow_users_info_does_not_spend_the_shortcuts_trigger(srv: Server) -> None:
    """users.info takes longer than the trigger lives: the modal opens first (checking who
    pressed, showing no unit), then becomes the intake form, which saves as usual."""
    srv.fake.trigger_ttl = 1.0
    srv.fake.latency["users.info"] = 1.5
    message = {"text": "We're moving to a new building in ten months", "user": PAT}
    shortcut = sr.shortcut_payload("plan_with_it", message=message, user_id=PAT)
    assert (await srv.interact(shortcut))[0] == 200
    (opened,) = await srv.fake.wait_for("views.open")
    first = opened.payload["view"]
    assert [b["type"] for b in first["blocks"]] == ["section"]  # no input, no unit yet
    assert "Finance" not in str(first) and "submit" not in first
    (update,) = await srv.fake.wait_for("views.update", timeout=5.0)
    assert update.payload["view_id"] == opened.response["view"]["id"]
    assert update.payload["view"]["callback_id"] == "intake"
    (info,) = ok(srv.fake, "users.info")
    assert opened.at - info.at < 1.0  # views.open did not wait for users.info's answer
    values = {
        "kind": sr.option_value("office_move"),
        "unit": sr.option_value("finance"),
        "title": sr.text_value("Move to the Elm Street office"),
        "target_date": sr.date_value(in_days(200)),
        "owner": sr.user_value(PAT),
    }
    assert await srv.interact(submission(update, values)) == (200, "")
    (initiative,) = srv.all(Initiative)
    assert (initiative.kind, initiative.unit_id) == ("office_move", "finance")
