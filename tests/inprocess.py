"""The bot's real server in this process, for tests that drive many examples quickly: the
server on an event loop of its own, a fake chat service on another (so that the server's
graceful shutdown waits for its own work only), both driven over real HTTP from the test thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.bootstrap import App
from bot.server import build_web_app
from tests.conftest import ROOT

OUR_CODE = tuple(str(ROOT / part) for part in ("bot", "handlers", "storage", "schedules"))
OUR_LOGGERS = ("liaison",)


class LogWatch(logging.Handler):
    """Every ERROR record, from any logger, while the module runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def problems(self) -> list[str]:
        """ERROR records with a traceback through our code, or logged by our loggers."""
        found = []
        for record in list(self.records):
            frames = traceback.extract_tb(record.exc_info[2]) if record.exc_info else []
            ours = [f for f in frames if f.filename.startswith(OUR_CODE)]
            if ours or record.name.startswith(OUR_LOGGERS):
                where = ours[-1] if ours else None
                place = (
                    f" at {Path(where.filename).relative_to(ROOT)}:{where.lineno}" if where else ""
                )
                kind = f" {record.exc_info[0].__name__}" if record.exc_info else ""
                found.append(f"{record.name}: {record.getMessage()[:200]}{kind}{place}")
        return found


class LoopThread:
    """An event loop running in a daemon thread, for synchronous Hypothesis examples to drive."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()

    def snapshot(self) -> set[asyncio.Task]:
        """The tasks running now (the server's own), which `settle` does not wait for."""

        async def tasks() -> set[asyncio.Task]:
            return set(asyncio.all_tasks()) - {asyncio.current_task()}

        return self.run(tasks())

    async def settle(self, idle: set[asyncio.Task], timeout: float = 15.0) -> None:
        """Wait until the work started after an acknowledgement (listeners run after answering)
        has finished: every task on this loop but `idle`, open keep-alive connections and the
        caller."""
        deadline = time.monotonic() + timeout
        me = asyncio.current_task()
        while True:
            busy = {
                t
                for t in asyncio.all_tasks()
                if t is not me and t not in idle and not _keep_alive(t)
            }
            if not busy:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"still busy after {timeout}s: {busy}")
            await asyncio.wait(busy, timeout=deadline - time.monotonic())


def _keep_alive(task: asyncio.Task) -> bool:
    return task.get_coro().__qualname__ == "RequestHandler.start"


class InProcessServer:
    """Start, stop and probe the server; a subclass brings the fake service and the app."""

    def __init__(self, db: Path, name: str) -> None:
        self.db = db
        self.logs = LogWatch()
        self.bot = LoopThread(f"{name}-bot")
        self.outside = LoopThread(f"{name}-fake")

    def start_fake(self) -> None:
        """Start the fake service on `self.outside`."""
        raise NotImplementedError

    async def stop_fake(self) -> None:
        raise NotImplementedError

    def build_app(self) -> App:
        """The bot, built as production builds it, pointed at the fake (on the bot's loop)."""
        raise NotImplementedError

    def start(self):
        logging.getLogger().addHandler(self.logs)
        self.start_fake()
        self.bot.run(self._serve())
        self.idle = self.bot.snapshot()
        return self

    async def _serve(self) -> None:
        self.app = self.build_app()
        self.runner = web.AppRunner(build_web_app(self.app, scheduler=False), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.http = aiohttp.ClientSession()

    def stop(self) -> None:
        async def _stop() -> None:
            await self.http.close()
            await self.runner.cleanup()

        try:
            self.bot.run(_stop())
            self.outside.run(self.stop_fake())
        finally:
            self.app.engine.dispose()
            logging.getLogger().removeHandler(self.logs)
            self.bot.close()
            self.outside.close()

    def health(self) -> int:
        async def _get() -> int:
            async with self.http.get(f"{self.base}/healthz") as response:
                return response.status

        return self.bot.run(_get())
