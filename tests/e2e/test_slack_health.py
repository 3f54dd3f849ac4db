"""/readyz tells the truth about Slack: a wrong or revoked token (auth.test, cached) and a
Socket Mode connection that is down make it fail, with a sentence saying what to do; the
token is checked at start and what is wrong is logged plainly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.test_slack import USERS, Server, serve
from tests.fakes.slack_workspaces import FakeSlackWorkspaces


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackWorkspaces]:
    async with FakeSlackWorkspaces(bot_token="xoxb-test", users=USERS) as server:
        yield server


async def readyz(srv: Server) -> tuple[int, dict]:
    async with srv.http.get(f"{srv.base}/readyz") as response:
        return response.status, await response.json()


async def test_a_wrong_token_fails_readiness_and_is_named_at_start(
    fake: FakeSlackWorkspaces, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.bot_token = "xoxb-the-one-slack-knows"  # the bot is configured with another
    with caplog.at_level(logging.ERROR, logger="liaison.slack"):
        async with serve(fake, tmp_path / "liaison.db") as srv:
            said = [r.getMessage() for r in caplog.records if r.name == "liaison.slack"]
            assert any("does not accept SLACK_BOT_TOKEN (invalid_auth)" in m for m in said), said
            status, body = await readyz(srv)
    assert status == 503 and "OAuth & Permissions" in body["checks"]["slack"]
    assert body["checks"]["database"] == "ok"


async def test_a_revoked_token_fails_readiness_once_the_cached_answer_is_old(
    fake: FakeSlackWorkspaces, tmp_path: Path
) -> None:
    async with serve(fake, tmp_path / "liaison.db") as srv:
        assert (await readyz(srv))[0] == 200
        assert (await readyz(srv))[0] == 200
        assert len(fake.calls_to("auth.test")) == 1  # asked at start, then trusted for a while
        fake.revoke_bot_token()
        assert (await readyz(srv))[0] == 200  # still the cached answer
        srv.app.channels["slack"].health.seconds = 0  # the minute is up
        status, body = await readyz(srv)
        assert status == 503 and "token_revoked" in body["checks"]["slack"]
        assert len(fake.calls_to("auth.test")) == 2


async def test_readiness_fails_while_socket_mode_is_disconnected(
    fake: FakeSlackWorkspaces, tmp_path: Path
) -> None:
    async with serve(fake, tmp_path / "liaison.db", http=False, socket=True) as srv:
        await fake.wait_for_socket()
        assert (await readyz(srv))[0] == 200
        fake.fail("apps.connections.open", status=500, times=1000)
        await fake.drop_sockets()
        deadline = time.monotonic() + 5
        while (status := (await readyz(srv))[0]) == 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        status, body = await readyz(srv)
        assert status == 503 and body["checks"]["slack"].startswith("Socket Mode is disconnected")
        fake.reset()  # Slack is back: the client reconnects, and readiness with it
        await fake.wait_for_socket(timeout=15, connections=2)
        deadline = time.monotonic() + 5
        while (await readyz(srv))[0] != 200:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
