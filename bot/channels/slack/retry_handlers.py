"""slack_sdk's retry handlers, on bot/retry's one Retry-After parser and backoff."""

from __future__ import annotations

import asyncio

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.retry import backoff, retry_after_seconds, with_jitter


def _asked_wait(response: HttpResponse | None) -> float:
    """The pause a 429 asks for, in seconds (one second when it does not say)."""
    wait = retry_after_seconds(response.headers) if response is not None else None
    return 1.0 if wait is None else wait


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Retry a 429 after its Retry-After, up to `max_retry_count` times.

    slack_sdk's AsyncRateLimitErrorRetryHandler retries only once by default, parses only
    integer seconds, and adds up to a whole second of jitter. This one reads fractions and
    HTTP dates too, adds at most 10% of jitter, and gives up (the call raises `ratelimited`)
    when Slack asks for a pause longer than `max_wait`, so a caller such as the sweeper can
    keep the message and retry it on a later tick instead of holding a task for minutes.
    """

    def __init__(self, max_retry_count: int = 3, max_wait: float = 30.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is not None or response is None or response.status_code != 429:
            return False
        return _asked_wait(response) <= self.max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait = _asked_wait(response)
        await asyncio.sleep(with_jitter(wait))
        state.increment_current_attempt()


class ServerErrorRetry(AsyncServerErrorRetryHandler):
    """Retry any 5xx answer (slack_sdk's handler retries only 500 and 503), with backoff."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return error is None and response is not None and 500 <= response.status_code < 600


class Backoff(RetryIntervalCalculator):
    """slack_sdk's pauses between retries, on the one backoff policy of bot/retry."""

    def __init__(self, base: float = 0.5, cap: float = 10.0) -> None:
        self.base, self.cap = base, cap

    def calculate_sleep_duration(self, current_attempt: int) -> float:
        return backoff(current_attempt, self.base, self.cap)


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        RateLimitRetry(max_retry_count=3),
        ServerErrorRetry(max_retry_count=2, interval_calculator=Backoff()),
        AsyncConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=Backoff()),
    ]
