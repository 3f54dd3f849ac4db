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
