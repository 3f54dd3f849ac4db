"""Shutdown waits for the work registered as in flight, and for nothing else."""

from __future__ import annotations

import asyncio

from bot.lifecycle import InFlight, drain_on_shutdown


async def test_the_drain_waits_for_registered_work_and_not_for_long_lived_loops() -> None:
    in_flight = InFlight()
    finished: list[str] = []

    @in_flight.tracked
    async def listener(reply: str) -> None:
        """A listener run after the acknowledgement, as Bolt starts it: in a task of its own."""
        await asyncio.sleep(0.2)
        finished.append(reply)

    async def connection() -> None:  # a long-lived loop, never registered
        await asyncio.Event().wait()

    reply = asyncio.ensure_future(listener("offer"))
    kept = in_flight.start(asyncio.sleep(0.1, result="sent"))
    loop = asyncio.ensure_future(connection())
    await asyncio.sleep(0)  # the listener has started and registered its own task

    assert set(in_flight.pending()) == {reply, kept}
    await asyncio.wait_for(drain_on_shutdown(in_flight, timeout=5)(None), 2)

    assert finished == ["offer"] and kept.result() == "sent"
    assert not loop.done() and in_flight.tasks == set()  # done tasks leave the registry
    loop.cancel()


def test_tracking_keeps_the_signature_bolt_injects_arguments_by() -> None:
    import inspect

    async def on_button(ack, body, action) -> None: ...

    wrapped = InFlight().tracked(on_button)
    assert inspect.getfullargspec(inspect.unwrap(wrapped)).args == ["ack", "body", "action"]
