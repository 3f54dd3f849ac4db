"""When a date cannot be used: `DateParseError`, and the sentences for dates that are
impossible ("February 30") or unreadable ("Fryday", with a suggestion)."""

import datetime
import difflib
import re

from handlers.dates.spans import (
    _days_in,
)
from handlers.dates.words import (
    _MONTH_NAMES,
    _SUGGESTIBLE,
)


class DateParseError(ValueError):
    """A due date that could not be used; str(err) is a friendly sentence for the person."""


# --- impossible and unreadable dates -----------------------------------------------------------


def _exact_date(year: int, month: int, day: int, shown: str, how: str | None) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise DateParseError(_nonexistent_sentence(shown, year, month, day, how)) from None


def _next_month_day(
    month: int, day: int, today: datetime.date, shown: str, how: str | None
) -> datetime.date:
    """The next time a month and day come round, today included (29 February waits for a leap
    year)."""
    if not (1 <= month <= 12 and 1 <= day <= _days_in(2000, month)):
        raise DateParseError(_nonexistent_sentence(shown, None, month, day, how))
    for year in range(today.year, today.year + 9):
        if day <= _days_in(year, month) and datetime.date(year, month, day) >= today:
            return datetime.date(year, month, day)
    raise DateParseError(_nonexistent_sentence(shown, None, month, day, how))  # pragma: no cover


def _nonexistent_sentence(
    shown: str, year: int | None, month: int, day: int, how: str | None
) -> str:
    if not 1 <= month <= 12:
        reason = f"there is no month {month}"
        suggestion = "'2027-03-01' or '1 March 2027'"
    elif year is not None and not 1 <= year <= 9999:
        reason = f"there is no year {year}"
        suggestion = "a date like '2027-03-01'"
    else:
        name = _MONTH_NAMES[month]
        most = _days_in(year if year is not None else 2000, month)
        when = f"in {year}" if year is not None else "at most"
        reason = f"{name} has {most} days {when}"
        nearest = 1 if day < 1 else min(most, 28) if month == 2 and year is None else most
        suggestion = f"'{name} {nearest}' or another date"
    if how:
        reason = f"{reason} ({how})"
    return f"The date '{shown}' doesn't exist: {reason}. Try {suggestion}."


def _unreadable_sentence(said: str, today: datetime.date) -> str:
    example = f"'by {_example_iso(today)}'"
    suggestion = _suggest(said, today)
    if suggestion:
        return f"I couldn't read '{said}' as a date. Try '{suggestion}' or {example}."
    return f"I couldn't read '{said}' as a date. Try 'by Friday', 'in two weeks' or {example}."


def _suggest(said: str, today: datetime.date) -> str | None:
    """Fix likely typos of date words ("Fryday" -> "Friday"), if the result then reads."""
    from handlers.dates.reading import _read, _strip_prefixes  # reading raises our errors

    changed = False

    def fix(match: re.Match[str]) -> str:
        nonlocal changed
        word = match[0]
        if len(word) < 4 or word.lower() in _SUGGESTIBLE:
            return word
        close = difflib.get_close_matches(word.lower(), _SUGGESTIBLE, n=1, cutoff=0.75)
        if not close:
            return word
        changed = True
        return close[0].title() if word[0].isupper() else close[0]

    fixed = re.sub(r"[A-Za-z]+", fix, said)
    if not changed:
        return None
    try:
        readable = _read(_strip_prefixes(fixed.rstrip(".!?,;: ")), today) is not None
    except DateParseError:
        return None
    return fixed if readable else None


def _example_iso(today: datetime.date) -> str:
    return f"{today.year + 1}-03-01"
