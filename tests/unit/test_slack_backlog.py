"""The work after Slack acknowledgements: bounded, in order, acknowledgements first, and never
dropped silently (bot/channels/slack/backlog.py)."""

from __future__ import annotations

import asyncio
import contextvars

from bot.channels.slack.backlog import Backlog
from bot.lifecycle import InFlight


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0.002)


def recorder(done: list, name: str):
    async def work() -> None:
        done.append(name)

    return work


def submit(backlog: Backlog, done: list, name: str) -> bool:
    """Queue a job that records `name` (or, past the bound, "overflow <name>")."""
    return backlog.submit(
        recorder(done, name), overflow=recorder(done, f"overflow {name}"), failed=never_fails
    )


async def never_fails(exc: BaseException) -> None:
    raise AssertionError(f"no job should fail here: {exc!r}")


async def test_jobs_wait_while_requests_arrive_and_run_in_order_once_it_is_quiet() -> None:
    clock = Clock()
    backlog = Backlog(workers=1, quiet=0.005, longest_deferral=60.0, clock=clock)
    done: list[str] = []
    backlog.arrived()
    for name in ("a", "b", "c"):
        assert backlog.submit(
            recorder(done, name), overflow=recorder(done, "!"), failed=never_fails
        )
    await settle()
    assert done == []  # requests came a moment ago (the clock has not moved): acks first
    clock.now += 0.01  # quiet for longer than `quiet`
    await settle()
    assert done == ["a", "b", "c"]


async def test_a_job_waits_no_longer_than_the_longest_deferral() -> None:
    clock = Clock()
    backlog = Backlog(workers=2, quiet=0.005, longest_deferral=1.0, clock=clock)
    done: list[str] = []
    assert submit(backlog, done, "a")
    clock.now += 0.5
    backlog.arrived()  # requests keep coming...
    await settle()
    assert done == []
    clock.now += 0.6  # ...but the job has waited its longest
    backlog.arrived()
    await settle()
    assert done == ["a"]


async def test_past_the_bound_the_overflow_runs_instead_and_the_queue_stays_bounded() -> None:
    clock = Clock()
    in_flight = InFlight()
    backlog = Backlog(in_flight, limit=2, workers=1, quiet=0.005, longest_deferral=60, clock=clock)
    done: list[str] = []
    backlog.arrived()
    submitted = [
        backlog.submit(
            recorder(done, n), overflow=recorder(done, f"overflow {n}"), failed=never_fails
        )
        for n in ("a", "b", "c", "d")
    ]
    assert submitted == [True, True, False, False]
    await settle()
    assert done == ["overflow c", "overflow d"] and len(backlog.jobs) == 2
    assert len(in_flight.pending()) == 2  # a shutdown waits for the two queued jobs
    clock.now += 1
    await settle()
    assert done[2:] == ["a", "b"] and in_flight.pending() == []


async def test_a_failing_job_is_reported_and_the_next_one_still_runs() -> None:
    backlog = Backlog(workers=1, quiet=0.0)
    done: list[str] = []
    failures: list[BaseException] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    async def failed(exc: BaseException) -> None:
        failures.append(exc)

    backlog.submit(broken, overflow=recorder(done, "!"), failed=failed)
    submit(backlog, done, "next")
    await settle()
    assert [str(f) for f in failures] == ["boom"] and done == ["next"]


async def test_a_job_queued_as_the_last_worker_ends_still_finds_a_worker() -> None:
    """The job is queued in the moment between a worker's last job and its end (the next
    callback of the loop): it must not wait for the next request to be started."""
    backlog = Backlog(workers=1, quiet=0.0)
    done: list[str] = []

    async def first() -> None:
        done.append("first")
        asyncio.get_running_loop().call_soon(submit, backlog, done, "second")

    backlog.submit(first, overflow=recorder(done, "!"), failed=never_fails)
    await settle()
    assert done == ["first", "second"] and not backlog.jobs


async def test_overdue_jobs_still_let_the_loop_answer_between_them() -> None:
    """Jobs that finish without waiting on anything (reading a message) run one at a time: a
    request arriving meanwhile is acknowledged after the job running, not after the whole
    queue (it was: a queue of overdue readings held the loop for 150 ms)."""
    clock = Clock()
    backlog = Backlog(workers=1, quiet=60.0, longest_deferral=0.0, clock=clock)
    done: list[str] = []
    for n in range(50):
        submit(backlog, done, f"job {n}")

    async def acknowledgement() -> None:
        done.append("ack")

    ack = asyncio.ensure_future(acknowledgement())
    await settle()
    assert ack.done() and len(done) == 51
    assert done.index("ack") <= 2, done[:5]  # after at most the job that was running


async def test_each_job_runs_in_the_context_it_was_submitted_from() -> None:
    """A worker takes jobs from many requests: each job acts for its own request (its Slack
    workspace is a context variable), not for the request that started the worker."""
    workspace: contextvars.ContextVar[str] = contextvars.ContextVar("workspace", default="none")
    clock = Clock()
    backlog = Backlog(workers=1, quiet=0.0, longest_deferral=0.0, clock=clock)
    seen: list[tuple[str, str]] = []

    def job(name: str):
        async def work() -> None:
            await asyncio.sleep(0)
            seen.append((name, workspace.get()))

        return work

    async def request(name: str, team: str) -> None:
        workspace.set(team)  # what Bolt's authorisation does for a request
        assert backlog.submit(job(name), overflow=job(f"overflow {name}"), failed=never_fails)

    for name, team in (("a", "T1"), ("b", "T2"), ("c", "T1"), ("d", "T3")):
        await asyncio.create_task(request(name, team))
    await settle()
    assert seen == [("a", "T1"), ("b", "T2"), ("c", "T1"), ("d", "T3")]
