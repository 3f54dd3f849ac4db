"""What a kind's cues are, compiled for matching, and what a detection is.

A playbook's ``[signal]`` table becomes a ``SignalCues``: its verbs, nouns and phrases in
every inflection, indexed by their first token (``_Index``) so that matching a message is a
dictionary look-up per token. ``Signal`` is what detection reports.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from handlers.signals.vocabulary import EXCERPT_CHARS, _noun_forms, _verb_forms

_SIGNAL_KEYS = ("actions", "objects", "phrases", "ignore", "names", "examples")
_LIST_KEYS = ("actions", "objects", "phrases", "ignore")
_CUE_SHAPE = re.compile(r"[^\W_](?:[^\W_]|[ '\-])*\*?")
_CUE_MAX_CHARS = 60


@dataclass(frozen=True)
class Signal:
    """A chat message that looks like an initiative with hidden IT roles."""

    kind: str  # playbook kind: the most likely one
    cues: tuple[str, ...]  # human-readable cues that matched, e.g. ("moving", "building")
    confidence: float  # 0..1 (the score of ``kind``)
    excerpt: str  # the message, whitespace-collapsed, at most 280 characters
    kinds: tuple[str, ...] = ()  # every kind the message is a signal of, most likely first
    score: float = -1.0  # the calibrated probability of ``kind`` (the rules: their score)
    # From the optional second opinion (``second_opinion``), to prefill the intake.
    title: str = ""  # a short title of the initiative, or ""
    date: str | None = None  # its date as YYYY-MM-DD, when the message names one

    def __post_init__(self) -> None:
        if not self.kinds:
            object.__setattr__(self, "kinds", (self.kind,))
        if self.score < 0:
            object.__setattr__(self, "score", self.confidence)


@dataclass(frozen=True)
class _Cue:
    """One cue: at each position a set of accepted tokens, or a prefix (from a trailing *)."""

    role: str
    words: tuple[frozenset[str] | str, ...]

    def matches(self, tokens: list[str], start: int) -> bool:
        """Whether the cue's later words follow (the index has already matched the first)."""
        if start + len(self.words) > len(tokens):
            return False
        for offset in range(1, len(self.words)):
            word, token = self.words[offset], tokens[start + offset]
            if isinstance(word, str):
                if not token.startswith(word):
                    return False
            elif token not in word:
                return False
        return True


def _compile_cue(text: str, role: str, inflect: str) -> _Cue:
    """Turn "sign up" or "label printer" into a token matcher with its inflected forms."""
    words = text.split()
    slots: list[frozenset[str] | str] = []
    for index, word in enumerate(words):
        if word.endswith("*"):
            slots.append(word[:-1])
        elif inflect == "verb" and index == 0:
            slots.append(frozenset(_verb_forms(word)))
        elif inflect == "noun" and index == len(words) - 1:
            slots.append(frozenset(_noun_forms(word)))
        else:
            slots.append(frozenset({word}))
    return _Cue(role, tuple(slots))


_Match = tuple[int, int, str]  # (start, end, role), as ``_Index.find`` gives them


@dataclass(frozen=True)
class _Index:
    """Cues keyed by their first token, so matching is a dictionary look-up per token."""

    by_first: dict[str, tuple[_Cue, ...]]
    by_prefix: tuple[tuple[str, _Cue], ...]  # cues whose first word ends in *

    @classmethod
    def build(cls, cues: Iterable[_Cue]) -> _Index:
        by_first: dict[str, list[_Cue]] = {}
        by_prefix: list[tuple[str, _Cue]] = []
        for cue in cues:
            first = cue.words[0]
            if isinstance(first, str):
                by_prefix.append((first, cue))
                continue
            for form in first:
                by_first.setdefault(form, []).append(cue)
        return cls({k: tuple(v) for k, v in by_first.items()}, tuple(by_prefix))

    def find(self, tokens: list[str]) -> list[tuple[int, int, str]]:
        """Every (start, end, role) match, overlapping ones included."""
        found = []
        for start, token in enumerate(tokens):
            for cue in self.by_first.get(token, ()):
                if len(cue.words) == 1 or cue.matches(tokens, start):
                    found.append((start, start + len(cue.words), cue.role))
            for prefix, cue in self.by_prefix:
                if token.startswith(prefix) and cue.matches(tokens, start):
                    found.append((start, start + len(cue.words), cue.role))
        return found


def _clean_entries(key: str, values: Iterable[str]) -> tuple[str, ...]:
    """Normalise cue strings and reject ones that could never match as written."""
    cleaned = []
    for position, value in enumerate(values):
        if not isinstance(value, str):
            raise ValueError(f"signal.{key} must be a list of strings")
        entry = " ".join(value.lower().split())
        where = f"signal.{key}[{position}]"
        if not entry:
            raise ValueError(f"{where} is empty")
        if len(entry) > _CUE_MAX_CHARS:
            raise ValueError(f"{where} is longer than {_CUE_MAX_CHARS} characters")
        if not _CUE_SHAPE.fullmatch(entry):
            raise ValueError(
                f"{where} ({value!r}) may hold only letters, digits, spaces, apostrophes and"
                " hyphens, with an optional * at the very end"
            )
        cleaned.append(entry)
    return tuple(cleaned)


@dataclass(frozen=True)
class SignalCues:
    """The cues of one initiative kind, as written in a playbook's ``[signal]`` table.

    ``actions`` are verbs (any tense matches), ``objects`` are nouns (plurals match) and
    ``phrases`` are strong enough alone. ``ignore`` lists things that make this kind's
    actions chatter when they come first after the action, on top of the global chatter.
    ``names`` lets a capitalised product name right after an action count as an object.
    A trailing ``*`` matches any ending ("reorgani*"). ``examples`` are whole messages of
    the kind: the rules ignore them, ``liaison-bot train`` teaches them to the model.
    """

    actions: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    names: bool = False
    examples: tuple[str, ...] = ()  # messages of this kind, for the model (not the rules)
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in _LIST_KEYS:
            value = getattr(self, key)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"signal.{key} must be a list of strings")
            object.__setattr__(self, key, _clean_entries(key, value))
        if not isinstance(self.names, bool):
            raise ValueError("signal.names must be true or false")
        if not self.objects and not self.phrases:
            raise ValueError("signal needs at least one entry in signal.objects or signal.phrases")
        cues = [_compile_cue(text, "action", "verb") for text in self.actions]
        cues += [_compile_cue(text, "object", "noun") for text in self.objects]
        cues += [_compile_cue(text, "phrase", "verb") for text in self.phrases]
        cues += [_compile_cue(text, "stop", "noun") for text in self.ignore]
        object.__setattr__(self, "_index", _Index.build(cues))

    @classmethod
    def from_table(cls, table: dict) -> SignalCues:
        """Build from the ``[signal]`` table of a playbook TOML, with errors that name the key."""
        if not isinstance(table, Mapping):
            raise ValueError("signal must be a table with actions, objects and phrases lists")
        unknown = sorted(str(key) for key in table if key not in _SIGNAL_KEYS)
        if unknown:
            raise ValueError(
                f"signal.{unknown[0]} is not a known key (expected: {', '.join(_SIGNAL_KEYS)})"
            )
        lists = {}
        for key in _LIST_KEYS:
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"signal.{key} must be a list of strings")
            lists[key] = tuple(value)
        names = table.get("names", False)
        if not isinstance(names, bool):
            raise ValueError("signal.names must be true or false")
        examples = table.get("examples", [])
        if not isinstance(examples, list) or not all(isinstance(item, str) for item in examples):
            raise ValueError("signal.examples must be a list of strings")
        cleaned = tuple(" ".join(item.split())[:EXCERPT_CHARS] for item in examples)
        return cls(**lists, names=names, examples=tuple(item for item in cleaned if item))


@cache
def _shipped_cues() -> tuple[tuple[str, SignalCues], ...]:
    """The [signal] table of every shipped playbook, in file-name order."""
    folder = resources.files("handlers").joinpath("playbooks")
    found = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text("utf-8"))
        if "signal" not in data:
            continue
        try:
            cues = SignalCues.from_table(data["signal"])
        except ValueError as exc:
            raise ValueError(f"playbooks/{entry.name}: {exc}") from None
        found.append((str(data.get("kind", entry.name.removesuffix(".toml"))), cues))
    return tuple(found)


def default_cues() -> dict[str, SignalCues]:
    """Kind -> cues from the shipped playbooks (read once, returned as a fresh dict)."""
    return dict(_shipped_cues())
