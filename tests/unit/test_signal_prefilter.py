"""The prefilter in front of the model: it turns most chat away cheaply, and never a message
the model would fire on; and the model runs once per message however often it is asked.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from handlers import signals
from handlers.signals import default_cues, detect, prefilter
from handlers.signals import model as signal_model

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "handlers" / "signals" / "data"


def texts(path: Path) -> list[str]:
    lines = path.read_text("utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def shipped_texts() -> list[str]:
    """The shipped corpus, the blind batch, the held-out cases and the bench's chatter."""
    sys.path.insert(0, str(REPO / "bench"))
    from chatter import CHATTER, fill

    rng = random.Random(5)
    chatter = [fill(template, rng) for template in CHATTER for _ in range(3)]
    found = texts(DATA / "corpus.jsonl") + texts(DATA / "blind.jsonl")
    return found + texts(Path(__file__).with_name("signal_cases.jsonl")) + chatter


@pytest.fixture(autouse=True)
def _shipped_model():
    signals.configure(None)
    signals._recent.clear()  # each test counts the model's own runs
    yield
    signals.configure(None)


@pytest.mark.parametrize("cues", [None, default_cues()], ids=["shipped", "a catalogue's"])
def test_the_bound_is_never_below_the_models_raw_score(cues) -> None:
    model = signal_model.shipped()
    first_look = prefilter.for_model(model, cues)
    checked = 0
    sample = shipped_texts()[::3]  # a third of them, every kind of message; all in a release check
    for _ in range(3):  # a message with many words it has not met yet teaches it a few
        for text in sample:
            bound = first_look.upper_bound(text)
            if bound is None:
                continue  # a long message, or one with too many new words: the model reads it
            assert np.all(model.raw_text(text, cues) <= bound + prefilter.MARGIN), text
            checked += 1
    assert checked > 1500


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])
def test_nothing_the_model_fires_on_is_turned_away_and_most_chat_is(threshold: float) -> None:
    model = signal_model.shipped()
    cues = default_cues()
    first_look = prefilter.for_model(model, cues)
    sample = shipped_texts()[::3]
    for text in sample * 3:  # what it learns from words it has not met yet
        first_look.may_fire(text, threshold, cues)
    quiet = turned_away = 0
    for text in sample:
        fires = max(model.probabilities(text, cues).values()) >= threshold
        if not first_look.may_fire(text, threshold, cues):
            assert not fires, text
            turned_away += 1
        quiet += not fires
    assert turned_away >= 0.9 * quiet > 0


def test_detect_gives_the_same_verdicts_with_the_prefilter(monkeypatch) -> None:
    sample = shipped_texts()[::7]
    with_it = [detect(text) for text in sample]
    monkeypatch.setattr(prefilter.Prefilter, "may_fire", lambda self, *args: True)
    assert [detect(text) for text in sample] == with_it
    assert any(with_it) and not all(with_it)


def test_the_model_runs_once_for_a_message_asked_about_again(monkeypatch) -> None:
    runs: list[str] = []
    real = signal_model.Model.probabilities

    def counted(self, text, cues=None):
        runs.append(text)
        return real(self, text, cues)

    monkeypatch.setattr(signal_model.Model, "probabilities", counted)
    text = "We're buying 40 new laptops for the Denver office next month"
    cues = default_cues()
    first = detect(text, cues)
    assert first is not None
    assert detect(text, cues) == first  # the listener, after the fast path
    assert detect(text, cues, speaker=signals.Speaker()) == first  # the core, naming the speaker
    assert runs == [text]


def test_chat_the_model_would_not_fire_on_never_reaches_it(monkeypatch) -> None:
    chat = ["lol yes, that was a good one", "Running 5 minutes late to the standup"]
    for _ in range(4):  # words met for the first time are learned a few per message
        for text in chat:
            signals._recent.clear()
            assert detect(text) is None
    runs: list[str] = []
    real = signal_model.Model.probabilities

    def counted(self, text, cues=None):
        runs.append(text)
        return real(self, text, cues)

    monkeypatch.setattr(signal_model.Model, "probabilities", counted)
    for text in chat:
        signals._recent.clear()
        assert detect(text) is None
    assert runs == []


def test_numbers_in_chat_do_not_make_it_new(monkeypatch) -> None:
    for _ in range(4):
        signals._recent.clear()
        assert detect("Running 5 minutes late to the standup (3)") is None
    runs: list[str] = []
    real = signal_model.Model.probabilities

    def counted(self, text, cues=None):
        runs.append(text)
        return real(self, text, cues)

    monkeypatch.setattr(signal_model.Model, "probabilities", counted)
    for number in range(10, 400, 37):
        assert detect(f"Running {number} minutes late to the standup ({number * 7})") is None
    assert runs == []
