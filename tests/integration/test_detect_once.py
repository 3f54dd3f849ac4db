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


def test_a_signal_is_still_read_once_after_a_full_backlog_of_other_messages(liaison, readings):
    from bot.channels.slack.backlog import MAX_BACKLOG

    assert liaison.may_answer(SIGNAL)  # the fast path, on arrival
    others = [f"Lunch at the usual place today? ({n})" for n in range(MAX_BACKLOG + 50)]
    for text in others:  # a burst read on arrival while the signal waits in the backlog
        assert not liaison.may_answer(text)
    assert liaison.detect(SIGNAL) is not None  # the listener, once the burst is acknowledged
    [offer] = say(liaison, "pat", SIGNAL, "finance")  # the core
    assert offer.reply.kind == "offer"
    assert readings == [SIGNAL, *others]


def test_the_least_recently_used_reading_is_forgotten_one_at_a_time(liaison, readings):
    from handlers.signals import RECENT

    first, second = SIGNAL, "We're hiring 12 nurses in March"
    liaison.detect(first)
    liaison.detect(second)
    for n in range(RECENT - 2):
        liaison.detect(f"Lunch at the usual place today? ({n})")
    liaison.detect(first)  # used again: now the most recent
    liaison.detect("One more message")  # one over the size: only the oldest goes
    liaison.detect(first)
    liaison.detect(second)
    assert readings.count(first) == 1
    assert readings.count(second) == 2


def test_a_long_paste_is_remembered_by_its_digest_and_read_once(liaison, readings):
    from handlers.signals import LONG_KEY, text_key

    minutes = ["The minutes of the last meeting follow."] * (LONG_KEY // 40 + 1)
    paste = " ".join([SIGNAL + ".", *minutes])
    assert len(paste) > LONG_KEY
    assert isinstance(text_key(paste), bytes)  # not kept whole
    assert text_key(paste) != text_key(paste + " And one more line.")
    first = liaison.detect(paste)
    assert liaison.detect(paste) == first
    assert liaison.may_answer(paste) == (first is not None)
    assert readings == [paste]
