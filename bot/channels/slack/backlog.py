"""The work after an acknowledgement (the core's answer, the replies), queued and bounded, with
the acknowledgements first.

Slack waits for an acknowledgement, not for the answer; the answer shares the interpreter and
the event loop with the acknowledgements. So a listener acknowledges, then hands its work here:
a few workers take it in order, each starting a job only at a quiet moment (no request for
`QUIET` seconds) or once the job has waited `LONGEST_DEFERRAL`, so a burst of events is
acknowledged first and answered right after.

At most `MAX_BACKLOG` jobs wait. Past that, a job is not queued: its `overflow` runs instead,
which for a message event keeps it in the spool file (handled again a few seconds later, as when
the database is away: `bot.spool`), and for a command or a button tells the person, privately,
to try again in a minute; both are logged and counted (`liaison_spool_events_total`). Nothing is
dropped silently. Shutdown waits for the jobs queued (they are registered in `InFlight`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.lifecycle import InFlight

log = logging.getLogger("liaison.slack")

MAX_BACKLOG = 1000  # jobs waiting at most; past it, a job's overflow runs instead
WORKERS = 4  # jobs running at once (each waits on Slack's Web API or a database thread)
QUIET = 0.002  # seconds with no new request before a job starts
LONGEST_DEFERRAL = 0.5  # a job waits no longer than this for a quiet moment

BUSY = "I have too much to do right now, and did nothing with that. Please try again in a minute."

Work = Callable[[], Awaitable[None]]
Failed = Callable[[BaseException], Awaitable[None]]


@dataclass
class Job:
    at: float  # when it was queued (the backlog's clock)
    work: Work
    failed: Failed
    done: asyncio.Future
    # The submitter's context (the Slack workspace a request came through, among others): the
    # job runs in it, not in the context of whichever worker takes it.
    context: contextvars.Context


class Backlog:
    """Jobs after acknowledgements: at most `limit` waiting, `workers` running."""

    def __init__(
        self,
        in_flight: InFlight | None = None,
        *,
        limit: int = MAX_BACKLOG,
        workers: int = WORKERS,
        quiet: float = QUIET,
        longest_deferral: float = LONGEST_DEFERRAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.in_flight = in_flight or InFlight()
        self.limit, self.workers = limit, workers
        self.quiet, self.longest_deferral, self.clock = quiet, longest_deferral, clock
        self.jobs: deque[Job] = deque()
        self.running: set[asyncio.Task] = set()
        self.last_request = float("-inf")

    def arrived(self) -> None:
        """A request came in: jobs not yet started wait for a quiet moment."""
        self.last_request = self.clock()

    def full(self) -> bool:
        return len(self.jobs) >= self.limit

    def submit(self, work: Work, *, overflow: Work, failed: Failed) -> bool:
        """Queue `work`; False when the backlog is full and `overflow` ran instead. `failed`
        is told of an exception `work` raised."""
        if self.full():
            self.in_flight.start(_guarded(overflow, failed))
            return False
        done = asyncio.get_running_loop().create_future()
        self.in_flight.add(done)
        self.jobs.append(Job(self.clock(), work, failed, done, contextvars.copy_context()))
        if len(self.running) < self.workers:
            self.running.add(asyncio.create_task(self._worker()))
        return True

    async def _worker(self) -> None:
        try:
            while self.jobs:
                await self._quiet_moment(self.jobs[0].at)
                if not self.jobs:
                    break
                job = self.jobs.popleft()
                try:
                    loop = asyncio.get_running_loop()
                    await loop.create_task(_guarded(job.work, job.failed), context=job.context)
                finally:
                    job.done.set_result(None)
        finally:
            # At once, not in a done callback: a job queued from now on finds a free worker.
            self.running.discard(asyncio.current_task())

    async def _quiet_moment(self, queued_at: float) -> None:
        """Wait until no request came for `quiet` seconds, or the job waited long enough."""
        while True:
            now = self.clock()
            calm = self.last_request + self.quiet - now
            overdue = queued_at + self.longest_deferral - now
            if calm <= 0 or overdue <= 0:
                await asyncio.sleep(0)  # still let the acknowledgements waiting go first
                return
            await asyncio.sleep(min(calm, overdue))


def shed(retrier: Any, what: str) -> None:
    """A command or a button not done because too much work waited: logged and counted
    (`liaison_spool_events_total{outcome="shed"}`); the person is told to try again."""
    log.warning("slack: %s shed: too much work waits after its acknowledgement", what)
    spool = getattr(retrier, "spool", None)
    if spool is not None:
        spool.on_change("slack", "shed")


async def _guarded(work: Work, failed: Failed) -> None:
    try:
        await work()
    except Exception as exc:
        try:
            await failed(exc)
        except Exception:  # telling about a failure failed too: the log is what is left
            log.exception("slack: work after an acknowledgement failed, and its report too")
