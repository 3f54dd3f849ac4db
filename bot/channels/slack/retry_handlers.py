"""slack_sdk's retry handlers, on bot/retry's one Retry-After parser and backoff, and the Web
API client that every Slack send goes through behind the platform's one circuit breaker."""

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
from slack_sdk.web.async_client import AsyncWebClient

from bot.retry import Breaker, backoff, retry_after_seconds, with_jitter


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


class BreakerWatch(AsyncRetryHandler):
    """Tells the breaker how each answer went (every answer passes the retry handlers); never
    retries by itself, so the handlers after it decide that."""

    def __init__(self, breaker: Breaker) -> None:
        super().__init__(max_retry_count=1_000_000)
        self.breaker = breaker

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is not None:
            self.breaker.failed()  # the network
        elif response is not None and response.status_code == 429:
            self.breaker.failed(_asked_wait(response))
        elif response is not None and response.status_code >= 500:
            self.breaker.failed()
        elif response is not None and request.url.rsplit("/", 1)[-1] in SENDS:
            self.breaker.succeeded()  # a send went through (a lookup answering proves less)
        return False


# The calls whose success shows that sending works again: Slack can fail posts while it still
# answers lookups (users.info, chat.getPermalink), which must not close the breaker.
SENDS = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "conversations.open",
        "views.open",
        "views.update",
        "views.publish",
    }
)


class SharedBackoffClient(AsyncWebClient):
    """The Web API client: each call, and each retry of it, waits while the breaker is open,
    so a Slack outage is met by one paced probe rather than every sender's retries."""

    def __init__(self, *args, breaker: Breaker, **kwargs) -> None:
        kwargs["retry_handlers"] = retry_handlers(breaker)
        super().__init__(*args, **kwargs)
        self.breaker = breaker

    async def api_call(self, api_method: str, **kwargs):  # type: ignore[override]
        if api_method in SENDS:  # a lookup (users.info) is not held back: fallbacks need it
            await self.breaker.wait()
        return await super().api_call(api_method, **kwargs)


class _Shared:
    """Mixed into a retry handler: after its own pause, wait for the shared breaker too."""

    breaker: Breaker | None = None

    async def prepare_for_next_attempt_async(self, **kwargs) -> None:
        await super().prepare_for_next_attempt_async(**kwargs)  # type: ignore[misc]
        request = kwargs.get("request")
        sends = request is not None and request.url.rsplit("/", 1)[-1] in SENDS
        if self.breaker is not None and sends:
            await self.breaker.wait()


class SharedRateLimitRetry(_Shared, RateLimitRetry):
    pass


class SharedServerErrorRetry(_Shared, ServerErrorRetry):
    pass


class SharedConnectionErrorRetry(_Shared, AsyncConnectionErrorRetryHandler):
    pass


def retry_handlers(breaker: Breaker | None = None) -> list[AsyncRetryHandler]:
    handlers: list = [
        SharedRateLimitRetry(max_retry_count=3),
        SharedServerErrorRetry(max_retry_count=2, interval_calculator=Backoff()),
        SharedConnectionErrorRetry(max_retry_count=2, interval_calculator=Backoff()),
    ]
    for handler in handlers:
        handler.breaker = breaker
    return [BreakerWatch(breaker), *handlers] if breaker is not None else handlers


def asked_wait_of(exc: BaseException) -> float | None:
    """The pause a failed Web API call asked for (its Retry-After), if it said."""
    response = getattr(exc, "response", None)
    return retry_after_seconds(getattr(response, "headers", None))
