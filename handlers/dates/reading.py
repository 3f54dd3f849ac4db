"""Reading a phrase: small words dropped, the table of readers tried in order, then the
dateparser fallback, whose every answer is asked about."""

import datetime
import difflib
import re
from collections.abc import Callable

from handlers.dates.errors import DateParseError, UncertainDateError
from handlers.dates.readers import (
    Rules,
    read_day_of_month,
    read_end_of,
    read_fixed_words,
    read_mid_month,
    read_month,
    read_month_day,
    read_numeric,
    read_quarter,
    read_relative,
    read_season,
    read_weekday,
)
from handlers.dates.sentences import unreadable_sentence
from handlers.dates.words import PREFIXES, START_RE, SUGGESTIBLE, TIME_WORDS


def strip_prefixes(text: str) -> str:
    """Drop the small words people put before a date ("by", "due on", "in time for")."""
    changed = True
    while changed:
        changed = False
        for prefix in PREFIXES:
            if text.lower().startswith(prefix + " "):
                text = text[len(prefix) + 1 :].lstrip()
                changed = True
    return text


def read(shown: str, rules: Rules) -> datetime.date | None:
    """Return the date `shown` means, None if it is not a date, or raise for impossible ones
    (`DateParseError`) and doubtful ones (`UncertainDateError`)."""
    phrase = re.sub(r"\s*,\s*", " ", shown.lower()).strip()
    for reader in READERS:
        result = reader(phrase, shown, rules)
        if result is not None:
            return result
    return read_with_dateparser(phrase, shown, rules)


def read_start_of(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    """ "start of next month" reads like "next month": periods already mean their first day."""
    match = START_RE.fullmatch(phrase)
    if match is None:
        return None
    return read(match["what"], rules)


READERS: tuple[Callable[[str, str, datetime.date], datetime.date | None], ...] = (
    read_fixed_words,
    read_numeric,
    read_month_day,
    read_month,
    read_mid_month,
    read_day_of_month,
    read_weekday,
    read_season,
    read_quarter,
    read_end_of,
    read_start_of,
    read_relative,
)


def read_with_dateparser(phrase: str, shown: str, rules: Rules) -> datetime.date | None:
    """The general case. Only phrases that mention time are trusted to dateparser, and what it
    reads is always asked about: it guesses freely ("Wednesday the 9th" once became a date
    nine months away)."""
    if not TIME_WORDS.intersection(re.findall(r"[a-z]+", phrase)):
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


def explain_unreadable(said: str, rules: Rules) -> str:
    """Why `said` is not a date, with a typo fix when one makes it read."""
    return unreadable_sentence(said, rules.today, suggest(said, rules))


def suggest(said: str, rules: Rules) -> str | None:
    """Fix likely typos of date words ("Fryday" -> "Friday"), if the result then reads."""
    changed = False

    def fix(match: re.Match[str]) -> str:
        nonlocal changed
        word = match[0]
        if len(word) < 4 or word.lower() in SUGGESTIBLE:
            return word
        close = difflib.get_close_matches(word.lower(), SUGGESTIBLE, n=1, cutoff=0.75)
        if not close:
            return word
        changed = True
        return close[0].title() if word[0].isupper() else close[0]

    fixed = re.sub(r"[A-Za-z]+", fix, said)
    if not changed:
        return None
    try:
        readable = read(strip_prefixes(fixed.rstrip(".!?,;: ")), rules) is not None
    except UncertainDateError:
        readable = True
    except DateParseError:
        return None
    return fixed if readable else None
