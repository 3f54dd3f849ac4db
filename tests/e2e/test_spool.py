"""Events acknowledged while the database is away: bounded in memory, then kept in the spool
file (bot/spool.py) and handled once the database answers, across a restart too (issue 13's
row "database away for more than about 2 minutes: 17 of 87 signals dropped"). The database is
made away for real, as in test_durable_acts."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from bot import retry
from tests.e2e.test_durable_acts import DatabaseAway
from tests.e2e.test_slack import TOKEN, USERS, Server, serve
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr

SIGNALS = [
    "We're moving to a new building in ten months",
    "We're buying a new CRM next quarter",
    "We're hiring 12 new nurses who start in March",
    "We need to buy 30 new laptops for the new hires",
    "Finance is switching to a new payroll system in January",
]


def offers(fake: FakeSlack) -> Counter[str]:
    """Offers posted, per thread (the message they answer)."""
    return Counter(c.payload.get("thread_ts") for c in fake.calls_to("chat.postMessage") if c.ok)


async def until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def send_signals(srv: Server) -> set[str]:
    events = [sr.message_event(text) for text in SIGNALS]
    for event in events:
        assert (await srv.event(event))[0] == 200
    return {e["ts"] for e in events}


async def test_events_outlasting_the_retries_are_spooled_and_handled_once_it_is_back(
    tmp_path: Path,
):
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as srv,
    ):
        srv.app.slack.retrier.delays = (0.05, 0.05)  # "two minutes", made short
        spool = srv.app.spool
        with DatabaseAway(srv):
            sent = await send_signals(srv)
            await until(lambda: spool.waiting() == len(SIGNALS))
        assert offers(fake) == Counter()  # nothing said yet, nothing lost
        assert await spool.drain() == len(SIGNALS)
        await until(lambda: set(offers(fake)) == sent)
        assert await spool.drain() == 0 and spool.waiting() == 0
        await asyncio.sleep(0.3)
        assert max(offers(fake).values()) == 1
        async with srv.http.get(f"{srv.base}/metrics") as response:
            metrics = await response.text()
        assert 'liaison_spool_events_total{channel="slack",outcome="spooled"} 5.0' in metrics
        assert 'liaison_spool_events_total{channel="slack",outcome="replayed"} 5.0' in metrics


async def test_past_the_bound_in_memory_events_go_to_the_spool_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(retry, "MAX_WAITING", 2)
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as srv,
    ):
        srv.app.slack.retrier.delays = (0.5,) * 20
        spool = srv.app.spool
        with DatabaseAway(srv):
            sent = await send_signals(srv)
            await until(lambda: spool.waiting() == len(SIGNALS) - 2)
            assert len(srv.app.slack.retrier.waiting) == 2  # the bound held
        await until(lambda: len(offers(fake)) == 2, timeout=5)  # the two in memory, once back
        assert await spool.drain() == len(SIGNALS) - 2
        await until(lambda: set(offers(fake)) == sent)
        await asyncio.sleep(0.3)
        assert max(offers(fake).values()) == 1


async def test_events_waiting_at_shutdown_are_handled_after_the_restart(tmp_path: Path):
    async with FakeSlack(bot_token=TOKEN, users=USERS) as fake:
        async with serve(fake, tmp_path / "liaison.db") as srv:
            srv.app.slack.retrier.delays = (30.0,)  # still waiting when the server stops
            away = DatabaseAway(srv)
            away.__enter__()  # and still away then: the last try at shutdown fails too
            sent = await send_signals(srv)
            await until(lambda: len(srv.app.slack.retrier.waiting) == len(SIGNALS))
            assert srv.app.spool.waiting() == 0
            spool_path = srv.app.spool.path
            # Leaving `serve` shuts the server down: the waits end, the events are kept.
        away.__exit__()
        assert spool_path is not None and spool_path.exists()
        assert offers(fake) == Counter()
        async with serve(fake, tmp_path / "liaison.db"):  # the next start drains the spool
            await until(lambda: set(offers(fake)) == sent)
            await asyncio.sleep(0.3)
            assert max(offers(fake).values()) == 1
