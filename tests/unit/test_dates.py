import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.dates import (
    HORIZON_YEARS,
    BusinessDays,
    DateParseError,
    UncertainDateError,
    add_business_days,
    business_days_between,
    describe_date,
    holiday_calendar,
    is_business_day,
    parse_due,
)
from handlers.org import DEFAULT_ORG, ConfigError, load_organisation

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
        ("25/12/2026", date(2026, 12, 25)),
        ("12/25/2026", date(2026, 12, 25)),
        ("25/12", date(2026, 12, 25)),
        ("12/25", date(2026, 12, 25)),
        ("1/1/27", date(2027, 1, 1)),
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
        ("13/13/2027", "there is no month 13"),
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
    assert parse_due(f"{due.month}/{due.day}/{due.year}", today, date_order="MDY") == due
    assert parse_due(f"{due.day}/{due.month}/{due.year}", today, date_order="DMY") == due


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


# --- dates the bot is not sure of are asked about, never guessed ------------------------------

SATURDAY = date(2026, 12, 5)  # the 9th of this month is a Wednesday


def test_a_weekday_that_agrees_with_the_day_is_read_without_a_question() -> None:
    assert parse_due("by Wednesday the 9th", SATURDAY) == date(2026, 12, 9)
    assert parse_due("Wed 9th", SATURDAY) == date(2026, 12, 9)
    assert parse_due("Wednesday 9 December", SATURDAY) == date(2026, 12, 9)
    assert parse_due("Friday the 1st", SATURDAY) == date(2027, 1, 1)


def test_a_weekday_that_contradicts_the_day_is_asked_about() -> None:
    with pytest.raises(UncertainDateError) as err:
        parse_due("by Thursday the 9th", SATURDAY)
    assert err.value.candidates == (date(2026, 12, 9), date(2026, 12, 10))
    assert err.value.candidate == date(2026, 12, 9)
    assert str(err.value) == (
        "9 Dec 2026 is a Wednesday, not a Thursday. Did you mean Wed 9 Dec 2026 or "
        "Thu 10 Dec 2026? Say 'by 2026-12-09' or 'by 2026-12-10', or give another date."
    )


def test_a_weekday_that_contradicts_a_full_date_offers_the_nearest_such_weekday() -> None:
    with pytest.raises(UncertainDateError) as err:
        parse_due("Friday March 1 2027", TODAY)
    assert str(err.value).startswith("1 Mar 2027 is a Monday, not a Friday.")
    assert err.value.candidates == (date(2027, 3, 1), date(2027, 2, 26))


def test_what_only_the_dateparser_fallback_reads_is_asked_about() -> None:
    with pytest.raises(UncertainDateError) as err:
        parse_due("Friday at noon", TODAY)
    assert err.value.candidates == (date(2026, 11, 27),)
    assert str(err.value) == (
        "I'm not sure I read 'Friday at noon' right. Did you mean Fri 27 Nov 2026? "
        "Say 'by 2026-11-27' to confirm, or give another date."
    )


def test_the_confirmation_offered_reads_back_without_a_question() -> None:
    for text in ("Thursday the 9th", "Friday at noon", "3/4"):
        with pytest.raises(UncertainDateError) as err:
            parse_due(text, SATURDAY)
        for candidate in err.value.candidates:
            assert parse_due(f"by {candidate.isoformat()}", SATURDAY) == candidate


def test_a_numeric_date_that_reads_two_ways_is_asked_about_without_a_date_order() -> None:
    with pytest.raises(UncertainDateError) as err:
        parse_due("by 3/4", TODAY)
    assert err.value.candidates == (date(2027, 3, 4), date(2027, 4, 3))
    assert "could be day/month or month/day" in str(err.value)
    with pytest.raises(UncertainDateError):
        parse_due("3/4/27", TODAY)


def test_a_numeric_date_that_reads_one_way_is_read_without_a_date_order() -> None:
    assert parse_due("25/12", TODAY) == date(2026, 12, 25)
    assert parse_due("12/25/2026", TODAY) == date(2026, 12, 25)
    assert parse_due("4/4", TODAY) == date(2027, 4, 4)


def test_numeric_dates_follow_the_organisations_date_order() -> None:
    assert parse_due("3/4", TODAY, date_order="DMY") == date(2027, 4, 3)
    assert parse_due("3/4", TODAY, date_order="MDY") == date(2027, 3, 4)
    assert parse_due("3/1/27", TODAY, date_order="MDY") == date(2027, 3, 1)
    with pytest.raises(
        DateParseError,
        match=r"there is no month 25 \(I read dates like 3/1/2027 as month/day/year\)",
    ):
        parse_due("25/12", TODAY, date_order="MDY")
    with pytest.raises(DateParseError, match="day/month/year"):
        parse_due("12/25/2026", TODAY, date_order="DMY")
    with pytest.raises(ValueError):
        parse_due("3/4", TODAY, date_order="YDM")


@pytest.mark.parametrize(
    "text", ["9999-12-31", "by 2040-01-01", "in 20 years", "2199", "end of 2100"]
)
def test_a_date_beyond_the_horizon_gets_a_sentence_not_a_date(text: str) -> None:
    with pytest.raises(DateParseError) as err:
        parse_due(text, TODAY)
    assert not isinstance(err.value, UncertainDateError)
    assert str(err.value).endswith(
        f"is more than {HORIZON_YEARS} years away, so I think it's a placeholder or a typo. "
        "Give a date up to Sun 23 Nov 2036, like 'by 2027-03-01'."
    )


def test_the_horizon_day_itself_is_accepted() -> None:
    assert parse_due("2036-11-23", TODAY) == date(2036, 11, 23)


def test_a_date_far_in_the_past_gets_a_sentence_even_where_past_dates_are_allowed() -> None:
    with pytest.raises(DateParseError, match="in the past"):
        parse_due("1990-01-01", TODAY)
    with pytest.raises(DateParseError, match=f"more than {HORIZON_YEARS} years ago"):
        parse_due("1990-01-01", TODAY, allow_past=True)
    assert parse_due("2020-01-01", TODAY, allow_past=True) == date(2020, 1, 1)


def test_a_doubtful_reading_beyond_the_horizon_is_refused_not_asked_about() -> None:
    with pytest.raises(DateParseError, match="years away") as err:
        parse_due("Monday 1 March 2060", TODAY)
    assert not isinstance(err.value, UncertainDateError)


weekdays = st.sampled_from(
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
)
horizon_todays = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@settings(max_examples=100, deadline=None)
@given(today=horizon_todays, ahead=st.integers(min_value=0, max_value=HORIZON_YEARS * 365))
def test_any_date_within_the_horizon_reads_back_from_its_iso_and_long_forms(
    today: date, ahead: int
) -> None:
    due = today + timedelta(days=ahead)
    assert parse_due(due.isoformat(), today) == due
    assert parse_due(f"{due:%A} {due.day} {due:%B %Y}", today) == due
    assert parse_due(f"by {due:%A}, {due:%B} {due.day}, {due.year}", today) == due


@settings(max_examples=150, deadline=None)
@given(
    today=horizon_todays,
    weekday=weekdays,
    day=st.integers(1, 31),
    month=st.none() | st.integers(1, 12),
)
def test_a_weekday_and_day_that_disagree_never_yield_a_silent_date(
    today: date, weekday: str, day: int, month: int | None
) -> None:
    text = (
        f"{weekday} the {day}th" if month is None else f"{weekday} {day} {date(2001, month, 1):%B}"
    )
    try:
        due = parse_due(text, today)
    except UncertainDateError as err:
        assert err.candidate.day == day
        assert any(f"{c:%A}" == weekday for c in err.candidates)
    except DateParseError:
        pass
    else:
        assert (f"{due:%A}", due.day) == (weekday, day)
        assert month is None or due.month == month


@settings(max_examples=100, deadline=None)
@given(today=horizon_todays, a=st.integers(1, 12), b=st.integers(1, 12))
def test_a_numeric_date_is_asked_about_exactly_when_both_orders_give_different_dates(
    today: date, a: int, b: int
) -> None:
    text = f"{a}/{b}/{today.year + 1}"
    try:
        due = parse_due(text, today)
    except UncertainDateError as err:
        assert a != b
        assert set(err.candidates) == {date(today.year + 1, a, b), date(today.year + 1, b, a)}
    else:
        assert a == b and due == date(today.year + 1, a, a)
    assert parse_due(text, today, date_order="MDY") == date(today.year + 1, a, b)
    assert parse_due(text, today, date_order="DMY") == date(today.year + 1, b, a)


# --- business days know public holidays ---------------------------------------------------------


def test_business_days_skip_public_holidays_of_the_organisations_country() -> None:
    us = BusinessDays(holidays=holiday_calendar("US"))
    wednesday_before_thanksgiving = date(2026, 11, 25)
    assert add_business_days(wednesday_before_thanksgiving, 1, us) == date(2026, 11, 27)
    assert add_business_days(wednesday_before_thanksgiving, 1) == date(2026, 11, 26)
    assert business_days_between(wednesday_before_thanksgiving, date(2026, 11, 30), us) == 2
    assert business_days_between(date(2026, 11, 30), wednesday_before_thanksgiving, us) == -2
    assert not is_business_day(date(2026, 11, 26), us)
    assert is_business_day(date(2026, 11, 26))
    assert parse_due("1 business day", wednesday_before_thanksgiving, business_days=us) == date(
        2026, 11, 27
    )


def test_a_subdivision_adds_its_own_holidays() -> None:
    lincolns_birthday = date(2027, 2, 12)  # a Friday, a holiday in Illinois only
    assert is_business_day(lincolns_birthday, BusinessDays(holidays=holiday_calendar("US")))
    illinois = BusinessDays(holidays=holiday_calendar("US", "IL"))
    assert not is_business_day(lincolns_birthday, illinois)


def test_without_holidays_business_days_are_only_weekdays() -> None:
    plain = BusinessDays()
    assert plain == (0, 1, 2, 3, 4)
    assert is_business_day(date(2026, 12, 25), plain)


def test_an_unknown_holiday_country_or_subdivision_is_a_sentence() -> None:
    with pytest.raises(ValueError, match="'XX' is not a country I know holidays for"):
        holiday_calendar("XX")
    with pytest.raises(ValueError, match="'ZZ' is not a subdivision of 'US'"):
        holiday_calendar("US", "ZZ")


@settings(max_examples=100, deadline=None)
@given(start=todays, n=st.integers(min_value=0, max_value=400))
def test_business_days_round_trip_over_holidays(start: date, n: int) -> None:
    gb = BusinessDays(holidays=holiday_calendar("GB"))
    end = add_business_days(start, n, gb)
    assert business_days_between(start, end, gb) == n
    if n:
        assert is_business_day(end, gb)


# --- the organisation's settings ----------------------------------------------------------------


def _org(tmp_path, settings: str):
    path = tmp_path / "liaison.toml"
    path.write_text(f"[organisation]\n{settings}\n")
    return load_organisation(path)


def test_without_settings_numeric_dates_are_asked_about_and_holidays_are_business_days(tmp_path):
    org = _org(tmp_path, "name = 'X'")
    assert org.date_order is None
    assert is_business_day(date(2026, 12, 25), org.business_days)
    assert DEFAULT_ORG.date_order is None


def test_the_organisations_date_order_and_holidays_are_loaded(tmp_path):
    org = _org(
        tmp_path,
        "date_order = 'dmy'\nholidays_country = 'US'\nholidays_subdiv = 'IL'\n"
        "business_days = ['mon', 'tue', 'wed', 'thu', 'fri']",
    )
    assert org.date_order == "DMY"
    assert org.business_days == (0, 1, 2, 3, 4)
    assert not is_business_day(date(2027, 2, 12), org.business_days)  # Lincoln's birthday
    assert parse_due("3/4", TODAY, date_order=org.date_order) == date(2027, 4, 3)


@pytest.mark.parametrize(
    ("settings", "line", "words"),
    [
        ("date_order = 'YMD'", 2, "date order must be one of DMY, MDY"),
        ("holidays_country = 'XX'", 2, "'XX' is not a country I know holidays for"),
        ("holidays_country = 'US'\nholidays_subdiv = 'ZZ'", 3, "'ZZ' is not a subdivision of 'US'"),
        ("holidays_subdiv = 'IL'", 2, "needs holidays_country too"),
    ],
)
def test_a_bad_date_setting_names_the_line_and_the_problem(tmp_path, settings, line, words):
    with pytest.raises(ConfigError) as error:
        _org(tmp_path, settings)
    assert error.value.line == line
    assert words in str(error.value)
