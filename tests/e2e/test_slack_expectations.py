"""What Slack users expect: the global "Plan with IT" shortcut, `/commitments plan`, `history N`
and `home`, people as real mentions and dates in each viewer's own format."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session

from bot.channels.slack.people import mentions_for
from handlers.escalations import escalation_choices
from handlers.messages import Item, Reply
from handlers.people import by_handle
from storage.models import Commitment, Initiative
from tests.conftest import ROOT
from tests.e2e.test_slack import (
    KIM,
    PAT,
    SAM,
    TOKEN,
    USERS,
    Server,
    click,
    in_days,
    serve,
    submission,
)
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr
from tests.fakes.slack_workspaces import FakeSlackWorkspaces


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as server,
    ):
        yield server


async def test_the_global_shortcut_plans_something_from_nothing(srv: Server) -> None:
    shortcut = sr.shortcut_payload("plan_with_it_global", user_id=PAT)
    assert (await srv.interact(shortcut))[0] == 200
    (opened,) = await srv.fake.wait_for("views.open")
    view = opened.payload["view"]
    assert view["callback_id"] == "intake"
    asked = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert {"kind", "unit", "title"} <= set(asked), asked  # nothing to read: the form asks
    values = {
        "kind": sr.option_value("office_move"),
        "unit": sr.option_value("finance"),
        "title": sr.text_value("Move to the Elm Street office"),
        "target_date": sr.date_value(in_days(200)),
        "owner": sr.user_value(PAT),
    }
    assert await srv.interact(submission(opened, values)) == (200, "")
    summary = await srv.fake.wait_for("chat.postMessage")
    assert any("Elm Street" in c.payload["text"] for c in summary)
    (initiative,) = srv.all(Initiative)
    assert (initiative.kind, initiative.unit_id) == ("office_move", "finance")


@pytest.mark.parametrize(
    ("typed", "starts"),
    [
        ("plan", "Let's plan it."),
        ("home", "Your open commitments"),
        ("history", "Which commitment?"),
    ],
)
async def test_top_level_words_work_behind_the_slash_command(
    srv: Server, typed: str, starts: str
) -> None:
    assert (await srv.slash(typed))[0] == 200
    (answer,) = await srv.fake.wait_for("response_url")
    assert answer.payload["text"].startswith(starts), answer.payload["text"]


def test_the_socket_mode_manifest_is_the_same_app_without_request_urls() -> None:
    http = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    socket = yaml.safe_load((ROOT / "manifest.socket-mode.yml").read_text(encoding="utf-8"))
    assert "request_url" not in json.dumps(socket) and '"url"' not in json.dumps(socket)
    assert socket["settings"]["socket_mode_enabled"] is True
    for command in http["features"]["slash_commands"]:
        del command["url"]
    del http["settings"]["event_subscriptions"]["request_url"]
    del http["settings"]["interactivity"]["request_url"]
    http["settings"]["socket_mode_enabled"] = True
    assert socket == http


async def test_people_are_real_mentions_and_dates_follow_each_viewer(srv: Server) -> None:
    """`@sam` in the core's words reaches Slack as <@U…> (clickable, and it notifies), and
    the due date as Slack's per-viewer date with the words as its fallback."""
    due = dt.date.today() + dt.timedelta(days=10)
    await srv.slash(f"ask <@{SAM}|sam> send the floor plan by {due.isoformat()}", key="ask")
    await srv.fake.wait_for("response_url")
    asked = (await srv.fake.wait_for("chat.postMessage"))[-1]  # Sam's DM
    assert asked.payload["channel"] == srv.fake.dm_channel(SAM)
    await srv.slash("mine", user=SAM, key="mine")
    listing = next(c for c in await srv.fake.wait_for("response_url", 2) if "mine" in c.path)
    text = json.dumps(listing.payload["blocks"])
    assert f"<@{SAM}>" in text and "@sam" not in text.replace(f"<@{SAM}>", "")
    noon = dt.datetime(due.year, due.month, due.day, 12, tzinfo=dt.UTC)
    assert f"<!date^{int(noon.timestamp())}^{{date_short}}|" in text


def test_a_person_unknown_to_slack_and_a_date_that_is_not_one_stay_words() -> None:
    assert mentions_for("@kim and @sam", {"sam": "U0SAM"}) == "@kim and <@U0SAM>"
    assert mentions_for("mail pat@riverton.example", {"riverton.example": "U1"}) == (
        "mail pat@riverton.example"
    )
    assert mentions_for("due Mon 31 Feb 2026", {}) == "due Mon 31 Feb 2026"
    assert mentions_for("due Fri 27 Nov 2026 (in 4 days)", {}) == (
        "due <!date^1795780800^{date_short}|Fri 27 Nov 2026> (in 4 days)"
    )


async def test_the_escalation_digests_take_it_over_button_works_in_slack(srv: Server) -> None:
    due = dt.date.today() + dt.timedelta(days=3)
    await srv.slash(f"ask <@{KIM}|kim> send the floor plan by {due.isoformat()}", key="ask")
    await srv.fake.wait_for("chat.postMessage")  # Kim's DM
    (item,) = srv.all(Commitment)
    with Session(srv.app.engine) as session:
        sam = by_handle(session, "sam")
        address = srv.app.liaison.address_of(sam.id, "slack")
    line = Item(f"#{item.id} send the floor plan", choices=escalation_choices(item.id))
    digest = Reply("Heads-up from your units:", items=(line,), kind="escalation")
    await srv.app.outboxes["slack"].send(address, digest)
    posted = [c for c in srv.fake.calls_to("chat.postMessage") if c.ok]
    sent = next(c for c in posted if c.payload["channel"] == srv.fake.dm_channel(SAM))
    labels = [
        e["text"]["text"]
        for b in sent.payload["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert labels == ["Nudge again", "Take it over", "Reassign", "Mark as known"]
    assert (await srv.interact(click(sent, "escalation.take", SAM)))[0] == 200
    told = await srv.fake.wait_for("chat.postMessage", len(posted) + 2)
    assert any(f"<@{SAM}> took over" in c.payload["text"] for c in told)
    (item,) = srv.all(Commitment)
    assert item.owner_id == sam.id


async def test_a_plan_from_a_channel_the_bot_is_not_in_is_summarised_in_a_dm(
    tmp_path: Path,
) -> None:
    """Slack answers not_in_channel to a post in a channel the bot was never invited to (a
    message shortcut works anywhere): the summary goes to the planner as a DM instead."""
    async with FakeSlackWorkspaces(bot_token=TOKEN, users=USERS) as fake:
        fake.not_a_member_of.add("C0RANDOM1")
        async with serve(fake, tmp_path / "liaison.db") as srv:
            message = {"text": "We're switching to a new payroll vendor in March", "user": PAT}
            shortcut = sr.shortcut_payload(
                "plan_with_it", message=message, user_id=PAT, channel_id="C0RANDOM1"
            )
            await srv.interact(shortcut)
            (opened,) = await fake.wait_for("views.open")
            values = {
                "unit": sr.option_value("finance"),
                "title": sr.text_value("New payroll vendor"),
                "target_date": sr.date_value(in_days(120)),
                "owner": sr.user_value(PAT),
            }
            assert await srv.interact(submission(opened, values)) == (200, "")
            summary = await fake.wait_for("chat.postMessage")
            assert any(
                c.response["channel"] == fake.dm_channel(PAT) and "payroll" in c.payload["text"]
                for c in summary
            ), fake.summary()
            errors = [c.response.get("error") for c in fake.calls_to("chat.postMessage")]
            assert "not_in_channel" in errors


async def test_the_reassign_button_opens_a_person_picker_and_hands_the_item_over(
    srv: Server,
) -> None:
    due = dt.date.today() + dt.timedelta(days=3)
    await srv.slash(f"ask <@{KIM}|kim> label the boxes by {due.isoformat()}", key="ask")
    await srv.fake.wait_for("chat.postMessage")
    (item,) = srv.all(Commitment)
    with Session(srv.app.engine) as session:
        address = srv.app.liaison.address_of(by_handle(session, "sam").id, "slack")
    line = Item(f"#{item.id} label the boxes", choices=escalation_choices(item.id))
    await srv.app.outboxes["slack"].send(address, Reply("Heads-up:", items=(line,)))
    sent = [c for c in srv.fake.calls_to("chat.postMessage") if c.ok][-1]
    await srv.interact(click(sent, "escalation.reassign", SAM))
    (opened,) = await srv.fake.wait_for("views.open")
    assert opened.payload["view"]["callback_id"] == "reassign"
    assert await srv.interact(submission(opened, {"owner": sr.user_value(PAT)}, SAM)) == (200, "")
    for _ in range(100):
        (item,) = srv.all(Commitment)
        if item.owner_id != item.requester_id:
            await asyncio.sleep(0.05)
            continue
        break
    with Session(srv.app.engine) as session:
        assert item.owner_id == by_handle(session, "pat").id
