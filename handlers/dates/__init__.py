"""Natural due dates: turn what a person typed ("by next Friday", "in ten months") into a date.

People say when something is due in many ways, and a wrong date is worse than a question, so
`parse_due` either returns a date it is sure of, today or later (unless past dates are allowed)
and within `HORIZON_YEARS`, or raises `DateParseError` whose text is a friendly sentence for the
person. A date it read but is not sure of raises `UncertainDateError` (a `DateParseError`) that
carries the candidates and says how to confirm one in one step ("Say 'by 2026-12-09'"). It is
not sure when a weekday contradicts the day ("Thursday the 9th" when the 9th is a Wednesday),
when a numeric date reads two ways and the organisation set no day/month order ("3/4"), and
when only the dateparser fallback could read the phrase. How phrases are read:

- A leading "by", "on", "before", "due", "until", "no later than" or "in time for" is ignored.
- Numeric dates are ISO (2027-03-01), or day and month in the organisation's `date_order`
  ("DMY" or "MDY"). With no order set, a numeric date that reads only one way is read
  ("25/12", "12/25"), and one that reads two ways ("3/4") is asked about.
- A date without a year ("March 1", "3/1", "the 15th") is its next occurrence, today included.
- A weekday ("Friday", "next Friday") is the next such day after today; "this Friday" may be today.
- "mid-March" is the 15th.
- A period means its first day: "March" and "March 2027" (1 March), "next week" (Monday),
  "next month", "next quarter" and "Q3" (calendar quarters), "next year" (1 January), and the
  seasons, which start on the first of March, June, September and December (meteorological
  seasons, northern hemisphere). Said inside the period, "this summer" is the start already
  passed, while "summer" is next year's.
- "end of March", "end of next month", "end of the quarter", "end of the year", and "this
  week", "this month" or "this year", mean the period's last day; a week ends on its Friday.
- "in 10 months", "in two weeks", "3 business days", "a week from today" count from today;
  business days skip the organisation's weekends and public holidays.
- A weekday with a day ("Wednesday the 9th", "Wed 9 December") must agree with the day.
- Anything else is handed to the dateparser library, preferring future dates, and asked about.
"""

import datetime
import functools
from collections.abc import Iterable

from handlers.dates.business import (
    DEFAULT_BUSINESS_DAYS,
    BusinessDays,
    add_business_days,
    business_days_between,
    holiday_calendar,
    is_business_day,
)
from handlers.dates.days import add_years, format_day, relative
from handlers.dates.errors import DateParseError, UncertainDateError
from handlers.dates.readers import Rules
from handlers.dates.reading import explain_unreadable, read, strip_prefixes
from handlers.dates.sentences import example_iso
from handlers.dates.words import DATE_ORDERS, PREFIXES

__all__ = [
    "DATE_ORDERS",
    "DEFAULT_BUSINESS_DAYS",
    "HORIZON_YEARS",
    "MAX_DATE_TEXT",
    "BusinessDays",
    "DateParseError",
    "UncertainDateError",
    "add_business_days",
    "business_days_between",
    "describe_date",
    "holiday_calendar",
    "is_business_day",
    "parse_due",
]

MAX_DATE_TEXT = 200


# A due date more than this many years from today (ahead, or back where past dates are allowed)
# is a typo or a placeholder such as 9999-12-31, not a plan: it is refused, never stored.
HORIZON_YEARS = 10


def parse_due(
    text: str,
    today: datetime.date,
    *,
    allow_past: bool = False,
    date_order: str | None = None,
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS,
) -> datetime.date:
    """Read a due date the way a colleague would, so a commitment gets a date people agreed on.

    Returns today or a later date unless `allow_past` is true, never more than `HORIZON_YEARS`
    away. `date_order` ("DMY" or "MDY") is how the organisation writes numeric dates; without
    it a numeric date that reads two ways is asked about. `business_days` (weekdays, or a
    `BusinessDays` with holidays) counts "3 business days". Raises `DateParseError` (with a
    sentence saying what to type instead) for empty, unreadable, impossible, past or far dates,
    and its subclass `UncertainDateError` for a date read with doubt.
    """
    if len(text.strip()) > MAX_DATE_TEXT:
        raise DateParseError(
            f"That's too long for a date ({len(text.strip())} characters). "
            "Try something short, like 'by Friday' or 'in two weeks'."
        )
    if date_order is not None and date_order not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {DATE_ORDERS}, not {date_order!r}")
    said = " ".join(text.split())
    shown = strip_prefixes(said.rstrip(".!?,;: "))
    if not shown or shown.lower() in PREFIXES:
        raise DateParseError(
            "When should it be done? Give me a date, like 'by Friday', 'in two weeks' "
            f"or 'by {example_iso(today)}'."
        )
    rules = Rules(today, date_order, business_days)
    try:
        due = read(shown, rules)
    except UncertainDateError as doubt:
        usable = [c for c in doubt.candidates if out_of_range(c, today, allow_past) is None]
        if not usable:
            raise DateParseError(out_of_range(doubt.candidate, today, allow_past)) from None
        if len(usable) < len(doubt.candidates):
            raise UncertainDateError(doubt.reason, usable) from None
        raise
    if due is None:
        raise DateParseError(explain_unreadable(said, rules))
    problem = out_of_range(due, today, allow_past)
    if problem:
        raise DateParseError(problem)
    return due


@functools.lru_cache(maxsize=4096)
def describe_date(d: datetime.date, today: datetime.date) -> str:
    """Show a date so nobody has to count: 'Fri 27 Nov 2026 (in 4 days)'. Remembered: a
    sweep's digests describe thousands of items due on a few dozen dates."""
    return f"{format_day(d)} ({relative(d, today)})"


def out_of_range(due: datetime.date, today: datetime.date, allow_past: bool) -> str | None:
    """Why a date read cannot be a due date (in the past, or beyond the horizon), or None."""
    if due < today and not allow_past:
        return (
            f"That's in the past ({format_day(due)}, {relative(due, today)}). "
            "When should it be done?"
        )
    latest = add_years(today, HORIZON_YEARS)
    if due > latest:
        return (
            f"{format_day(due)} is more than {HORIZON_YEARS} years away, so I think it's a "
            f"placeholder or a typo. Give a date up to {format_day(latest)}, like "
            f"'by {example_iso(today)}'."
        )
    earliest = add_years(today, -HORIZON_YEARS)
    if due < earliest:
        return (
            f"{format_day(due)} is more than {HORIZON_YEARS} years ago, so I think it's a typo. "
            f"Give a date from {format_day(earliest)} on."
        )
    return None
