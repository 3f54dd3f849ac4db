"""The words people use for dates: months, weekdays, numbers, units, and the patterns
built from them. Data only, read by the readers in handlers.dates.reading."""

import re

MAX_DATE_TEXT = 200
DEFAULT_BUSINESS_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4)

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
_US_RE = re.compile(r"(?P<month>\d{1,2})[/-](?P<day>\d{1,2})(?:[/-](?P<year>\d{2}|\d{4}))?")
_NUMERIC_RE = re.compile(r"[\d\s./-]+")
_DAY_MONTH_RE = re.compile(rf"(?:{_WEEKDAY}\s+)?(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}")
_MONTH_DAY_RE = re.compile(rf"(?:{_WEEKDAY}\s+)?{_MONTH}\s+(?:the\s+)?{_DAY}{_YEAR}")
_MONTH_RE = re.compile(rf"(?:(?P<which>in|this|next)\s+)?{_MONTH}{_YEAR}")
_MID_MONTH_RE = re.compile(rf"(?:mid|mid-|middle of)\s*(?:(?P<which>this|next)\s+)?{_MONTH}{_YEAR}")
_DAY_OF_MONTH_RE = re.compile(rf"(?:the\s+)?{_DAY}(?:\s+of\s+(?P<which>this|next)\s+month)?")
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
