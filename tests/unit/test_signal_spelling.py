"""Typo repair before the model reads a message: a typo of a cue word reads as the cue word,
a real word or a name never changes, and the word list never learns from the test split."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.signals import detect, spelling, train
from handlers.signals.spelling import Speller


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("we're hirng 12 people", "we're hiring 12 people"),
        ("buyng new laptpos", "buying new laptops"),  # dropped letter, swapped pair
        ("Mvoing to the new ofice", "Moving to the new office"),  # case kept
        ("livestraem the gala", "livestream the gala"),
        ("databse migraiton", "database migration"),
        ("we're soft-launching the portal", "we're soft launching the portal"),
    ],
)
def test_a_typo_of_a_cue_word_reads_as_the_cue_word(typed: str, meant: str) -> None:
    assert spelling.repaired(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "singing in the choir",  # one swap from "signing", but a word
        "burying the lede",  # one letter from "buying"
        "the hiding place",
        "We're switching to NetSuite",  # a name
        "LAPTPOS",  # capitals: a name or a shout, left alone
        "we need buy-in from finance",  # a lexicon entry as written
        "company off-site in June",  # a cue as written
        "hre",  # too short to tell
    ],
)
def test_real_words_names_and_cues_as_written_never_change(text: str) -> None:
    assert spelling.repaired(text) == text


def test_repair_helps_detection_of_misspelled_plans() -> None:
    assert detect("we're hirng 12 new nurses for the ICU in March") is not None
    assert detect("Finance is buyng 40 laptpos for the new starters") is not None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("abdeghilmnoprstuvy -'"), max_size=60))
def test_repair_is_idempotent_and_only_changes_words(text: str) -> None:
    once = spelling.repaired(text)
    assert spelling.repaired(once) == once
    assert len(once.split()) >= len(text.split())


def test_an_unknown_word_near_two_cue_words_is_left_alone() -> None:
    speller = Speller.build({"hiring", "firing"}, known=set())
    assert speller.correction("hirin") == "hiring"
    assert speller.correction("xiring") is None  # hiring or firing: no guess


def test_the_word_list_never_reads_the_frozen_test_split(tmp_path: Path) -> None:
    rows = [
        {"text": "We are buying zqxwvkeys today", "kinds": [], "split": "test", "form": "plain"},
        {"text": "We are buying plimbozoids today", "kinds": [], "split": "train", "form": "plain"},
        {"text": "We are buyng glorptasks today", "kinds": [], "split": "train", "form": "typo"},
    ]
    out = tmp_path / "words.txt"
    try:
        train.write_words(rows, out)
    finally:
        spelling.forget()
    words = set(out.read_text("utf-8").split())
    assert "plimbozoids" in words and "buying" in words
    assert "zqxwvkeys" not in words and "glorptasks" not in words and "buyng" not in words
