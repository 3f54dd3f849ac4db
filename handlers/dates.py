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

import calendar
import datetime
import difflib
import functools
import re
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass

MAX_DATE_TEXT = 200
DEFAULT_BUSINESS_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4)
# A due date more than this many years from today (ahead, or back where past dates are allowed)
# is a typo or a placeholder such as 9999-12-31, not a plan: it is refused, never stored.
HORIZON_YEARS = 10
DATE_ORDERS = ("DMY", "MDY")
_ORDER_WORDS = {"DMY": "day/month/year", "MDY": "month/day/year"}

_PREFIXES = ("in time for", "no later than", "due", "by", "on", "before", "until", "till")

_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
_MONTH_NAMES = {number: name.title() for name, number in _MONTHS.items()}
_MONTH_WORDS = {
    **_MONTHS,
    **{name[:3]: number for name, number in _MONTHS.items()},
    "sept": 9,
}

_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_WEEKDAY_NAMES = {number: name.title() for name, number in _WEEKDAYS.items()}
_WEEKDAY_WORDS = {
    **_WEEKDAYS,
    **{name[:3]: number for name, number in _WEEKDAYS.items()},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}

# Meteorological seasons, northern hemisphere: the month each one starts in.
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "a couple of": 2,
    "a couple": 2,
    "a few": 3,
}
_TENS_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}

_ORDINAL_UNITS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
}
_ORDINAL_WORDS = {
    **_ORDINAL_UNITS,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
    **{f"twenty{sep}{word}": 20 + n for word, n in _ORDINAL_UNITS.items() for sep in ("-", " ")},
    "thirty-first": 31,
    "thirty first": 31,
}

_UNITS = {
    "d": "day",
    "day": "day",
    "days": "day",
    "business day": "business_day",
    "business days": "business_day",
    "working day": "business_day",
    "working days": "business_day",
    "work day": "business_day",
    "work days": "business_day",
    "workday": "business_day",
    "workdays": "business_day",
    "w": "week",
    "wk": "week",
    "wks": "week",
    "week": "week",
    "weeks": "week",
    "fortnight": "fortnight",
    "fortnights": "fortnight",
    "mo": "month",
    "mos": "month",
    "mth": "month",
    "mths": "month",
    "month": "month",
    "months": "month",
    "quarter": "quarter",
    "quarters": "quarter",
    "y": "year",
    "yr": "year",
    "yrs": "year",
    "year": "year",
    "years": "year",
}

# Words that show a phrase is about time; dateparser is only trusted with phrases that have one,
# because it turns stray words and numbers ("a", "1 1") into dates.
_TIME_WORDS = frozenset(
    [
        *_MONTH_WORDS,
        *_WEEKDAY_WORDS,
        *_SEASONS,
        "today",
        "tonight",
        "tomorrow",
        "yesterday",
        "now",
        "noon",
        "midday",
        "midnight",
        "morning",
        "afternoon",
        "evening",
        "ago",
        "hence",
        "later",
        "am",
        "pm",
        "hour",
        "hours",
        "minute",
        "minutes",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "fortnight",
        "weekend",
    ]
)

# Words worth suggesting when a person mistyped one ("Fryday" -> "Friday").
_SUGGESTIBLE = (
    *_MONTHS,
    *_WEEKDAYS,
    *_SEASONS,
    "today",
    "tomorrow",
    "next",
    "end",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "days",
    "quarter",
    "fortnight",
)

_DAY_WORD = "|".join(sorted(map(re.escape, _ORDINAL_WORDS), key=len, reverse=True))
_DAY = rf"(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th)?|(?P<dayword>{_DAY_WORD}))"
_MONTH = "(?P<month>" + "|".join(sorted(_MONTH_WORDS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = "(?P<weekday>" + "|".join(sorted(_WEEKDAY_WORDS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?:\s+(?P<year>\d{4}))?"
_SEASON = "(?P<season>" + "|".join(_SEASONS) + ")"
_UNIT = "(?P<unit>" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + ")"
_AMOUNT = (
    r"(?P<amount>\d{1,6}|a couple of|a couple|a few|an|a"
    r"|(?:(?:twenty|thirty|forty|fifty)[- ])?[a-z]+)"
)

_ISO_RE = re.compile(r"(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})")
_DAY_AND_MONTH_RE = re.compile(
    r"(?P<first>\d{1,2})[/-](?P<second>\d{1,2})(?:[/-](?P<year>\d{2}|\d{4}))?"
)
_NUMERIC_RE = re.compile(r"[\d\s./-]+")
_DAY_MONTH_RE = re.compile(rf"(?:{_WEEKDAY}\s+)?(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}")
_MONTH_DAY_RE = re.compile(rf"(?:{_WEEKDAY}\s+)?{_MONTH}\s+(?:the\s+)?{_DAY}{_YEAR}")
_MONTH_RE = re.compile(rf"(?:(?P<which>in|this|next)\s+)?{_MONTH}{_YEAR}")
_MID_MONTH_RE = re.compile(rf"(?:mid|mid-|middle of)\s*(?:(?P<which>this|next)\s+)?{_MONTH}{_YEAR}")
_DAY_OF_MONTH_RE = re.compile(
    rf"(?:{_WEEKDAY}\s+)?(?:the\s+)?{_DAY}(?:\s+of\s+(?P<which>this|next)\s+month)?"
)
_WEEKDAY_RE = re.compile(rf"(?:(?P<which>this|next|coming|the coming)\s+)?{_WEEKDAY}")
_WEEKDAY_NEXT_WEEK_RE = re.compile(rf"{_WEEKDAY}\s+(?:of\s+)?next\s+week")
_SEASON_RE = re.compile(rf"(?:(?P<which>this|next|in the|in|the)\s+)?{_SEASON}{_YEAR}")
_QUARTER_RE = re.compile(r"(?:(?P<which>this|next)\s+)?q(?P<quarter>[1-4])(?:\s+(?P<year>\d{4}))?")
_END_RE = re.compile(r"(?:the\s+)?end\s+of\s+(?:the\s+)?(?P<what>.+)")
_START_RE = re.compile(r"(?:the\s+)?(?:start|beginning)\s+of\s+(?:the\s+)?(?P<what>.+)")
_RELATIVE_RE = re.compile(
    rf"(?P<lead>in|within)?\s*{_AMOUNT}\s+{_UNIT}"
    r"(?:\s+(?P<tail>from now|from today|from tomorrow|later|hence))?"
)


class DateParseError(ValueError):
    """A due date that could not be used; str(err) is a friendly sentence for the person."""


class UncertainDateError(DateParseError):
    """A date was read, but not surely enough to store: the person confirms one in one step.

    `candidates` are the dates it may mean, the likeliest first; the sentence names them and
    the ISO form to type to confirm one, which always reads without a question.
    """

    def __init__(self, reason: str, candidates: Sequence[datetime.date]) -> None:
        self.reason = reason
        self.candidates = tuple(dict.fromkeys(candidates))
        shown = " or ".join(_format_day(c) for c in self.candidates)
        typed = " or ".join(f"'by {c.isoformat()}'" for c in self.candidates)
        confirm = " to confirm" if len(self.candidates) == 1 else ""
        super().__init__(
            f"{reason} Did you mean {shown}? Say {typed}{confirm}, or give another date."
        )

    @property
    def candidate(self) -> datetime.date:
        """The likeliest date."""
        return self.candidates[0]


class BusinessDays(tuple[int, ...]):
    """The weekdays that are business days (Monday is 0), and the public holidays that are not.

    A tuple of weekday numbers, so code that only knows weekdays keeps working, with the
    organisation's holiday calendar (any container of dates, such as `holiday_calendar`'s)
    attached for `add_business_days`, `business_days_between` and `is_business_day`.
    """

    holidays: Container[datetime.date]

    def __new__(
        cls,
        weekdays: Iterable[int] = DEFAULT_BUSINESS_DAYS,
        holidays: Container[datetime.date] = frozenset(),
    ) -> "BusinessDays":
        made = super().__new__(cls, weekdays)
        made.holidays = holidays
        return made


@functools.lru_cache(maxsize=16)
def holiday_calendar(country: str, subdiv: str | None = None) -> Container[datetime.date]:
    """The public holidays of a country (ISO 3166 code) and optional subdivision ("US", "IL"),
    from the `holidays` library; raises ValueError with a sentence for the admin if unknown."""
    import holidays  # imported here: most organisations never need it

    try:
        calendar_ = holidays.country_holidays(country.upper(), subdiv=subdiv)
    except NotImplementedError:
        if subdiv:
            raise ValueError(
                f"'{subdiv}' is not a subdivision of '{country}' that I know holidays for"
            ) from None
        raise ValueError(
            f"'{country}' is not a country I know holidays for; use an ISO code such as 'US'"
        ) from None
    for year in range(2000, 2101):  # filled now, so reading it later never changes it
        datetime.date(year, 1, 1) in calendar_  # noqa: B015 - the lookup fills the year
    return calendar_


@dataclass(frozen=True)
class _Rules:
    """What a reader needs besides the phrase: today and the organisation's conventions."""

    today: datetime.date
    date_order: str | None = None
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS


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
    shown = _strip_prefixes(said.rstrip(".!?,;: "))
    if not shown or shown.lower() in _PREFIXES:
        raise DateParseError(
            "When should it be done? Give me a date, like 'by Friday', 'in two weeks' "
            f"or 'by {_example_iso(today)}'."
        )
    rules = _Rules(today, date_order, business_days)
    try:
        due = _read(shown, rules)
    except UncertainDateError as doubt:
        usable = [c for c in doubt.candidates if _out_of_range(c, today, allow_past) is None]
        if not usable:
            raise DateParseError(_out_of_range(doubt.candidate, today, allow_past)) from None
        if len(usable) < len(doubt.candidates):
            raise UncertainDateError(doubt.reason, usable) from None
        raise
    if due is None:
        raise DateParseError(_unreadable_sentence(said, rules))
    problem = _out_of_range(due, today, allow_past)
    if problem:
        raise DateParseError(problem)
    return due


def describe_date(d: datetime.date, today: datetime.date) -> str:
    """Show a date so nobody has to count: 'Fri 27 Nov 2026 (in 4 days)'."""
    return f"{_format_day(d)} ({_relative(d, today)})"


def is_business_day(
    day: datetime.datetime | datetime.date,
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS,
) -> bool:
    """Whether work is expected on `day`: one of the business weekdays and not a holiday (when
    `business_days` is a `BusinessDays` that carries holidays)."""
    d = _as_date(day)
    return d.weekday() in _business_day_set(business_days) and d not in _holidays(business_days)


def add_business_days(
    start: datetime.datetime | datetime.date,
    n: int,
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS,
) -> datetime.datetime | datetime.date:
    """Step `n` business days from `start` (backwards if negative), keeping any time of day.

    Business days are weekday numbers, Monday being 0, less the holidays of a `BusinessDays`.
    Used for rules such as "a request nobody answered after 2 business days". Starting on a
    Saturday, one business day on is Monday.
    """
    days, holidays = _business_day_set(business_days), _holidays(business_days)
    step = datetime.timedelta(days=1 if n >= 0 else -1)
    moment = start
    for _ in range(abs(n)):
        moment += step
        while moment.weekday() not in days or _as_date(moment) in holidays:
            moment += step
    return moment


def business_days_between(
    a: datetime.datetime | datetime.date,
    b: datetime.datetime | datetime.date,
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS,
) -> int:
    """Count the business days after `a` up to and including `b`, by date (times are ignored).

    Negative when `b` is before `a`. `business_days_between(a, add_business_days(a, n)) == n`
    for any n >= 0. Holidays of a `BusinessDays` that fall on business weekdays don't count.
    """
    days = _business_day_set(business_days)
    first, last = _as_date(a), _as_date(b)
    if last < first:
        return -business_days_between(last, first, business_days)
    span = (last - first).days
    full_weeks, rest = divmod(span, 7)
    count = full_weeks * len(days)
    for offset in range(1, rest + 1):
        if (first + datetime.timedelta(days=full_weeks * 7 + offset)).weekday() in days:
            count += 1
    return count - len(_holidays_within(business_days, days, first, last))


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


def _read(shown: str, rules: _Rules) -> datetime.date | None:
    """Return the date `shown` means, None if it is not a date, or raise for impossible ones
    (`DateParseError`) and doubtful ones (`UncertainDateError`)."""
    phrase = re.sub(r"\s*,\s*", " ", shown.lower()).strip()
    for reader in _READERS:
        result = reader(phrase, shown, rules)
        if result is not None:
            return result
    return _read_with_dateparser(phrase, shown, rules)


def _read_fixed_words(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
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
        return _week_start(rules.today) + datetime.timedelta(days=7)
    if phrase == "next month":
        return _add_months(rules.today.replace(day=1), 1)
    if phrase == "next year":
        return datetime.date(rules.today.year + 1, 1, 1)
    if phrase == "next quarter":
        return _add_months(_quarter_start(rules.today), 3)
    if phrase in ("this week", "eow"):
        return _end_of("week", rules.today)
    if phrase in ("this month", "eom"):
        return _end_of("month", rules.today)
    if phrase in ("this quarter", "eoq"):
        return _end_of("quarter", rules.today)
    if phrase in ("this year", "eoy"):
        return _end_of("year", rules.today)
    return None


def _read_numeric(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    """ISO dates, day and month in either order, a bare year; other bare numbers are not dates.

    Day and month follow the organisation's `date_order`. Without one, a date that exists only
    one way round ("25/12", "12/25") is read, one that exists both ways ("3/4") is asked about.
    """
    if not _NUMERIC_RE.fullmatch(phrase):
        return None
    if match := _ISO_RE.fullmatch(phrase):
        year, month, day = (int(match[g]) for g in ("year", "month", "day"))
        return _exact_date(year, month, day, shown, "I read it as year-month-day")
    if match := _DAY_AND_MONTH_RE.fullmatch(phrase):
        first, second = int(match["first"]), int(match["second"])
        year = None if match["year"] is None else int(match["year"])
        if year is not None and len(match["year"]) == 2:
            year += 2000
        orders = [rules.date_order] if rules.date_order else list(DATE_ORDERS)
        readings = {
            order: (first, second) if order == "MDY" else (second, first) for order in orders
        }
        possible = {o: md for o, md in readings.items() if _exists(year, *md)}
        if not possible:
            order = rules.date_order or ("MDY" if first <= 12 else "DMY")
            how = (
                f"I read dates like 3/1/2027 as {_ORDER_WORDS[order]}" if rules.date_order else None
            )
            month, day = readings[order]
            raise DateParseError(_nonexistent_sentence(shown, year, month, day, how))
        dates = [
            _next_month_day(m, d, rules.today, shown, None)
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
    raise DateParseError(_unreadable_sentence(shown, rules))


def _exists(year: int | None, month: int, day: int) -> bool:
    """Whether a month and day exist, in `year` or (without one) in some year."""
    if not 1 <= month <= 12 or day < 1 or (year is not None and not 1 <= year <= 9999):
        return False
    return day <= _days_in(2000 if year is None else year, month)


def _read_month_day(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    match = _DAY_MONTH_RE.fullmatch(phrase) or _MONTH_DAY_RE.fullmatch(phrase)
    if match is None:
        return None
    month = _MONTH_WORDS[match["month"]]
    day = int(match["day"]) if match["day"] else _ORDINAL_WORDS[match["dayword"]]
    if match["year"]:
        due = _exact_date(int(match["year"]), month, day, shown, None)
    else:
        due = _next_month_day(month, day, rules.today, shown, None)
    return _agreeing_weekday(due, match["weekday"], rules.today)


def _agreeing_weekday(
    due: datetime.date, weekday: str | None, today: datetime.date
) -> datetime.date:
    """`due`, if the weekday said with it (if any) is its weekday; otherwise ask which was meant:
    the day as numbered, or the weekday named nearest to it (the later one if both are as near,
    and not before today)."""
    if weekday is None or due.weekday() == _WEEKDAY_WORDS[weekday]:
        return due
    wanted = _WEEKDAY_WORDS[weekday]
    after = due + datetime.timedelta(days=(wanted - due.weekday()) % 7)
    before = after - datetime.timedelta(days=7)
    nearest = before if (due - before) < (after - due) and before >= today else after
    raise UncertainDateError(
        f"{_format_day(due, weekday=False)} is a {_WEEKDAY_NAMES[due.weekday()]}, "
        f"not a {_WEEKDAY_NAMES[wanted]}.",
        [due, nearest],
    )


def _read_month(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    """A month on its own means its first day: "March", "next March", "March 2027"."""
    match = _MONTH_RE.fullmatch(phrase)
    if match is None:
        return None
    month = _MONTH_WORDS[match["month"]]
    if match["year"]:
        return datetime.date(int(match["year"]), month, 1)
    return _next_yearly(
        lambda year: datetime.date(year, month, 1), rules.today, match["which"], months=1
    )


def _read_mid_month(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    """ "mid-March", "middle of next March": the 15th."""
    match = _MID_MONTH_RE.fullmatch(phrase)
    if match is None:
        return None
    month = _MONTH_WORDS[match["month"]]
    if match["year"]:
        return datetime.date(int(match["year"]), month, 15)
    return _next_yearly(lambda year: datetime.date(year, month, 15), rules.today, match["which"])


def _read_day_of_month(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    """ "the 1st", "the 15th", "the first of next month": the next such day of a month."""
    match = _DAY_OF_MONTH_RE.fullmatch(phrase)
    bare_number = match is not None and match["day"] and not match["weekday"]
    if match is None or (bare_number and not re.search(r"the|st|nd|rd|th", phrase)):
        return None
    day = int(match["day"]) if match["day"] else _ORDINAL_WORDS[match["dayword"]]
    if not 1 <= day <= 31:
        raise DateParseError(
            f"The date '{shown}' doesn't exist: no month has a day {day}. "
            "Try a day from the 1st to the 31st, like 'the 15th'."
        )
    if match["which"]:
        first = _add_months(rules.today.replace(day=1), 1 if match["which"] == "next" else 0)
        how = f"{_MONTH_NAMES[first.month]} {first.year} has {_days_in(first.year, first.month)}"
        due = _exact_date(first.year, first.month, day, shown, how + " days")
        return _agreeing_weekday(due, match["weekday"], rules.today)
    first = rules.today.replace(day=1)
    for months_ahead in range(13):
        month_start = _add_months(first, months_ahead)
        if day <= _days_in(month_start.year, month_start.month):
            candidate = month_start.replace(day=day)
            if candidate >= rules.today:
                return _agreeing_weekday(candidate, match["weekday"], rules.today)
    return None  # pragma: no cover - every day 1..31 occurs within a year


def _read_weekday(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    if match := _WEEKDAY_NEXT_WEEK_RE.fullmatch(phrase):
        start = _week_start(rules.today) + datetime.timedelta(days=7)
        return start + datetime.timedelta(days=_WEEKDAY_WORDS[match["weekday"]])
    match = _WEEKDAY_RE.fullmatch(phrase)
    if match is None:
        return None
    ahead = (_WEEKDAY_WORDS[match["weekday"]] - rules.today.weekday()) % 7
    if ahead == 0 and match["which"] != "this":
        ahead = 7
    return rules.today + datetime.timedelta(days=ahead)


def _read_season(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    match = _SEASON_RE.fullmatch(phrase)
    if match is None:
        return None
    return _period_start(_SEASONS[match["season"]], match, rules.today)


def _read_quarter(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    match = _QUARTER_RE.fullmatch(phrase)
    if match is None:
        return None
    return _period_start(3 * (int(match["quarter"]) - 1) + 1, match, rules.today)


def _period_start(month: int, match: re.Match[str], today: datetime.date) -> datetime.date:
    """The first day of a three-month period (a season, a quarter) starting in `month`: in the
    year given, or the next one to come."""
    if match["year"]:
        return datetime.date(int(match["year"]), month, 1)
    return _next_yearly(lambda year: datetime.date(year, month, 1), today, match["which"], months=3)


def _read_start_of(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    """ "start of next month" reads like "next month": periods already mean their first day."""
    match = _START_RE.fullmatch(phrase)
    if match is None:
        return None
    return _read(match["what"], rules)


def _read_end_of(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    match = _END_RE.fullmatch(phrase)
    if match is None:
        return None
    what = match["what"]
    for which in ("this ", "next "):
        if what.startswith(which) and what[len(which) :] in ("week", "month", "quarter", "year"):
            return _end_of(what[len(which) :], rules.today, ahead=which == "next ")
    if what in ("week", "month", "quarter", "year"):
        return _end_of(what, rules.today)
    if what in ("day", "today"):
        return rules.today
    if re.fullmatch(r"\d{4}", what):
        return datetime.date(int(what), 12, 31)
    if m := _MONTH_RE.fullmatch(what):
        month = _MONTH_WORDS[m["month"]]
        if m["year"]:
            return _month_end(int(m["year"]), month)
        return _next_yearly(lambda year: _month_end(year, month), rules.today, m["which"])
    if m := _QUARTER_RE.fullmatch(what):
        last_month = 3 * int(m["quarter"])
        if m["year"]:
            return _month_end(int(m["year"]), last_month)
        return _next_yearly(lambda year: _month_end(year, last_month), rules.today, m["which"])
    if m := _SEASON_RE.fullmatch(what):
        start_month = _SEASONS[m["season"]]

        def season_end(year: int) -> datetime.date:
            last = _add_months(datetime.date(year, start_month, 1), 2)
            return _month_end(last.year, last.month)

        if m["year"]:
            return season_end(int(m["year"]))
        return _next_yearly(season_end, rules.today, m["which"])
    return None


def _read_relative(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    """ "in 10 months", "in two weeks", "a week from today", "3 business days"."""
    phrase = re.sub(r"(?:'s|’s|'|’)?\s+time$", "", phrase)
    match = _RELATIVE_RE.fullmatch(phrase)
    if match is None:
        return None
    amount = _parse_amount(match["amount"])
    if amount is None:
        return None
    start = (
        rules.today + datetime.timedelta(days=1)
        if match["tail"] == "from tomorrow"
        else rules.today
    )
    unit = _UNITS[match["unit"]]
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


def _read_with_dateparser(phrase: str, shown: str, rules: _Rules) -> datetime.date | None:
    """The general case. Only phrases that mention time are trusted to dateparser, and what it
    reads is always asked about: it guesses freely ("Wednesday the 9th" once became a date
    nine months away)."""
    if not _TIME_WORDS.intersection(re.findall(r"[a-z]+", phrase)):
        return None
    import dateparser  # imported here: it takes a while to load

    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": datetime.datetime.combine(rules.today, datetime.time()),
        "DATE_ORDER": rules.date_order or "MDY",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        parsed = dateparser.parse(phrase, languages=["en"], settings=settings)
    except Exception:  # dateparser has raised on odd input; treat it as unreadable
        return None
    if parsed is None:
        return None
    raise UncertainDateError(f"I'm not sure I read '{shown}' right.", [parsed.date()])


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


def _unreadable_sentence(said: str, rules: _Rules) -> str:
    example = f"'by {_example_iso(rules.today)}'"
    suggestion = _suggest(said, rules)
    if suggestion:
        return f"I couldn't read '{said}' as a date. Try '{suggestion}' or {example}."
    return f"I couldn't read '{said}' as a date. Try 'by Friday', 'in two weeks' or {example}."


def _suggest(said: str, rules: _Rules) -> str | None:
    """Fix likely typos of date words ("Fryday" -> "Friday"), if the result then reads."""
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
        readable = _read(_strip_prefixes(fixed.rstrip(".!?,;: ")), rules) is not None
    except UncertainDateError:
        readable = True
    except DateParseError:
        return None
    return fixed if readable else None


def _example_iso(today: datetime.date) -> str:
    return f"{today.year + 1}-03-01"


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


def _holidays(business_days: Iterable[int]) -> Container[datetime.date]:
    return business_days.holidays if isinstance(business_days, BusinessDays) else frozenset()


def _holidays_within(
    business_days: Iterable[int], days: frozenset[int], first: datetime.date, last: datetime.date
) -> list[datetime.date]:
    """The holidays after `first` up to and including `last` that fall on business weekdays."""
    holidays = _holidays(business_days)
    if not isinstance(holidays, Iterable):
        return [
            first + datetime.timedelta(days=offset)
            for offset in range(1, (last - first).days + 1)
            if first + datetime.timedelta(days=offset) in holidays
            and (first + datetime.timedelta(days=offset)).weekday() in days
        ]
    for year in range(first.year, last.year + 1):
        datetime.date(year, 1, 1) in holidays  # noqa: B015 - a holidays calendar fills the year
    return [d for d in holidays if first < d <= last and d.weekday() in days]


def _out_of_range(due: datetime.date, today: datetime.date, allow_past: bool) -> str | None:
    """Why a date read cannot be a due date (in the past, or beyond the horizon), or None."""
    if due < today and not allow_past:
        return (
            f"That's in the past ({_format_day(due)}, {_relative(due, today)}). "
            "When should it be done?"
        )
    latest = _add_years(today, HORIZON_YEARS)
    if due > latest:
        return (
            f"{_format_day(due)} is more than {HORIZON_YEARS} years away, so I think it's a "
            f"placeholder or a typo. Give a date up to {_format_day(latest)}, like "
            f"'by {_example_iso(today)}'."
        )
    earliest = _add_years(today, -HORIZON_YEARS)
    if due < earliest:
        return (
            f"{_format_day(due)} is more than {HORIZON_YEARS} years ago, so I think it's a typo. "
            f"Give a date from {_format_day(earliest)} on."
        )
    return None


def _add_years(d: datetime.date, years: int) -> datetime.date:
    """Same day `years` later, clamped to the calendar's ends (and 29 February to the 28th)."""
    try:
        return _add_months(d, 12 * years)
    except (OverflowError, ValueError):
        return datetime.date.max if years > 0 else datetime.date.min
