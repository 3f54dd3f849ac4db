"""Background retries: passing failures are tried again, lasting ones fall back, and a stop
ends every pause at once."""

from __future__ import annotations

import asyncio
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import retry
from bot.retry import Retrier


class Passing(Exception):
    pass


class Lasting(Exception):
    pass


class Work:
    """Fails with the given outcomes in turn (None: succeeds), and records what happened."""

    def __init__(self, outcomes: list[type[Exception] | None]) -> None:
        self.outcomes = list(outcomes)
        self.tries = 0
        self.fell_back: list[str] = []

    async def attempt(self) -> None:
        self.tries += 1
        outcome = self.outcomes.pop(0) if self.outcomes else Passing
        if outcome is not None:
            raise outcome(f"try {self.tries}")

    async def give_up(self, why: str) -> None:
        self.fell_back.append(why)


def passing(exc: BaseException) -> bool:
    return isinstance(exc, Passing)


async def run(retrier: Retrier, work: Work) -> None:
    retrier.later("work", work.attempt, retry_on=passing, give_up=work.give_up, why="first")
    await asyncio.wait_for(asyncio.gather(*retrier.waiting), 5)


async def test_a_passing_failure_is_tried_again_until_it_works() -> None:
    work = Work([Passing, Passing, None])
    await run(Retrier(delays=(0.01,) * 5), work)
    assert work.tries == 3 and work.fell_back == []


async def test_a_lasting_failure_falls_back_at_once() -> None:
    work = Work([Lasting])
    await run(Retrier(delays=(0.01,) * 5), work)
    assert work.tries == 1 and work.fell_back == ["Lasting: try 1"]


async def test_when_the_tries_run_out_it_falls_back_with_the_last_reason() -> None:
    work = Work([])
    await run(Retrier(delays=(0.01, 0.01, 0.01)), work)
    assert work.tries == 3 and work.fell_back == ["Passing: try 3"]


async def test_a_stop_ends_the_pauses_with_one_last_try_then_the_fallback() -> None:
    retrier = Retrier(delays=(60.0, 60.0))
    works = [Work([]) for _ in range(5)] + [Work([None])]
    for work in works:
        retrier.later("work", work.attempt, retry_on=passing, give_up=work.give_up, why="first")
    await asyncio.sleep(0.01)
    started = time.monotonic()
    await retrier.stop(timeout=5)
    assert time.monotonic() - started < 1
    assert [w.tries for w in works] == [1] * 6
    assert [len(w.fell_back) for w in works] == [1] * 5 + [0]
    late = Work([None])  # work handed over after the stop falls back without waiting
    retrier.later("late", late.attempt, retry_on=passing, give_up=late.give_up, why="stopping")
    await asyncio.wait_for(asyncio.gather(*retrier.waiting), 1)
    assert late.tries == 0 and late.fell_back == ["stopping"]


async def test_past_the_limit_of_waiting_work_new_work_falls_back_at_once(monkeypatch) -> None:
    monkeypatch.setattr(retry, "MAX_WAITING", 2)
    retrier = Retrier(delays=(60.0,))
    works = [Work([None]) for _ in range(3)]
    for work in works:
        retrier.later("work", work.attempt, retry_on=passing, give_up=work.give_up, why="full")
    await asyncio.sleep(0.01)
    assert [w.fell_back for w in works] == [[], [], ["full"]]
    await retrier.stop()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([Passing, Lasting, None]), max_size=6), st.integers(1, 5))
def test_each_piece_of_work_ends_exactly_once_done_or_fallen_back(outcomes, tries) -> None:
    work = Work(outcomes)
    asyncio.run(run(Retrier(delays=(0.0,) * tries), work))
    padded = outcomes + [Passing] * tries  # past the list, the work keeps failing in passing
    stop_at = next(i for i, o in enumerate(padded) if o is not Passing or i == tries - 1)
    assert work.tries == stop_at + 1
    if padded[stop_at] is None:
        assert work.fell_back == []
    else:
        assert work.fell_back == [f"{padded[stop_at].__name__}: try {work.tries}"]


# ---------------------------------------------------------------------- the shared breaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_repeated_failures_and_closes_on_a_success(caplog):
    clock, changes = Clock(), []
    breaker = retry.Breaker("slack", threshold=3, pause=1.0, clock=clock)
    breaker.on_change = lambda platform, is_open: changes.append((platform, is_open))
    breaker.failed()
    breaker.failed()
    assert not breaker.is_open and breaker.remaining() == 0
    breaker.failed()
    assert breaker.is_open and breaker.remaining() == 1.0
    breaker.failed()  # a send that went before the pause: nothing more
    assert breaker.remaining() == 1.0
    clock.now += 1.0
    breaker.failed()  # the probe after the pause failed too: twice as long
    assert breaker.remaining() == 2.0
    clock.now += 2.0
    breaker.succeeded()
    assert not breaker.is_open and changes == [("slack", True), ("slack", False)]
    assert [r.getMessage()[:28] for r in caplog.records] == [
        "slack: circuit breaker open ",
        "slack: circuit breaker close",
    ]


def test_a_429_opens_the_breaker_for_the_pause_it_asked_for_at_once():
    clock = Clock()
    breaker = retry.Breaker("teams", clock=clock)
    breaker.failed(retry_after=7.5)
    assert breaker.is_open and breaker.remaining() == 7.5


async def test_while_open_every_sender_waits_and_one_probe_goes_first():
    breaker = retry.Breaker("slack", threshold=1, pause=0.2)
    breaker.failed()
    went: list[float] = []
    start = time.monotonic()

    async def sender() -> None:
        await breaker.wait()
        went.append(time.monotonic() - start)

    tasks = [asyncio.ensure_future(sender()) for _ in range(5)]
    deadline = time.monotonic() + 5  # a loaded machine may be late; never early
    while not went and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # time for any other sender to (wrongly) go too
    # The probe, after the pause (less a timer tick: the pause began before `start`); the
    # rest wait.
    assert len(went) == 1 and went[0] >= 0.19
    breaker.succeeded()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert len(went) == 5


async def test_the_background_retrier_honours_the_pause_a_failure_asked_for():
    retrier = Retrier(delays=(0.01, 0.01, 0.01))
    work = Work([Passing, None])
    start = time.monotonic()
    retrier.later(
        "work",
        work.attempt,
        retry_on=passing,
        give_up=work.give_up,
        why="429",
        asked=lambda exc: 0.3,
        first_wait=0.3,
    )
    await asyncio.wait_for(asyncio.gather(*retrier.waiting), 5)
    assert work.tries == 2 and not work.fell_back
    assert time.monotonic() - start >= 0.6  # 0.3 s before each try, not 0.01 s


async def test_when_the_breaker_closes_the_waiting_retries_go_at_once():
    breaker = retry.Breaker("slack", threshold=1, pause=0.05)
    retrier = Retrier(delays=(0.01, 30.0))
    retrier.breaker = breaker
    work = Work([Passing, None])
    breaker.failed()  # the platform is failing
    retrier.later("work", work.attempt, retry_on=passing, give_up=work.give_up, why="500")
    await asyncio.sleep(0.3)
    assert work.tries == 1  # the next try would be 30 s away...
    breaker.succeeded()  # ...but the platform is back
    await asyncio.wait_for(asyncio.gather(*retrier.waiting), 2)
    assert work.tries == 2 and not work.fell_back
