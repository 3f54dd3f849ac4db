"""Reading a typed due date: `parse_due` and the readers it tries in order."""

import datetime
import re
from collections.abc import Callable

from handlers.dates.refusals import (
    DateParseError,
    _exact_date,
    _example_iso,
    _next_month_day,
    _unreadable_sentence,
)
from handlers.dates.spans import (
    _add_months,
    _days_in,
    _end_of,
    _format_day,
    _month_end,
    _next_yearly,
    _quarter_start,
    _relative,
    _week_start,
    add_business_days,
)
from handlers.dates.words import (
    _DAY_MONTH_RE,
    _DAY_OF_MONTH_RE,
    _END_RE,
    _ISO_RE,
    _MID_MONTH_RE,
    _MONTH_DAY_RE,
    _MONTH_NAMES,
    _MONTH_RE,
    _MONTH_WORDS,
    _NUMBER_WORDS,
    _NUMERIC_RE,
    _ORDINAL_WORDS,
    _PREFIXES,
    _QUARTER_RE,
    _RELATIVE_RE,
    _SEASON_RE,
    _SEASONS,
    _START_RE,
    _TENS_WORDS,
    _TIME_WORDS,
    _UNITS,
    _US_RE,
    _WEEKDAY_NAMES,
    _WEEKDAY_NEXT_WEEK_RE,
    _WEEKDAY_RE,
    _WEEKDAY_WORDS,
    MAX_DATE_TEXT,
)


def parse_due(text: str, today: datetime.date, *, allow_past: bool = False) -> datetime.date:
    """Read a due date the way a colleague would, so a commitment gets a date people agreed on.

    Returns today or a later date unless `allow_past` is true. Raises `DateParseError` (with a
    sentence saying what to type instead) for empty, unreadable, impossible or past dates.
    """
    if len(text.strip()) > MAX_DATE_TEXT:
        raise DateParseError(
            f"That's too long for a date ({len(text.strip())} characters). "
            "Try something short, like 'by Friday' or 'in two weeks'."
        )
    said = " ".join(text.split())
    shown = _strip_prefixes(said.rstrip(".!?,;: "))
    if not shown or shown.lower() in _PREFIXES:
        raise DateParseError(
            "When should it be done? Give me a date, like 'by Friday', 'in two weeks' "
            f"or 'by {_example_iso(today)}'."
        )
    due = _read(shown, today)
    if due is None:
        raise DateParseError(_unreadable_sentence(said, today))
    if due < today and not allow_past:
        raise DateParseError(
            f"That's in the past ({_format_day(due)}, {_relative(due, today)}). "
            "When should it be done?"
        )
    return due


# --- reading ---------------------------------------------------------------------------------


def _strip_prefixes(text: str) -> str:
    """Drop the small words people put before a date ("by", "due on", "in time for")."""
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if text.lower().startswith(prefix + " "):
                text = text[len(prefix) + 1 :].lstrip()
                changed = True
    return text


def _read(shown: str, today: datetime.date) -> datetime.date | None:
    """Return the date `shown` means, None if it is not a date, or raise for impossible ones."""
    phrase = re.sub(r"\s*,\s*", " ", shown.lower()).strip()
    for reader in _READERS:
        result = reader(phrase, shown, today)
        if result is not None:
            return result
    return _read_with_dateparser(phrase, today)


def _read_fixed_words(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    words = {
        "today": 0,
        "tonight": 0,
        "eod": 0,
        "end of day": 0,
        "end of today": 0,
        "tomorrow": 1,
        "tmrw": 1,
        "tmr": 1,
        "day after tomorrow": 2,
        "the day after tomorrow": 2,
        "yesterday": -1,
    }
    if phrase in words:
        return today + datetime.timedelta(days=words[phrase])
    if phrase == "next week":
        return _week_start(today) + datetime.timedelta(days=7)
    if phrase == "next month":
        return _add_months(today.replace(day=1), 1)
    if phrase == "next year":
        return datetime.date(today.year + 1, 1, 1)
    if phrase == "next quarter":
        return _add_months(_quarter_start(today), 3)
    if phrase in ("this week", "eow"):
        return _end_of("week", today)
    if phrase in ("this month", "eom"):
        return _end_of("month", today)
    if phrase in ("this quarter", "eoq"):
        return _end_of("quarter", today)
    if phrase in ("this year", "eoy"):
        return _end_of("year", today)
    return None


def _read_numeric(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    """ISO dates, US month/day dates, a bare year; other bare numbers are not dates."""
    if not _NUMERIC_RE.fullmatch(phrase):
        return None
    if match := _ISO_RE.fullmatch(phrase):
        year, month, day = (int(match[g]) for g in ("year", "month", "day"))
        return _exact_date(year, month, day, shown, "I read it as year-month-day")
    if match := _US_RE.fullmatch(phrase):
        month, day = int(match["month"]), int(match["day"])
        how = "I read dates like 3/1/2027 as month/day/year"
        if match["year"] is None:
            return _next_month_day(month, day, today, shown, how)
        year = int(match["year"])
        if len(match["year"]) == 2:
            year += 2000
        return _exact_date(year, month, day, shown, how)
    if re.fullmatch(r"\d{4}", phrase) and 1900 <= int(phrase) <= 2199:
        return datetime.date(int(phrase), 1, 1)
    raise DateParseError(_unreadable_sentence(shown, today))


def _read_month_day(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    match = _DAY_MONTH_RE.fullmatch(phrase) or _MONTH_DAY_RE.fullmatch(phrase)
    if match is None:
        return None
    month = _MONTH_WORDS[match["month"]]
    day = int(match["day"]) if match["day"] else _ORDINAL_WORDS[match["dayword"]]
    if match["year"]:
        due = _exact_date(int(match["year"]), month, day, shown, None)
    else:
        due = _next_month_day(month, day, today, shown, None)
    if match["weekday"] and due.weekday() != _WEEKDAY_WORDS[match["weekday"]]:
        said = _WEEKDAY_NAMES[_WEEKDAY_WORDS[match["weekday"]]]
        raise DateParseError(
            f"{_format_day(due, weekday=False)} is a {_WEEKDAY_NAMES[due.weekday()]}, "
            f"not a {said}. Which did you mean?"
        )
    return due


def _read_month(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    """A month on its own means its first day: "March", "next March", "March 2027"."""
    match = _MONTH_RE.fullmatch(phrase)
    if match is None:
        return None
    month = _MONTH_WORDS[match["month"]]
    if match["year"]:
        return datetime.date(int(match["year"]), month, 1)
    return _next_yearly(lambda year: datetime.date(year, month, 1), today, match["which"], months=1)


def _read_mid_month(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    """ "mid-March", "middle of next March": the 15th."""
    match = _MID_MONTH_RE.fullmatch(phrase)
    if match is None:
        return None
    month = _MONTH_WORDS[match["month"]]
    if match["year"]:
        return datetime.date(int(match["year"]), month, 15)
    return _next_yearly(lambda year: datetime.date(year, month, 15), today, match["which"])


def _read_day_of_month(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    """ "the 1st", "the 15th", "the first of next month": the next such day of a month."""
    match = _DAY_OF_MONTH_RE.fullmatch(phrase)
    if match is None or (match["day"] and not re.search(r"the|st|nd|rd|th", phrase)):
        return None
    day = int(match["day"]) if match["day"] else _ORDINAL_WORDS[match["dayword"]]
    if not 1 <= day <= 31:
        raise DateParseError(
            f"The date '{shown}' doesn't exist: no month has a day {day}. "
            "Try a day from the 1st to the 31st, like 'the 15th'."
        )
    if match["which"]:
        first = _add_months(today.replace(day=1), 1 if match["which"] == "next" else 0)
        how = f"{_MONTH_NAMES[first.month]} {first.year} has {_days_in(first.year, first.month)}"
        return _exact_date(first.year, first.month, day, shown, how + " days")
    first = today.replace(day=1)
    for months_ahead in range(13):
        month_start = _add_months(first, months_ahead)
        if day <= _days_in(month_start.year, month_start.month):
            candidate = month_start.replace(day=day)
            if candidate >= today:
                return candidate
    return None  # pragma: no cover - every day 1..31 occurs within a year


def _read_weekday(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    if match := _WEEKDAY_NEXT_WEEK_RE.fullmatch(phrase):
        start = _week_start(today) + datetime.timedelta(days=7)
        return start + datetime.timedelta(days=_WEEKDAY_WORDS[match["weekday"]])
    match = _WEEKDAY_RE.fullmatch(phrase)
    if match is None:
        return None
    ahead = (_WEEKDAY_WORDS[match["weekday"]] - today.weekday()) % 7
    if ahead == 0 and match["which"] != "this":
        ahead = 7
    return today + datetime.timedelta(days=ahead)


def _read_season(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    match = _SEASON_RE.fullmatch(phrase)
    if match is None:
        return None
    return _period_start(_SEASONS[match["season"]], match, today)


def _read_quarter(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    match = _QUARTER_RE.fullmatch(phrase)
    if match is None:
        return None
    return _period_start(3 * (int(match["quarter"]) - 1) + 1, match, today)


def _period_start(month: int, match: re.Match[str], today: datetime.date) -> datetime.date:
    """The first day of a three-month period (a season, a quarter) starting in `month`: in the
    year given, or the next one to come."""
    if match["year"]:
        return datetime.date(int(match["year"]), month, 1)
    return _next_yearly(lambda year: datetime.date(year, month, 1), today, match["which"], months=3)


def _read_start_of(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    """ "start of next month" reads like "next month": periods already mean their first day."""
    match = _START_RE.fullmatch(phrase)
    if match is None:
        return None
    return _read(match["what"], today)


def _read_end_of(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    match = _END_RE.fullmatch(phrase)
    if match is None:
        return None
    what = match["what"]
    for which in ("this ", "next "):
        if what.startswith(which) and what[len(which) :] in ("week", "month", "quarter", "year"):
            return _end_of(what[len(which) :], today, ahead=which == "next ")
    if what in ("week", "month", "quarter", "year"):
        return _end_of(what, today)
    if what in ("day", "today"):
        return today
    if re.fullmatch(r"\d{4}", what):
        return datetime.date(int(what), 12, 31)
    if m := _MONTH_RE.fullmatch(what):
        month = _MONTH_WORDS[m["month"]]
        if m["year"]:
            return _month_end(int(m["year"]), month)
        return _next_yearly(lambda year: _month_end(year, month), today, m["which"])
    if m := _QUARTER_RE.fullmatch(what):
        last_month = 3 * int(m["quarter"])
        if m["year"]:
            return _month_end(int(m["year"]), last_month)
        return _next_yearly(lambda year: _month_end(year, last_month), today, m["which"])
    if m := _SEASON_RE.fullmatch(what):
        start_month = _SEASONS[m["season"]]

        def season_end(year: int) -> datetime.date:
            last = _add_months(datetime.date(year, start_month, 1), 2)
            return _month_end(last.year, last.month)

        if m["year"]:
            return season_end(int(m["year"]))
        return _next_yearly(season_end, today, m["which"])
    return None


def _read_relative(phrase: str, shown: str, today: datetime.date) -> datetime.date | None:
    """ "in 10 months", "in two weeks", "a week from today", "3 business days"."""
    phrase = re.sub(r"(?:'s|’s|'|’)?\s+time$", "", phrase)
    match = _RELATIVE_RE.fullmatch(phrase)
    if match is None:
        return None
    amount = _parse_amount(match["amount"])
    if amount is None:
        return None
    start = today + datetime.timedelta(days=1) if match["tail"] == "from tomorrow" else today
    unit = _UNITS[match["unit"]]
    try:
        if unit == "day":
            return start + datetime.timedelta(days=amount)
        if unit == "business_day":
            return add_business_days(start, amount)
        if unit == "week":
            return start + datetime.timedelta(weeks=amount)
        if unit == "fortnight":
            return start + datetime.timedelta(weeks=2 * amount)
        months = {"month": 1, "quarter": 3, "year": 12}[unit] * amount
        return _add_months(start, months)
    except (OverflowError, ValueError):
        raise DateParseError(
            f"'{shown}' is further ahead than I can keep track of. "
            "Try a date within the next few years."
        ) from None


_READERS: tuple[Callable[[str, str, datetime.date], datetime.date | None], ...] = (
    _read_fixed_words,
    _read_numeric,
    _read_month_day,
    _read_month,
    _read_mid_month,
    _read_day_of_month,
    _read_weekday,
    _read_season,
    _read_quarter,
    _read_end_of,
    _read_start_of,
    _read_relative,
)


def _read_with_dateparser(phrase: str, today: datetime.date) -> datetime.date | None:
    """The general case. Only phrases that mention time are trusted to dateparser."""
    if not _TIME_WORDS.intersection(re.findall(r"[a-z]+", phrase)):
        return None
    import dateparser  # imported here: it takes a while to load

    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": datetime.datetime.combine(today, datetime.time()),
        "DATE_ORDER": "MDY",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        parsed = dateparser.parse(phrase, languages=["en"], settings=settings)
    except Exception:  # dateparser has raised on odd input; treat it as unreadable
        return None
    return None if parsed is None else parsed.date()


def _parse_amount(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if word in _TENS_WORDS:
        return _TENS_WORDS[word]
    tens, _, unit = word.replace("-", " ").partition(" ")
    if tens in _TENS_WORDS and unit in _NUMBER_WORDS and _NUMBER_WORDS[unit] < 10:
        return _TENS_WORDS[tens] + _NUMBER_WORDS[unit]
    return None
