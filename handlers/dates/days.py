"""Calendar arithmetic and how a date is shown: month ends, quarters, "in 3 weeks"."""

import calendar
import datetime
from collections.abc import Callable

from handlers.dates.words import MONTH_NAMES, WEEKDAY_NAMES


def days_in(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, days_in(year, month))


def add_months(d: datetime.date, months: int) -> datetime.date:
    """Same day `months` later, or the month's last day if it is shorter (31 Jan + 1 -> 28 Feb)."""
    year, month_index = divmod(d.month - 1 + months, 12)
    year += d.year
    return datetime.date(year, month_index + 1, min(d.day, days_in(year, month_index + 1)))


def add_years(d: datetime.date, years: int) -> datetime.date:
    """Same day `years` later, clamped to the calendar's ends (and 29 February to the 28th)."""
    try:
        return add_months(d, 12 * years)
    except (OverflowError, ValueError):
        return datetime.date.max if years > 0 else datetime.date.min


def week_start(d: datetime.date) -> datetime.date:
    return d - datetime.timedelta(days=d.weekday())


def quarter_start(d: datetime.date) -> datetime.date:
    return datetime.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def end_of(period: str, today: datetime.date, *, ahead: bool = False) -> datetime.date:
    """Last day of this (or the next) week, month, quarter or year; a week ends on Friday."""
    if period == "week":
        friday = week_start(today) + datetime.timedelta(days=4 + (7 if ahead else 0))
        return friday if friday >= today else friday + datetime.timedelta(days=7)
    if period == "month":
        month = add_months(today.replace(day=1), 1 if ahead else 0)
        return month_end(month.year, month.month)
    if period == "quarter":
        last = add_months(quarter_start(today), 5 if ahead else 2)
        return month_end(last.year, last.month)
    return datetime.date(today.year + (1 if ahead else 0), 12, 31)


def next_yearly(
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
        if started and today < add_months(started[-1], months):
            return started[-1]
    if which == "next":
        return next(c for c in candidates if c > today)
    return next(c for c in candidates if c >= today)


def format_day(d: datetime.date, *, weekday: bool = True) -> str:
    text = f"{d.day} {MONTH_NAMES[d.month][:3]} {d.year}"
    return f"{WEEKDAY_NAMES[d.weekday()][:3]} {text}" if weekday else text


def relative(d: datetime.date, today: datetime.date) -> str:
    days = (d - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    span = abs(days)
    if span < 14:
        amount = plural(span, "day")
    elif span < 60:
        amount = plural(round(span / 7), "week")
    else:
        early, late = sorted((d, today))
        months = (late.year - early.year) * 12 + late.month - early.month
        if late.day < early.day:
            months -= 1
        if (late - add_months(early, months)).days > 15:
            months += 1
        amount = plural(months, "month") if months < 24 else plural(round(months / 12), "year")
    return f"in {amount}" if days > 0 else f"{amount} ago"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def as_date(value: datetime.datetime | datetime.date) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value
