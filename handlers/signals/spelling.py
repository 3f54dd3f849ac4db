"""Typo repair for cue words, before the model reads a message.

One swapped, dropped, doubled or mistyped letter in a cue word ("hirng", "laptpos",
"mvoing") used to lose the rules' findings, which the model leans on most: on the valid
split, two typos per message cost 14 points of recall, 11 of them through the findings.
So a word the organisation's chat is not known to use, five letters or longer, that is one
edit (Damerau: a letter added, dropped, changed, or two neighbours swapped) away from
exactly one cue word, is read as that cue word. The model, its training and the prefilter
all read the repaired text, so they agree. A hyphenated word that is not a cue as written
but holds a cue word is read as separate words ("soft-launching", "build-out", "re-hiring").

Words that are real words are never repaired: the English words of pyspellchecker's
frequency list and every word of the shipped corpus (its train and valid splits, written
without deliberate typos), kept in ``data/words.txt`` (rebuilt by ``make train``), and every
word of the cues and the lexicon. Capitalised words inside a word
("NetSuite") and words in capitals are names, never repaired either.

Cost: one regular-expression pass over the first ``MAX_SCAN_CHARS`` characters and a set
look-up per word of five letters or more; only an unknown word costs a few dictionary
look-ups more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from handlers.signals.cues import SignalCues
from handlers.signals.first_pass import _merged_index, _MergedIndex
from handlers.signals.lexicon import _lexicon
from handlers.signals.vocabulary import MAX_SCAN_CHARS

WORDS_FILE = "words.txt"
MIN_LENGTH = 5  # shorter words have too many real neighbours ("hire": here, hide, wire)
_CANDIDATE = re.compile(r"(?<![\w'\-])[A-Za-z]{5,}(?![\w])")
_HYPHENATED = re.compile(r"(?<![\w'\-])[A-Za-z]+(?:-[A-Za-z]+)+(?![\w'\-])")
_WORD = re.compile(r"[a-z]+")


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """Whether a and b are one Damerau edit apart (a letter added, dropped, changed, or two
    neighbours swapped)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and (a[diff[1]] == b[diff[0]])
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@dataclass(frozen=True, eq=False)
class Speller:
    """The cue words of one cue set, and the words never to repair."""

    known: frozenset[str]
    nearby: dict[str, tuple[str, ...]]  # a cue word, or it less one letter -> cue words
    cue_words: frozenset[str] = frozenset()  # every token a cue starts or goes on with

    @classmethod
    def build(cls, cue_words: Iterable[str], known: Iterable[str]) -> Speller:
        cue_words = frozenset(cue_words)
        nearby: dict[str, set[str]] = {}
        targets = {word for word in cue_words if len(word) >= MIN_LENGTH and word.isalpha()}
        for word in targets:
            for key in (word, *_deletes(word)):
                nearby.setdefault(key, set()).add(word)
        return cls(
            frozenset(known) | frozenset(targets),
            {key: tuple(sorted(words)) for key, words in nearby.items()},
            cue_words,
        )

    def correction(self, word: str) -> str | None:
        """The one cue word a lower-case unknown word is a typo of, or None."""
        if word in self.known:
            return None
        nearby = self.nearby
        found = set(nearby.get(word, ()))
        for key in _deletes(word):
            found.update(nearby.get(key, ()))
        found = {candidate for candidate in found if _one_edit(word, candidate)}
        return found.pop() if len(found) == 1 else None

    def repair(self, text: str) -> str:
        """The text with each typo of a cue word replaced by the cue word (case kept)."""
        known = self.known

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            lower = word.lower()
            if lower in known:
                return word
            if word[1:] != word[1:].lower():  # NetSuite, IKEA: a name
                return word
            repaired = self.correction(lower)
            if repaired is None:
                return word
            return repaired.capitalize() if word[0].isupper() else repaired

        def split(match: re.Match[str]) -> str:
            word = match.group(0)
            lower = word.lower()
            if lower in cue_words:  # "e-commerce", "off-site", "buy-in": a cue as written
                return word
            parts = lower.split("-")
            if not any(part in cue_words for part in parts):
                return word
            return word.replace("-", " ")  # "soft-launching": read as "soft launching"

        cue_words = self.cue_words
        if "-" in text:
            text = _HYPHENATED.sub(split, text)
        return _CANDIDATE.sub(fix, text)


@cache
def _known_words() -> frozenset[str]:
    text = resources.files("handlers").joinpath("signals", "data", WORDS_FILE)
    try:
        return frozenset(text.read_text("utf-8").split())
    except FileNotFoundError:  # before the first `make train`: repair nothing unknown
        return frozenset()


def _cue_words(merged: _MergedIndex) -> set[str]:
    words: set[str] = set()
    for form, cues in merged.by_first.items():
        words.add(form)
        for _, cue in cues:
            for part in cue.words[1:]:
                if not isinstance(part, str):
                    words.update(part)
    return words


@cache
def _speller(merged: _MergedIndex) -> Speller:
    lexicon = _lexicon()
    lexicon_words = set(lexicon.negators)
    for form, cues in lexicon.index.by_first.items():
        lexicon_words.add(form)
        for cue in cues:
            for part in cue.words[1:]:
                if not isinstance(part, str):
                    lexicon_words.update(part)
    if not _known_words():
        return Speller(frozenset(), {})  # no word list: repair nothing
    return Speller.build(_cue_words(merged) | lexicon_words, _known_words() | lexicon_words)


def repaired(text: str, cues: Mapping[str, SignalCues] | None = None) -> str:
    """The part of a message detection reads (its first ``MAX_SCAN_CHARS`` characters), with
    typos of cue words repaired."""
    return repaired_for(_merged_index(cues), text)


def repaired_for(merged: _MergedIndex, text: str) -> str:
    """``repaired`` for a cue set's merged index (the prefilter holds one)."""
    return _speller(merged).repair(text[:MAX_SCAN_CHARS])


def forget() -> None:
    """Read the word list again (after ``make train`` rewrote it)."""
    _known_words.cache_clear()
    _speller.cache_clear()


def corpus_words(texts: Iterable[str]) -> list[str]:
    """The words of texts, sorted and once each (for ``data/words.txt``)."""
    return sorted({word for text in texts for word in _WORD.findall(text.lower())})
