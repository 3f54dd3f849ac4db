"""Graceful shutdown: on SIGTERM stop taking work, let in-flight work finish (bounded), close.

aiohttp stops accepting connections and waits for running requests; this adds the work the
channels run *after* acknowledging (replies, DMs) and the sweep in progress. That work is
named explicitly: whoever starts it registers it in the process's `InFlight` registry, so the
drain waits for exactly that, and long-lived loops (Socket Mode's connection) are never in it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

log = logging.getLogger("liaison.lifecycle")
T = TypeVar("T")


class InFlight:
    """The work a shutdown waits for: tasks added here are held until they end."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Future] = set()

    def add(self, task: asyncio.Future) -> asyncio.Future:
        """Wait for `task` at shutdown (and keep a reference, so it is not collected early)."""
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def start(self, work: Awaitable[Any]) -> asyncio.Future:
        """Run `work` as a task of its own, registered."""
        return self.add(asyncio.ensure_future(work))

    def add_current(self) -> None:
        """Register the running task: for work a library started for us (a Bolt listener run
        after the acknowledgement, an APScheduler job)."""
        task = asyncio.current_task()
        if task is not None:
            self.add(task)

    def tracked(self, function: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        """`function`, registering the task it runs in each time it is called."""

        @functools.wraps(function)  # keeps the signature Bolt reads to inject arguments
        async def run(*args: Any, **kwargs: Any) -> T:
            self.add_current()
            return await function(*args, **kwargs)

        return run

    def pending(self, besides: asyncio.Future | None = None) -> list[asyncio.Future]:
        return [t for t in self.tasks if t is not besides and not t.done()]


def drain_on_shutdown(in_flight: InFlight, timeout: float):
    """An on_shutdown handler waiting up to `timeout` seconds for the registered work."""

    async def drain(web_app: web.Application) -> None:
        started = time.monotonic()
        current = asyncio.current_task()
        while True:
            pending = in_flight.pending(besides=current)
            left = timeout - (time.monotonic() - started)
            if not pending or left <= 0:
                break
            await asyncio.wait(pending, timeout=min(left, 0.5))
        if pending:
            log.warning("shutdown: %d tasks still running after %.0f s", len(pending), timeout)
        else:
            log.info("shutdown: in-flight work finished in %.2f s", time.monotonic() - started)

    return drain
