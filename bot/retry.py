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
import contextvars
import datetime as dt
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from storage.db import database_away

log = logging.getLogger("liaison.retry")
DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
WAIT_LIMIT = 10.0  # seconds one send waits for an open breaker before it fails (passing)
PROBE_SECONDS = 15.0  # a breaker's probe that never reported back frees the next sender
MAX_WAITING = 1000  # the bound in memory: beyond it, fall back (the spool) straight away

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


WAIT: contextvars.ContextVar[float] = contextvars.ContextVar("breaker_wait", default=WAIT_LIMIT)


@contextlib.contextmanager
def waiting_at_most(seconds: float) -> Iterator[None]:
    """Sends made inside wait at most `seconds` for an open breaker: the sweeps pass 0, so a
    sweep during an outage records its messages as failed at once (the next sweep retries
    them) instead of waiting for each one."""
    token = WAIT.set(seconds)
    try:
        yield
    finally:
        WAIT.reset(token)


class BreakerOpen(TimeoutError):
    """A send held back by an open circuit breaker for longer than its caller waits: a
    passing failure, like a timeout."""


class Breaker:
    """One back-off per platform, shared by every send to it: replies, DMs, the sweeps' messages
    and the background retries (a circuit breaker).

    When the platform answers 429 with a Retry-After, or fails `threshold` times in a row (5xx,
    the network), the breaker opens: every sender then waits (`wait`) until it half-opens,
    instead of each one hammering a service that is down. The first send after the pause is the
    probe; a success closes the breaker, another failure opens it for twice as long (at most
    `max_pause`). Opening and closing are logged, once each, and reported to `on_change`
    (the metrics `liaison_breaker_open{platform}` and `liaison_breaker_opened_total`).
    """

    def __init__(
        self,
        platform: str,
        *,
        threshold: int = 3,
        pause: float = 1.0,
        max_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.platform, self.threshold, self.clock = platform, threshold, clock
        self.first_pause, self.max_pause = pause, max_pause
        self.pause = pause
        self.failures = 0
        self.open_until = 0.0
        self.is_open = False
        self.probe_at: float | None = None  # when the probe after a pause went
        self._closed: asyncio.Event | None = None  # set on closing, for the retrier
        self.on_change: Callable[[str, bool], None] = lambda platform, is_open: None

    def closing(self) -> asyncio.Event:
        """An event set when the breaker next closes (made on the running loop)."""
        if self._closed is None:
            self._closed = asyncio.Event()
        return self._closed

    def remaining(self) -> float:
        """Seconds every sender still waits (0 when the breaker lets sends through)."""
        return max(0.0, self.open_until - self.clock()) if self.is_open else 0.0

    async def wait(self, limit: float | None = None) -> None:
        """Wait until a send may go: at once while closed; while open, until the pause is over,
        and then only one sender goes first (the probe) while the others wait for its answer
        (or `PROBE_SECONDS`, should it never come). A sender that has waited `limit` seconds
        gets `BreakerOpen` (a passing failure): a reply is then retried in the background or
        kept for the sweeps, and a sweep records it as failed for its next run, rather than
        hang while the platform is down."""
        deadline = self.clock() + (WAIT.get() if limit is None else limit)
        while self.is_open:
            left, now = self.remaining(), self.clock()
            free = self.probe_at is None or now - self.probe_at > PROBE_SECONDS
            if left <= 0 and (free or now >= deadline):  # one that will not wait probes too
                self.probe_at = now  # this sender is the probe
                return
            pause = with_jitter(left) if left > 0 else 0.05  # the pause, or the probe's answer
            if now + pause > deadline:
                raise BreakerOpen(f"{self.platform} is failing: every send is held back")
            await asyncio.sleep(pause)

    def failed(self, retry_after: float | None = None) -> None:
        """The platform refused a send for a passing reason (429, 5xx, the network)."""
        self.failures += 1
        if retry_after is None and (
            self.remaining() > 0  # a send that went before the pause began: already counted
            or (self.failures < self.threshold and not self.is_open)
        ):
            return
        self.probe_at = None
        pause = self.pause if retry_after is None else max(retry_after, 0.0)
        pause = min(pause, self.max_pause)
        self.open_until = max(self.open_until, self.clock() + pause)
        if retry_after is None:  # each failed probe: the next pause twice as long
            self.pause = min(self.pause * 2, self.max_pause)
        if not self.is_open:
            self.is_open = True
            log.warning(
                "%s: circuit breaker open for %.1f s after %d failures%s",
                self.platform,
                pause,
                self.failures,
                f" (Retry-After {retry_after:g} s)" if retry_after is not None else "",
            )
            self.on_change(self.platform, True)

    def succeeded(self) -> None:
        """A send went through: the platform is back."""
        self.failures, self.pause, self.probe_at = 0, self.first_pause, None
        if self.is_open:
            self.is_open, self.open_until = False, 0.0
            if self._closed is not None:  # wake what waits for the platform, once
                self._closed.set()
                self._closed = None
            log.warning("%s: circuit breaker closed: sends go through again", self.platform)
            self.on_change(self.platform, False)


GiveUp = Callable[[str], Awaitable[None]]
WaitHint = Callable[[BaseException], float | None]


@dataclass(frozen=True)
class Job:
    what: str  # names the work in the logs
    attempt: Attempt
    retry_on: Callable[[BaseException], bool]  # a failure worth trying again
    give_up: GiveUp  # the fallback, given the last reason
    asked: WaitHint | None = None  # the pause a failure asked for (its Retry-After), if any


class Retrier:
    def __init__(self, delays: tuple[float, ...] = DELAYS) -> None:
        self.delays = delays
        self.waiting: set[asyncio.Task] = set()
        self._stopping: asyncio.Event | None = None
        self.spool: Any = None  # a bot.spool.Spool: where events go past the bound
        self.breaker: Breaker | None = None  # the platform's: its closing ends every pause

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
        asked: WaitHint | None = None,
        first_wait: float | None = None,
    ) -> None:
        """Try `attempt` again later while `retry_on` says its failures are passing ones; then
        `give_up(reason)`. `why` is the reason of the failure that brought it here. `asked`
        reads the pause a failure asked for (a Retry-After), which is honoured when longer
        than the retrier's own; `first_wait` is the pause the first failure asked for."""
        job = Job(what, attempt, retry_on, give_up, asked)
        if self.stopping.is_set() or len(self.waiting) >= MAX_WAITING:
            task = asyncio.create_task(give_up(why))
        else:
            task = asyncio.create_task(self._run(job, why, first_wait))
        self.waiting.add(task)
        task.add_done_callback(self.waiting.discard)

    async def _run(self, job: Job, why: str, asked: float | None = None) -> None:
        for number, delay in enumerate(self.delays, start=1):
            if not self.stopping.is_set():  # the service's Retry-After, if longer
                await self._pause(max(delay, asked or 0.0))
            try:
                await job.attempt()
            except Exception as exc:
                if not job.retry_on(exc):
                    log.warning("%s: giving up after a lasting error: %s", job.what, _name(exc))
                    await job.give_up(_name(exc))
                    return
                why = _name(exc)
                asked = job.asked(exc) if job.asked is not None else None
                if self.stopping.is_set():
                    break
                log.info("%s: try %d failed (%s); trying again", job.what, number, why)
            else:
                log.info("%s: done on try %d", job.what, number)
                return
        log.warning("%s: still failing (%s); falling back", job.what, why)
        await job.give_up(why)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less: until a shutdown, or until the platform's breaker closes
        (the platform is back, so what waits for it goes now rather than minutes later)."""
        wakers = [asyncio.ensure_future(self.stopping.wait())]
        if self.breaker is not None and self.breaker.is_open:
            wakers.append(asyncio.ensure_future(self.breaker.closing().wait()))
        try:
            await asyncio.wait(wakers, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waker in wakers:
                waker.cancel()

    async def stop(self, timeout: float = 10.0) -> None:
        """End the pauses: one last try each, then the fallbacks; wait up to `timeout`."""
        self.stopping.set()
        if self.waiting:
            _, pending = await asyncio.wait(set(self.waiting), timeout=timeout)
            if pending:
                log.warning("shutdown: %d retries still running", len(pending))


async def once_the_database_answers(
    retrier: Retrier,
    what: str,
    answer: Attempt,
    record: Callable[[], tuple[str, dict[str, Any]]] | None = None,
) -> None:
    """Run `answer` (the handling of an acknowledged message); if the database is away, keep it
    in `retrier` until the database is back, since the chat service will not send it again.
    Past the retrier's bound or its two minutes, or at shutdown, what `record` builds (the
    channel's name and what it needs to handle the message again, built only then) goes to
    the retrier's spool file (`bot.spool`), to be handled once the database answers; without
    one it is dropped."""
    try:
        await answer()
    except Exception as exc:
        if not database_away(exc):
            raise
        log.warning("%s waits for the database", what)

        async def lost(why: str) -> None:
            if record is not None and retrier.spool is not None:
                retrier.spool.keep(*record(), what)
                return
            log.error("%s dropped: the database stayed away (%s)", what, why)

        retrier.later(what, answer, retry_on=database_away, give_up=lost, why=_name(exc))


def _name(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
