"""One sweep: decide what is owed, claim each message in the ledger, send it, record the result.

Exactly once across ticks, restarts and replicas: the ledger row (key = subject, kind, local
day) is written before the send, so a second sweep or a second replica finds it taken. A failed
send stays in the ledger as failed and is retried on a later tick. On PostgreSQL, replicas pick
retries with FOR UPDATE SKIP LOCKED, so each retry is taken by one replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import hashlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import Engine, or_
from sqlmodel import select

from handlers import nudges, records, webhooks
from handlers.messages import Sender, reply_from_dict
from handlers.nudges import Due
from handlers.org import Organisation
from handlers.owed import OWED_KINDS
from handlers.people import person_for
from schedules.outbox import SENDING, DeliveryError, Outbox
from storage import ledger
from storage.db import session_scope
from storage.models import Address, Ledger, LedgerStatus, Person, utcnow

log = logging.getLogger("liaison.sweep")
LEASE = dt.timedelta(minutes=10)  # a claim older than this with no result is retried
MAX_ATTEMPTS = 20
CONCURRENT_SENDS = 8
RECORD_BATCH = 16
RETRY_BATCH = 500
RECOVERED_KINDS = ("offer", "promise-offer")  # claims a channel confirms once it posted them


@dataclass(frozen=True)
class SweepLine:
    """What a sweep did (or, dry, would do) for one message."""

    kind: str
    handle: str
    channel: str | None
    summary: str
    status: str  # sent | failed | would send | unreachable
    retry: bool = False  # sent again after an earlier failure

    def __str__(self) -> str:
        where = f" ({self.channel})" if self.channel else ""
        return f"{self.status}: {self.kind} to @{self.handle}{where}: {self.summary}"


class Sweeper:
    def __init__(
        self,
        engine: Engine,
        org: Organisation,
        outboxes: Mapping[str, Outbox],
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine, self.org, self.outboxes, self.clock = engine, org, dict(outboxes), clock
        self._lock = asyncio.Lock()
        self.on_line: Callable[[SweepLine], None] = lambda line: None  # e.g. metrics
        self.webhooks = None  # a bot.webhooks.WebhookSender, when webhooks are configured

    async def run(
        self, now: dt.datetime | None = None, *, dry_run: bool = False
    ) -> list[SweepLine]:
        """Send everything owed as of `now` (default: the clock), and retry failed sends.

        The database work is batched (one query for what is due, one claim for all of it, one
        write for the results), and the sends run concurrently, a few at a time.
        """
        now = now or self.clock()
        async with self._lock:  # ticks in one process never overlap
            async with _collector_paused():  # deciding and claiming: see there
                due = await asyncio.to_thread(self._due, now)
                claimed = [] if dry_run else await asyncio.to_thread(self._claim, due, now)
            if dry_run:
                reach = await asyncio.to_thread(self._reach, {m.person_id for m in due})
                lines = [self._line(m, reach, "would send") for m in due]
            else:
                lines = await self._deliver(claimed, now)
                # Everything stranded (failed sends, claims whose sender died) goes in this
                # sweep, a batch at a time, until none is left: not one batch per sweep.
                await asyncio.to_thread(self._recover_claims, now)
                tried, after = {m.key for m in due}, 0
                while after is not None:
                    retries, after = await asyncio.to_thread(self._claim_retries, now, tried, after)
                    lines += await self._deliver(retries, now, {m.key for m in retries})
                await asyncio.to_thread(self._retention, now)
                if self.webhooks is not None:
                    await self.webhooks.deliver(now)
        for line in lines:
            log.info("sweep %s", line)
            self.on_line(line)
        return lines

    async def _deliver(
        self, messages: list[Due], now: dt.datetime, retried: set[str] = frozenset()
    ) -> list[SweepLine]:
        if not messages:
            return []
        reach = await asyncio.to_thread(self._reach, {m.person_id for m in messages})
        gate = asyncio.Semaphore(CONCURRENT_SENDS)

        async def send(message: Due) -> tuple[Due, str, str | None]:
            address = reach.get(message.person_id, (None, None))[1]
            if address is None:
                return message, "unreachable", "no reachable address"
            async with gate:
                SENDING.set(message.key)  # this task's own context: parts are recorded under it
                try:
                    await self.outboxes[address.channel].send(address, message.reply)
                except DeliveryError as exc:
                    return message, "failed", str(exc)
                except Exception as exc:  # a bug in one send must not strand the others
                    log.exception("sweep: sending %s failed", message.key)
                    return message, "failed", type(exc).__name__
            return message, "sent", None

        # Results are recorded a batch at a time, so a replica that dies mid-sweep leaves at
        # most one batch sent but unrecorded (sent again after the lease), not the whole sweep.
        results: list[tuple[Due, str, str | None]] = []
        for start in range(0, len(messages), RECORD_BATCH):
            batch = await asyncio.gather(*(send(m) for m in messages[start : start + RECORD_BATCH]))
            await asyncio.to_thread(self._record, batch, now)
            results += batch
        return [
            self._line(message, reach, status, message.key in retried)
            for message, status, _ in results
        ]

    def _retention(self, now: dt.datetime) -> None:
        """Once a day, on one replica: close finished initiatives, delete long-closed records."""
        with session_scope(self.engine) as session:
            key = f"retention:{now.date().isoformat()}"
            if not ledger.claim(session, key, "retention", now=now):
                return
            done = records.apply_retention(session, self.org.retention.closed_days, now)
            ledger.mark_sent(session, key, now)
        log.info("retention %s", done)

    def _due(self, now: dt.datetime) -> list[Due]:
        with session_scope(self.engine) as session:
            return nudges.all_due(session, self.org, now)

    def _claim(self, due: list[Due], now: dt.datetime) -> list[Due]:
        """Claim every due message at once; return the ones this sweeper got."""
        if not due:
            return []
        with session_scope(self.engine) as session:
            won = ledger.claim_many(session, [(m.key, m.kind, m.to_json()) for m in due], now=now)
        return [m for m in due if m.key in won]

    def _claim_retries(
        self, now: dt.datetime, tried: set[str], after: int = 0
    ) -> tuple[list[Due], int | None]:
        """Failed sends from earlier runs, and claims whose sender died (older than `LEASE`),
        taken by exactly one sweeper, on SQLite as on PostgreSQL.

        The candidates are read first; then one conditional UPDATE takes those still retryable
        (`ledger.take`). It is the first statement of its own transaction, so on SQLite it waits
        for the write lock and then sees every claim committed before it; on PostgreSQL a row
        another replica took meanwhile no longer matches. A second sweeper gets nothing twice.
        """
        retryable = (
            Ledger.payload.is_not(None),
            Ledger.kind.in_(OWED_KINDS),
            Ledger.attempts < MAX_ATTEMPTS,
            or_(
                Ledger.status == LedgerStatus.FAILED,
                (Ledger.status == LedgerStatus.CLAIMED) & (Ledger.updated_at < now - LEASE),
            ),
        )
        with session_scope(self.engine) as session:
            query = (
                select(Ledger.id, Ledger.key)
                .where(Ledger.id > after, *retryable)
                .order_by(Ledger.id)
                .limit(RETRY_BATCH)
            )
            found = list(session.exec(query).all())
        more = found[-1][0] if len(found) == RETRY_BATCH else None  # where the next batch starts
        ids = [row_id for row_id, key in found if key not in tried]  # not twice in one sweep
        if not ids:
            return [], more
        with session_scope(self.engine) as session:
            payloads = ledger.take(session, ids, retryable, now)
        return [Due.from_json(payload) for payload in payloads], more

    def _recover_claims(self, now: dt.datetime) -> int:
        """Offers claimed and never confirmed (the process died between the claim and the
        post), older than `LEASE`: each becomes a message owed to its person, which this sweep
        sends as a DM, late rather than lost. Taken by one sweeper (a conditional UPDATE, as
        for retries), so each is recovered once, on whichever replica sweeps first."""
        stale = (
            Ledger.kind.in_(RECOVERED_KINDS),
            Ledger.status == LedgerStatus.CLAIMED,
            Ledger.updated_at < now - LEASE,
            Ledger.payload.like('%"reply":%'),
        )
        recovered = 0
        while True:
            with session_scope(self.engine) as session:
                query = select(Ledger.id).where(*stale).order_by(Ledger.id).limit(RETRY_BATCH)
                ids = list(session.exec(query).all())
            if not ids:
                return recovered
            with session_scope(self.engine) as session:
                taken = ledger.take(session, ids, stale, now, status=LedgerStatus.SENT)
                owed = [m for m in (_owed_for(session, p, now) for p in taken) if m is not None]
                rows = [(m.key, m.kind, m.to_json()) for m in owed]
                ledger.claim_many(session, rows, now=now)
                ledger.mark_many(session, [m.key for m in owed], LedgerStatus.FAILED, now=now)
            recovered += len(owed)
            log.warning("recovered %d offers claimed by a process that died", len(owed))

    def _reach(self, person_ids: set[int]) -> dict[int, tuple[str, Address | None]]:
        """Each person's handle and most recently used address on a channel we can send on."""
        found: dict[int, tuple[str, Address | None]] = {}
        with session_scope(self.engine) as session:
            ids = list(person_ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                handles = select(Person.id, Person.handle).where(Person.id.in_(chunk))
                for person_id, handle in session.execute(handles):
                    found[person_id] = (handle, None)
                addresses = session.exec(
                    select(Address)
                    .where(Address.person_id.in_(chunk), Address.channel.in_(list(self.outboxes)))
                    .order_by(Address.updated_at, Address.id)
                ).all()
                for address in addresses:  # the newest wins
                    found[address.person_id] = (found[address.person_id][0], address)
        return found

    def _line(
        self,
        message: Due,
        reach: dict[int, tuple[str, Address | None]],
        status: str,
        retry: bool = False,
    ) -> SweepLine:
        handle, address = reach.get(message.person_id, (str(message.person_id), None))
        summary = message.reply.text.split("\n")[0][:120]
        if message.reply.items:
            summary += f" [{len(message.reply.items)} items]"
        return SweepLine(
            message.kind, handle, address.channel if address else None, summary, status, retry
        )

    def _record(self, results: list[tuple[Due, str, str | None]], now: dt.datetime) -> None:
        with session_scope(self.engine) as session:
            sent = [m for m, status, _ in results if status == "sent"]
            ledger.mark_many(session, [m.key for m in sent], LedgerStatus.SENT, now=now)
            failed = [(m.key, error or status) for m, status, error in results if status != "sent"]
            ledger.mark_failed_many(session, failed, now)
            nudges.record_sent(session, sent, now)
            webhooks.escalations_sent(session, self.org, sent, now)


_paused = {"sweeps": 0, "was_on": False}
_pause_lock = threading.Lock()


@contextlib.asynccontextmanager
async def _collector_paused() -> AsyncIterator[None]:
    """Python's cycle collector off while a sweep decides what is owed and claims it. That
    builds tens of thousands of objects (rows, digests, buttons, payloads) that all live
    until the sweep ends, so each collection meanwhile walks them and frees nothing (with
    10,000 items due, collections were a quarter of the sweep's CPU time when left on
    throughout). It is CPU-bound work of about a second, not the
    sends, which may wait on the network for minutes. Reference counting frees everything
    as usual; the collector runs again when the last of any overlapping pauses ends, and
    only if it was on before."""
    with _pause_lock:
        if _paused["sweeps"] == 0:
            _paused["was_on"] = gc.isenabled()
            gc.disable()
        _paused["sweeps"] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _paused["sweeps"] -= 1
            if _paused["sweeps"] == 0 and _paused["was_on"]:
                gc.enable()


def _owed_for(session, payload: str, now: dt.datetime) -> Due | None:
    """The DM owed for an offer claim that was never confirmed (see handlers.offers), to the
    person who said it (made known now, if they were not yet)."""
    try:
        data = json.loads(payload)
        reply = reply_from_dict(data["reply"])
        sender = Sender(**data["to"])
    except (ValueError, KeyError, TypeError):
        return None
    person_id = person_for(session, sender, now).id
    key = f"recovered:{hashlib.sha1(payload.encode()).hexdigest()}"
    return Due(key=key, kind="deferred", person_id=person_id, reply=replace(reply, private=False))
