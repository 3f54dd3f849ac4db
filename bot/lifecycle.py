"""Graceful shutdown: on SIGTERM stop taking work, let in-flight work finish (bounded), close.

aiohttp stops accepting connections and waits for running requests; this adds the work Slack
and Teams listeners run *after* acknowledging (replies, DMs), the sweep in progress, and the
sends it makes. Long-lived loops (Socket Mode's connection) are not waited for: they close in
the cleanup that follows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from aiohttp import web

log = logging.getLogger("liaison.lifecycle")
ROOT = Path(__file__).resolve().parent.parent
# Work worth waiting for: our own coroutines, Bolt's listener runs, botbuilder turns and
# APScheduler jobs. Anything else on the loop (Socket Mode's connection, a host's own tasks)
# is left to the cleanup that follows.
OURS = tuple(str(ROOT / package) for package in ("bot", "handlers", "schedules", "storage"))
LIBRARIES = ("slack_bolt/listener", "slack_bolt/app", "botbuilder", "apscheduler")
LONG_LIVED = ("slack_sdk/socket_mode", "slack_bolt/adapter/socket_mode")


def _in_flight_work(task: asyncio.Task) -> bool:
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    filename = (getattr(code, "co_filename", "") or "").replace("\\", "/")
    if any(part in filename for part in LONG_LIVED):
        return False
    return filename.startswith(OURS) or any(part in filename for part in LIBRARIES)


def drain_on_shutdown(timeout: float):
    """An on_shutdown handler waiting up to `timeout` seconds for in-flight work."""

    async def drain(web_app: web.Application) -> None:
        started = time.monotonic()
        current = asyncio.current_task()
        while True:
            pending = [
                t
                for t in asyncio.all_tasks()
                if t is not current and not t.done() and _in_flight_work(t)
            ]
            left = timeout - (time.monotonic() - started)
            if not pending or left <= 0:
                break
            await asyncio.wait(pending, timeout=min(left, 0.5))
        if pending:
            log.warning("shutdown: %d tasks still running after %.0f s", len(pending), timeout)
        else:
            log.info("shutdown: in-flight work finished in %.2f s", time.monotonic() - started)

    return drain
