"""A message is read for a signal once, however many places ask: a channel's fast path, its
listener and the core. Who is speaking still decides, on top of the one reading."""

from __future__ import annotations

import pytest

import handlers.core
from handlers.signals import Speaker
from tests.integration.test_conversation import say

SIGNAL = "We're moving to a new building in ten months"


@pytest.fixture
def readings(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = handlers.core.detect

    def counted(text, *args, **kwargs):
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(handlers.core, "detect", counted)
    return seen


def test_a_signal_is_read_once_on_its_way_through(liaison, readings):
    assert liaison.may_answer(SIGNAL)  # the fast path
    assert liaison.detect(SIGNAL) is not None  # the listener
    [offer] = say(liaison, "pat", SIGNAL, "finance")  # the core
    assert offer.reply.kind == "offer"
    assert readings == [SIGNAL]


def test_chatter_is_read_once_for_signals_and_once_for_promises(liaison, readings):
    text = "I'll send the floor plans by Friday"
    for _ in range(3):
        assert liaison.may_answer(text)
        assert liaison.finds_promise(text)
    assert readings == [text]


def test_the_speaker_still_decides_after_the_reading(liaison, readings):
    assert liaison.detect(SIGNAL) is not None
    assert liaison.detect(SIGNAL, speaker=Speaker(is_it=False, external=True)) is None
    assert liaison.detect(SIGNAL, speaker=Speaker(is_it=False)) is not None
    assert readings == [SIGNAL]
