"""A cheap first look in front of the model: most chat cannot reach the threshold, and this
proves it without computing the model's features.

The model's raw score for a kind is a sum (``model.Model.raw_text``)::

    bias + char_weight * (char n-gram weights) + word_weight * (word weights) + (findings)

and its probability grows with it, so a message whose *upper bound* on that sum is below
the raw score the threshold needs, for every kind, is certainly not a signal. The bound is
put together from the message's whitespace-separated chunks, each read once per process and
then remembered (chat repeats its words):

* the n-grams and words inside a chunk, the n-grams across each space and the word pairs
  across chunks are summed exactly (the weights are the model's own);
* the rules' findings are bounded by the positive weights of those a chunk may give: a
  kind's role when one of its cues of that role *starts* there, a lexicon role likewise,
  negation, a question mark. Only when that is not enough are the findings computed.

So it never turns away a message the model would fire on; it only saves the work. Messages
longer than ``model.LONG_MESSAGE`` (also read two sentences at a time), messages with more
than ``LEARN`` chunks it has not met yet (reading a chunk the first time costs more than the
model does; it learns that many per message) and a model whose calibration does not grow
with the score go to the model.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from handlers.signals import model as _model
from handlers.signals.cues import SignalCues
from handlers.signals.first_pass import _merged_index, _MergedIndex
from handlers.signals.lexicon import _lexicon
from handlers.signals.reading import _ASCII_TOKEN, _TOKEN, _plain_text
from handlers.signals.rules import findings
from handlers.signals.spelling import repaired_for

MARGIN = 1e-3  # float32 rounding in the model's sums is far below this
CACHE = 50_000  # chunks and crossings remembered per model and cue set (then forgotten)
# Reading a chunk for the first time costs more than the model spends on it: a message with
# more new chunks than this goes to the model, and the prefilter learns this many of them.
LEARN = 2


class _Chunk(NamedTuple):
    """What one chunk adds to the bound, the same wherever it occurs."""

    folded: str  # lowered, digits folded, as the model reads it
    tail: str  # its last 3 characters, with the space before it if it is shorter
    chars: int  # row in the vector table: its char n-grams inside " chunk "
    words: int  # row: its words, hyphen parts and the word pairs inside it
    word_features: int  # its words and hyphen parts (pairs are counted per message)
    first_word: str | None
    last_word: str | None
    word_count: int
    findings: int  # bits (in ``Prefilter.rules`` order) of the findings it may give, and
    # one more bit above them: whether a cue of some kind starts in it


@dataclass(eq=False)
class Prefilter:
    """The bound of one model and one cue set, with what it has remembered."""

    model: _model.Model
    merged: _MergedIndex
    rules: tuple[str, ...]  # the model's findings, by name ("office_move object")
    pairs_of: tuple[tuple[int, int, int], ...]  # per kind: its action, object and pair bits
    grows: bool  # the calibration grows with the raw score for every kind
    # Rows of per-kind sums (float64): each finding's positive weight, then the bias, then
    # what chunks, crossings, pairs and thresholds add as they are met.
    vectors: np.ndarray = field(init=False)
    used: int = 0
    chunks: dict[str, _Chunk] = field(default_factory=dict)
    shapes: dict[str, tuple[int, int, int, str | None, str | None, int]] = field(
        default_factory=dict
    )  # folded chunk -> its rows and counts
    crossings: dict[tuple[str, str], int] = field(default_factory=dict)  # -> row, -1: none
    pairs: dict[str, int] = field(default_factory=dict)  # word pair -> row, -1: none
    rule_bounds: dict[int, int] = field(default_factory=dict)  # findings' bits -> row
    needed: dict[float, int] = field(default_factory=dict)  # threshold -> row: raw needed

    def __post_init__(self) -> None:
        self._reset()

    @classmethod
    def build(cls, model: _model.Model, merged: _MergedIndex) -> Prefilter:
        rules = tuple(sorted(model._families[2]))
        bit = {name: 1 << number for number, name in enumerate(rules)}
        pairs_of = tuple(
            (bit.get(f"{kind} action", 0), bit.get(f"{kind} object", 0), bit.get(f"{kind} pair", 0))
            for kind, _ in merged.table
        )
        grows = bool(np.all(model.platt[:, 0] > 0))
        return cls(model, merged, rules, pairs_of, grows)

    def _reset(self) -> None:
        """Forget every chunk; the table starts with the findings' positive weights."""
        index = self.model._families[2]
        rows = [index[name] for name in self.rules]
        positive = np.maximum(self.model.weights[rows].astype(np.float64), 0.0)
        self.vectors = np.zeros((max(1024, 2 * len(rows)), len(self.model.kinds)))
        self.vectors[: len(rows)] = positive.reshape(len(rows), len(self.model.kinds))
        self.vectors[len(rows)] = self.model.bias
        self.used = len(rows) + 1
        self.chunks.clear()
        self.shapes.clear()
        self.crossings.clear()
        self.pairs.clear()
        self.rule_bounds.clear()
        self.needed.clear()

    def _row(self, vector: np.ndarray) -> int:
        if self.used == len(self.vectors):
            self.vectors = np.concatenate([self.vectors, np.zeros_like(self.vectors)])
        self.vectors[self.used] = vector
        self.used += 1
        return self.used - 1

    def _sum_row(self, model_rows: list[int]) -> int:
        """A new row holding the sum of some of the model's weight rows."""
        kinds = len(self.model.kinds)
        if not model_rows:
            return self._row(np.zeros(kinds))
        return self._row(self.model.weights[model_rows].sum(axis=0, dtype=np.float64))

    def _needed_row(self, threshold: float) -> int:
        """The table row of the raw score each kind needs to reach a threshold in (0, 1)."""
        row = self.needed.get(threshold)
        if row is None:
            logit = math.log(threshold / (1.0 - threshold))
            a, b = self.model.platt[:, 0].astype(np.float64), self.model.platt[:, 1]
            row = self.needed[threshold] = self._row((logit - b.astype(np.float64)) / a)
        return row

    def may_fire(
        self, text: str, threshold: float, cues: Mapping[str, SignalCues] | None = None
    ) -> bool:
        """False only when no kind can reach the threshold for this message."""
        if len(text) > _model.LONG_MESSAGE or not self.grows or not 0.0 < threshold < 1.0:
            return True
        text = repaired_for(self.merged, text)  # as the model reads it
        terms = self._terms(text)
        if terms is None:
            return True
        rows, coefficients, possible = terms
        needed = self._needed_row(threshold)  # before the rows are read: it may add one
        bound = self._findings_bound(possible)
        top = (np.array([*coefficients, 1.0, -1.0]) @ self.vectors[[*rows, bound, needed]]).max()
        if top < -MARGIN:
            return False
        if not possible >> len(self.rules) & 1:  # no cue starts in it: that bound is all
            return True
        index = self.model._families[2]
        exact = [row for name in findings(text, cues) if (row := index.get(name)) is not None]
        scores = np.array([*coefficients, -1.0]) @ self.vectors[[*rows, needed]]
        if exact:
            scores = scores + self.model.weights[exact].sum(axis=0, dtype=np.float64)
        return bool(scores.max() >= -MARGIN)

    def upper_bound(self, text: str) -> np.ndarray | None:
        """At least the model's raw score for each kind (without computing the findings), or
        None where no bound is kept."""
        if len(text) > _model.LONG_MESSAGE or not self.grows:
            return None
        terms = self._terms(repaired_for(self.merged, text))
        if terms is None:
            return None
        rows, coefficients, possible = terms
        rows = [*rows, self._findings_bound(possible)]
        return np.array([*coefficients, 1.0]) @ self.vectors[rows]

    def _terms(self, text: str) -> tuple[list[int], list[float], int] | None:
        """The table rows and weights whose sum is the bias and the exact n-gram part of the
        raw score, and the findings the message may give (with the "a cue starts here" bit);
        None for a message with more than ``LEARN`` chunks never seen before. Written for
        speed: it runs on every message."""
        if len(self.shapes) + len(self.crossings) > CACHE:
            self._reset()
        plain = _plain_text(text)
        chunks = self.chunks
        parts = plain.split()
        read = [chunks.get(part) for part in parts]
        if None in read:
            # A chunk with a number ("(1234)", "3pm") is kept by its shape with the digits
            # folded, as the model reads it: only its findings are looked at again.
            new = list(dict.fromkeys(p for p, chunk in zip(parts, read, strict=True) if not chunk))
            folded = {part: _model._DIGITS.sub("0", part.lower()) for part in new}
            unknown = [part for part in new if folded[part] not in self.shapes]
            for part in unknown[:LEARN]:
                self._chunk(part, folded[part], plain.isascii())
            if len(unknown) > LEARN:
                return None
            made = {p: chunks.get(p) or self._chunk(p, folded[p], plain.isascii()) for p in new}
            read = [chunks.get(part) or made[part] for part in parts]
        folded = [chunk.folded for chunk in read]
        # Each space between chunks: the 3 characters before it and the 3 after.
        after = [*folded[2:], ""]  # one longer than folded[1:], except for one chunk or none
        heads = [(word + " " + more)[:3] for word, more in zip(folded[1:], after, strict=False)]
        keys = list(zip([chunk.tail for chunk in read[:-1]], heads, strict=True))
        crossings = self.crossings
        crossing_rows = [crossings.get(key) for key in keys]
        if None in crossing_rows:
            crossing_rows = [self._crossing(*key) for key in keys]
        worded = [chunk for chunk in read if chunk.first_word is not None]
        pair_keys = [f"{a.last_word} {b.first_word}" for a, b in itertools.pairwise(worded)]
        pairs = self.pairs
        pair_rows = [pairs.get(key) for key in pair_keys]
        if None in pair_rows:
            pair_rows = [self._pair(key) for key in pair_keys]
        char_rows = [chunk.chars for chunk in read] + [r for r in crossing_rows if r >= 0]
        word_rows = [chunk.words for chunk in read] + [r for r in pair_rows if r >= 0]
        length = len(folded) + 1 + sum([len(word) for word in folded])  # " a b c "
        n_chars = sum([length - size + 1 for size in _model.CHAR_SIZES if size <= length])
        n_words = sum([chunk.word_features for chunk in read])
        n_words += max(0, sum([chunk.word_count for chunk in read]) - 1)  # and each pair
        char_weight = 1.0 / math.sqrt(max(n_chars, _model.MIN_CHARS))
        word_weight = 1.0 / math.sqrt(max(n_words, _model.MIN_WORDS))
        coefficients = [char_weight] * len(char_rows) + [word_weight] * len(word_rows) + [1.0]
        possible = functools.reduce(operator.or_, [chunk.findings for chunk in read], 0)
        bias = len(self.rules)  # the bias's row, right after the findings'
        return [*char_rows, *word_rows, bias], coefficients, possible

    def _findings_bound(self, possible: int) -> int:
        """The row of the positive weights of the findings a message may give, by bits."""
        row = self.rule_bounds.get(possible)
        if row is None:
            bits = possible
            for action, obj, pair in self.pairs_of:
                if bits & action and bits & obj:
                    bits |= pair
            rows = [number for number in range(len(self.rules)) if bits >> number & 1]
            total = self.vectors[rows].sum(axis=0) if rows else np.zeros(len(self.model.kinds))
            row = self.rule_bounds[possible] = self._row(total)
        return row

    def _pair(self, pair: str) -> int:
        """The table row of a word pair's weights, or -1 when the model does not know it."""
        row = self.pairs.get(pair)
        if row is None:
            model_row = self.model._families[1].get(pair)
            row = self.pairs[pair] = -1 if model_row is None else self._sum_row([model_row])
        return row

    def _crossing(self, tail: str, head: str) -> int:
        """The row of the char n-grams across one space (``tail`` ends right before it and
        ``head`` starts right after it, each at most 3 characters), or -1 for none."""
        key = (tail, head)
        row = self.crossings.get(key)
        if row is None:
            chars = self.model._families[0]
            grams = [
                f"{tail[-before:]} {head[:after]}"
                for before in range(1, len(tail) + 1)
                for after in range(1, len(head) + 1)
                if before + 1 + after <= max(_model.CHAR_SIZES)
            ]
            rows = [row for gram in grams if (row := chars.get(gram)) is not None]
            row = self.crossings[key] = self._sum_row(rows) if rows else -1
        return row

    def _chunk(self, part: str, folded: str, ascii_text: bool) -> _Chunk:
        """One chunk's exact sums, its counts and the findings it may give; remembered
        unless it holds a digit (its shape is remembered either way)."""
        shape = self.shapes.get(folded)
        if shape is None:
            shape = self.shapes[folded] = self._shape(folded)
        possible, cued = _findings_possible(part, ascii_text, self.merged, self.rules)
        chunk = _Chunk(folded, f" {folded}"[-3:], *shape, possible | cued << len(self.rules))
        if folded == part.lower():
            self.chunks[part] = chunk
        return chunk

    def _shape(self, folded: str) -> tuple[int, int, int, str | None, str | None, int]:
        """The sums and counts of a chunk as the model reads it (lowered, digits folded)."""
        chars, words_index, _ = self.model._families
        padded = f" {folded} "
        char_rows = [
            row
            for size in _model.CHAR_SIZES
            for i in range(len(padded) - size + 1)
            if (row := chars.get(padded[i : i + size])) is not None
        ]
        found = _model._WORD.findall(folded)
        pieces = [piece for word in found if "-" in word for piece in word.split("-") if piece]
        inner = [f"{a} {b}" for a, b in itertools.pairwise(found)]
        word_rows = [
            row for name in (*found, *pieces, *inner) if (row := words_index.get(name)) is not None
        ]
        return (
            self._sum_row(char_rows),
            self._sum_row(word_rows),
            len(found) + len(pieces),
            found[0] if found else None,
            found[-1] if found else None,
            len(found),
        )


def _findings_possible(
    part: str, ascii_text: bool, merged: _MergedIndex, rules: tuple[str, ...]
) -> tuple[int, bool]:
    """The findings a chunk may give (as bits) and whether a cue of some kind starts in
    it. Tokens as ``rules.findings`` reads them; a cue of several words may not match in
    full, which only makes the bound looser."""
    if ascii_text:
        tokens = _ASCII_TOKEN.findall(part.lower())
    else:
        tokens = [token.lower() for token in _TOKEN.findall(part)]
    lexicon = _lexicon()
    names: set[str] = set()
    cued = False
    for token in tokens:
        for number, cue in merged.by_first.get(token, ()):
            names.add(f"{merged.table[number][0]} {cue.role}")
            cued = True
        if merged.prefixes and token.startswith(merged.prefixes):
            for prefix, number, cue in merged.by_prefix:
                if token.startswith(prefix):
                    names.add(f"{merged.table[number][0]} {cue.role}")
                    cued = True
        names.update(f"lexicon {cue.role}" for cue in lexicon.index.by_first.get(token, ()))
        for prefix, cue in lexicon.index.by_prefix:
            if token.startswith(prefix):
                names.add(f"lexicon {cue.role}")
        if token in lexicon.negators or token.endswith("n't"):
            names.add("negation")
        if token == "?":
            names.add("question")
    bits = 0
    for number, name in enumerate(rules):
        if name in names:
            bits |= 1 << number
    return bits, cued


_built: dict[tuple[int, int], Prefilter] = {}


def for_model(model: _model.Model, cues: Mapping[str, SignalCues] | None) -> Prefilter:
    """The prefilter of a model and cue set, built once (and kept with what it was built of,
    so the ids in the key stay unique while it is kept)."""
    merged = _merged_index(cues)
    key = (id(model), id(merged))
    found = _built.get(key)
    if found is None or found.model is not model or found.merged is not merged:
        if len(_built) >= 8:
            _built.clear()
        found = _built[key] = Prefilter.build(model, merged)
    return found
