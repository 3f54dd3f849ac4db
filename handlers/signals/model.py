"""The learned detector: features of a message, and a small linear model over them.

A message becomes a set of features that survive the ways people really write:

* character n-grams (3 to 5 letters, within words) so that a typo, an inflection or a
  hyphen ("buyng", "soft-launching") still shares most of its features with the word;
* words and pairs of words, with digits folded ("12 laptops" and "40 laptops" alike);
* the rules' findings (``rules.findings``): which kind's verbs, objects and phrases occur,
  negation, cancellation, tense, and the rules' own verdict.

The n-gram features are weighted 1/sqrt(count) so that a long message does not outvote a
short one by its length alone; the rules' findings weigh 1 each.

The model is one logistic regression per kind over those features (a message may have
several kinds), followed by Platt scaling fitted on a held-out split, so that a score of
0.8 means about four in five such messages are that kind. It is stored as one ``.npz``
file (feature names, weights, biases, calibration) and needs only numpy to run; it is
trained by ``handlers.signals.train``. Nothing is downloaded: the shipped model is in the
package, an organisation's own is wherever its configuration says.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from handlers.signals import reading, rules, spelling

SHIPPED_MODEL = "model.npz"
CHAR_SIZES = (3, 4, 5)
_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
_DIGITS = re.compile(r"\d+")
# Feature names carry their family as a prefix in the model file; at run time each family
# has its own dictionary, so no name is ever built by concatenation on the hot path.
CHAR, WORD, RULE = "c ", "w ", "r "
# A short message weighs its few n-grams as if it had this many: otherwise "on it" or "hi
# there" would stake everything on two or three of them.
MIN_CHARS, MIN_WORDS = 60, 8
LONG_MESSAGE = 240  # characters from which a message is also read two sentences at a time
MAX_WINDOWS = 12  # ...for its first sentences only: a plan is stated early, the cost stays bounded
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")


@dataclass(frozen=True)
class Grams:
    """A message's n-grams, each family with its weight (1/sqrt of its size, or of a floor)."""

    chars: list[str]
    words: list[str]
    rules: list[str]

    @property
    def char_weight(self) -> float:
        return 1.0 / math.sqrt(max(len(self.chars), MIN_CHARS))

    @property
    def word_weight(self) -> float:
        return 1.0 / math.sqrt(max(len(self.words), MIN_WORDS))


def grams(text: str, cues: Mapping[str, rules.SignalCues] | None = None) -> Grams:
    """Letters (3 to 5, across the whole lowered text), words, word pairs, rule findings,
    read from the message with its cue words' typos repaired (``spelling``)."""
    text = spelling.repaired(text, cues)
    plain = reading._plain_text(text[: rules.MAX_SCAN_CHARS]).lower()
    plain = " " + " ".join(_DIGITS.sub("0", plain).split()) + " "
    length = len(plain)
    chars = [plain[i : i + size] for size in CHAR_SIZES for i in range(length - size + 1)]
    words = _WORD.findall(plain)
    parts = [part for word in words if "-" in word for part in word.split("-") if part]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return Grams(chars, words + parts + pairs, rules.findings(text, cues))


def features(text: str, cues: Mapping[str, rules.SignalCues] | None = None) -> dict[str, float]:
    """Every feature of a message by its name in the model file, with its value."""
    found = grams(text, cues)
    out: dict[str, float] = {}
    for prefix, names, weight in (
        (CHAR, found.chars, found.char_weight),
        (WORD, found.words, found.word_weight),
        (RULE, found.rules, 1.0),
    ):
        for name in names:
            key = prefix + name
            out[key] = out.get(key, 0.0) + weight
    return out


@dataclass(frozen=True, eq=False)
class Model:
    """One linear scorer per kind over shared features, with Platt calibration."""

    kinds: tuple[str, ...]
    index: dict[str, int]  # feature name -> row of ``weights``
    weights: np.ndarray  # (features, kinds), float32
    bias: np.ndarray  # (kinds,)
    platt: np.ndarray  # (kinds, 2): probability = sigmoid(a * raw + b)

    def raw(self, found: Mapping[str, float]) -> np.ndarray:
        """Uncalibrated scores per kind (log-odds) from named features (for training)."""
        rows, values = [], []
        index = self.index
        for name, value in found.items():
            row = index.get(name)
            if row is not None:
                rows.append(row)
                values.append(value)
        if not rows:
            return self.bias.astype(np.float64)
        return self.bias + np.asarray(values, dtype=np.float32) @ self.weights[rows]

    @functools.cached_property
    def _families(self) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """The index split by family, without the prefixes (the fast path's look-ups)."""
        split: dict[str, dict[str, int]] = {CHAR: {}, WORD: {}, RULE: {}}
        for name, row in self.index.items():
            split[name[:2]][name[2:]] = row
        return split[CHAR], split[WORD], split[RULE]

    def raw_text(self, text: str, cues: Mapping[str, rules.SignalCues] | None = None) -> np.ndarray:
        """Uncalibrated scores per kind for a message: the same sum as ``raw(features())``,
        with one dictionary look-up per n-gram and one gather of weight rows."""
        found = grams(text, cues)
        chars, words, rule_index = self._families
        char_rows = [row for row in map(chars.get, found.chars) if row is not None]
        word_rows = [row for row in map(words.get, found.words) if row is not None]
        rule_rows = [row for row in map(rule_index.get, found.rules) if row is not None]
        rows = char_rows + word_rows + rule_rows
        if not rows:
            return self.bias.astype(np.float64)
        values = np.empty(len(rows), dtype=np.float32)
        values[: len(char_rows)] = found.char_weight
        values[len(char_rows) : len(char_rows) + len(word_rows)] = found.word_weight
        values[len(char_rows) + len(word_rows) :] = 1.0
        return self.bias + values @ np.take(self.weights, rows, axis=0)

    def calibrated(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities per kind from raw scores."""
        z = self.platt[:, 0] * raw + self.platt[:, 1]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))

    def probabilities(
        self, text: str, cues: Mapping[str, rules.SignalCues] | None = None
    ) -> dict[str, float]:
        """Kind -> calibrated probability that the message is a signal of that kind.

        A long message is also read two sentences at a time, and each kind keeps its best
        score: a plan buried among other news is not drowned by them, while a retraction
        right after it ("...but the grant fell through.") is still read with it.
        """
        raw = self.raw_text(text, cues)
        if len(text) > LONG_MESSAGE:
            sentences = [s for s in _SENTENCE_END.split(text[: rules.MAX_SCAN_CHARS]) if s]
            sentences = sentences[: MAX_WINDOWS + 1]
            if len(sentences) > 2:
                for first, second in itertools.pairwise(sentences):
                    raw = np.maximum(raw, self.raw_text(f"{first} {second}", cues))
        return dict(zip(self.kinds, self.calibrated(raw).tolist(), strict=True))

    def save(self, path: str | Path) -> None:
        """Write the model as one compressed ``.npz`` (only numpy arrays, no pickle)."""
        names = [""] * len(self.index)
        for name, row in self.index.items():
            names[row] = name
        arrays = {
            "kinds": np.array("\n".join(self.kinds)),
            "features": np.array("\n".join(names)),
            "weights": self.weights.astype(np.float16),
            "bias": self.bias.astype(np.float32),
            "platt": self.platt.astype(np.float32),
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # An .npz is a zip of .npy files; written with a fixed date, the same model gives the
        # same bytes (np.savez would stamp the current time).
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w") as out:
                    np.lib.format.write_array(out, array, allow_pickle=False)


def load(path: str | Path) -> Model:
    """Read a model written by ``Model.save`` (never unpickles anything)."""
    with np.load(path, allow_pickle=False) as data:
        kinds = tuple(str(data["kinds"]).split("\n"))
        names = str(data["features"]).split("\n") if data["features"].size else []
        weights = data["weights"].astype(np.float32)
        bias = data["bias"].astype(np.float32)
        platt = data["platt"].astype(np.float32)
    if weights.shape != (len(names), len(kinds)) or platt.shape != (len(kinds), 2):
        raise ValueError(f"{path}: the model file is inconsistent; train it again")
    return Model(kinds, {name: row for row, name in enumerate(names)}, weights, bias, platt)


@cache
def shipped() -> Model:
    """The model built from the shipped corpus (``make train``), read once."""
    with resources.as_file(
        resources.files("handlers").joinpath("signals", "data", SHIPPED_MODEL)
    ) as path:
        return load(path)


@cache
def _load_cached(path: str, mtime_ns: int) -> Model:
    return load(path)


def load_fresh(path: str | Path) -> Model:
    """An organisation's model, read again only when its file changes (after ``train``)."""
    target = Path(path)
    return _load_cached(str(target), target.stat().st_mtime_ns)


def top_kinds(probabilities: Mapping[str, float], threshold: float) -> Sequence[str]:
    """The kinds at or above the threshold, most likely first."""
    ranked = sorted(probabilities.items(), key=lambda item: (-item[1], item[0]))
    return [kind for kind, p in ranked if p >= threshold]
