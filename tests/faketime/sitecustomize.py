"""Lets the suite run under libfaketime, which checks that no test depends on today's date.

With FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime 0.9.10 makes every `time.sleep` fail with
EINVAL (CPython sleeps with clock_nanosleep on the monotonic clock, absolute deadline), and so
every `subprocess.wait(timeout=...)`. `select` with a timeout is unaffected, so under libfaketime
only, `time.sleep` waits with it instead. The tests put this folder on PYTHONPATH, so the bot
processes they start get the same fix. Outside libfaketime this file does nothing.
"""

import os
import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    select.select([], [], [], seconds)


if "faketime" in os.environ.get("LD_PRELOAD", ""):
    time.sleep = _sleep
