"""`liaison-bot sweep --at` against a fake Slack: the DMs that are due, once, across processes."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from storage.db import make_engine
from tests.conftest import ROOT
from tests.fakes.slack_api import FakeSlack
from tests.overdue import org_file, seed
from tests.pg import empty_tables

AT = "2026-11-24T15:30:00+00:00"  # Tuesday 9:30 in Chicago


async def run_sweep(url: str, config: Path, fake: FakeSlack, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.update(
        DATABASE_URL=url,
        LIAISON_CONFIG=str(config),
        PYTHONPATH=str(ROOT),
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=fake.base_url,
        LOG_LEVEL="WARNING",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sweep",
        "--at",
        AT,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, out.decode()


def sent_dms(fake: FakeSlack) -> list[str]:
    return [c.payload["channel"] for c in fake.calls_to("chat.postMessage") if c.ok]


@pytest.fixture
def fresh_postgres(postgres_url):
    engine = make_engine(postgres_url)
    empty_tables(engine)
    engine.dispose()
    return postgres_url


async def test_sweep_sends_the_due_dms_and_nothing_more_when_run_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    config = org_file(tmp_path, owners=3)
    seed(url, config, owners=3)
    async with FakeSlack(bot_token="xoxb-test") as fake:
        code, dry = await run_sweep(url, config, fake, "--dry-run")
        assert code == 0 and dry.count("would send: digest") == 3
        assert sent_dms(fake) == []
        code, out = await run_sweep(url, config, fake)
        assert code == 0, out
        assert out.count("sent: digest to @owner") == 3
        assert sorted(sent_dms(fake)) == sorted(fake.dm_channel(f"U0OWNER{n}") for n in range(3))
        first = fake.calls_to("chat.postMessage")[0].payload
        assert "Order the scanners" in str(first["blocks"]) and "Not mine" in str(first["blocks"])
        code, again = await run_sweep(url, config, fake)
        assert code == 0 and "Nothing is due." in again
        assert len(sent_dms(fake)) == 3
        assert len(fake.calls_to("conversations.open")) == 3  # DM channels are remembered


@pytest.mark.postgres
async def test_two_processes_sweeping_one_postgres_send_each_dm_once(fresh_postgres, tmp_path):
    owners = 12
    config = org_file(tmp_path, owners)
    seed(fresh_postgres, config, owners)
    async with FakeSlack(bot_token="xoxb-test") as fake:
        results = await asyncio.gather(
            run_sweep(fresh_postgres, config, fake), run_sweep(fresh_postgres, config, fake)
        )
        assert all(code == 0 for code, _ in results), results
        dms = sent_dms(fake)
        assert len(dms) == owners and len(set(dms)) == owners
        total = sum(out.count("sent: digest") for _, out in results)
        assert total == owners


async def test_a_429_storm_loses_nothing_and_doubles_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'storm.db'}"
    owners = 3
    config = org_file(tmp_path, owners)
    seed(url, config, owners)
    async with FakeSlack(bot_token="xoxb-test") as fake:
        # A storm longer than the client's own retries: every send gives up this time.
        fake.fail("chat.postMessage", status=429, retry_after=0, times=1000)
        code, out = await run_sweep(url, config, fake)
        assert code == 1 and out.count("failed: digest") == owners  # given up, kept, not lost
        assert sent_dms(fake) == []
        retried = len(fake.calls_to("chat.postMessage"))
        assert retried > owners  # the client did retry before giving up
        fake.reset()  # the storm passes
        code, out = await run_sweep(url, config, fake)
        assert code == 0, out
        dms = sent_dms(fake)
        assert len(dms) == owners and len(set(dms)) == owners
