"""The second opinion, wired into chat: a channel message the local model is unsure of is let
through the fast path, read by the configured language model while the core answers (in its
worker thread, never on the event loop), and offered as the kind it names; a model that does
not answer in time leaves the local verdict, within the budget."""

from __future__ import annotations

import asyncio
import time

import pytest

from handlers import signals
from tests.e2e.test_second_opinion import FIRES, QUIET, SUMMARIES, around, ask
from tests.fakes.openai_api import FakeOpenAI
from tests.integration.test_conversation import choice, press, say

YES = {"signal": True, "kinds": ["software_purchase"], "title": "A booking tool", "date": None}


@pytest.fixture(autouse=True)
def _no_second_opinion():
    signals.configure(None)
    signals.configure_second_opinion(None)
    yield
    signals.configure_second_opinion(None)


async def test_a_borderline_channel_message_is_offered_as_the_second_opinion_reads_it(liaison):
    assert not liaison.may_answer(QUIET)  # without a second opinion: everyday chat
    async with FakeOpenAI(answer=YES) as fake:
        ask(fake, around(QUIET))
        assert liaison.may_answer(QUIET)  # the fast path lets it through now
        [offer] = await asyncio.to_thread(say, liaison, "pat", QUIET, "finance")
    assert offer.reply.kind == "offer"
    assert "software purchase" in offer.reply.text.lower()
    assert len(fake.requests) == 1
    # Its title is the one the intake suggests (the person keeps or changes it).
    asked = await asyncio.to_thread(press, liaison, "pat", choice([offer], "Plan it"), "finance")
    shown = " ".join(o.reply.text + " ".join(c.label for c in o.reply.choices) for o in asked)
    assert "A booking tool" in shown


async def test_a_second_opinion_that_says_no_keeps_the_channel_quiet(liaison):
    async with FakeOpenAI(answer={"signal": False, "kinds": []}) as fake:
        ask(fake, around(FIRES))
        assert await asyncio.to_thread(say, liaison, "pat", FIRES, "finance") == []
    assert len(fake.requests) == 1


async def test_a_late_second_opinion_leaves_the_local_verdict_within_the_budget(liaison):
    async with FakeOpenAI(answer={"signal": False, "kinds": []}, delay=3.0) as fake:
        ask(fake, around(FIRES), timeout=0.3)
        start = time.perf_counter()
        [offer] = await asyncio.to_thread(say, liaison, "pat", FIRES, "finance")
        elapsed = time.perf_counter() - start
    assert offer.reply.kind == "offer"  # the local model's "yes" stands
    assert 0.25 <= elapsed < 2.5  # it was asked and waited for: the timeout, not the 3 s


async def test_on_the_event_loop_it_is_never_waited_for():
    """`detect_consulting` called where an event loop runs answers locally and asks nothing:
    only the core's worker thread may wait for the language model."""
    async with FakeOpenAI(answer={"signal": False, "kinds": []}) as fake:
        ask(fake, around(FIRES))
        signal = signals.detect_consulting(FIRES)
    assert signal is not None and signal == signals.detect(FIRES)  # the local "yes"
    assert fake.requests == []
    assert SUMMARIES  # what the model is told the kinds are
