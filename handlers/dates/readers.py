"""The readers: one function per kind of phrase, each returning a date, None (not its kind),
or raising for a date that is impossible or in doubt. `reading.READERS` tries them in order."""

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from handlers.dates.business import DEFAULT_BUSINESS_DAYS, add_business_days
from handlers.dates.days import (
    add_months,
    days_in,
    end_of,
    format_day,
    month_end,
    next_yearly,
    quarter_start,
    week_start,
)
from handlers.dates.errors import DateParseError, UncertainDateError
from handlers.dates.sentences import (
    exact_date,
    next_month_day,
    nonexistent_sentence,
    unreadable_sentence,
)
from handlers.dates.words import (
    DATE_ORDERS,
    DAY_AND_MONTH_RE,
    DAY_MONTH_RE,
    DAY_OF_MONTH_RE,
    END_RE,
    ISO_RE,
    MID_MONTH_RE,
    MONTH_DAY_RE,
    MONTH_NAMES,
    MONTH_RE,
    MONTH_WORDS,
    NUMBER_WORDS,
    NUMERIC_RE,
    ORDER_WORDS,
    ORDINAL_WORDS,
    QUARTER_RE,
    RELATIVE_RE,
    SEASON_RE,
    SEASONS,
    TENS_WORDS,
    UNITS,
    WEEKDAY_NAMES,
    WEEKDAY_NEXT_WEEK_RE,
    WEEKDAY_RE,
    WEEKDAY_WORDS,
)


@dataclass(frozen=True)
class Rules:
    """What a reader needs besides the phrase: today and the organisation's conventions."""

    today: datetime.date
    date_order: str | None = None
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS


def read_fixed_words(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
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
        return rules.today + datetime.timedelta(days=words[phrase])
    if phrase == "next week":
        return week_start(rules.today) + datetime.timedelta(days=7)
    if phrase == "next month":
        return add_months(rules.today.replace(day=1), 1)
    if phrase == "next year":
        return datetime.date(rules.today.year + 1, 1, 1)
    if phrase == "next quarter":
        return add_months(quarter_start(rules.today), 3)
    if phrase in ("this week", "eow"):
        return end_of("week", rules.today)
    if phrase in ("this month", "eom"):
        return end_of("month", rules.today)
    if phrase in ("this quarter", "eoq"):
        return end_of("quarter", rules.today)
    if phrase in ("this year", "eoy"):
        return end_of("year", rules.today)
    return None


def read_numeric(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    """ISO dates, day and month in either order, a bare year; other bare numbers are not dates.

    Day and month follow the organisation's `date_order`. Without one, a date that exists only
    one way round ("25/12", "12/25") is read, one that exists both ways ("3/4") is asked about.
    """
    if not NUMERIC_RE.fullmatch(phrase):
        return None
    if match := ISO_RE.fullmatch(phrase):
        year, month, day = (int(match[g]) for g in ("year", "month", "day"))
        return exact_date(year, month, day, shown, "I read it as year-month-day")
    if match := DAY_AND_MONTH_RE.fullmatch(phrase):
        first, second = int(match["first"]), int(match["second"])
        year = None if match["year"] is None else int(match["year"])
        if year is not None and len(match["year"]) == 2:
            year += 2000
        orders = [rules.date_order] if rules.date_order else list(DATE_ORDERS)
        readings = {
            order: (first, second) if order == "MDY" else (second, first) for order in orders
        }
        possible = {o: md for o, md in readings.items() if exists(year, *md)}
        if not possible:
            order = rules.date_order or ("MDY" if first <= 12 else "DMY")
            how = (
                f"I read dates like 3/1/2027 as {ORDER_WORDS[order]}" if rules.date_order else None
            )
            month, day = readings[order]
            raise DateParseError(nonexistent_sentence(shown, year, month, day, how))
        dates = [
            next_month_day(m, d, rules.today, shown, None)
            if year is None
            else datetime.date(year, m, d)
            for m, d in possible.values()
        ]
        if len(set(dates)) > 1:
            raise UncertainDateError(
                f"'{shown}' could be day/month or month/day.",
                sorted(dates),
            )
        return dates[0]
    if re.fullmatch(r"\d{4}", phrase) and 1900 <= int(phrase) <= 2199:
        return datetime.date(int(phrase), 1, 1)
    raise DateParseError(unreadable_sentence(shown, rules.today))


def exists(year: int | None, month: int, day: int) -> bool:
    """Whether a month and day exist, in `year` or (without one) in some year."""
    if not 1 <= month <= 12 or day < 1 or (year is not None and not 1 <= year <= 9999):
        return False
    return day <= days_in(2000 if year is None else year, month)


def read_month_day(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    match = DAY_MONTH_RE.fullmatch(phrase) or MONTH_DAY_RE.fullmatch(phrase)
    if match is None:
        return None
    month = MONTH_WORDS[match["month"]]
    day = int(match["day"]) if match["day"] else ORDINAL_WORDS[match["dayword"]]
    if match["year"]:
        due = exact_date(int(match["year"]), month, day, shown, None)
    else:
        due = next_month_day(month, day, rules.today, shown, None)
    return agreeing_weekday(due, match["weekday"], rules.today)


def agreeing_weekday(
    due: datetime.date, weekday: str | None, today: datetime.date
) -> datetime.date:
    """`due`, if the weekday said with it (if any) is its weekday; otherwise ask which was meant:
    the day as numbered, or the weekday named nearest to it (the later one if both are as near,
    and not before today)."""
    if weekday is None or due.weekday() == WEEKDAY_WORDS[weekday]:
        return due
    wanted = WEEKDAY_WORDS[weekday]
    after = due + datetime.timedelta(days=(wanted - due.weekday()) % 7)
    before = after - datetime.timedelta(days=7)
    nearest = before if (due - before) < (after - due) and before >= today else after
    raise UncertainDateError(
        f"{format_day(due, weekday=False)} is a {WEEKDAY_NAMES[due.weekday()]}, "
        f"not a {WEEKDAY_NAMES[wanted]}.",
        [due, nearest],
    )


def read_month(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    """A month on its own means its first day: "March", "next March", "March 2027"."""
    match = MONTH_RE.fullmatch(phrase)
    if match is None:
        return None
    month = MONTH_WORDS[match["month"]]
    if match["year"]:
        return datetime.date(int(match["year"]), month, 1)
    return next_yearly(
        lambda year: datetime.date(year, month, 1), rules.today, match["which"], months=1
    )


def read_mid_month(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    """ "mid-March", "middle of next March": the 15th."""
    match = MID_MONTH_RE.fullmatch(phrase)
    if match is None:
        return None
    month = MONTH_WORDS[match["month"]]
    if match["year"]:
        return datetime.date(int(match["year"]), month, 15)
    return next_yearly(lambda year: datetime.date(year, month, 15), rules.today, match["which"])


def read_day_of_month(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    """ "the 1st", "the 15th", "the first of next month": the next such day of a month."""
    match = DAY_OF_MONTH_RE.fullmatch(phrase)
    bare_number = match is not None and match["day"] and not match["weekday"]
    if match is None or (bare_number and not re.search(r"the|st|nd|rd|th", phrase)):
        return None
    day = int(match["day"]) if match["day"] else ORDINAL_WORDS[match["dayword"]]
    if not 1 <= day <= 31:
        raise DateParseError(
            f"The date '{shown}' doesn't exist: no month has a day {day}. "
            "Try a day from the 1st to the 31st, like 'the 15th'."
        )
    if match["which"]:
        first = add_months(rules.today.replace(day=1), 1 if match["which"] == "next" else 0)
        how = f"{MONTH_NAMES[first.month]} {first.year} has {days_in(first.year, first.month)}"
        due = exact_date(first.year, first.month, day, shown, how + " days")
        return agreeing_weekday(due, match["weekday"], rules.today)
    first = rules.today.replace(day=1)
    for months_ahead in range(13):
        month_start = add_months(first, months_ahead)
        if day <= days_in(month_start.year, month_start.month):
            candidate = month_start.replace(day=day)
            if candidate >= rules.today:
                return agreeing_weekday(candidate, match["weekday"], rules.today)
    return None  # pragma: no cover - every day 1..31 occurs within a year


def read_weekday(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    if match := WEEKDAY_NEXT_WEEK_RE.fullmatch(phrase):
        start = week_start(rules.today) + datetime.timedelta(days=7)
        return start + datetime.timedelta(days=WEEKDAY_WORDS[match["weekday"]])
    match = WEEKDAY_RE.fullmatch(phrase)
    if match is None:
        return None
    ahead = (WEEKDAY_WORDS[match["weekday"]] - rules.today.weekday()) % 7
    if ahead == 0 and match["which"] != "this":
        ahead = 7
    return rules.today + datetime.timedelta(days=ahead)


def read_season(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    match = SEASON_RE.fullmatch(phrase)
    if match is None:
        return None
    return period_start(SEASONS[match["season"]], match, rules.today)


def read_quarter(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    match = QUARTER_RE.fullmatch(phrase)
    if match is None:
        return None
    return period_start(3 * (int(match["quarter"]) - 1) + 1, match, rules.today)


def period_start(month: int, match: re.Match[str], today: datetime.date) -> datetime.date:
    """The first day of a three-month period (a season, a quarter) starting in `month`: in the
    year given, or the next one to come."""
    if match["year"]:
        return datetime.date(int(match["year"]), month, 1)
    return next_yearly(lambda year: datetime.date(year, month, 1), today, match["which"], months=3)


def read_end_of(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    match = END_RE.fullmatch(phrase)
    if match is None:
        return None
    what = match["what"]
    for which in ("this ", "next "):
        if what.startswith(which) and what[len(which) :] in ("week", "month", "quarter", "year"):
            return end_of(what[len(which) :], rules.today, ahead=which == "next ")
    if what in ("week", "month", "quarter", "year"):
        return end_of(what, rules.today)
    if what in ("day", "today"):
        return rules.today
    if re.fullmatch(r"\d{4}", what):
        return datetime.date(int(what), 12, 31)
    if m := MONTH_RE.fullmatch(what):
        month = MONTH_WORDS[m["month"]]
        if m["year"]:
            return month_end(int(m["year"]), month)
        return next_yearly(lambda year: month_end(year, month), rules.today, m["which"])
    if m := QUARTER_RE.fullmatch(what):
        last_month = 3 * int(m["quarter"])
        if m["year"]:
            return month_end(int(m["year"]), last_month)
        return next_yearly(lambda year: month_end(year, last_month), rules.today, m["which"])
    if m := SEASON_RE.fullmatch(what):
        start_month = SEASONS[m["season"]]

        def season_end(year: int) -> datetime.date:
            last = add_months(datetime.date(year, start_month, 1), 2)
            return month_end(last.year, last.month)

        if m["year"]:
            return season_end(int(m["year"]))
        return next_yearly(season_end, rules.today, m["which"])
    return None


def read_relative(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    """ "in 10 months", "in two weeks", "a week from today", "3 business days"."""
    phrase = re.sub(r"(?:'s|’s|'|’)?\s+time$", "", phrase)
    match = RELATIVE_RE.fullmatch(phrase)
    if match is None:
        return None
    amount = parse_amount(match["amount"])
    if amount is None:
        return None
    start = (
        rules.today + datetime.timedelta(days=1)
        if match["tail"] == "from tomorrow"
        else rules.today
    )
    unit = UNITS[match["unit"]]
    try:
        if unit == "day":
            return start + datetime.timedelta(days=amount)
        if unit == "business_day":
            return add_business_days(start, amount, rules.business_days)
        if unit == "week":
            return start + datetime.timedelta(weeks=amount)
        if unit == "fortnight":
            return start + datetime.timedelta(weeks=2 * amount)
        months = {"month": 1, "quarter": 3, "year": 12}[unit] * amount
        return add_months(start, months)
    except (OverflowError, ValueError):
        raise DateParseError(
            f"'{shown}' is further ahead than I can keep track of. "
            "Try a date within the next few years."
        ) from None


def parse_amount(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    if word in TENS_WORDS:
        return TENS_WORDS[word]
    tens, _, unit = word.replace("-", " ").partition(" ")
    if tens in TENS_WORDS and unit in NUMBER_WORDS and NUMBER_WORDS[unit] < 10:
        return TENS_WORDS[tens] + NUMBER_WORDS[unit]
    return None
