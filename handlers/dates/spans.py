"""Calendar arithmetic: business days, month and quarter ends, and a date in words."""

import calendar
import datetime
from collections.abc import Callable, Iterable

from handlers.dates.words import (
    _MONTH_NAMES,
    _WEEKDAY_NAMES,
    DEFAULT_BUSINESS_DAYS,
)


def describe_date(d: datetime.date, today: datetime.date) -> str:
    """Show a date so nobody has to count: 'Fri 27 Nov 2026 (in 4 days)'."""
    return f"{_format_day(d)} ({_relative(d, today)})"


def add_business_days(
    start: datetime.datetime | datetime.date,
    n: int,
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS,
) -> datetime.datetime | datetime.date:
    """Step `n` business days from `start` (backwards if negative), keeping any time of day.

    Business days are weekday numbers, Monday being 0. Used for rules such as "a request nobody
    answered after 2 business days". Starting on a Saturday, one business day on is Monday.
    """
    days = _business_day_set(business_days)
    step = datetime.timedelta(days=1 if n >= 0 else -1)
    moment = start
    for _ in range(abs(n)):
        moment += step
        while moment.weekday() not in days:
            moment += step
    return moment


def business_days_between(
    a: datetime.datetime | datetime.date,
    b: datetime.datetime | datetime.date,
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS,
) -> int:
    """Count the business days after `a` up to and including `b`, by date (times are ignored).

    Negative when `b` is before `a`. `business_days_between(a, add_business_days(a, n)) == n`
    for any n >= 0.
    """
    days = _business_day_set(business_days)
    first, last = _as_date(a), _as_date(b)
    if last < first:
        return -business_days_between(last, first, days)
    span = (last - first).days
    full_weeks, rest = divmod(span, 7)
    count = full_weeks * len(days)
    for offset in range(1, rest + 1):
        if (first + datetime.timedelta(days=full_weeks * 7 + offset)).weekday() in days:
            count += 1
    return count


# --- calendar helpers --------------------------------------------------------------------------


def _days_in(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, _days_in(year, month))


def _add_months(d: datetime.date, months: int) -> datetime.date:
    """Same day `months` later, or the month's last day if it is shorter (31 Jan + 1 -> 28 Feb)."""
    year, month_index = divmod(d.month - 1 + months, 12)
    year += d.year
    return datetime.date(year, month_index + 1, min(d.day, _days_in(year, month_index + 1)))


def _week_start(d: datetime.date) -> datetime.date:
    return d - datetime.timedelta(days=d.weekday())


def _quarter_start(d: datetime.date) -> datetime.date:
    return datetime.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _end_of(period: str, today: datetime.date, *, ahead: bool = False) -> datetime.date:
    """Last day of this (or the next) week, month, quarter or year; a week ends on Friday."""
    if period == "week":
        friday = _week_start(today) + datetime.timedelta(days=4 + (7 if ahead else 0))
        return friday if friday >= today else friday + datetime.timedelta(days=7)
    if period == "month":
        month = _add_months(today.replace(day=1), 1 if ahead else 0)
        return _month_end(month.year, month.month)
    if period == "quarter":
        last = _add_months(_quarter_start(today), 5 if ahead else 2)
        return _month_end(last.year, last.month)
    return datetime.date(today.year + (1 if ahead else 0), 12, 31)


def _next_yearly(
    on: Callable[[int], datetime.date],
    today: datetime.date,
    which: str | None,
    *,
    months: int = 0,
) -> datetime.date:
    """The yearly date `on(year)` that a phrase means. "next" is the first one after today;
    "this" is the current one, even though it has started, while we are inside the period
    (`months` long) that it begins; otherwise it is the next one from today on."""
    candidates = [on(year) for year in range(today.year - 1, today.year + 3)]
    if which == "this" and months:
        started = [c for c in candidates if c <= today]
        if started and today < _add_months(started[-1], months):
            return started[-1]
    if which == "next":
        return next(c for c in candidates if c > today)
    return next(c for c in candidates if c >= today)


def _format_day(d: datetime.date, *, weekday: bool = True) -> str:
    text = f"{d.day} {_MONTH_NAMES[d.month][:3]} {d.year}"
    return f"{_WEEKDAY_NAMES[d.weekday()][:3]} {text}" if weekday else text


def _relative(d: datetime.date, today: datetime.date) -> str:
    days = (d - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    span = abs(days)
    if span < 14:
        amount = _plural(span, "day")
    elif span < 60:
        amount = _plural(round(span / 7), "week")
    else:
        early, late = sorted((d, today))
        months = (late.year - early.year) * 12 + late.month - early.month
        if late.day < early.day:
            months -= 1
        if (late - _add_months(early, months)).days > 15:
            months += 1
        amount = _plural(months, "month") if months < 24 else _plural(round(months / 12), "year")
    return f"in {amount}" if days > 0 else f"{amount} ago"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _as_date(value: datetime.datetime | datetime.date) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _business_day_set(business_days: Iterable[int]) -> frozenset[int]:
    days = frozenset(business_days)
    if not days or not days <= set(range(7)):
        raise ValueError("business_days must name at least one weekday, 0 (Monday) to 6")
    return days
