"""Multi-workspace mode in Socket Mode: the install pages are served over HTTP while every
event comes through the socket, and each workspace's events are answered with its own token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.test_slack_workspaces import (
    CLIENT_ID,
    CLIENT_SECRET,
    MOVE,
    alpha,
    beta,
    serve,
)
from tests.fakes import slack_requests as sr
from tests.fakes.slack_workspaces import FakeSlackWorkspaces, workspace_event

APP_TOKEN = "xapp-1-fake-test-token"  # an obvious fake, as in the other Socket Mode tests


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackWorkspaces]:
    async with FakeSlackWorkspaces(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


async def test_installs_over_http_and_events_through_the_socket(fake, tmp_path) -> None:
    a, b = alpha(), beta()
    async with serve(
        fake, tmp_path / "liaison.db", app_token=APP_TOKEN
    ) as srv:  # no signing secret
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
