"""One sweep: decide what is owed, claim each message in the ledger, send it, record the result.

Exactly once across ticks, restarts and replicas: the ledger row (key = subject, kind, local
day) is written before the send, so a second sweep or a second replica finds it taken. A failed
send stays in the ledger as failed and is retried on a later tick. On PostgreSQL, replicas pick
retries with FOR UPDATE SKIP LOCKED, so each retry is taken by one replica.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, or_
from sqlmodel import select

from handlers import nudges
from handlers.nudges import Due
from handlers.org import Organisation
from schedules.outbox import DeliveryError, Outbox
from storage import ledger
from storage.db import session_scope
from storage.models import Address, Ledger, LedgerStatus, Person, utcnow

log = logging.getLogger("liaison.sweep")
LEASE = dt.timedelta(minutes=10)  # a claim older than this with no result is retried
MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class SweepLine:
    """What a sweep did (or, dry, would do) for one message."""

    kind: str
    handle: str
    channel: str | None
    summary: str
    status: str  # sent | failed | would send | unreachable

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

    async def run(
        self, now: dt.datetime | None = None, *, dry_run: bool = False
    ) -> list[SweepLine]:
        """Send everything owed as of `now` (default: the clock), and retry failed sends."""
        now = now or self.clock()
        async with self._lock:  # ticks in one process never overlap
            due = await asyncio.to_thread(self._due, now)
            lines = []
            for message in due:
                if dry_run:
                    lines.append(await asyncio.to_thread(self._describe, message, "would send"))
                    continue
                if await asyncio.to_thread(self._claim, message, now):
                    lines.append(await self._send(message, now))
            if not dry_run:
                tried = {message.key for message in due}
                for message in await asyncio.to_thread(self._claim_retries, now, tried):
                    lines.append(await self._send(message, now))
        for line in lines:
            log.info("sweep %s", line)
        return lines

    def _due(self, now: dt.datetime) -> list[Due]:
        with session_scope(self.engine) as session:
            return nudges.all_due(session, self.org, now)

    def _claim(self, message: Due, now: dt.datetime) -> bool:
        with session_scope(self.engine) as session:
            return nudges.claim(session, message, now)

    def _claim_retries(self, now: dt.datetime, tried: set[str]) -> list[Due]:
        """Failed sends from earlier ticks, and claims whose sender died, taken by this replica
        only (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
        with session_scope(self.engine) as session:
            query = (
                select(Ledger)
                .where(
                    Ledger.payload.is_not(None),
                    Ledger.key.not_in(tried) if tried else True,
                    Ledger.attempts < MAX_ATTEMPTS,
                    or_(
                        Ledger.status == LedgerStatus.FAILED,
                        (Ledger.status == LedgerStatus.CLAIMED) & (Ledger.updated_at < now - LEASE),
                    ),
                )
                .order_by(Ledger.id)
                .limit(200)
                .with_for_update(skip_locked=True)
            )
            rows = session.exec(query).all()
            for row in rows:
                row.status, row.updated_at = LedgerStatus.CLAIMED, now
                session.add(row)
            return [Due.from_json(row.payload) for row in rows]

    def _reach(self, person_id: int) -> tuple[Person | None, Address | None]:
        """The person's most recently used address on a channel we can send through."""
        with session_scope(self.engine) as session:
            person = session.get(Person, person_id)
            addresses = session.exec(
                select(Address)
                .where(Address.person_id == person_id)
                .order_by(Address.updated_at.desc(), Address.id.desc())
            ).all()
            usable = [a for a in addresses if a.channel in self.outboxes]
            return person, (usable[0] if usable else None)

    def _describe(self, message: Due, status: str, channel: str | None = None) -> SweepLine:
        person, address = self._reach(message.person_id)
        summary = message.reply.text.split("\n")[0][:120]
        if message.reply.items:
            summary += f" [{len(message.reply.items)} items]"
        return SweepLine(
            message.kind,
            person.handle if person else str(message.person_id),
            channel or (address.channel if address else None),
            summary,
            status,
        )

    async def _send(self, message: Due, now: dt.datetime) -> SweepLine:
        _, address = await asyncio.to_thread(self._reach, message.person_id)
        if address is None:
            await asyncio.to_thread(self._fail, message.key, "no reachable address", now)
            return self._describe(message, "unreachable")
        try:
            await self.outboxes[address.channel].send(address, message.reply)
        except DeliveryError as exc:
            await asyncio.to_thread(self._fail, message.key, str(exc), now)
            return self._describe(message, "failed", address.channel)
        await asyncio.to_thread(self._sent, message, now)
        return self._describe(message, "sent", address.channel)

    def _fail(self, key: str, error: str, now: dt.datetime) -> None:
        with session_scope(self.engine) as session:
            ledger.mark_failed(session, key, error, now)

    def _sent(self, message: Due, now: dt.datetime) -> None:
        with session_scope(self.engine) as session:
            ledger.mark_sent(session, message.key, now)
            nudges.record_sent(session, message, now)
