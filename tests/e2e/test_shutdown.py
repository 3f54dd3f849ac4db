"""SIGTERM: stop taking work, finish what is in flight (replies to Slack), then exit cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time

import aiohttp

from tests.conftest import EXAMPLE_CONFIG, ROOT
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import event_body, headers, message_event
from tests.serving import free_port, wait_until_healthy

SECRET = "shutdown-test-signing-secret"


class SlowSlack(FakeSlack):
    """The fake Slack, slow to answer chat.postMessage: the reply is in flight at SIGTERM."""

    async def _handle_api(self, request):
        if request.match_info["method"] == "chat.postMessage":
            await asyncio.sleep(1.5)
        return await super()._handle_api(request)


async def start_serve(tmp_path, fake: FakeSlack):
    """`liaison-bot serve` in its own process against the fake Slack, once it answers."""
    config = tmp_path / "org.toml"
    config.write_text(EXAMPLE_CONFIG.read_text() + "\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        LIAISON_CONFIG=str(config),
        PORT=str(port),
        PYTHONPATH=str(ROOT),
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.base_url,
        LOG_FORMAT="json",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
        env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    await wait_until_healthy(base, process)
    return process, base


async def post_signal(base: str, text: str) -> None:
    body = event_body(message_event(text))
    sent = headers(SECRET, body, content_type="application/json")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/slack/events", data=body, headers=sent) as response,
    ):
        assert response.status == 200  # acknowledged at once


USERS = {"U0PAT": {"id": "U0PAT", "name": "pat"}}


async def test_sigterm_finishes_the_reply_in_flight_then_exits(tmp_path):
    async with SlowSlack(bot_token="xoxb-test", users=USERS) as fake:
        process, base = await start_serve(tmp_path, fake)
        await post_signal(base, "We're buying 40 new laptops for the accounting team")
        await asyncio.sleep(0.3)  # the listener is now waiting on the slow chat.postMessage
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 40)
        assert process.returncode == 0, stderr.decode()
        posted = [c for c in fake.calls_to("chat.postMessage") if c.ok]
        assert len(posted) == 1, fake.summary()
        assert "hardware purchase" in json.dumps(posted[0].payload).lower()  # the offer itself
        assert b"in-flight work finished" in stderr


async def test_sigterm_keeps_a_reply_waiting_to_be_retried_for_the_sweeps(tmp_path):
    """Slack refuses the offer past the client's retries; the bot would try again in a while,
    but is stopped first: the offer is kept in the database, for the sweeps to DM."""
    async with FakeSlack(bot_token="xoxb-test", users=USERS) as fake:
        fake.fail("chat.postMessage", status=500, retry_after=None, times=1000)
        process, base = await start_serve(tmp_path, fake)
        await post_signal(base, "We're buying 40 new laptops for the accounting team")
        deadline = time.monotonic() + 30
        while len(fake.calls_to("chat.postMessage")) < 3:  # the client's own three tries
            assert time.monotonic() < deadline, fake.summary()
            await asyncio.sleep(0.05)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 40)
        assert process.returncode == 0, stderr.decode()
        assert time.monotonic() - stopped_at < 15  # not held up by the pause between retries
    with sqlite3.connect(tmp_path / "bot.db") as db:
        kept = db.execute("SELECT status, payload FROM ledger WHERE kind = 'deferred'")
        ((status, payload),) = kept.fetchall()
    assert status == "failed" and "hardware purchase" in payload.lower()
