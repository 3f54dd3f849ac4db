import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.dates import (
    DateParseError,
    add_business_days,
    business_days_between,
    describe_date,
    parse_due,
)

TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in ten months", date(2027, 9, 23)),
        ("in 10 months", date(2027, 9, 23)),
        ("in two weeks", date(2026, 12, 7)),
        ("in 3 weeks' time", date(2026, 12, 14)),
        ("a week from today", date(2026, 11, 30)),
        ("in a fortnight", date(2026, 12, 7)),
        ("in twenty-one days", date(2026, 12, 14)),
        ("3 business days", date(2026, 11, 26)),
        ("by March 1", date(2027, 3, 1)),
        ("March 1st", date(2027, 3, 1)),
        ("the first of March", date(2027, 3, 1)),
        ("Friday 5 March 2027", date(2027, 3, 5)),
        ("next Friday", date(2026, 11, 27)),
        ("Friday", date(2026, 11, 27)),
        ("fri", date(2026, 11, 27)),
        ("Monday", date(2026, 11, 30)),
        ("this Monday", TODAY),
        ("Monday next week", date(2026, 11, 30)),
        ("tomorrow", date(2026, 11, 24)),
        ("today", TODAY),
        ("day after tomorrow", date(2026, 11, 25)),
        ("2027-03-01", date(2027, 3, 1)),
        ("1 March 2027", date(2027, 3, 1)),
        ("March 1, 2027", date(2027, 3, 1)),
        ("3/1/2027", date(2027, 3, 1)),
        ("3/1/27", date(2027, 3, 1)),
        ("3/1", date(2027, 3, 1)),
        ("end of March", date(2027, 3, 31)),
        ("by the end of next month", date(2026, 12, 31)),
        ("end of the month", date(2026, 11, 30)),
        ("end of this week", date(2026, 11, 27)),
        ("end of next week", date(2026, 12, 4)),
        ("end of the quarter", date(2026, 12, 31)),
        ("end of Q1", date(2027, 3, 31)),
        ("end of the year", date(2026, 12, 31)),
        ("end of summer", date(2027, 8, 31)),
        ("this month", date(2026, 11, 30)),
        ("next spring", date(2027, 3, 1)),
        ("this summer", date(2027, 6, 1)),
        ("in the autumn", date(2027, 9, 1)),
        ("fall", date(2027, 9, 1)),
        ("winter", date(2026, 12, 1)),
        ("spring 2028", date(2028, 3, 1)),
        ("next quarter", date(2027, 1, 1)),
        ("Q3", date(2027, 7, 1)),
        ("Q4", date(2027, 10, 1)),
        ("Q2 2028", date(2028, 4, 1)),
        ("the 1st", date(2026, 12, 1)),
        ("on the 1st", date(2026, 12, 1)),
        ("on the 15th", date(2026, 12, 15)),
        ("the 23rd", TODAY),
        ("the 31st", date(2026, 12, 31)),
        ("the 15th of next month", date(2026, 12, 15)),
        ("next week", date(2026, 11, 30)),
        ("next month", date(2026, 12, 1)),
        ("start of next month", date(2026, 12, 1)),
        ("next year", date(2027, 1, 1)),
        ("March", date(2027, 3, 1)),
        ("mid-March", date(2027, 3, 15)),
        ("2028", date(2028, 1, 1)),
        ("Nov 23", TODAY),
        ("Nov 22", date(2027, 11, 22)),
        ("Feb 29", date(2028, 2, 29)),
    ],
)
def test_reads_natural_due_dates(text: str, expected: date) -> None:
    assert parse_due(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "by Friday",
        "on Friday",
        "before Friday",
        "due Friday",
        "due by Friday.",
        "in time for Friday",
        "  BY   friday  ",
    ],
)
def test_ignores_the_small_words_before_a_date(text: str) -> None:
    assert parse_due(text, TODAY) == date(2026, 11, 27)


def test_a_weekday_on_that_same_day_means_next_week_unless_this_is_said() -> None:
    friday = date(2026, 11, 27)
    assert parse_due("Friday", friday) == date(2026, 12, 4)
    assert parse_due("this Friday", friday) == friday


def test_this_season_while_inside_it_is_its_start_which_is_past() -> None:
    july = date(2027, 7, 10)
    assert parse_due("this summer", july, allow_past=True) == date(2027, 6, 1)
    assert parse_due("summer", july) == date(2028, 6, 1)
    assert parse_due("this winter", date(2027, 1, 15), allow_past=True) == date(2026, 12, 1)


def test_unreadable_text_gets_examples_and_a_typo_fix() -> None:
    with pytest.raises(DateParseError) as err:
        parse_due("by Fryday", TODAY)
    assert str(err.value) == (
        "I couldn't read 'by Fryday' as a date. Try 'by Friday' or 'by 2027-03-01'."
    )


@pytest.mark.parametrize("text", ["whenever", "a", "1 1", "15", "1000", "1.3.2027", "soon"])
def test_unreadable_text_is_refused(text: str) -> None:
    with pytest.raises(DateParseError, match=r"^I couldn't read .* as a date\. Try "):
        parse_due(text, TODAY)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("February 30", "February has 29 days at most"),
        ("February 29 2027", "February has 28 days in 2027"),
        ("2027-02-30", "February has 28 days in 2027"),
        ("2027-13-01", "there is no month 13"),
        ("31/31/2027", "there is no month 31"),
        ("13/1/2027", "month/day/year"),
        ("April 31", "April has 30 days"),
        ("the 32nd", "no month has a day 32"),
    ],
)
def test_impossible_dates_say_they_do_not_exist(text: str, detail: str) -> None:
    with pytest.raises(DateParseError) as err:
        parse_due(text, TODAY)
    assert "doesn't exist" in str(err.value)
    assert detail in str(err.value)
    assert str(err.value).endswith(".")


def test_a_weekday_that_does_not_match_the_date_is_questioned() -> None:
    with pytest.raises(DateParseError, match=r"1 Mar 2027 is a Monday, not a Friday"):
        parse_due("Friday March 1 2027", TODAY)


def test_past_dates_are_refused_unless_allowed() -> None:
    with pytest.raises(DateParseError) as err:
        parse_due("yesterday", TODAY)
    assert str(err.value) == (
        "That's in the past (Sun 22 Nov 2026, yesterday). When should it be done?"
    )
    assert parse_due("yesterday", TODAY, allow_past=True) == date(2026, 11, 22)
    with pytest.raises(DateParseError, match="in the past"):
        parse_due("2020-03-01", TODAY)


@pytest.mark.parametrize("text", ["", "   ", "by", "due by ", "."])
def test_empty_text_asks_for_a_date(text: str) -> None:
    with pytest.raises(DateParseError, match=r"^When should it be done\? Give me a date"):
        parse_due(text, TODAY)


def test_very_long_text_is_refused_without_parsing() -> None:
    with pytest.raises(DateParseError, match=r"too long for a date \(201 characters\)"):
        parse_due("Friday" + " " * 189 + "Friday", TODAY)


def test_too_far_ahead_is_a_friendly_error() -> None:
    with pytest.raises(DateParseError, match="further ahead than I can keep track of"):
        parse_due("in 999999 years", TODAY)


def test_dateparser_is_imported_only_when_needed() -> None:
    code = "import sys, handlers.dates; assert 'dateparser' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (TODAY, "Mon 23 Nov 2026 (today)"),
        (date(2026, 11, 24), "Tue 24 Nov 2026 (tomorrow)"),
        (date(2026, 11, 22), "Sun 22 Nov 2026 (yesterday)"),
        (date(2026, 11, 27), "Fri 27 Nov 2026 (in 4 days)"),
        (date(2026, 11, 20), "Fri 20 Nov 2026 (3 days ago)"),
        (date(2026, 12, 7), "Mon 7 Dec 2026 (in 2 weeks)"),
        (date(2027, 9, 23), "Thu 23 Sep 2027 (in 10 months)"),
        (date(2029, 1, 1), "Mon 1 Jan 2029 (in 2 years)"),
    ],
)
def test_describe_date(d: date, expected: str) -> None:
    assert describe_date(d, TODAY) == expected


def test_add_business_days_skips_weekends_and_keeps_the_time() -> None:
    friday_morning = datetime(2026, 11, 27, 10, 30)
    assert add_business_days(friday_morning, 2) == datetime(2026, 12, 1, 10, 30)
    assert add_business_days(date(2026, 11, 28), 1) == date(2026, 11, 30)
    assert add_business_days(TODAY, 0) == TODAY
    assert add_business_days(TODAY, -1) == date(2026, 11, 20)
    sunday_to_thursday = (6, 0, 1, 2, 3)
    assert add_business_days(date(2026, 11, 26), 1, sunday_to_thursday) == date(2026, 11, 29)


def test_business_days_between() -> None:
    assert business_days_between(date(2026, 11, 27), date(2026, 11, 30)) == 1
    assert business_days_between(TODAY, TODAY + timedelta(days=14)) == 10
    assert business_days_between(date(2026, 11, 30), date(2026, 11, 27)) == -1
    assert business_days_between(datetime(2026, 11, 27, 17), datetime(2026, 12, 1, 9)) == 2


def test_business_days_must_name_a_weekday() -> None:
    with pytest.raises(ValueError):
        add_business_days(TODAY, 1, ())
    with pytest.raises(ValueError):
        business_days_between(TODAY, TODAY, (7,))


# --- properties --------------------------------------------------------------------------------

DATE_WORDS = [
    "by", "on", "in", "the", "next", "this", "end", "of", "start", "a", "two", "10", "1st", "15th",
    "31st", "32nd", "0", "days", "weeks", "months", "year", "quarter", "Q3", "Friday", "fri",
    "March", "Feb", "30", "29", "2027", "3/1", "13/13", "2027-02-30", "spring", "winter",
    "tomorrow", "yesterday", "ago", "from", "today", "business", "mid", "-", ",", "#", "999999",
]  # fmt: skip

date_like_text = st.lists(st.sampled_from(DATE_WORDS), max_size=6).map(" ".join)
todays = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(max_size=40), date_like_text), today=todays)
def test_parse_due_only_raises_date_parse_error_and_never_returns_the_past(
    text: str, today: date
) -> None:
    try:
        due = parse_due(text, today)
    except DateParseError as err:
        assert str(err) and "Traceback" not in str(err)
    else:
        assert type(due) is date
        assert due >= today


@settings(max_examples=60, deadline=None)
@given(today=todays, ahead=st.integers(min_value=0, max_value=3000))
def test_described_dates_read_back(today: date, ahead: int) -> None:
    due = today + timedelta(days=ahead)
    shown = describe_date(due, today).split(" (")[0]
    assert parse_due(shown, today) == due
    assert parse_due(due.isoformat(), today) == due
    assert parse_due(f"{due.month}/{due.day}/{due.year}", today) == due


@settings(max_examples=60, deadline=None)
@given(today=todays, month=st.integers(1, 12), day=st.integers(1, 28))
def test_dates_without_a_year_roll_forward_within_a_year(today: date, month: int, day: int) -> None:
    due = parse_due(f"{date(2001, month, day):%B} {day}", today)
    assert (due.month, due.day) == (month, day)
    assert today <= due < today + timedelta(days=366)


@settings(max_examples=100, deadline=None)
@given(start=todays, n=st.integers(min_value=0, max_value=400))
def test_business_days_round_trip(start: date, n: int) -> None:
    end = add_business_days(start, n)
    assert business_days_between(start, end) == n
    assert business_days_between(end, start) == -n
    if n:
        assert end.weekday() < 5
