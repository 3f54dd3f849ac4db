"""APScheduler wiring: one in-process AsyncIOScheduler ticking the sweeps.

No job store is shared between processes (APScheduler does not support it): every replica
ticks, and the ledger in the database makes each message go out once.
"""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from schedules.sweep import Sweeper

SWEEP_JOB_ID = "liaison.sweep"


async def sweep_job(sweeper: Sweeper) -> None:
    """The scheduled job: one sweep as of now (nudges, escalations, cycles, retries)."""
    await sweeper.run()


def build_scheduler(sweeper: Sweeper, *, every_minutes: int) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        sweep_job,
        IntervalTrigger(minutes=every_minutes, jitter=30),
        args=[sweeper],
        id=SWEEP_JOB_ID,
        name="nudges, escalations and input cycles",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=every_minutes * 60,
    )
    return scheduler
