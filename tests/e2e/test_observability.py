"""Health, readiness, metrics and logs, over real HTTP."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.request

import aiohttp
from aiohttp.test_utils import TestServer

from bot.bootstrap import bootstrap
from bot.config import load_settings
from bot.observability import configure_logging
from bot.server import build_web_app
from handlers.messages import Action, Inbound, Sender
from tests.conftest import EXAMPLE_CONFIG, ROOT
from tests.serving import free_port

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-test-0000-secret-bot-token",
    "SLACK_SIGNING_SECRET": "signing-secret-never-logged",
}


def settings_for(tmp_path, **extra):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'obs.db'}",
        "LIAISON_CONFIG": str(EXAMPLE_CONFIG),
    }
    env.update(extra)
    return load_settings(env, dotenv_path=None)


async def get(server, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(server.make_url(path)) as response,
    ):
        return response.status, await response.text()


async def test_metrics_count_events_the_funnel_and_commitments(tmp_path):
    app = bootstrap(settings_for(tmp_path))
    shell = Sender("shell", "pat", name="pat")
    offer = app.liaison.handle(
        Inbound(
            shell,
            "finance",
            text="We're buying 40 new laptops for the accounting team",
            message_id="m1",
        )
    )
    plan = offer[0].reply.choices[0]
    app.liaison.handle(Inbound(shell, "finance", action=Action(plan.action, plan.value)))
    app.liaison.handle(Inbound(shell, "dm", text="commitments ask @sam to image them by Friday"))
    said = "I'll send the floor plans to facilities by Friday"
    [promise] = app.liaison.handle(Inbound(shell, "dm", text=said, message_id="m2", is_direct=True))
    track = promise.reply.choices[0]
    app.liaison.handle(Inbound(shell, "dm", action=Action(track.action, track.value)))
    server = TestServer(build_web_app(app, scheduler=False))
    async with server:
        status, body = await get(server, "/metrics")
    assert status == 200
    assert 'liaison_intake_funnel_total{stage="offered"} 1.0' in body
    assert 'liaison_intake_funnel_total{stage="started"} 1.0' in body
    assert 'liaison_events_acted_total{channel="shell",kind="offer"} 1.0' in body
    assert 'liaison_promises_total{stage="offered"} 1.0' in body
    assert 'liaison_promises_total{stage="tracked"} 1.0' in body
    assert 'liaison_commitments_open{unit="finance"} 1.0' in body
    assert "liaison_up 1.0" in body


async def test_readiness_reports_the_database(tmp_path):
    app = bootstrap(settings_for(tmp_path))
    async with TestServer(build_web_app(app, scheduler=False)) as server:
        status, body = await get(server, "/readyz")
        assert status == 200 and json.loads(body)["checks"]["database"] == "ok"
    broken = bootstrap(settings_for(tmp_path))
    from storage.db import make_engine

    broken.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    async with TestServer(build_web_app(broken, scheduler=False)) as server:
        status, body = await get(server, "/readyz")
        assert status == 503
        assert json.loads(body)["checks"]["database"].startswith("unavailable")
        status, _ = await get(server, "/healthz")
        assert status == 200  # alive, just not ready


async def test_metrics_and_readiness_need_the_admin_token_when_one_is_set(tmp_path):
    app = bootstrap(settings_for(tmp_path, ADMIN_TOKEN="admin-token-123"))
    async with TestServer(build_web_app(app, scheduler=False)) as server:
        for path in ("/metrics", "/readyz"):
            assert (await get(server, path))[0] == 401
            assert (await get(server, path, token="admin-token-12"))[0] == 401
            assert (await get(server, path, token="admin-token-123"))[0] == 200
        assert (await get(server, "/healthz"))[0] == 200  # liveness names nothing, stays open


async def test_an_admin_port_takes_metrics_and_readiness_off_the_public_port(tmp_path):
    port = free_port()
    app = bootstrap(settings_for(tmp_path, ADMIN_PORT=str(port), HOST="127.0.0.1"))
    async with TestServer(build_web_app(app, scheduler=False)) as server:
        assert (await get(server, "/metrics"))[0] == 404
        assert (await get(server, "/readyz"))[0] == 404
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200 and "liaison_up" in await response.text()
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                assert response.status == 200


def test_secrets_never_reach_the_logs():
    stream = io.StringIO()
    configure_logging("INFO", "json", SECRETS.values())
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)
    token = SECRETS["SLACK_BOT_TOKEN"]
    logging.getLogger("liaison.test").info("calling with %s", token)
    logging.getLogger("liaison.test").warning(f"header Bearer {token} refused")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [
        "calling with [redacted]",
        "header Bearer [redacted] refused",
    ]
    assert all(line["level"] and line["logger"] == "liaison.test" for line in lines)


def test_debug_logs_carry_no_emails_calendar_keys_response_urls_or_message_bodies():
    stream = io.StringIO()
    configure_logging("DEBUG", "json", [])
    logging.getLogger().handlers[0].setStream(stream)
    ours = logging.getLogger("liaison.test")
    ours.debug("person pat.lee+it@example.org linked")
    ours.debug("feed https://liaison.example.org/calendar/%s.ics served", "k" * 43)
    ours.debug("respond via https://hooks.slack.com/commands/T1/2/abcDEF")
    ours.debug("a token xoxb-not-a-real-token and a jwt eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl")
    logging.getLogger("slack_sdk.web.async_client").debug("Sending a request: {'text': 'hi'}")
    logging.getLogger("botbuilder.core").debug("activity text: secret plans")
    messages = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    assert messages == [
        "person [email] linked",
        "feed https://liaison.example.org/calendar/[redacted].ics served",
        "respond via [response_url]",
        "a token [slack token] and a jwt [jwt]",
    ]


def test_serve_logs_json_lines_with_request_ids_and_no_secrets(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.update(SECRETS)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        LIAISON_CONFIG=str(EXAMPLE_CONFIG),
        PORT=str(port),
        PYTHONPATH=str(ROOT),
        SLACK_API_URL="http://127.0.0.1:9/api/",
        LOG_FORMAT="json",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90  # a loaded machine starts slowly
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.2)
        request = urllib.request.Request(
            f"{base}/slack/events",
            data=b'{"type":"event_callback"}',
            method="POST",
            headers={
                "X-Slack-Request-Timestamp": "1",
                "X-Slack-Signature": "v0=bad",
                "Content-Type": "application/json",
                "X-Request-Id": "req-42",
            },
        )
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
            assert refused.headers["X-Request-Id"] == "req-42"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines, stderr
    requests = [line for line in lines if line.get("message") == "request"]
    assert any(r["request_id"] == "req-42" and r["status"] == 401 for r in requests)
    for secret in SECRETS.values():
        assert secret not in stderr
