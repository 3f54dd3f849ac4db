"""Claims the sweeps take: exclusive on SQLite as on PostgreSQL, and everything stranded by a
crashed sweep goes in the next one (the issue's rows "two sweeps retrying failed sends at once
on SQLite" and "a sweep SIGKILLed mid-way")."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import Counter

from sqlmodel import select

from handlers.messages import Reply
from handlers.owed import OwedMessage
from handlers.people import by_handle
from schedules.sweep import LEASE, RETRY_BATCH, Sweeper
from storage import ledger
from storage.db import make_engine, session_scope
from storage.models import Ledger, LedgerStatus


class CountingOutbox:
    """Counts what reaches each person, by the text of the message; slow enough to overlap."""

    channel = "shell"

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    async def send(self, address, reply) -> None:
        await asyncio.sleep(0.001)
        self.sent[reply.text] += 1


def owe(bot, count: int, status: str, at: dt.datetime) -> list[str]:
    """`count` messages owed to the config's people, left `status` at `at`; their texts."""
    with session_scope(bot.engine) as session:
        people = [by_handle(session, h).id for h in ("pat", "lee", "sam")]
        owed = [
            OwedMessage(f"deferred:test:{n}", "deferred", people[n % 3], Reply(f"note {n}"))
            for n in range(count)
        ]
        ledger.claim_many(session, [(m.key, m.kind, m.to_json()) for m in owed], now=at)
        if status == LedgerStatus.FAILED:
            ledger.mark_many(session, [m.key for m in owed], LedgerStatus.FAILED, now=at)
    return [m.reply.text for m in owed]


def test_two_sweeps_retrying_at_once_send_each_failed_message_exactly_once(liaison, clock):
    texts = owe(liaison, 300, LedgerStatus.FAILED, clock())
    url = liaison.engine.url.render_as_string(hide_password=False)
    outboxes = [CountingOutbox(), CountingOutbox()]
    start = threading.Barrier(2)
    results: list[list] = [[], []]

    def sweep(n: int) -> None:
        engine = make_engine(url)  # a process of its own would have its own connections
        sweeper = Sweeper(engine, liaison.org, {"shell": outboxes[n]}, clock)
        start.wait()
        results[n] = asyncio.run(sweeper.run(clock() + dt.timedelta(minutes=1)))
        engine.dispose()

    threads = [threading.Thread(target=sweep, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent = outboxes[0].sent + outboxes[1].sent
    assert set(sent) == set(texts), f"lost: {len(set(texts) - set(sent))}"
    assert max(sent.values()) == 1, f"doubled: {sum(1 for n in sent.values() if n > 1)}"
    assert len(results[0]) + len(results[1]) == 300


def test_everything_a_crashed_sweep_stranded_goes_in_the_next_sweep(liaison, clock):
    stranded = 2 * RETRY_BATCH + 200  # more than one batch: all of them, not 500 a sweep
    texts = owe(liaison, stranded, LedgerStatus.CLAIMED, clock())
    outbox = CountingOutbox()
    sweeper = Sweeper(liaison.engine, liaison.org, {"shell": outbox}, clock)

    assert asyncio.run(sweeper.run(clock() + LEASE / 2)) == []  # still leased to the dead sweep
    lines = asyncio.run(sweeper.run(clock() + LEASE + dt.timedelta(minutes=1)))
    assert len(lines) == stranded and {line.status for line in lines} == {"sent"}
    assert set(outbox.sent) == set(texts) and max(outbox.sent.values()) == 1
    assert asyncio.run(sweeper.run(clock() + 2 * LEASE)) == []
    with session_scope(liaison.engine) as session:
        left = session.exec(select(Ledger).where(Ledger.status != LedgerStatus.SENT)).all()
    assert [row.key for row in left if row.kind == "deferred"] == []


def test_a_message_that_fails_again_is_not_retried_twice_in_one_sweep(liaison, clock):
    owe(liaison, 3, LedgerStatus.FAILED, clock())

    class Refusing(CountingOutbox):
        async def send(self, address, reply) -> None:
            from schedules.outbox import DeliveryError

            self.sent[reply.text] += 1
            raise DeliveryError("the chat service said 500")

    outbox = Refusing()
    sweeper = Sweeper(liaison.engine, liaison.org, {"shell": outbox}, clock)
    lines = asyncio.run(sweeper.run(clock() + dt.timedelta(minutes=1)))
    assert [line.status for line in lines] == ["failed"] * 3
    assert sorted(outbox.sent.values()) == [1, 1, 1]
