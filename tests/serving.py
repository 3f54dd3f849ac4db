"""`liaison-bot serve` in a process of its own, for the end-to-end tests and the benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli() -> list[str]:
    """The installed console script, or the module when the package is not installed."""
    script = Path(sys.executable).with_name("liaison-bot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


async def wait_until_healthy(
    base: str,
    process: asyncio.subprocess.Process,
    tail: Callable[[], str] = lambda: "",
    timeout: float = 60.0,
) -> None:
    """Poll GET /healthz until it says 200; fail (with `tail()`, e.g. the server's log) if the
    process ends first or the time runs out."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as health:
                    if health.status == 200:
                        return
            assert process.returncode is None, f"serve exited early:\n{tail()}"
            assert time.monotonic() < deadline, f"serve did not start:\n{tail()}"
            await asyncio.sleep(0.05)
