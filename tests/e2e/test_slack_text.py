"""Slack's escaping, end to end: the fake Slack sends text the way Slack does (`&amp;`, `&lt;`,
`&gt;`, and markup for people, channels and links), the bot keeps what the person wrote, and
every reply escapes it once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.models import Commitment, Initiative
from tests.e2e.test_slack import (
    KIM,
    PAT,
    SAM,
    TOKEN,
    USERS,
    Server,
    click,
    in_days,
    ok,
    posted,
    serve,
    submission,
    text_of,
)
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr

SAID = "We're buying a new CRM for R&D <#C0PARKS|parks>, see <https://crm.example|the quote>"
READ = "We're buying a new CRM for R&D #parks, see the quote (https://crm.example)"


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as server,
    ):
        yield server


async def test_slack_text_is_unescaped_once_on_the_way_in_and_escaped_once_on_the_way_out(
    srv: Server,
) -> None:
    event = sr.message_event(SAID)
    assert "R&amp;D" in event["text"]  # the fake sends what Slack sends
    assert (await srv.event(event))[0] == 200
    (offer,) = await srv.fake.wait_for("chat.postMessage")
    await srv.interact(click(offer, "offer.plan", PAT, trigger_id=sr.new_trigger_id()))
    (opened,) = await srv.fake.wait_for("views.open")
    title = next(b for b in opened.payload["view"]["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == READ  # plain_text: shown as it is
    values = {
        "title": sr.text_value(title["element"]["initial_value"]),
        "target_date": sr.date_value(in_days(90)),
        "owner": sr.user_value(PAT),
    }
    assert await srv.interact(submission(opened, values)) == (200, "")
    summary = (await posted(srv.fake, "C0FINANCE1", 2))[1]
    (initiative,) = srv.all(Initiative)
    assert initiative.title == READ  # stored as the person wrote it
    shown = text_of(summary.payload)
    assert "R&amp;D" in shown and "&amp;amp;" not in shown and "R&D" not in shown


async def test_a_command_reads_people_and_text_as_slack_sends_them(srv: Server) -> None:
    status, _ = await srv.slash(f"ask <@{SAM}> send the R&D <budget> by Friday")
    assert status == 200
    dm = (await posted(srv.fake, srv.fake.dm_channel(SAM)))[-1]
    (commitment,) = srv.all(Commitment)
    assert commitment.what.lower() == "send the r&d <budget>"
    shown = text_of(dm.payload)
    assert "R&amp;D &lt;budget&gt;" in shown and "&amp;amp;" not in shown
    assert ok(srv.fake, "users.info", user=SAM)  # the mention named Sam


async def test_a_second_person_in_a_commitment_is_stored_by_name_not_markup(srv: Server) -> None:
    """ "ask @sam to brief @kim": Sam is asked; Kim is named in what Sam owes, as "@kim"."""
    status, _ = await srv.slash(f"ask <@{SAM}> to brief <@{KIM}> on the move by Friday")
    assert status == 200
    dm = (await posted(srv.fake, srv.fake.dm_channel(SAM)))[-1]
    (commitment,) = srv.all(Commitment)
    assert commitment.what == "brief @kim on the move"
    # Shown to Sam as real mentions (the Slack renderer's job), never as the typed markup.
    shown = text_of(dm.payload)
    assert f"brief <@{KIM}> on the move" in shown and f"<@{KIM}|" not in shown
