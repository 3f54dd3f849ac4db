"""The first pass: every kind's cues merged into one index, so that chatter is turned away
after a tokenisation and a set look-up, and the rest is matched for all kinds in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from handlers.signals.cues import SignalCues, _Cue, _Index, _Match, _shipped_cues
from handlers.signals.lexicon import _is_future, _modifier_words
from handlers.signals.reading import _TOKEN
from handlers.signals.vocabulary import (
    _NAME_SKIP,
    _NAME_STOPS,
    EXTRA_OBJECT,
    INTENT,
    MODIFIED,
    MODIFIER_WINDOW,
    NAME_WINDOW,
    OBJECT,
    THRESHOLD,
)


@dataclass(frozen=True, eq=False)
class _MergedIndex:
    """Every kind's cues merged into one index: the first pass every message goes through
    (``first_pass``), and one matching pass for all kinds (``find``).

    Only an object, a phrase, or an action followed by a product name (for kinds with
    ``names``) can carry a kind; an action alone or an ``ignore`` entry never can. So a
    message whose tokens start none of those *strong* cues is chatter after one set
    look-up, and one in which none of them matches in full after a short loop. Otherwise
    one pass over the merged index finds each kind's cues, and a kind still cannot score if
    it has only actions and no product name, or only objects that cannot reach
    ``THRESHOLD`` even with every bonus still possible. Only a message with a kind that may
    score goes through the full matcher, which is unchanged: the first pass never changes a
    result, it only saves the work chatter never needed.
    """

    table: tuple[tuple[str, SignalCues], ...]  # kind -> cues, as the full matcher reads them
    strong: _Index  # every object, phrase and name-taking action of every kind
    strong_first: frozenset[str]  # their first tokens
    strong_prefix: re.Pattern[str] | None  # the same, for cues whose first word ends in *
    strong_infix: re.Pattern[str] | None  # those prefixes anywhere: a cheaper test first
    by_first: dict[str, tuple[tuple[int, _Cue], ...]]  # every cue: (kind number, cue)
    by_prefix: tuple[tuple[str, int, _Cue], ...]
    prefixes: tuple[str, ...]  # the prefixes in by_prefix, for one str.startswith call
    names: tuple[bool, ...]  # per kind number: whether product names count

    @classmethod
    def build(cls, table: tuple[tuple[str, SignalCues], ...]) -> _MergedIndex:
        by_first: dict[str, list[tuple[int, _Cue]]] = {}
        by_prefix: list[tuple[str, int, _Cue]] = []
        strong: dict[int, _Cue] = {}
        for number, (_, kind_cues) in enumerate(table):
            index = kind_cues._index  # the full matcher's own cues, so both see the same
            for form, cues in index.by_first.items():
                for cue in cues:
                    by_first.setdefault(form, []).append((number, cue))
                    if _is_strong(cue, kind_cues.names):
                        strong[id(cue)] = cue
            for prefix, cue in index.by_prefix:
                by_prefix.append((prefix, number, cue))
                if _is_strong(cue, kind_cues.names):
                    strong[id(cue)] = cue
        strong_index = _Index.build(strong.values())
        pattern = "|".join(sorted({re.escape(prefix) for prefix, _ in strong_index.by_prefix}))
        return cls(
            table,
            strong_index,
            frozenset(strong_index.by_first),
            re.compile(f"(?:^| )(?:{pattern})") if pattern else None,
            re.compile(pattern) if pattern else None,
            {form: tuple(cues) for form, cues in by_first.items()},
            tuple(by_prefix),
            tuple(sorted({prefix for prefix, _, _ in by_prefix})),
            tuple(kind_cues.names for _, kind_cues in table),
        )

    def first_pass(self, plain: str, tokens: list[str]) -> list[list[_Match]] | None:
        """Each kind's cue matches, or None if no kind can reach ``THRESHOLD``: chatter."""
        prefixed = self._strong_prefix_in(tokens)
        if self.strong_first.isdisjoint(tokens) and not prefixed:
            return None
        if not self._strong_match(tokens, prefixed):
            return None
        found = self.find(tokens)
        return found if self._may_score(plain, tokens, found) else None

    def _strong_match(self, tokens: list[str], prefixed: bool) -> bool:
        """Whether a strong cue matches in full, not only its first word ("on" of "on board")."""
        by_first = self.strong.by_first
        for start, token in enumerate(tokens):
            cues = by_first.get(token)
            if cues and any(len(cue.words) == 1 or cue.matches(tokens, start) for cue in cues):
                return True
            if prefixed:
                for prefix, cue in self.strong.by_prefix:
                    if token.startswith(prefix) and cue.matches(tokens, start):
                        return True
        return False

    def _strong_prefix_in(self, tokens: list[str]) -> bool:
        """Whether a token starts a strong cue whose first word ends in *."""
        if self.strong_prefix is None or self.strong_infix is None:
            return False
        joined = " ".join(tokens)  # tokens hold no spaces: a token starts at 0 or after one
        return (
            self.strong_infix.search(joined) is not None
            and self.strong_prefix.search(joined) is not None
        )

    def find(self, tokens: list[str]) -> list[list[_Match]]:
        """What each kind's own index finds, in the same order, in one pass for all kinds."""
        found: list[list[_Match]] = [[] for _ in self.names]
        for start, token in enumerate(tokens):
            for number, cue in self.by_first.get(token, ()):
                if len(cue.words) == 1 or cue.matches(tokens, start):
                    found[number].append((start, start + len(cue.words), cue.role))
            if self.prefixes and token.startswith(self.prefixes):
                for prefix, number, cue in self.by_prefix:
                    if token.startswith(prefix) and cue.matches(tokens, start):
                        found[number].append((start, start + len(cue.words), cue.role))
        return found

    def _may_score(self, plain: str, tokens: list[str], found: list[list[_Match]]) -> bool:
        """Whether some kind may score, counting every bonus that is still possible."""
        raw: list[str] | None = None
        future: bool | None = None
        for names, matches in zip(self.names, found, strict=True):
            objects: list[tuple[int, int]] = []
            action_ends: list[int] = []
            for start, end, role in matches:
                if role == "phrase":
                    return True  # evidence enough on its own
                if role == "object":
                    objects.append((start, end))
                elif role == "action":
                    action_ends.append(end)
            if objects and action_ends:
                return True  # an action may pair with an object
            if names and action_ends:
                raw = _TOKEN.findall(plain) if raw is None else raw
                if any(_may_be_name(tokens, raw, end) for end in action_ends):
                    return True
            if objects:
                value = _best_object_score(tokens, objects)
                if value >= THRESHOLD:
                    return True
                if value + INTENT >= THRESHOLD:
                    future = _is_future(tokens) if future is None else future
                    if future:
                        return True
        return False


def _is_strong(cue: _Cue, names: bool) -> bool:
    return cue.role in ("object", "phrase") or (cue.role == "action" and names)


def _may_be_name(tokens: list[str], raw: list[str], end: int) -> bool:
    """A looser ``_name_after``: whether a product name may follow an action ending at end.

    It leaves out only what rules a name out (shouting, a sentence's first word, idioms, a
    brand of chatter), so where it finds no name the full matcher finds none either.
    """
    for position in range(end, min(len(tokens), end + NAME_WINDOW)):
        token = tokens[position]
        if token in _NAME_SKIP:
            continue
        word = raw[position]
        return (
            word[0].isalpha()
            and (word[0].isupper() or any(c.isupper() for c in word))
            and token not in _NAME_STOPS
            and not token.endswith("'s")
        )
    return False


def _best_object_score(tokens: list[str], objects: list[tuple[int, int]]) -> float:
    """The most that objects alone can score before intent, added up as ``_score`` does.

    Every distinct object is counted and any modifier word nearby counts, whatever negation,
    idioms, clauses or chatter would later take away; the penalties are left out.
    """
    distinct = {" ".join(tokens[start:end]) for start, end in objects}
    value = OBJECT
    value += EXTRA_OBJECT * min(2, max(0, len(distinct) - 1))
    if any(_may_be_modified(tokens, start, end) for start, end in objects):
        value += MODIFIED
    return value


def _may_be_modified(tokens: list[str], start: int, end: int) -> bool:
    """A looser ``_modified``: a possible modifier word in the window, in any clause."""
    words, prefixes = _modifier_words()
    return any(
        token in words or token.isdigit() or (prefixes and token.startswith(prefixes))
        for token in tokens[max(0, start - MODIFIER_WINDOW) : end - 1]
    )


_INDEX_CACHE_SIZE = 32
_indexes: dict[tuple[tuple[Any, ...], tuple[int, ...]], _MergedIndex] = {}
_last_index: list[_MergedIndex] = []  # the index used last: almost every message needs it again


@cache
def _shipped_index() -> _MergedIndex:
    return _MergedIndex.build(_shipped_cues())


def _merged_index(cues: Mapping[str, SignalCues] | None) -> _MergedIndex:
    """The merged index of a cue set, built once per set of cue objects.

    Callers may pass a fresh mapping with every message (a catalogue builds one per call),
    so indexes are found by the kinds and cue objects the mapping holds, not by the mapping:
    first the index used last, if its kinds and cues are the same (equal cues build equal
    indexes), then by the identity of the cue objects. A cached index holds its cue objects,
    so their ids stay unique while it is cached.
    """
    if cues is None:
        return _shipped_index()
    items = tuple(cues.items())  # read once: the index keeps exactly the objects in the key
    if _last_index and _last_index[0].table == items:  # an identity check per item, usually
        return _last_index[0]
    key = (tuple([kind for kind, _ in items]), tuple([id(value) for _, value in items]))
    try:
        merged = _indexes.get(key)
    except TypeError:  # a mapping with unhashable keys: still correct, just not cached
        return _MergedIndex.build(items)
    if merged is None:
        merged = _MergedIndex.build(items)
        if len(_indexes) >= _INDEX_CACHE_SIZE:
            _indexes.clear()
        _indexes[key] = merged
    _last_index[:] = [merged]
    return merged
