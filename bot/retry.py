"""Work that failed on a passing outage, tried again in the background with growing pauses.

A chat platform does not redeliver an event the bot has acknowledged, and a reply it would not
take is not retried by anyone else. So when the database or the chat service is briefly away,
the channel hands the work here: it is tried again after 1, 2, 4... seconds (about two minutes
in all), and what still fails is given up to a fallback (a reply kept for the sweeps to send as
a DM; an event logged as lost). On shutdown the pauses end at once: each piece of work gets one
last try and then its fallback, so a deploy does not strand it in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from storage.db import database_away

log = logging.getLogger("liaison.retry")
DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
MAX_WAITING = 1000  # beyond this the outage is not passing: fall back straight away

Attempt = Callable[[], Awaitable[None]]


def retry_after_seconds(
    headers: Mapping[str, Any] | None, now: float | None = None
) -> float | None:
    """Seconds to wait from a Retry-After header: whole or fractional seconds, or an HTTP date.

    The one reading of the header for every channel and the background retrier. None when the
    header is missing or unreadable. (slack_sdk's own handler reads only whole seconds.)
    """
    value = next((v for k, v in (headers or {}).items() if str(k).lower() == "retry-after"), None)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def backoff(attempt: int, base: float, cap: float) -> float:
    """The pause before try `attempt + 1` (0-based) when the service did not say: doubling from
    `base`, at most `cap`, plus up to half of `base` of jitter so retries do not march in step."""
    return min(base * 2**attempt, cap) + random.uniform(0, base / 2)


def with_jitter(wait: float, share: float = 0.1) -> float:
    """An asked-for pause, plus at most `share` of it, so many clients do not return at once."""
    return wait + random.uniform(0, share * wait)


@dataclass(frozen=True)
class RetryPolicy:
    """A small bounded retry for a call the platform throttles: how long to wait, or give up."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 10.0  # a longer Retry-After is not waited out: the call fails instead

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if attempt + 1 >= self.attempts:
            return None
        if retry_after is not None:
            if retry_after > self.max_delay:
                return None
            return retry_after + random.uniform(0, self.base_delay / 2)
        return backoff(attempt, self.base_delay, self.max_delay)


GiveUp = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    what: str  # names the work in the logs
    attempt: Attempt
    retry_on: Callable[[BaseException], bool]  # a failure worth trying again
    give_up: GiveUp  # the fallback, given the last reason


class Retrier:
    def __init__(self, delays: tuple[float, ...] = DELAYS) -> None:
        self.delays = delays
        self.waiting: set[asyncio.Task] = set()
        self._stopping: asyncio.Event | None = None

    @property
    def stopping(self) -> asyncio.Event:
        if self._stopping is None:  # made on the running loop, not at import or construction
            self._stopping = asyncio.Event()
        return self._stopping

    def later(
        self,
        what: str,
        attempt: Attempt,
        *,
        retry_on: Callable[[BaseException], bool],
        give_up: GiveUp,
        why: str,
    ) -> None:
        """Try `attempt` again later while `retry_on` says its failures are passing ones; then
        `give_up(reason)`. `why` is the reason of the failure that brought it here."""
        job = Job(what, attempt, retry_on, give_up)
        if self.stopping.is_set() or len(self.waiting) >= MAX_WAITING:
            task = asyncio.create_task(give_up(why))
        else:
            task = asyncio.create_task(self._run(job, why))
        self.waiting.add(task)
        task.add_done_callback(self.waiting.discard)

    async def _run(self, job: Job, why: str) -> None:
        for number, delay in enumerate(self.delays, start=1):
            if not self.stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
            try:
                await job.attempt()
            except Exception as exc:
                if not job.retry_on(exc):
                    log.warning("%s: giving up after a lasting error: %s", job.what, _name(exc))
                    await job.give_up(_name(exc))
                    return
                why = _name(exc)
                if self.stopping.is_set():
                    break
                log.info("%s: try %d failed (%s); trying again", job.what, number, why)
            else:
                log.info("%s: done on try %d", job.what, number)
                return
        log.warning("%s: still failing (%s); falling back", job.what, why)
        await job.give_up(why)

    async def stop(self, timeout: float = 10.0) -> None:
        """End the pauses: one last try each, then the fallbacks; wait up to `timeout`."""
        self.stopping.set()
        if self.waiting:
            _, pending = await asyncio.wait(set(self.waiting), timeout=timeout)
            if pending:
                log.warning("shutdown: %d retries still running", len(pending))


async def once_the_database_answers(retrier: Retrier, what: str, answer: Attempt) -> None:
    """Run `answer` (the handling of an acknowledged message); if the database is away, keep it
    in `retrier` until the database is back, since the chat service will not send it again."""
    try:
        await answer()
    except Exception as exc:
        if not database_away(exc):
            raise
        log.warning("%s waits for the database", what)

        async def lost(why: str) -> None:
            log.error("%s dropped: the database stayed away (%s)", what, why)

        retrier.later(what, answer, retry_on=database_away, give_up=lost, why=_name(exc))


def _name(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
