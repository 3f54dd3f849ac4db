"""Promises in chat: what is offered for tracking, and what never is."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.promises import MAX_WHAT, find_promise, may_hold_promise

TODAY = dt.date(2026, 11, 23)  # a Monday


def day(month: int, number: int) -> dt.date:
    return dt.date(2026, month, number)


@pytest.mark.parametrize(
    ("text", "what", "due"),
    [
        (
            "I'll send the floor plans to facilities by Friday",
            "send the floor plans to facilities",
            day(11, 27),
        ),
        ("We'll have the badge list ready by Dec 4", "have the badge list ready", day(12, 4)),
        ("ok! I'm going to call the vendor tomorrow", "call the vendor", day(11, 24)),
        (
            "Thanks! I'll send the signed contract over by end of day tomorrow",
            "send the signed contract over",
            day(11, 24),
        ),
        (
            "I can set up the accounts for the new hires by the 30th",
            "set up the accounts for the new hires",
            day(11, 30),
        ),
        (
            "We'll finalize the seating chart before the move on Dec 12",
            "finalize the seating chart before the move",
            day(12, 12),
        ),
        (
            "Sure. I will get the quote from Dell by next Wednesday.",
            "get the quote from Dell",
            None,
        ),
        (
            "let me check with legal and get back to you by Thursday",
            "check with legal and get back to you",
            day(11, 26),
        ),
        ("<@U0SAM> I’ll order the cables before Friday", "order the cables", day(11, 27)),
    ],
)
def test_a_promise_with_a_date_is_found(text: str, what: str, due: dt.date | None) -> None:
    found = find_promise(text, TODAY)
    assert found is not None, text
    assert found.what == what
    assert found.due == due or (due is None and found.due > TODAY)
    assert may_hold_promise(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'll send it later",  # no date
        "I'll do it by Friday",  # nothing to track
        "I'll be out on Friday",  # news, not a promise
        "I'll be there by 5",
        "I'll try to finish it by Friday",  # hedged
        "Maybe I'll look at it by Friday",
        "I won't have it by Friday",  # negated
        "I can't get to it before Monday",
        "If they approve it, I'll order the laptops by Monday",  # conditional
        "I'll order the laptops by Monday if the budget clears",
        "Can you send the floor plans by Friday?",  # someone else's, and a question
        "Will you send the floor plans by Friday?",
        "Sam will send the floor plans by Friday",  # someone else's promise
        "I'll let you know by Friday",
        "I sent the floor plans on Friday",  # done already
        "I'll put it on the agenda",
        "",
        # being somewhere or with someone is not work to deliver
        "I'll see you on Friday",
        "We'll see you at the party on Saturday",
        "I'll call you tomorrow",
        "I'll have lunch with Sam on Friday",
        "I'll join the call on Monday",
        "I'll work from home on Friday",
        "I'll swing by your desk tomorrow",
        "I'll bring snacks on Friday",
        "I'll send out the invite tomorrow",  # everyday things
        "I'll order the pizza for the offsite by Thursday",
    ],
)
def test_no_offer_for_what_is_not_a_promise(text: str) -> None:
    assert find_promise(text, TODAY) is None


def test_a_long_promise_is_cut_at_a_word() -> None:
    what = " ".join(["update"] + ["the inventory spreadsheet"] * 10)
    found = find_promise(f"I'll {what} by Friday", TODAY)
    assert found is not None and len(found.what) <= MAX_WHAT and found.what.endswith("…")


def test_most_chat_is_turned_away_by_the_cheap_look() -> None:
    for text in ("lunch at noon?", "Thanks everyone!", "the printer is jammed again"):
        assert not may_hold_promise(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_sound_answer(text: str) -> None:
    found = find_promise(text, TODAY)
    if found is not None:
        assert found.what.strip() and len(found.what) <= MAX_WHAT
        assert found.due >= TODAY
        assert may_hold_promise(text)


def test_a_promise_whose_date_words_disagree_is_not_offered_with_a_guessed_date() -> None:
    # On Monday 23 November 2026 the 26th is a Thursday: "Friday the 26th" is two dates.
    assert find_promise("I'll send the floor plans to facilities by Friday the 26th", TODAY) is None
    agreed = find_promise("I'll send the floor plans to facilities by Thursday the 26th", TODAY)
    assert agreed is not None and agreed.due == dt.date(2026, 11, 26)
    loose = find_promise("I'll send the floor plans to facilities by Friday afternoon", TODAY)
    assert loose is not None and loose.due == dt.date(2026, 11, 27)
