"""The Slack channel end to end: the real server (bootstrap + build_web_app) on 127.0.0.1, a fake
Slack Web API and Socket Mode server, and really signed requests. No mocks."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from bot.bootstrap import App, bootstrap
from bot.channels import slack as slack_channel
from bot.channels.interactions import seal
from bot.channels.slack.retry_handlers import Backoff
from bot.config import load_settings
from bot.server import build_web_app
from storage.models import Commitment, CommitmentEvent, Cycle, Initiative, Ledger
from tests.conftest import EXAMPLE_CONFIG, ROOT
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import PERMALINK_HOST, STARTUP_METHODS, Call
from tests.sealed import sealed_document
from tests.serving import cli, free_port, wait_until_healthy
from tests.sqlite import migrated_sqlite

TOKEN = "xoxb-test"
APP_TOKEN = "xapp-1-fake-test-token"
SECRET = "test-signing-secret"
MOVE = "We're moving to a new building in ten months"
PAT, SAM, KIM = "U0PAT", "U0SAMRIVRA", "U0KIM"


def _user(name: str, email: str, tz: str = "America/Chicago") -> dict:
    return {"name": name, "tz": tz, "profile": {"email": email, "display_name": name}}


USERS = {
    PAT: _user("pat", "pat.lee@riverton.example"),
    SAM: _user("sam", "sam.rivera@riverton.example"),
    KIM: _user("kim", "kim.nguyen@riverton.example", "America/Denver"),
    "U0NEWBIE": _user("newbie", "newbie@riverton.example"),
}


# ---------------------------------------------------------------------- the server under test


@dataclass
class Server:
    app: App
    base: str
    fake: FakeSlack
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return f"{self.base}/slack/events"

    async def post(self, body: str, *, secret: str = SECRET, **headers: Any) -> tuple[int, str]:
        async with self.http.post(
            self.url, data=body.encode(), headers=sr.headers(secret, body, **headers)
        ) as response:
            return response.status, await response.text()

    async def event(self, event: dict, **headers: Any) -> tuple[int, str]:
        return await self.post(sr.event_body(event), **headers)

    async def slash(self, text: str, user: str = PAT, key: str = "cmd") -> tuple[int, str]:
        body = sr.slash_body(
            "/commitments", text, user_id=user, response_url=self.fake.response_url(key)
        )
        return await self.post(body)

    async def interact(self, payload: dict) -> tuple[int, str]:
        return await self.post(sr.interaction_body(payload))

    def count(self, model: type[SQLModel], *where: Any) -> int:
        with Session(self.app.engine) as session:
            return session.exec(select(func.count()).select_from(model).where(*where)).one()

    def all(self, model: type[SQLModel]) -> list:
        with Session(self.app.engine) as session:
            return list(session.exec(select(model)).all())

    def rows(self) -> dict[str, int]:
        """How many rows each table holds (to prove that nothing was stored)."""
        with Session(self.app.engine) as session:
            return {
                t.name: session.exec(select(func.count()).select_from(t)).one()
                for t in SQLModel.metadata.sorted_tables
            }


def settings_for(fake: FakeSlack, db: Path, *, http: bool = True, socket: bool = False):
    environ = {
        "DATABASE_URL": f"sqlite:///{db}",
        "LIAISON_CONFIG": str(EXAMPLE_CONFIG),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": fake.base_url,
        "LOG_LEVEL": "WARNING",
    }
    if http:
        environ["SLACK_SIGNING_SECRET"] = SECRET
    if socket:
        environ["SLACK_APP_TOKEN"] = APP_TOKEN
    return load_settings(environ, dotenv_path=None)


@contextlib.asynccontextmanager
async def serve(
    fake: FakeSlack, db: Path, *, http: bool = True, socket: bool = False
) -> AsyncIterator[Server]:
    """The server as production starts it (without the scheduler), on 127.0.0.1, port 0."""
    app = bootstrap(settings_for(fake, db, http=http, socket=socket))
    runner = web.AppRunner(build_web_app(app, scheduler=False), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as http_session:
            yield Server(app, base, fake, http_session)
    finally:
        await runner.cleanup()
        app.engine.dispose()
    # Every Web API method the adapter called is one the manifest's scopes allow.
    called = {c.method for c in fake.calls} - {"response_url"}
    assert called <= set(slack_channel.METHODS), called - set(slack_channel.METHODS)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token=TOKEN, users=USERS) as server:
        yield server


@pytest.fixture
async def srv(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Server]:
    db = tmp_path / "liaison.db"
    migrated_sqlite(db)  # start-up finds it current (tests/sqlite.py); it still syncs the org
    async with serve(fake, db) as server:
        yield server


# ---------------------------------------------------------------------- helpers


def ok(fake: FakeSlack, method: str, **match: Any) -> list[Call]:
    """Successful calls to `method` whose payload has these values."""
    return [
        c
        for c in fake.calls_to(method)
        if c.ok and all(c.payload.get(k) == v for k, v in match.items())
    ]


async def posted(fake: FakeSlack, channel: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
    """Wait for `count` messages posted to `channel`; return them all."""
    deadline = time.monotonic() + timeout

    def found_now() -> list[Call]:
        return [c for c in ok(fake, "chat.postMessage") if c.response["channel"] == channel]

    while len(found := found_now()) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} message(s) in {channel}\n{fake.summary()}")
        await asyncio.sleep(0.01)
    return found


async def settle(seconds: float = 0.3) -> None:
    """Give listeners that run after the acknowledgement time to act (or not)."""
    await asyncio.sleep(seconds)


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def button(blocks: list[dict], action: str, block_id: str | None = None) -> dict:
    for block in blocks:
        if block["type"] != "actions" or (block_id and block.get("block_id") != block_id):
            continue
        for element in block["elements"]:
            if element["action_id"].split("#")[0] == action:
                return {**element, "block_id": block.get("block_id")}
    raise AssertionError(f"no {action} button in {json.dumps(blocks)[:500]}")


def text_of(payload: dict) -> str:
    """Everything a person would read in a message or view."""
    return json.dumps([payload.get("text"), payload.get("blocks"), payload.get("view")])


def click(
    call: Call, action: str, user: str, *, block_id: str | None = None, key: str = "btn", **kw: Any
) -> dict:
    """The block_actions payload for pressing `action` in the message `call` posted."""
    blocks = call.payload["blocks"]
    pressed = button(blocks, action, block_id)
    message = {"ts": call.response["ts"], "text": call.payload["text"], "blocks": blocks}
    if call.payload.get("thread_ts"):
        message["thread_ts"] = call.payload["thread_ts"]
    return sr.block_action_payload(
        pressed["action_id"],
        pressed["value"],
        user_id=user,
        channel_id=call.response["channel"],
        message=message,
        block_id=pressed["block_id"],
        response_url=kw.pop("response_url", None),
        **kw,
    )


def submission(opened: Call, values: dict, user: str = PAT) -> dict:
    view = opened.payload["view"]
    return sr.view_submission_payload(
        view["callback_id"],
        {key: {"value": value} for key, value in values.items()},
        private_metadata=view.get("private_metadata", ""),
        user_id=user,
        view_id=opened.response["view"]["id"],
        blocks=view["blocks"],
    )


def in_days(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


async def offer_for(srv: Server, text: str = MOVE, **kw: Any) -> tuple[dict, Call]:
    """Post a signal in #finance; return the event and the offer the bot posted."""
    event = sr.message_event(text, **kw)
    before = len(ok(srv.fake, "chat.postMessage"))
    assert (await srv.event(event))[0] == 200
    calls = await srv.fake.wait_for("chat.postMessage", count=before + 1)
    return event, calls[before]


async def plan_move(srv: Server) -> tuple[dict, Call, Call]:
    """The whole modal intake of an office move for #finance, by Pat. Returns the event, the
    summary posted in its thread and the DM Sam (the unit's liaison) got."""
    event, offer = await offer_for(srv)
    trigger = sr.new_trigger_id()
    opens = len(ok(srv.fake, "views.open"))
    await srv.interact(click(offer, "offer.plan", PAT, trigger_id=trigger))
    opened = (await srv.fake.wait_for("views.open", count=opens + 1))[opens]
    assert opened.payload["trigger_id"] == trigger
    in_thread = len(ok(srv.fake, "chat.postMessage", channel="C0FINANCE1"))
    values = {
        "title": sr.text_value("Move to the Elm Street building"),
        "target_date": sr.date_value(in_days(300)),
        "owner": sr.user_value(PAT),
        "q:headcount": sr.text_value("about 40 people"),
    }
    status, body = await srv.interact(submission(opened, values))
    assert (status, body) == (200, "")
    summary = (await posted(srv.fake, "C0FINANCE1", in_thread + 1))[-1]
    (dm,) = await posted(srv.fake, srv.fake.dm_channel(SAM))
    return event, summary, dm


# ---------------------------------------------------------------------- serving


async def test_health_and_url_verification(srv: Server) -> None:
    async with srv.http.get(f"{srv.base}/healthz") as response:
        assert response.status == 200
        assert (await response.json())["channels"] == ["slack"]
    status, body = await srv.post(sr.url_verification_body("c-42"))
    assert (status, json.loads(body)) == (200, {"challenge": "c-42"})


async def test_bad_signature_or_stale_timestamp_is_401_and_changes_nothing(srv: Server) -> None:
    before = srv.rows()
    signal = sr.event_body(sr.message_event(MOVE))
    assert (await srv.post(signal, secret="not-the-secret"))[0] == 401
    stale = int(time.time()) - 5 * 60 - 30
    assert (await srv.post(signal, timestamp=stale))[0] == 401
    future = int(time.time()) + 5 * 60 + 30
    assert (await srv.post(signal, timestamp=future))[0] == 401
    command = sr.slash_body("/commitments", "ask @sam send the plans by Friday")
    assert (await srv.post(command, secret="not-the-secret"))[0] == 401
    async with srv.http.post(srv.url, data=signal.encode()) as unsigned:
        assert unsigned.status == 401
    await settle()
    assert [c.method for c in srv.fake.calls if c.method not in STARTUP_METHODS] == []
    assert srv.rows() == before


async def test_the_signature_is_checked_before_the_body_is_parsed(srv: Server) -> None:
    """A forged request costs one HMAC: a deeply nested body with a wrong signature is a 401,
    and even a correctly signed one is a plain 400, never a 500 and a traceback."""
    deep = '{"type": "event_callback", "event": ' + "[" * 200_000 + "]" * 200_000 + "}"
    assert (await srv.post(deep, secret="not-the-secret"))[0] == 401
    status, body = await srv.post(deep)
    assert status == 400 and "malformed" in body
    form = "payload=" + "%5B" * 100_000
    assert (await srv.post(form, secret="not-the-secret"))[0] == 401


async def test_a_replayed_command_or_button_acts_once(srv: Server) -> None:
    """A signed request replayed inside Slack's five-minute window is still one act: the
    command's trigger_id (and a button's action_ts) is claimed before anything changes."""
    body = sr.slash_body(
        "/commitments",
        "ask @sam to send the floor plans by Friday",
        trigger_id="1234.5678.replayed",
        response_url=srv.fake.response_url("replayed"),
    )
    for _ in range(3):
        assert (await srv.post(body))[0] == 200
    (dm,) = await posted(srv.fake, srv.fake.dm_channel(SAM))
    await settle()
    assert srv.count(Commitment) == 1
    assert len(ok(srv.fake, "chat.postMessage", channel=srv.fake.dm_channel(SAM))) == 1
    [asked] = [b for b in dm.payload["blocks"] if b.get("type") == "actions"][:1]
    promise = next(e for e in asked["elements"] if e["action_id"].startswith("commitment.promise"))
    press = sr.block_action_payload(
        promise["action_id"],
        promise["value"],
        user_id=SAM,
        channel_id=dm.payload["channel"],
        message={"ts": dm.response["ts"], "blocks": dm.payload["blocks"]},
    )
    for _ in range(2):
        assert (await srv.interact(press))[0] == 200
    await settle()
    with Session(srv.app.engine) as session:
        acts = [e.act for e in session.exec(select(CommitmentEvent)).all()]
    assert acts == ["request", "promise"]


# ---------------------------------------------------------------------- signals


async def test_a_signal_gets_an_offer_in_its_thread(srv: Server) -> None:
    event, offer = await offer_for(srv)
    assert offer.payload["channel"] == "C0FINANCE1"
    assert offer.payload["thread_ts"] == event["ts"]
    text = offer.payload["text"]
    assert "Finance" in text and "network" in text and "phones" in text
    labels = [b["text"]["text"] for b in buttons(offer.payload["blocks"])]
    assert labels == ["Plan it with IT", "Not now", "IT isn't needed"]
    value = sealed_document(button(offer.payload["blocks"], "offer.plan")["value"])
    assert value["unit"] == "finance" and value["kind"] == "office_move"
    # The link is Slack's permalink, made from the workspace's address (auth.test's url) as
    # chat.getPermalink makes it, with no Web API call per signal.
    assert value["link"] == f"{PERMALINK_HOST}/archives/C0FINANCE1/p{event['ts'].replace('.', '')}"
    assert ok(srv.fake, "chat.getPermalink") == []
    # An offer stores nothing: the signal travels in the button.
    assert srv.count(Initiative) == 0

    respond = srv.fake.response_url("later")
    await srv.interact(click(offer, "offer.later", PAT, response_url=respond))
    (later,) = await srv.fake.wait_for("response_url")
    assert later.payload["response_type"] == "ephemeral" and "No problem" in later.payload["text"]
    await srv.interact(click(offer, "offer.dismiss", PAT, response_url=respond))
    (dismissed,) = await srv.fake.wait_for("chat.update")
    assert dismissed.payload["ts"] == offer.response["ts"]
    assert buttons(dismissed.payload["blocks"]) == []
    assert "isn't needed" in dismissed.payload["text"]


async def test_everyday_chat_edits_joins_and_bots_are_ignored_and_nothing_is_stored(
    srv: Server,
) -> None:
    before = srv.rows()
    ignored = [
        sr.message_event("Kickoff is on Friday, see you all there"),
        sr.message_event("I'm buying lunch, anyone want a sandwich?"),
        sr.message_event(
            "",
            subtype="message_changed",
            hidden=True,
            message={"type": "message", "user": PAT, "text": MOVE, "ts": "1.000001"},
        ),
        sr.message_event(MOVE, subtype="channel_join"),
        sr.message_event(MOVE, subtype="bot_message", bot_id="B0OTHER"),
        sr.message_event(MOVE, bot_id="B0OTHER"),
        sr.message_event(MOVE, user=sr.BOT_USER_ID),  # its own message
        sr.message_event(MOVE, subtype="message_deleted"),
    ]
    for event in ignored:
        assert (await srv.event(event))[0] == 200
    await settle()
    assert [c.method for c in srv.fake.calls if c.method not in STARTUP_METHODS] == []
    assert srv.rows() == before


async def test_a_dm_and_a_mention_are_answered_and_the_mention_only_once(srv: Server) -> None:
    dm = sr.message_event("hi there", channel="D0PAT", channel_type="im")
    await srv.event(dm)
    (answer,) = await srv.fake.wait_for("chat.postMessage")
    assert answer.payload["channel"] == "D0PAT" and "thread_ts" not in answer.payload
    assert "help" in answer.payload["text"]

    mention = f"<@{sr.BOT_USER_ID}> we're buying a new CRM next quarter"
    as_mention = sr.app_mention_event(mention, channel="C0FINANCE1")
    as_message = sr.message_event(mention, ts=as_mention["ts"])
    await srv.event(as_message)
    await srv.event(as_mention)
    calls = await srv.fake.wait_for("chat.postMessage", count=2)
    await settle()
    assert len(ok(srv.fake, "chat.postMessage")) == 2
    offer = calls[1].payload
    assert offer["thread_ts"] == as_mention["ts"] and "software purchase" in offer["text"]


async def test_a_signal_in_an_unmapped_channel_is_offered_and_the_modal_asks_the_unit(
    srv: Server,
) -> None:
    _, offer = await offer_for(srv, channel="C0RANDOM1")
    assert "Sounds like you have an office move" in offer.payload["text"]
    await srv.interact(click(offer, "offer.plan", PAT))
    (opened,) = await srv.fake.wait_for("views.open")
    unit = next(b for b in opened.payload["view"]["blocks"] if b["block_id"] == "unit")
    options = [o["text"]["text"] for o in unit["element"]["options"]]
    assert options == ["Finance", "Parks and Recreation"]


async def test_a_retried_event_does_nothing_twice_even_on_another_replica(
    fake: FakeSlack, tmp_path: Path
) -> None:
    db = tmp_path / "shared.db"
    async with serve(fake, db) as first, serve(fake, db) as second:
        event = sr.message_event(MOVE)
        body = sr.event_body(event, event_id="Ev0RETRY1")
        assert (await first.post(body))[0] == 200
        await fake.wait_for("chat.postMessage")
        assert (await first.post(body, retry_num=1))[0] == 200  # the same replica
        assert (await second.post(body, retry_num=2))[0] == 200  # another replica
        await settle()
        assert len(ok(fake, "chat.postMessage")) == 1
        key = f"offer:slack:C0FINANCE1:{event['ts']}"
        assert first.count(Ledger, Ledger.key == key) == 1


# ---------------------------------------------------------------------- the modal intake


async def test_the_whole_intake_in_a_modal_through_to_the_database_and_the_dms(
    srv: Server,
) -> None:
    event, offer = await offer_for(srv)
    trigger = sr.new_trigger_id()
    sent = time.monotonic()
    await srv.interact(click(offer, "offer.plan", PAT, trigger_id=trigger))
    (opened,) = await srv.fake.wait_for("views.open")
    assert opened.at - sent < 1.0  # well inside the trigger_id's 3 seconds
    view = opened.payload["view"]
    assert view["callback_id"] == "intake" and opened.payload["trigger_id"] == trigger
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds["target_date"] == "datepicker" and kinds["owner"] == "users_select"
    assert kinds["roles"] == "multi_static_select" and "unit" not in kinds
    title = next(b for b in view["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == MOVE

    # Field errors stay in the modal, and nothing is saved.
    wrong = {
        "title": sr.text_value(None),
        "target_date": sr.date_value("2020-01-01"),
        "owner": sr.user_value(PAT),
    }
    status, body = await srv.interact(submission(opened, wrong))
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"title", "target_date"}
    assert "past" in answer["errors"]["target_date"]
    assert srv.count(Initiative) == 0

    roles_block = next(b for b in view["blocks"] if b["block_id"] == "roles")
    roles = [o["value"] for o in roles_block["element"]["options"]]
    values = {
        "title": sr.text_value("Move to the Elm Street building"),
        "target_date": sr.date_value(in_days(300)),
        "owner": sr.user_value(PAT),
        "q:headcount": sr.text_value("about 40 people"),
        "roles": sr.options_value([r for r in roles if r != "decommission_old_site"]),
    }
    assert await srv.interact(submission(opened, values)) == (200, "")
    summary = (await posted(srv.fake, "C0FINANCE1", 2))[1]
    assert summary.payload["thread_ts"] == event["ts"]
    assert "Saved initiative #1: Move to the Elm Street building" in summary.payload["text"]

    (initiative,) = srv.all(Initiative)
    assert (initiative.kind, initiative.unit_id) == ("office_move", "finance")
    assert initiative.source_excerpt == MOVE
    permalink = "https://fake.slack.test/archives/C0FINANCE1/p" + event["ts"].replace(".", "")
    assert initiative.source_link == permalink
    owed = [c for c in srv.all(Commitment) if c.initiative_id == initiative.id]
    assert owed and not any("Decommissioning" in c.what for c in owed)

    (dm,) = await posted(srv.fake, srv.fake.dm_channel(SAM))
    (opened_dm,) = ok(srv.fake, "conversations.open")
    assert opened_dm.payload["users"] == SAM
    assert "Move to the Elm Street building" in dm.payload["text"]
    labels = {b["text"]["text"] for b in buttons(dm.payload["blocks"])}
    assert labels == {"Accept", "Decline", "Propose another date"}
    # The offer now says what became of it, without buttons.
    (updated,) = await srv.fake.wait_for("chat.update")
    assert (
        updated.payload["ts"] == offer.response["ts"] and buttons(updated.payload["blocks"]) == []
    )


async def test_the_buttons_on_a_commitment_dm(srv: Server) -> None:
    _, _, dm = await plan_move(srv)
    ids = [sealed_document(b["value"])["id"] for b in buttons(dm.payload["blocks"])[::3]]
    respond = srv.fake.response_url("sam")
    sams_dm, pats_dm = srv.fake.dm_channel(SAM), srv.fake.dm_channel(PAT)

    # Accept: the buttons are replaced by what happened, and Pat hears about it.
    await srv.interact(
        click(dm, "commitment.promise", SAM, block_id="item-0", response_url=respond)
    )
    update = (await srv.fake.wait_for("chat.update", count=2))[1]
    assert (update.payload["channel"], update.payload["ts"]) == (sams_dm, dm.response["ts"])
    (replaced,) = [b for b in update.payload["blocks"] if b["type"] == "context"]
    assert f"#{ids[0]}" in replaced["elements"][0]["text"]
    assert "promised" in replaced["elements"][0]["text"]
    assert "item-0" not in [b.get("block_id") for b in update.payload["blocks"]]
    (to_pat,) = await posted(srv.fake, pats_dm)
    assert f"#{ids[0]}" in to_pat.payload["text"] and "promised" in to_pat.payload["text"]

    # Propose another date: a small modal with a date picker; a past date is refused in it.
    trigger = sr.new_trigger_id()
    counter = click(dm, "commitment.counter", SAM, block_id="item-1", response_url=respond)
    counter["trigger_id"] = trigger
    await srv.interact(counter)
    opened = (await srv.fake.wait_for("views.open", count=2))[1]
    assert opened.payload["trigger_id"] == trigger
    assert opened.payload["view"]["callback_id"] == "act"
    (due_block,) = opened.payload["view"]["blocks"]
    assert due_block["element"]["type"] == "datepicker"
    past = submission(opened, {"due": sr.date_value("2020-02-02")}, user=SAM)
    status, body = await srv.interact(past)
    assert status == 200 and json.loads(body)["response_action"] == "errors"
    assert "past" in json.loads(body)["errors"]["due"]
    later = submission(opened, {"due": sr.date_value(in_days(40))}, user=SAM)
    assert await srv.interact(later) == (200, "")
    told_sam = (await posted(srv.fake, sams_dm, 2))[1]
    assert "Got it" in told_sam.payload["text"]
    assert "another date proposed" in told_sam.payload["text"]
    counter_dm = (await posted(srv.fake, pats_dm, 2))[1]
    assert "proposed another date" in counter_dm.payload["text"]
    labels = [b["text"]["text"] for b in buttons(counter_dm.payload["blocks"])]
    assert labels == ["Accept new date", "Decline new date"]

    # From the ephemeral /commitments list: "I'm blocked" asks for the reason in a modal.
    await srv.slash("", user=SAM, key="list")
    (listing,) = await srv.fake.wait_for("response_url", count=1)
    blocked = button(listing.payload["blocks"], "commitment.blocked")
    assert sealed_document(blocked["value"])["id"] == ids[0]
    payload = sr.block_action_payload(
        blocked["action_id"],
        blocked["value"],
        user_id=SAM,
        channel_id="C0FINANCE1",
        block_id=blocked["block_id"],
        response_url=srv.fake.response_url("ephemeral"),
    )
    payload["container"]["is_ephemeral"] = True
    await srv.interact(payload)
    reason_form = (await srv.fake.wait_for("views.open", count=3))[2]
    (note_block,) = reason_form.payload["view"]["blocks"]
    assert note_block["block_id"] == "note" and note_block["element"]["multiline"] is True
    reason = {"note": sr.text_value("waiting for the landlord's floor plan")}
    assert await srv.interact(submission(reason_form, reason, user=SAM)) == (200, "")
    said = (await srv.fake.wait_for("response_url", count=2))[1]
    assert said.path.endswith("/ephemeral") and "Got it" in said.payload["text"]
    told_pat = (await posted(srv.fake, pats_dm, 3))[2].payload["text"]
    assert "is blocked on" in told_pat and "waiting for the landlord" in told_pat

    # Pat accepts the new date from the DM; Decline works on another line of Sam's DM.
    await srv.interact(click(counter_dm, "commitment.accept", PAT))
    await srv.interact(click(dm, "commitment.decline", SAM, block_id="item-2"))
    await srv.fake.wait_for("chat.update", count=4)
    with Session(srv.app.engine) as session:
        states = {c.id: c.state for c in session.exec(select(Commitment)).all()}
    assert (states[ids[0]], states[ids[1]], states[ids[2]]) == ("promised", "promised", "declined")


# ---------------------------------------------------------------------- /commitments


async def test_every_commitments_form(srv: Server) -> None:
    await plan_move(srv)
    answers: dict[str, Call] = {}

    async def ask(text: str, user: str = PAT) -> Call:
        key = f"k{len(answers)}"
        started = time.monotonic()
        status, body = await srv.slash(text, user=user, key=key)
        assert status == 200 and body == "" and time.monotonic() - started < 1.0
        for _ in range(200):
            found = [c for c in srv.fake.calls_to("response_url") if c.path.endswith(key)]
            if found:
                answers[text] = found[0]
                assert found[0].payload["response_type"] == "ephemeral"
                return found[0]
            await asyncio.sleep(0.01)
        raise AssertionError(f"no answer to /commitments {text}\n{srv.fake.summary()}")

    assert "Here's what you can type" in (await ask("help")).payload["text"]
    mine = await ask("")
    assert "Your open commitments" in mine.payload["text"]
    assert "You owe" in text_of(mine.payload) and "Owed to you" in text_of(mine.payload)
    assert buttons(mine.payload["blocks"])  # a button row per line
    sams = await ask(f"<@{SAM}|sam>")
    assert f"Open commitments of <@{SAM}>" in sams.payload["text"]
    assert "Network drops" in text_of(sams.payload)
    assert "Stuck commitments" in (await ask("stuck", user=SAM)).payload["text"]
    assert "Overdue commitments" in (await ask("overdue")).payload["text"]
    unit = await ask("unit finance", user=SAM)
    assert "Open commitments of Finance" in unit.payload["text"]
    assert "Phones" in text_of(unit.payload)
    initiative = await ask("initiative 1")
    assert "Initiative #1: Move to the Elm Street building" in initiative.payload["text"]
    assert f"R: IT <@{SAM}>" in text_of(initiative.payload)
    role = await ask(f"initiative 1 role network consulted <@{KIM}|kim>", user=SAM)
    assert role.payload["text"].startswith("Changed the role “Network drops and Wi-Fi survey”")
    assert role.payload["text"].endswith(f"C: business <@{KIM}>.")
    cycle = await ask("cycle")
    assert "Input cycles" in cycle.payload["text"] and "Parks" in text_of(cycle.payload)
    assert "didn't understand" in (await ask("frobnicate")).payload["text"]
    nobody = await ask("<@U0NEWBIE|newbie>")
    assert "<@U0NEWBIE>" in nobody.payload["text"] and "nothing open" in nobody.payload["text"]

    # ask @person <what> by <when>: the owner gets a DM with buttons.
    asked = await ask(f"ask <@{KIM}|kim> send the floor plan by {in_days(10)}")
    assert (
        f"Asked <@{KIM}>" in asked.payload["text"]
        and "send the floor plan" in asked.payload["text"]
    )
    (dm,) = await posted(srv.fake, srv.fake.dm_channel(KIM))
    assert "asks you for" in dm.payload["text"]
    labels = [b["text"]["text"] for b in buttons(dm.payload["blocks"])]
    assert labels == ["Accept", "Decline", "Propose another date"]
    (kims,) = [c for c in srv.all(Commitment) if c.what == "send the floor plan"]
    assert kims.due == dt.date.today() + dt.timedelta(days=10)


# ---------------------------------------------------------------------- shortcuts and cycles


async def test_message_shortcuts_plan_with_it_and_track_commitment(srv: Server) -> None:
    message = {"text": "Heads up: we're switching to a new payroll vendor in March", "user": PAT}
    shortcut = sr.shortcut_payload("plan_with_it", message=message, user_id=PAT)
    assert (await srv.interact(shortcut))[0] == 200
    (opened,) = await srv.fake.wait_for("views.open")
    assert opened.payload["view"]["callback_id"] == "intake"
    assert ok(srv.fake, "chat.getPermalink") == []  # views.open goes first
    values = {
        "title": sr.text_value("New payroll vendor"),
        "target_date": sr.date_value(in_days(120)),
        "owner": sr.user_value(PAT),
    }
    assert await srv.interact(submission(opened, values)) == (200, "")
    (summary,) = await posted(srv.fake, "C0FINANCE1")
    assert summary.payload["thread_ts"] == shortcut["message"]["ts"]
    await posted(srv.fake, srv.fake.dm_channel(SAM))  # the intake's DM to Sam, sent after
    (initiative,) = srv.all(Initiative)
    assert initiative.kind == "software_purchase" and initiative.source_link.endswith(
        shortcut["message"]["ts"].replace(".", "")
    )

    track = sr.shortcut_payload(
        "track_commitment", message={"text": "I'll send the seating plan"}, user_id=PAT
    )
    await srv.interact(track)
    form = (await srv.fake.wait_for("views.open", count=2))[1]
    assert form.payload["view"]["callback_id"] == "commitment"
    what = next(b for b in form.payload["view"]["blocks"] if b["block_id"] == "what")
    assert what["element"]["initial_value"] == "I'll send the seating plan"
    sams = len(ok(srv.fake, "chat.postMessage", channel=srv.fake.dm_channel(SAM)))
    values = {
        "what": sr.text_value("Send the seating plan"),
        "owner": sr.user_value(SAM),
        "due": sr.date_value(in_days(7)),
    }
    assert await srv.interact(submission(form, values)) == (200, "")
    tracked = (await posted(srv.fake, "C0FINANCE1", 2))[1]
    assert tracked.payload["thread_ts"] == track["message"]["ts"]
    assert "Tracking it" in tracked.payload["text"]
    asked = (await posted(srv.fake, srv.fake.dm_channel(SAM), sams + 1))[-1]
    assert "Send the seating plan" in asked.payload["text"]


async def test_the_cycle_questionnaire_button_opens_its_modal(srv: Server) -> None:
    from handlers.nudges import cycle_form

    cycle_date = dt.date.today() + dt.timedelta(days=90)  # the server runs on the real clock
    state = seal(cycle_form("finance", "Finance", cycle_date).state, "cycle.open")
    dm = {"ts": sr.new_ts(), "text": "It's input-cycle time for Finance."}
    dm["blocks"] = [
        {
            "type": "actions",
            "block_id": "choices",
            "elements": [{"type": "button", "action_id": "cycle.open#0", "value": state}],
        }
    ]
    trigger = sr.new_trigger_id()
    payload = sr.block_action_payload(
        "cycle.open#0", state, user_id=PAT, channel_id="D0PAT", message=dm, trigger_id=trigger
    )
    await srv.interact(payload)
    (opened,) = await srv.fake.wait_for("views.open")
    assert opened.payload["trigger_id"] == trigger
    view = opened.payload["view"]
    assert view["callback_id"] == "cycle"
    assert [b["block_id"] for b in view["blocks"]] == ["six_months", "twelve_months"]
    answers = {
        "six_months": sr.text_value("We're buying a new CRM in the spring."),
        "twelve_months": sr.text_value(None),
    }
    assert await srv.interact(submission(opened, answers)) == (200, "")
    thanks, offer = await posted(srv.fake, srv.fake.dm_channel(PAT), 2)
    assert "I spotted 1 thing" in thanks.payload["text"]
    assert "software purchase" in offer.payload["text"]
    assert button(offer.payload["blocks"], "offer.plan")
    (cycle,) = srv.all(Cycle)
    assert (cycle.unit_id, cycle.cycle_date) == ("finance", cycle_date)
    assert "CRM" in cycle.six_months


# ---------------------------------------------------------------------- App Home


async def test_app_home_shows_commitments_initiatives_and_a_liaisons_stuck_items(
    srv: Server,
) -> None:
    await plan_move(srv)
    # Pat asks Kim for something in #finance, and it runs late: it is stuck in Sam's unit.
    await srv.slash(f"ask <@{KIM}|kim> label the boxes by {in_days(5)}")
    await posted(srv.fake, srv.fake.dm_channel(KIM))
    with Session(srv.app.engine) as session:
        late = session.exec(select(Commitment).where(Commitment.what == "label the boxes")).one()
        late.due = dt.date.today() - dt.timedelta(days=3)
        session.add(late)
        session.commit()
    await srv.event({"type": "app_home_opened", "user": SAM, "tab": "home", "channel": "D0SAM"})
    (home,) = await srv.fake.wait_for("views.publish")
    assert home.payload["user_id"] == SAM and home.payload["view"]["type"] == "home"
    seen = text_of(home.payload)
    assert "Your open commitments" in seen and "You owe" in seen and "Network drops" in seen
    assert "Your initiatives" in seen
    stuck = seen[seen.index("Stuck in your units") :]
    assert "label the boxes" in stuck and f"<@{KIM}> for <@{PAT}>" in stuck and "overdue" in stuck
    block_ids = [b["block_id"] for b in home.payload["view"]["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))

    await srv.event({"type": "app_home_opened", "user": PAT, "tab": "home"})
    pats = (await srv.fake.wait_for("views.publish", count=2))[1]
    seen = text_of(pats.payload)
    assert "Move to the Elm Street building" in seen and "Stuck in your units" not in seen

    # A button on the home tab acts, then the home shows the outcome.
    view = home.payload["view"]
    pressed = button(view["blocks"], "commitment.promise")
    payload = sr.block_action_payload(
        pressed["action_id"],
        pressed["value"],
        user_id=SAM,
        view={**view, "id": home.response["view"]["id"]},
        block_id=pressed["block_id"],
    )
    await srv.interact(payload)
    again = (await srv.fake.wait_for("views.publish", count=3))[2]
    assert again.payload["user_id"] == SAM and "Got it." in text_of(again.payload)

    # "Details" of an initiative: a modal opens at once, and fills in when the core answers.
    pats_view = pats.payload["view"]
    details = button(pats_view["blocks"], "home.initiative")
    trigger = sr.new_trigger_id()
    payload = sr.block_action_payload(
        details["action_id"],
        details["value"],
        user_id=PAT,
        view={**pats_view, "id": pats.response["view"]["id"]},
        trigger_id=trigger,
    )
    await srv.interact(payload)
    loading = (await srv.fake.wait_for("views.open", count=2))[1]
    assert loading.payload["trigger_id"] == trigger
    (filled,) = await srv.fake.wait_for("views.update")
    assert filled.payload["view_id"] == loading.response["view"]["id"]
    assert "Initiative #1: Move to the Elm Street building" in text_of(filled.payload)


# ---------------------------------------------------------------------- reliability


async def test_everything_is_acknowledged_in_time_while_the_database_is_slow(
    srv: Server, tmp_path: Path
) -> None:
    _, offer = await offer_for(srv)
    await srv.interact(click(offer, "offer.plan", PAT))
    (opened,) = await srv.fake.wait_for("views.open")
    values = {
        "title": sr.text_value("Move to the Elm Street building"),
        "target_date": sr.date_value(in_days(300)),
        "owner": sr.user_value(PAT),
    }
    locker = sqlite3.connect(tmp_path / "liaison.db", isolation_level=None, timeout=1)
    locker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        timings = {}
        for name, request in (
            ("event", srv.event(sr.message_event("We're buying a new CRM next quarter"))),
            ("command", srv.slash(f"ask <@{SAM}|sam> send the floor plan by Friday")),
            ("submission", srv.interact(submission(opened, values))),
        ):
            started = time.monotonic()
            status, body = await request
            timings[name] = time.monotonic() - started
            assert status == 200, (name, body)
        assert json.loads(body)["response_action"] == "update"  # "Saving…", not a timeout
        assert timings["event"] < 0.5 and timings["command"] < 0.5, timings
        assert timings["submission"] < 2.8, timings
        assert srv.count(Initiative) == 0
    finally:
        await asyncio.sleep(0.5)
        locker.execute("ROLLBACK")
        locker.close()
    (saved,) = await srv.fake.wait_for("views.update", timeout=8)
    assert "Saved initiative #1" in text_of(saved.payload)
    assert srv.count(Initiative) == 1
    # Nothing acknowledged early was lost: the offer and the command's answer follow.
    offers = await posted(srv.fake, "C0FINANCE1", 3)
    assert any("software purchase" in c.payload["text"] for c in offers)
    (answer,) = await srv.fake.wait_for("response_url")
    assert f"Asked <@{SAM}>" in answer.payload["text"]


async def test_a_rate_limited_reply_waits_for_retry_after_and_arrives_once(srv: Server) -> None:
    srv.fake.fail("chat.postMessage", status=429, retry_after=1)
    await srv.event(sr.message_event(MOVE))
    await srv.fake.wait_for("chat.postMessage", timeout=5)
    limited, sent = srv.fake.calls_to("chat.postMessage")
    assert (limited.status, sent.status) == (429, 200)
    assert 1.0 <= sent.at - limited.at < 1.5
    srv.fake.fail("chat.postMessage", status=502)  # a server error is retried too
    await srv.event(sr.message_event("We're hiring 12 new nurses in March"))
    await srv.fake.wait_for("chat.postMessage", count=2, timeout=5)
    await settle()
    assert [c.status for c in srv.fake.calls_to("chat.postMessage")] == [429, 200, 502, 200]


def test_retry_after_is_read_in_seconds_fractions_and_dates() -> None:
    read = slack_channel.retry_after_seconds
    assert read({"Retry-After": ["30"]}) == 30.0
    assert read({"retry-after": "1.5"}) == 1.5
    assert read({"Retry-After": ["Wed, 21 Oct 2015 07:28:00 GMT"]}, now=1445412470.0) == 10.0
    assert read({"Retry-After": ["soon"]}) is None and read({}) is None
    assert slack_channel.RateLimitRetry().max_retry_count == 3


async def test_socket_mode_delivers_a_message_event(fake: FakeSlack, tmp_path: Path) -> None:
    async with serve(fake, tmp_path / "socket.db", http=False, socket=True) as server:
        await fake.wait_for_socket()
        (opened,) = fake.calls_to("apps.connections.open")
        assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"
        async with server.http.post(server.url, data=b"{}") as response:
            assert response.status in (404, 405)  # no HTTP endpoint without a signing secret
        event = sr.message_event(MOVE)
        ack = await fake.push(sr.event_payload(event))
        assert "envelope_id" in ack
        (offer,) = await fake.wait_for("chat.postMessage")
        assert offer.payload["thread_ts"] == event["ts"] and "phones" in offer.payload["text"]
        answer = await fake.push(sr.slash_payload("/commitments", "help"), type="slash_commands")
        assert "envelope_id" in answer


# ---------------------------------------------------------------------- the manifest


def test_the_manifest_declares_everything_the_adapter_uses() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    (command,) = features["slash_commands"]
    assert command["command"] == slack_channel.COMMAND and command["should_escape"] is True
    shortcuts = {s["callback_id"]: s["type"] for s in features["shortcuts"]}
    assert shortcuts == {
        **{name: "message" for name in slack_channel.SHORTCUTS},
        **{name: "global" for name in slack_channel.GLOBAL_SHORTCUTS},
    }
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    events = settings["event_subscriptions"]["bot_events"]
    assert sorted(events) == sorted(slack_channel.BOT_EVENTS)
    assert {e.split(".")[0] for e in events} == set(slack_channel.EVENTS)
    assert settings["interactivity"]["is_enabled"] is True
    needed = (
        {s for s in slack_channel.METHODS.values() if s}
        | {s for s in slack_channel.BOT_EVENTS.values() if s}
        | set(slack_channel.OTHER_SCOPES)
    )
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(needed)
    urls = [command["url"], settings["interactivity"]["request_url"]]
    urls.append(settings["event_subscriptions"]["request_url"])
    assert all(url.endswith("/slack/events") for url in urls)


# ---------------------------------------------------------------------- acceptance


async def test_liaison_bot_serve_answers_a_signed_signal_within_two_seconds(
    fake: FakeSlack, tmp_path: Path
) -> None:
    config = tmp_path / "liaison.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace("enabled = true", "enabled = false"), encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.update(
        PORT=str(port),
        HOST="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        LIAISON_CONFIG=str(config),
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.base_url,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    process = await asyncio.create_subprocess_exec(
        *cli(), "serve", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    try:
        await wait_until_healthy(f"http://127.0.0.1:{port}", process)
        async with aiohttp.ClientSession() as http:
            body = sr.event_body(sr.message_event(MOVE))
            sent = time.monotonic()
            async with http.post(
                f"http://127.0.0.1:{port}/slack/events",
                data=body.encode(),
                headers=sr.headers(SECRET, body),
            ) as response:
                assert response.status == 200
            deadline = sent + 2.0
            while time.monotonic() < deadline:
                replies = ok(fake, "chat.postMessage") + ok(fake, "chat.postEphemeral")
                said = [c for c in replies if "network" in c.payload["text"]]
                if said:
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError(f"no reply within 2 s\n{fake.summary()}")
        assert "phones" in said[0].payload["text"]
        assert said[0].at - sent < 2.0
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_an_offer_slack_refuses_for_long_is_kept_and_sent_later_as_a_dm(srv: Server) -> None:
    """Past the client's own retries and the channel's retries in the background, the offer
    is not lost: the next sweep DMs it."""
    srv.app.slack.retrier.delays = (0.1, 0.2)  # the background retries, made short
    breaker = srv.app.slack.client.breaker  # and the pauses of Slack's shared back-off,
    breaker.first_pause = breaker.pause = 0.1  # doubling after each failed probe up to 0.4 s,
    breaker.max_pause = 0.4
    for handler in srv.app.slack.client.retry_handlers:  # and the client's own between retries
        if isinstance(getattr(handler, "interval_calculator", None), Backoff):
            handler.interval_calculator = Backoff(base=0.05)
    srv.fake.fail("chat.postMessage", status=500, retry_after=None, times=1000)
    event = sr.message_event(MOVE)
    assert (await srv.event(event))[0] == 200
    deadline = time.monotonic() + 15
    while not srv.all(Ledger) or not any(r.kind == "deferred" for r in srv.all(Ledger)):
        assert time.monotonic() < deadline, srv.fake.summary()
        await asyncio.sleep(0.1)
    # The client tried each call up to 3 times; the channel sent it twice more before keeping
    # it (fewer calls when the shared breaker held them back).
    assert 3 <= len(srv.fake.calls_to("chat.postMessage")) <= 3 * 3
    srv.fake.reset()  # Slack is back
    await asyncio.sleep(breaker.remaining() + 0.1)  # and the breaker's last pause is over
    # The next sweep, on the server's own (real) clock, past the claim's lease.
    sweep_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    lines = await srv.app.sweeper.run(sweep_at)
    assert [(line.kind, line.status) for line in lines] == [("deferred", "sent")]
    (dm,) = ok(srv.fake, "chat.postMessage")
    assert "network" in dm.payload["text"] and "phones" in dm.payload["text"]
    labels = [b["text"]["text"] for b in buttons(dm.payload["blocks"])]
    assert labels[0] == "Plan it with IT"
    assert await srv.app.sweeper.run(sweep_at + dt.timedelta(minutes=15)) == []


async def test_a_signal_in_a_thread_links_to_the_reply_in_its_thread(srv: Server) -> None:
    """The link an offer carries is made as chat.getPermalink makes it for a reply: the
    reply's ts, and its thread and channel as the query."""
    parent = sr.new_ts()
    event, offer = await offer_for(srv, thread_ts=parent)
    value = sealed_document(button(offer.payload["blocks"], "offer.plan")["value"])
    reply = event["ts"].replace(".", "")
    assert value["link"] == (
        f"{PERMALINK_HOST}/archives/C0FINANCE1/p{reply}?thread_ts={parent}&cid=C0FINANCE1"
    )
    assert offer.payload["thread_ts"] == parent and ok(srv.fake, "chat.getPermalink") == []


async def test_a_promise_in_a_channel_is_offered_to_its_author_alone(srv: Server) -> None:
    said = "Sure, I'll send the floor plans to facilities by Friday"
    event = sr.message_event(said)
    assert (await srv.event(event))[0] == 200
    (offer,) = await srv.fake.wait_for("chat.postEphemeral")
    assert (offer.payload["channel"], offer.payload["user"]) == ("C0FINANCE1", PAT)
    assert offer.payload["thread_ts"] == event["ts"]
    assert "send the floor plans to facilities" in offer.payload["text"]
    assert ok(srv.fake, "chat.postMessage") == []  # nobody else sees a thing
    assert srv.count(Commitment) == 0

    track = button(offer.payload["blocks"], "promise.track")
    respond = srv.fake.response_url("track")
    pressed = sr.block_action_payload(
        track["action_id"], track["value"], user_id=PAT, response_url=respond,
        message_ts=offer.response.get("message_ts"), block_id=track["block_id"],
    )  # fmt: skip
    pressed["container"]["is_ephemeral"] = True  # Slack sends no copy of an ephemeral message
    del pressed["message"]
    await srv.interact(pressed)
    (answer,) = await srv.fake.wait_for("response_url")
    assert answer.payload["response_type"] == "ephemeral"
    assert "Tracking it" in answer.payload["text"]
    (item,) = srv.all(Commitment)
    assert item.state == "promised" and item.what == "send the floor plans to facilities"


async def test_chatter_that_only_sounds_like_a_promise_costs_nothing(srv: Server) -> None:
    before = srv.rows()
    for text in ("I'll grab coffee later", "we will see", "I'll be out on Friday"):
        assert (await srv.event(sr.message_event(text)))[0] == 200
    await settle()
    assert [c.method for c in srv.fake.calls if c.method not in STARTUP_METHODS] == []
    assert srv.rows() == before
