"""Post, from each sweep, the webhook deliveries the core owes (handlers.webhooks), once each.

Each sweep takes the rows owed (queued, failed, or claimed by a sweeper that died, older than
the lease) with one conditional UPDATE (storage.ledger.take), so two sweeps or two replicas
never take the same row; posts each with a timeout; and records the answer: sent, failed (no
answer, 408, 429, 5xx: retried by a later sweep, each attempt counted), or rejected (other 4xx:
kept in the ledger with its status, never retried).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

import aiohttp
from sqlalchemy import Engine, or_
from sqlmodel import select

from handlers import webhooks
from storage import ledger
from storage.db import session_scope
from storage.models import Ledger, LedgerStatus

log = logging.getLogger("liaison.webhooks")
LEASE = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 20
BATCH = 100  # rows taken and posted at once


class WebhookSender:
    def __init__(self, engine: Engine, secret: bytes, timeout: float = 10.0) -> None:
        self.engine, self.secret, self.timeout = engine, secret, timeout

    async def deliver(self, now: dt.datetime) -> dict[str, str]:
        """Post everything owed as of `now`; event id -> what became of it."""
        done: dict[str, str] = {}
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            after: int | None = 0  # rows are taken in id order, a batch at a time, once each
            while True:
                taken, after = await asyncio.to_thread(self._take, now, after)
                if after is None:
                    return done
                if not taken:
                    continue
                results = await asyncio.gather(*(self._post(http, p, now) for p in taken))
                await asyncio.to_thread(self._record, results, now)
                done.update({data["id"]: status for data, status, _ in results})

    def _take(self, now: dt.datetime, after: int) -> tuple[list[dict], int | None]:
        """The next batch of rows owed after the id `after`, taken by this sweeper alone; and
        where the batch after starts (None when none is left)."""
        owed = (
            Ledger.kind == webhooks.KIND,
            Ledger.attempts < MAX_ATTEMPTS,
            or_(
                Ledger.status.in_((webhooks.QUEUED, LedgerStatus.FAILED)),
                (Ledger.status == LedgerStatus.CLAIMED) & (Ledger.updated_at < now - LEASE),
            ),
        )
        with session_scope(self.engine) as session:
            query = select(Ledger.id).where(Ledger.id > after, *owed).order_by(Ledger.id)
            ids = list(session.exec(query.limit(BATCH)).all())
        if not ids:
            return [], None
        with session_scope(self.engine) as session:
            return [json.loads(p) for p in ledger.take(session, ids, owed, now)], ids[-1]

    async def _post(self, http: aiohttp.ClientSession, data: dict, now: dt.datetime):
        raw = data["body"].encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "liaison-bot-webhooks",
            "X-Liaison-Event": data["event"],
            "X-Liaison-Delivery": data["id"],
            "X-Liaison-Timestamp": str(int(now.timestamp())),
            "X-Liaison-Signature": webhooks.signature(self.secret, raw),
        }
        try:
            async with http.post(data["url"], data=raw, headers=headers) as response:
                return data, webhooks.outcome(response.status), f"HTTP {response.status}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            return data, "failed", type(exc).__name__

    def _record(self, results: list, now: dt.datetime) -> None:
        with session_scope(self.engine) as session:
            for data, status, error in results:
                key = f"webhook:{data['id']}"
                if status == "sent":
                    ledger.mark_sent(session, key, now)
                    continue
                ledger.mark_failed(session, key, error, now)
                if status == webhooks.REJECTED:  # kept, with its answer, never retried
                    ledger.find(session, key).status = webhooks.REJECTED
                log.warning("webhook %s to %s: %s (%s)", data["event"], data["url"], status, error)
