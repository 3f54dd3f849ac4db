"""Multi-workspace mode in Socket Mode: the install pages are served over HTTP while every
event comes through the socket, and each workspace's events are answered with its own token."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.bootstrap import bootstrap
from bot.config import load_settings
from bot.server import build_web_app
from tests.conftest import EXAMPLE_CONFIG
from tests.e2e.test_slack_workspaces import (
    CLIENT_ID,
    CLIENT_SECRET,
    MOVE,
    Server,
    alpha,
    beta,
)
from tests.fakes import slack_requests as sr
from tests.fakes.slack_workspaces import FakeSlackWorkspaces, workspace_event

APP_TOKEN = "xapp-1-fake-test-token"  # an obvious fake, as in the other Socket Mode tests


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackWorkspaces]:
    async with FakeSlackWorkspaces(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


@contextlib.asynccontextmanager
async def serve_socket(fake: FakeSlackWorkspaces, db: Path) -> AsyncIterator[Server]:
    environ = {
        "DATABASE_URL": f"sqlite:///{db}",
        "LIAISON_CONFIG": str(EXAMPLE_CONFIG),
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_APP_TOKEN": APP_TOKEN,  # no signing secret: events come only through the socket
        "SLACK_API_URL": fake.base_url,
        "LOG_LEVEL": "WARNING",
    }
    app = bootstrap(load_settings(environ, dotenv_path=None))
    runner = web.AppRunner(build_web_app(app, scheduler=False), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Server(app, f"http://127.0.0.1:{runner.addresses[0][1]}", fake, http)
    finally:
        await runner.cleanup()
        app.engine.dispose()


async def test_installs_over_http_and_events_through_the_socket(fake, tmp_path) -> None:
    a, b = alpha(), beta()
    async with serve_socket(fake, tmp_path / "liaison.db") as srv:
        await fake.wait_for_socket()
        token_a, token_b = await srv.install(a), await srv.install(b)
        async with srv.http.post(f"{srv.base}/slack/events", data=b"{}") as response:
            assert response.status in (404, 405)  # no HTTP events route in Socket Mode
        fake.reset()
        for ws, user, channel in ((a, "U0ANN", "C0ALPHA1"), (b, "U0BEN", "C0BETA1")):
            event = sr.message_event(MOVE, user=user, channel=channel)
            ack = await fake.push(workspace_event(event, ws))
            assert ack.get("envelope_id")
        offers = await fake.wait_for("chat.postMessage", 2)
        by_channel = {c.payload["channel"]: c.headers["authorization"] for c in offers}
        assert by_channel == {"C0ALPHA1": f"Bearer {token_a}", "C0BETA1": f"Bearer {token_b}"}
        assert [c for c in fake.calls if not c.ok] == [], fake.summary()
        async with srv.http.get(f"{srv.base}/readyz") as response:
            assert response.status == 200, await response.text()
