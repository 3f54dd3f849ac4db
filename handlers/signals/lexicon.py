"""The global lexicon (``signal_lexicon.toml``): what is true for every kind.

Chatter objects, neutral idioms, negation, cancellation, personal life, support requests,
modifiers, and the patterns of intent, history and recency, read once per process.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from handlers.signals.cues import _compile_cue, _Index


@dataclass(frozen=True)
class _Lexicon:
    """The global lexicon: cross-kind chatter, idioms, negation and time markers."""

    index: _Index  # roles: stop, neutral, cancel, personal, support, modifier
    negators: frozenset[str]
    future: re.Pattern[str]
    history: re.Pattern[str]
    recent: re.Pattern[str]


def _string_list(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"signal_lexicon.toml: {key} must be a list of strings")
    return value


@cache
def _lexicon() -> _Lexicon:
    """Read signal_lexicon.toml once; a broken shipped file should fail loudly and early."""
    text = resources.files("handlers").joinpath("signal_lexicon.toml").read_text("utf-8")
    data = tomllib.loads(text)
    cues = []
    for key, role, inflect in (
        ("chatter", "stop", "noun"),
        ("neutral", "neutral", "noun"),
        ("cancellers", "cancel", ""),
        ("personal", "personal", ""),
        ("support", "support", ""),
        ("modifiers", "modifier", ""),
    ):
        entries = [" ".join(entry.lower().split()) for entry in _string_list(data, key)]
        cues += [_compile_cue(entry, role, inflect) for entry in entries if entry]

    def pattern(key: str, *extra: str) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in (*_string_list(data, key), *extra)))

    negators = frozenset(word.lower() for word in _string_list(data, "negators"))
    future = pattern("future", _coming_years())
    return _Lexicon(_Index.build(cues), negators, future, pattern("history"), pattern("recent"))


def _coming_years() -> str:
    """ "in 2027", "by FY2028": a year from this one on, after a preposition, is ahead of us
    (a bare year is not: "since 2019" is history)."""
    this_year = dt.date.today().year
    years = "|".join(str(year) for year in range(this_year, this_year + 6))
    return rf"\b(?:in|by|until|before|for|starting|from|during) (?:fy ?)?(?:{years})\b"


@cache
def _modifier_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """Every word that can be part of a modifier in the lexicon, and any wildcard prefixes."""
    index = _lexicon().index
    cues = {id(cue): cue for cues in index.by_first.values() for cue in cues}
    cues.update((id(cue), cue) for _, cue in index.by_prefix)
    words: set[str] = set()
    prefixes: set[str] = set()
    for cue in cues.values():
        if cue.role != "modifier":
            continue
        for slot in cue.words:
            if isinstance(slot, str):
                prefixes.add(slot)
            else:
                words |= slot
    return frozenset(words), tuple(sorted(prefixes))


def _is_future(tokens: list[str]) -> bool:
    """The message-wide intent marker, exactly as ``_mark_context`` computes it."""
    lexicon = _lexicon()
    without_history = lexicon.history.sub(" ", " ".join(tokens))
    return lexicon.future.search(without_history) is not None
