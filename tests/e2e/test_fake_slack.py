"""The fake Slack, proved against the real client libraries over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.internals import parse_body
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr

TOKEN = "xoxb-test"
APP_TOKEN = "xapp-1-fake-test-token"
SECRET = "test-signing-secret"
USERS = {
    "U0PAT": {
        "id": "U0PAT",
        "name": "pat",
        "real_name": "Pat Finance",
        "tz": "America/Chicago",
        "profile": {"email": "pat@example.com", "real_name": "Pat Finance", "display_name": "pat"},
    }
}
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Kickoff* on Friday"}}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token=TOKEN, users=USERS) as server:
        yield server


def client_for(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.base_url, **kwargs)


# ---------------------------------------------------------------------- Web API


async def test_binds_an_ephemeral_port_on_loopback(fake: FakeSlack) -> None:
    assert fake.port > 0
    assert fake.base_url == f"http://127.0.0.1:{fake.port}/api/"
    auth = await client_for(fake).auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T0TEST")
    assert "chat:write" in auth.headers["x-oauth-scopes"]


async def test_post_message_records_channel_text_and_decoded_blocks(fake: FakeSlack) -> None:
    client = client_for(fake)

    first = await client.chat_postMessage(channel="C0FINANCE1", text="Kickoff", blocks=BLOCKS)
    # Form-encoded, blocks travel as a JSON string; the fake decodes them all the same.
    second = await client.api_call(
        "chat.postMessage",
        data={"channel": "C0FINANCE1", "text": "Again", "blocks": json.dumps(BLOCKS)},
    )

    calls = fake.calls_to("chat.postMessage")
    assert [c.payload["text"] for c in calls] == ["Kickoff", "Again"]
    assert all(c.payload["channel"] == "C0FINANCE1" for c in calls)
    assert all(c.payload["blocks"] == BLOCKS for c in calls)
    assert calls[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert calls[0].headers["content-type"].startswith("application/json")
    assert calls[1].headers["content-type"].startswith("application/x-www-form-urlencoded")

    assert first["channel"] == "C0FINANCE1"
    assert first["message"]["blocks"] == BLOCKS
    assert first["message"]["bot_id"] == "BBOT"
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])

    link = await client.chat_getPermalink(channel="C0FINANCE1", message_ts=first["ts"])
    assert link["permalink"] == "https://fake.slack.test/archives/C0FINANCE1/p1700000000000100"

    updated = await client.chat_update(channel="C0FINANCE1", ts=first["ts"], text="Moved")
    assert (updated["channel"], updated["ts"]) == ("C0FINANCE1", first["ts"])
    ephemeral = await client.chat_postEphemeral(channel="C0FINANCE1", user="U0PAT", text="psst")
    assert float(ephemeral["message_ts"]) > float(second["ts"])
    assert len(await fake.wait_for("chat.postMessage", count=2)) == 2


async def test_wrong_token_is_invalid_auth(fake: FakeSlack) -> None:
    bad = AsyncWebClient(token="xoxb-wrong", base_url=fake.base_url)
    with pytest.raises(SlackApiError) as excinfo:
        await bad.chat_postMessage(channel="C1", text="hi")
    assert excinfo.value.response["error"] == "invalid_auth"
    (call,) = fake.calls_to("chat.postMessage")
    assert not call.ok

    with pytest.raises(SlackApiError) as excinfo, pytest.warns(UserWarning, match="text"):
        await client_for(fake).chat_postMessage(channel="C1")
    assert excinfo.value.response["error"] == "no_text"


async def test_rate_limit_is_retried_after_retry_after(fake: FakeSlack) -> None:
    client = client_for(
        fake,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(),
        ],
    )
    fake.fail("chat.postMessage", status=429, retry_after=1, times=2)

    response = await client.chat_postMessage(channel="C0FINANCE1", text="Once")

    assert response["ok"]
    calls = fake.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 429, 200]
    assert [c.payload.get("_status") for c in calls] == [429, 429, None]
    assert calls[0].response == {"ok": False, "error": "ratelimited"}
    assert calls[1].at - calls[0].at >= 1.0  # the client honoured Retry-After
    delivered = await fake.wait_for("chat.postMessage")
    assert [c.payload["text"] for c in delivered] == ["Once"]


async def test_server_errors_answer_plain_text_and_can_be_retried(fake: FakeSlack) -> None:
    fast = FixedValueRetryIntervalCalculator(0.01)
    retrying = client_for(fake, retry_handlers=[AsyncServerErrorRetryHandler(1, fast)])
    fake.fail("*", status=503)
    assert (await retrying.chat_postMessage(channel="C1", text="hi"))["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [503, 200]
    assert fake.calls[0].response == "503 Service Unavailable"

    fake.fail("users.info", status=500)
    with pytest.raises(SlackApiError) as excinfo:
        await client_for(fake, retry_handlers=[]).users_info(user="U0PAT")
    assert excinfo.value.response.status_code == 500


async def test_users_info_and_conversations_open(fake: FakeSlack) -> None:
    client = client_for(fake)

    user = (await client.users_info(user="U0PAT"))["user"]
    assert user["real_name"] == "Pat Finance"
    assert user["tz"] == "America/Chicago"
    assert user["profile"]["email"] == "pat@example.com"
    with pytest.raises(SlackApiError) as excinfo:
        await client.users_info(user="U0NOBODY")
    assert excinfo.value.response["error"] == "user_not_found"
    found = await client.users_lookupByEmail(email="pat@example.com")
    assert found["user"]["id"] == "U0PAT"

    dm = (await client.conversations_open(users="U0PAT"))["channel"]["id"]
    again = await client.conversations_open(users=["U0PAT"])
    assert dm == again["channel"]["id"] == fake.dm_channel("U0PAT") == "D0PAT"
    assert again["already_open"] is True
    group = (await client.conversations_open(users=["U0PAT", "U0SAM"]))["channel"]["id"]
    assert group.startswith("D") and group != dm
    posted = await client.chat_postMessage(channel="U0PAT", text="DM by user id")
    assert posted["channel"] == dm


async def test_views_open_and_publish(fake: FakeSlack) -> None:
    client = client_for(fake)
    modal = {
        "type": "modal",
        "callback_id": "rasci",
        "title": {"type": "plain_text", "text": "Who does what"},
        "blocks": BLOCKS,
    }
    opened = (await client.views_open(trigger_id="1.2.abc", view=modal))["view"]
    assert opened["id"].startswith("V")
    assert opened["callback_id"] == "rasci"
    assert opened["state"] == {"values": {}}
    updated = await client.views_update(view_id=opened["id"], view={**modal, "blocks": []})
    assert updated["view"]["id"] == opened["id"]

    home = {"type": "home", "blocks": BLOCKS}
    published = (await client.views_publish(user_id="U0PAT", view=home))["view"]
    republished = (await client.views_publish(user_id="U0PAT", view=home))["view"]
    assert published["type"] == "home"
    assert published["id"] == republished["id"]
    (first, _) = fake.calls_to("views.publish")
    assert first.payload["user_id"] == "U0PAT"
    assert first.payload["view"]["blocks"] == BLOCKS
    assert fake.views[published["id"]]["blocks"] == BLOCKS


async def test_response_url_and_wait_for_timeout(fake: FakeSlack) -> None:
    webhook = AsyncWebhookClient(fake.response_url("r7"))
    response = await webhook.send(text="Done", response_type="ephemeral")
    assert response.status_code == 200
    (call,) = await fake.wait_for("response_url")
    assert call.path == "/response-url/r7"
    assert call.payload == {"text": "Done", "response_type": "ephemeral"}

    with pytest.raises(AssertionError, match=r"(?s)chat\.update.*response_url"):
        await fake.wait_for("chat.update", timeout=0.05)

    fake.reset()
    assert fake.calls == []


# ---------------------------------------------------------------------- signed inbound requests


def test_signature_helpers_satisfy_slack_sdk_verifier() -> None:
    verifier = SignatureVerifier(SECRET)
    body = sr.event_body(sr.message_event("Kickoff is on Friday"))

    signed = sr.headers(SECRET, body)
    assert signed["Content-Type"] == "application/json"
    assert verifier.is_valid_request(body, signed)
    assert not verifier.is_valid_request(body + " ", signed)
    assert not verifier.is_valid_request(body, sr.sign("other-secret", body))
    stale = sr.sign(SECRET, body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)

    retried = sr.headers(SECRET, body, retry_num=1)
    assert (retried["X-Slack-Retry-Num"], retried["X-Slack-Retry-Reason"]) == ("1", "http_timeout")

    slash = sr.slash_body("/liaison", "status budget", response_url="http://x/r")
    assert sr.headers(SECRET, slash)["Content-Type"] == sr.FORM
    assert verifier.is_valid_request(slash, sr.headers(SECRET, slash))


def test_bodies_parse_the_way_bolt_parses_them() -> None:
    slash = parse_body(sr.slash_body("/liaison", "who owns payroll?"), sr.FORM)
    assert (slash["command"], slash["text"], slash["user_id"]) == (
        "/liaison",
        "who owns payroll?",
        "U0PAT",
    )
    action = sr.block_action_payload("approve", "c-42", message_ts="1700000000.000100")
    parsed = parse_body(sr.interaction_body(action), sr.FORM)
    assert parsed == action
    assert parsed["container"]["message_ts"] == "1700000000.000100"
    event = parse_body(sr.event_body(sr.message_event("<@UBOT> hi")), sr.JSON)
    assert event["event"]["blocks"][0]["elements"][0]["elements"][0] == {
        "type": "user",
        "user_id": "UBOT",
    }
    submission = sr.view_submission_payload(
        "rasci",
        {"b_owner": {"owner": sr.user_value("U0SAM")}, "b_note": {"note": "by Friday"}},
        private_metadata="c-42",
    )
    values = submission["view"]["state"]["values"]
    assert values["b_owner"]["owner"] == {"type": "users_select", "selected_user": "U0SAM"}
    assert values["b_note"]["note"] == {"type": "plain_text_input", "value": "by Friday"}


@pytest.fixture
async def bolt_app(fake: FakeSlack) -> AsyncIterator[tuple[AsyncApp, str, list[dict]]]:
    """A real Bolt app served over HTTP on 127.0.0.1, its client pointed at the fake."""
    app = AsyncApp(signing_secret=SECRET, client=client_for(fake))
    seen: list[dict] = []

    @app.message("budget")
    async def on_budget(message: dict, say: Any) -> None:
        seen.append(message)
        await say(f"Noted: {message['text']}")

    @app.command("/liaison")
    async def on_command(ack: Any, command: dict, respond: Any) -> None:
        await ack()
        seen.append(command)
        await respond(f"You asked: {command['text']}")

    @app.action("approve")
    async def on_approve(ack: Any, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        seen.append(action)
        await client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "rasci",
                "title": {"type": "plain_text", "text": "x"},
            },
        )

    @app.view("rasci")
    async def on_submit(ack: Any, view: dict) -> None:
        await ack(response_action="clear")
        seen.append(view)

    @app.shortcut("log_initiative")
    async def on_shortcut(ack: Any, shortcut: dict) -> None:
        await ack()
        seen.append(shortcut)

    runner = web.AppRunner(app.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        yield app, url, seen
    finally:
        await runner.cleanup()


async def test_signed_requests_drive_a_real_bolt_app(
    fake: FakeSlack, bolt_app: tuple[AsyncApp, str, list[dict]]
) -> None:
    _, url, seen = bolt_app

    async def post(body: str, secret: str = SECRET) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=sr.headers(secret, body)) as response,
        ):
            return response.status, await response.text()

    status, text = await post(sr.url_verification_body("c-123"))
    assert (status, json.loads(text)) == (200, {"challenge": "c-123"})

    body = sr.event_body(sr.message_event("the budget is due"))
    assert (await post(body, secret="wrong-secret"))[0] == 401
    assert (await post(body))[0] == 200
    (said,) = await fake.wait_for("chat.postMessage")
    assert (said.payload["channel"], said.payload["text"]) == (
        "C0FINANCE1",
        "Noted: the budget is due",
    )

    slash = sr.slash_body("/liaison", "status", response_url=fake.response_url("cmd"))
    assert (await post(slash))[0] == 200
    (responded,) = await fake.wait_for("response_url")
    assert responded.payload["text"] == "You asked: status"

    trigger = sr.new_trigger_id()
    action = sr.block_action_payload("approve", "c-42", trigger_id=trigger)
    assert (await post(sr.interaction_body(action)))[0] == 200
    (opened,) = await fake.wait_for("views.open")
    assert opened.payload["trigger_id"] == trigger

    submission = sr.view_submission_payload("rasci", {"b": {"a": "ok"}}, private_metadata="c-42")
    assert await post(sr.interaction_body(submission)) == (
        200,
        json.dumps({"response_action": "clear"}),
    )

    shortcut = sr.shortcut_payload("log_initiative", message={"text": "Budget kickoff"})
    assert (await post(sr.interaction_body(shortcut)))[0] == 200
    global_shortcut = sr.shortcut_payload("log_initiative")
    assert (await post(sr.interaction_body(global_shortcut)))[0] == 200

    for _ in range(100):  # listeners run after the ack
        if len(seen) == 6:
            break
        await asyncio.sleep(0.01)
    kinds = [s.get("type") or s.get("command") for s in seen]
    assert kinds == ["message", "/liaison", "button", "modal", "message_action", "shortcut"]
    assert seen[3]["private_metadata"] == "c-42"


# ---------------------------------------------------------------------- Socket Mode


async def test_socket_mode_client_connects_and_acks_pushed_envelopes(fake: FakeSlack) -> None:
    client = SocketModeClient(
        app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=fake.base_url)
    )
    messages: list[dict] = []
    requests: list[SocketModeRequest] = []

    async def on_message(_: Any, message: dict, raw: str | None) -> None:
        messages.append(message)

    async def on_request(c: Any, request: SocketModeRequest) -> None:
        requests.append(request)
        answer = {"text": "ok"} if request.accepts_response_payload else None
        await c.send_socket_mode_response(SocketModeResponse(request.envelope_id, answer))

    client.message_listeners.append(on_message)
    client.socket_mode_request_listeners.append(on_request)
    try:
        await client.connect()
        await fake.wait_for_socket()
        (opened,) = fake.calls_to("apps.connections.open")
        assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"

        event = sr.event_payload(sr.message_event("hello over the socket"))
        ack = await fake.push(event)
        assert ack == {"envelope_id": requests[0].envelope_id}
        assert requests[0].type == "events_api"
        assert requests[0].payload == event
        assert (requests[0].retry_attempt, requests[0].retry_reason) == (0, "")

        slash = sr.slash_payload("/liaison", "status")
        ack = await fake.push(slash, type="slash_commands")
        assert ack["payload"] == {"text": "ok"}
        assert messages[0]["type"] == "hello"
        assert messages[0]["num_connections"] == 1

        await fake.disconnect_socket()  # Slack asks the client to reconnect
        await fake.wait_for_socket(connections=2)
        assert len(fake.calls_to("apps.connections.open")) == 2
        ack = await fake.push(event)
        assert ack["envelope_id"] == requests[-1].envelope_id
    finally:
        await client.close()


async def test_bolt_socket_mode_handler_against_the_fake(fake: FakeSlack) -> None:
    app = AsyncApp(client=client_for(fake))

    @app.event("app_mention")
    async def on_mention(event: dict, say: Any) -> None:
        await say(f"Hi <@{event['user']}>")

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    try:
        await handler.connect_async()
        ack = await fake.push(sr.event_payload(sr.app_mention_event("<@UBOT> status?")))
        assert "envelope_id" in ack
        (said,) = await fake.wait_for("chat.postMessage")
        assert said.payload["text"] == "Hi <@U0PAT>"
    finally:
        await handler.close_async()


async def test_wrong_app_token_is_refused(fake: FakeSlack) -> None:
    client = AsyncWebClient(base_url=fake.base_url)
    with pytest.raises(SlackApiError) as excinfo:
        await client.apps_connections_open(app_token=TOKEN)
    assert excinfo.value.response["error"] == "not_allowed_token_type"
    async with aiohttp.ClientSession() as session:
        url = f"ws://127.0.0.1:{fake.port}/socket-mode?ticket=forged"
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url)
