"""Commands, buttons and forms while the database is away: acknowledged, and then either done
or refused with one sentence asking to try again, never acknowledged and lost (issue 13's row
"a slash command or button during a database blip"). The database is made away for real: the
core's engine points at a PostgreSQL port nobody listens on, so every query fails to connect,
as it does while PostgreSQL restarts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.interactions import COULD_NOT_SAVE, seal
from storage.db import make_engine
from tests.e2e.test_slack import PAT, SAM, TOKEN, USERS, Server, serve, text_of
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr

AWAY = "postgresql+psycopg://nobody@127.0.0.1:1/away"


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as server,
    ):
        yield server


class DatabaseAway:
    """The core's database unreachable while the block runs."""

    def __init__(self, server: Server) -> None:
        self.core = server.app.liaison

    def __enter__(self) -> None:
        self.real = self.core.engine
        self.core.engine = make_engine(AWAY)

    def __exit__(self, *exc) -> None:
        self.core.engine.dispose()
        self.core.engine = self.real


async def test_a_command_during_an_outage_is_refused_in_words_then_works_again(srv: Server):
    with DatabaseAway(srv):
        assert (await srv.slash("mine", key="away"))[0] == 200
        (said,) = await srv.fake.wait_for("response_url", count=1)
    assert COULD_NOT_SAVE in text_of(said.payload)
    assert said.payload["response_type"] == "ephemeral"
    assert (await srv.slash("mine", key="back"))[0] == 200
    calls = await srv.fake.wait_for("response_url", count=2)
    assert COULD_NOT_SAVE not in text_of(calls[1].payload)  # answered once it is back


async def test_a_button_during_an_outage_is_refused_in_words_to_the_presser(srv: Server):
    message = {"ts": sr.new_ts(), "text": "Order the scanners", "blocks": []}
    press = sr.block_action_payload(
        "commitment.done",
        seal(json.dumps({"id": 1}), "commitment.done"),  # as the bot drew it
        user_id=PAT,
        message=message,
        response_url=srv.fake.response_url("button"),
    )
    with DatabaseAway(srv):
        assert (await srv.interact(press))[0] == 200
        (said,) = await srv.fake.wait_for("response_url", count=1)
    assert COULD_NOT_SAVE in text_of(said.payload)
    assert said.payload["response_type"] == "ephemeral"


async def test_a_form_during_an_outage_stays_open_with_the_sentence(srv: Server):
    values = {
        "what": {"what": sr.text_value("Send the seating plan")},
        "owner": {"owner": sr.user_value(SAM)},
        "due": {"due": sr.date_value(None)},
    }
    blocks = [{"type": "input", "block_id": key} for key in values]
    state = seal("", "commitment")  # the form as the bot opened it
    form = sr.view_submission_payload(
        "commitment", values, user_id=PAT, blocks=blocks, private_metadata=state
    )
    with DatabaseAway(srv):
        status, body = await srv.interact(form)
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert COULD_NOT_SAVE in " ".join(answer["errors"].values())
    status, body = await srv.interact(form)  # once it is back, the same form is saved
    assert (status, body) == (200, "")


async def test_an_offer_posted_is_confirmed_so_no_recovery_sends_it_again(srv: Server):
    import datetime as dt

    from sqlmodel import Session, select

    from storage.models import Ledger, LedgerStatus

    event = sr.message_event("We're moving to a new building in ten months")
    assert (await srv.event(event))[0] == 200
    await srv.fake.wait_for("chat.postMessage")
    deadline = asyncio.get_running_loop().time() + 5
    while True:  # the confirmation follows the post
        with Session(srv.app.engine) as session:
            row = session.exec(select(Ledger).where(Ledger.kind == "offer")).one()
        if row.status == LedgerStatus.SENT or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert row.status == LedgerStatus.SENT
    lines = await srv.app.sweeper.run(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert [line for line in lines if line.kind == "deferred"] == []
    assert len(srv.fake.calls_to("chat.postMessage")) == 1
