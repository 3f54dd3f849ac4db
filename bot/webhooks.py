"""Post, from each sweep, the webhook deliveries the core owes (handlers.webhooks), once each.

Each sweep takes the rows owed (queued; failed and due again; or claimed by a sweeper that died,
older than the lease) with one conditional UPDATE (storage.ledger.take), so two sweeps or two
replicas never take the same row; posts each with a timeout; and records the answer: sent;
rejected (a 4xx other than 408 and 429: kept with its status, never retried); or failed (no
answer, 408, 429, 5xx), to go again no sooner than the row's `retry_at`: the receiver's
Retry-After on 429 and 503 when longer, else a pause doubling from a minute up to six hours
with jitter (bot.retry's parser and backoff). After MAX_ATTEMPTS it is given up: status
`abandoned`, an error line in the log, and the metric `liaison_webhook_deliveries{outcome}`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from sqlalchemy import Engine, or_
from sqlmodel import select

from bot.retry import backoff, retry_after_seconds
from handlers import webhooks
from storage import ledger
from storage.db import session_scope
from storage.models import Ledger, LedgerStatus

log = logging.getLogger("liaison.webhooks")
LEASE = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 20  # about three days of pauses (BASE_PAUSE doubling up to MAX_PAUSE)
BASE_PAUSE = 60.0  # seconds before the second attempt, doubling with each failure
MAX_PAUSE = 6 * 3600.0  # the longest pause the bot chooses
MAX_RETRY_AFTER = 24 * 3600.0  # the longest Retry-After honoured (a longer one waits a day)
ASKS_TO_WAIT = (429, 503)  # the answers whose Retry-After is read
BATCH = 100  # rows taken and posted at once


def pause_after(attempts: int, retry_after: float | None) -> float:
    """Seconds before attempt `attempts + 1` of a delivery: the backoff with jitter, or the
    receiver's Retry-After when it asks for longer (at most a day)."""
    pause = backoff(attempts - 1, BASE_PAUSE, MAX_PAUSE)
    if retry_after is not None:
        pause = max(pause, min(retry_after, MAX_RETRY_AFTER))
    return pause


class WebhookSender:
    def __init__(self, engine: Engine, secret: bytes, timeout: float = 10.0) -> None:
        self.engine, self.secret, self.timeout = engine, secret, timeout
        # (event, outcome) of each attempt: sent, failed, rejected, abandoned (the metrics)
        self.on_outcome: Callable[[str, str], None] = lambda event, outcome: None

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
                done.update(await asyncio.to_thread(self._record, results, now))

    def _take(self, now: dt.datetime, after: int) -> tuple[list[dict], int | None]:
        """The next batch of rows owed after the id `after`, taken by this sweeper alone; and
        where the batch after starts (None when none is left)."""
        owed = (
            Ledger.kind == webhooks.KIND,
            Ledger.attempts < MAX_ATTEMPTS,
            or_(
                Ledger.status == webhooks.QUEUED,
                (Ledger.status == LedgerStatus.FAILED)
                & or_(Ledger.retry_at.is_(None), Ledger.retry_at <= now),
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

    async def _post(self, http: aiohttp.ClientSession, data: dict, now: dt.datetime) -> Posted:
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
                asked = None
                if response.status in ASKS_TO_WAIT:
                    asked = retry_after_seconds(response.headers, now.timestamp())
                status = webhooks.outcome(response.status)
                return Posted(data, status, f"HTTP {response.status}", asked)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Posted(data, "failed", type(exc).__name__)

    def _record(self, results: list[Posted], now: dt.datetime) -> dict[str, str]:
        """Each answer on its row, and what became of each delivery (event id -> status)."""
        statuses: dict[str, str] = {}
        with session_scope(self.engine) as session:
            for result in results:
                data, status = result.data, result.status
                key = f"webhook:{data['id']}"
                statuses[data["id"]] = status
                if status == "sent":
                    ledger.mark_sent(session, key, now)
                    self.on_outcome(data["event"], status)
                    continue
                ledger.mark_failed(session, key, result.error, now)
                row = ledger.find(session, key)
                if status == "failed" and row.attempts >= MAX_ATTEMPTS:
                    status = row.status = statuses[data["id"]] = webhooks.ABANDONED
                    log.error(
                        "webhook %s to %s: given up after %d attempts (%s), delivery %s",
                        data["event"],
                        data["url"],
                        row.attempts,
                        result.error,
                        data["id"],
                    )
                elif status == "failed":
                    pause = pause_after(row.attempts, result.retry_after)
                    row.retry_at = now + dt.timedelta(seconds=pause)
                    log.warning(
                        "webhook %s to %s: failed (%s), attempt %d, again in %.0f s",
                        data["event"],
                        data["url"],
                        result.error,
                        row.attempts,
                        pause,
                    )
                else:  # rejected: kept, with its answer, never retried
                    row.status = webhooks.REJECTED
                    log.warning(
                        "webhook %s to %s: rejected (%s)", data["event"], data["url"], result.error
                    )
                session.add(row)
                self.on_outcome(data["event"], status)
        return statuses


@dataclass(frozen=True)
class Posted:
    """One attempt's answer: sent, failed or rejected, why, and the pause it asked for."""

    data: dict
    status: str
    error: str
    retry_after: float | None = None
