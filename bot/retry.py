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
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from storage.db import database_away

log = logging.getLogger("liaison.retry")
DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
MAX_WAITING = 1000  # beyond this the outage is not passing: fall back straight away

Attempt = Callable[[], Awaitable[None]]
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
