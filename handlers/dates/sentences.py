"""Sentences for dates that do not exist or cannot be read, with what to type instead."""

import datetime

from handlers.dates.days import days_in
from handlers.dates.errors import DateParseError
from handlers.dates.words import MONTH_NAMES


def exact_date(year: int, month: int, day: int, shown: str, how: str | None) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise DateParseError(nonexistent_sentence(shown, year, month, day, how)) from None


def next_month_day(
    month: int, day: int, today: datetime.date, shown: str, how: str | None
) -> datetime.date:
    """The next time a month and day come round, today included (29 February waits for a leap
    year)."""
    if not (1 <= month <= 12 and 1 <= day <= days_in(2000, month)):
        raise DateParseError(nonexistent_sentence(shown, None, month, day, how))
    for year in range(today.year, today.year + 9):
        if day <= days_in(year, month) and datetime.date(year, month, day) >= today:
            return datetime.date(year, month, day)
    raise DateParseError(nonexistent_sentence(shown, None, month, day, how))  # pragma: no cover


def nonexistent_sentence(
    shown: str, year: int | None, month: int, day: int, how: str | None
) -> str:
    if not 1 <= month <= 12:
        reason = f"there is no month {month}"
        suggestion = "'2027-03-01' or '1 March 2027'"
    elif year is not None and not 1 <= year <= 9999:
        reason = f"there is no year {year}"
        suggestion = "a date like '2027-03-01'"
    else:
        name = MONTH_NAMES[month]
        most = days_in(year if year is not None else 2000, month)
        when = f"in {year}" if year is not None else "at most"
        reason = f"{name} has {most} days {when}"
        nearest = 1 if day < 1 else min(most, 28) if month == 2 and year is None else most
        suggestion = f"'{name} {nearest}' or another date"
    if how:
        reason = f"{reason} ({how})"
    return f"The date '{shown}' doesn't exist: {reason}. Try {suggestion}."


def example_iso(today: datetime.date) -> str:
    return f"{today.year + 1}-03-01"


def unreadable_sentence(said: str, today: datetime.date, suggestion: str | None = None) -> str:
    """What to say when `said` is not a date: the typo fix, if any, and an example to copy."""
    example = f"'by {example_iso(today)}'"
    if suggestion:
        return f"I couldn't read '{said}' as a date. Try '{suggestion}' or {example}."
    return f"I couldn't read '{said}' as a date. Try 'by Friday', 'in two weeks' or {example}."
