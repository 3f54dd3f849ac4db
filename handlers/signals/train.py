"""Train the signal model: logistic regression per kind, then Platt calibration.

Only numpy is needed, so an organisation can refit its model where the bot runs
(``liaison-bot train``), with no build tools or extra packages. The fit is full-batch and
starts from zero, so the same data always gives the same model (``make train`` rebuilds
the shipped one byte for byte).

``fit`` takes labelled messages (text and a list of kinds, empty for "not a signal") for
training and a separate labelled set for calibration; it never sees the frozen test split
or the blind batch.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from handlers.signals import rules, spelling
from handlers.signals.model import SHIPPED_MODEL, Model, features

MIN_COUNT = 2  # a feature seen once in training is mostly noise, and makes the file bigger
EPOCHS = 300
LEARNING_RATE = 0.1
L2 = 1e-5
TYPO_SEED = 11


@dataclass(frozen=True)
class Example:
    """One labelled message; ``weight`` lets an organisation's own labels count more."""

    text: str
    kinds: tuple[str, ...]
    weight: float = 1.0


_KEYBOARD_NEIGHBOURS = {
    "a": "qs",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "y": "tu",
}


def misspell(text: str, rng: random.Random, count: int = 2) -> str:
    """Swap, drop, double or mistype letters inside a few words of four letters or more."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    for index in rng.sample(candidates, min(count, len(candidates))):
        word = words[index]
        pos = rng.randrange(1, len(word) - 1)
        how = rng.randrange(4)
        if how == 0:
            word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
        elif how == 1:
            word = word[:pos] + word[pos + 1 :]
        elif how == 2:
            word = word[:pos] + word[pos] + word[pos:]
        else:
            near = _KEYBOARD_NEIGHBOURS.get(word[pos].lower(), word[pos])
            word = word[:pos] + rng.choice(near) + word[pos + 1 :]
        words[index] = word
    return " ".join(words)


def with_typos(examples: Sequence[Example], seed: int = TYPO_SEED) -> list[Example]:
    """The examples and a misspelled copy of each: typos should not change a label."""
    rng = random.Random(seed)
    copies = [Example(misspell(e.text, rng), e.kinds, e.weight) for e in examples]
    return [
        *examples,
        *(copy for copy, e in zip(copies, examples, strict=True) if copy.text != e.text),
    ]


def shipped_corpus() -> list[dict]:
    """The corpus shipped with the package (``bench/make_corpus.py`` builds it)."""
    text = resources.files("handlers").joinpath("signals", "data", "corpus.jsonl")
    rows = [json.loads(line) for line in text.read_text("utf-8").splitlines() if line.strip()]
    return rows


def examples(rows: Iterable[Mapping], split: str | None = None) -> list[Example]:
    """Corpus rows (of one split, if given) as examples."""
    return [
        Example(str(row["text"]), tuple(row["kinds"]))
        for row in rows
        if split is None or row.get("split") == split
    ]


def _matrix(
    found: Sequence[Mapping[str, float]], index: Mapping[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sparse matrix as (row of each entry, column, value)."""
    rows, cols, values = [], [], []
    for number, feats in enumerate(found):
        for name, value in feats.items():
            col = index.get(name)
            if col is not None:
                rows.append(number)
                cols.append(col)
                values.append(value)
    return (
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
    )


def _platt(raw: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Fit sigmoid(a * raw + b) to 0/1 labels (Platt's smoothed targets), by Newton's
    method with step halving, so that separable data cannot make it diverge."""
    positives, negatives = truth.sum(), len(truth) - truth.sum()
    if positives == 0 or negatives == 0:
        return 1.0, 0.0
    target = np.where(truth > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(a: float, b: float) -> float:
        z = np.clip(a * raw + b, -30, 30)
        return float((np.logaddexp(0, z) - target * z).sum())

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(a * raw + b, -30, 30)))
        gradient = np.array([((p - target) * raw).sum(), (p - target).sum()])
        weight = p * (1 - p) + 1e-9
        hessian = np.array(
            [
                [(weight * raw * raw).sum() + 1e-6, (weight * raw).sum()],
                [(weight * raw).sum(), weight.sum() + 1e-6],
            ]
        )
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6:
            trial = loss(a - scale * step[0], b - scale * step[1])
            if trial <= current:
                break
            scale /= 2
        else:
            break
        a, b = a - scale * step[0], b - scale * step[1]
        improvement, current = current - trial, trial
        if improvement < 1e-9:
            break
    return float(a), float(b)


def _raw_exact(model: Model, found: Mapping[str, float]) -> np.ndarray:
    """``Model.raw`` in float64 with numpy's own sums rather than a BLAS product, whose
    last bits may depend on memory alignment: calibration then gives the same bytes on
    every run (``make train`` is reproducible)."""
    rows = [model.index[name] for name in found if name in model.index]
    values = np.array([found[name] for name in found if name in model.index], dtype=np.float64)
    weights = model.weights[rows].astype(np.float64)
    return model.bias.astype(np.float64) + (values[:, None] * weights).sum(axis=0)


def fit(
    train: Sequence[Example],
    calibrate: Sequence[Example],
    kinds: Sequence[str] | None = None,
    cues: Mapping[str, rules.SignalCues] | None = None,
    epochs: int = EPOCHS,
    l2: float = L2,
) -> Model:
    """Train a model on ``train`` and calibrate it on ``calibrate``.

    ``kinds`` defaults to every kind in the training labels, sorted; ``cues`` are the rule
    cue sets whose findings become features (the shipped playbooks' by default).
    """
    kinds = tuple(kinds or sorted({kind for example in train for kind in example.kinds}))
    train_found = [features(example.text, cues) for example in train]
    counts = Counter(name for found in train_found for name in found)
    names = sorted(name for name, count in counts.items() if count >= MIN_COUNT)
    index = {name: row for row, name in enumerate(names)}
    sparse = _matrix(train_found, index)
    truth = np.array(
        [[kind in example.kinds for kind in kinds] for example in train], dtype=np.float64
    )
    sample = np.array([example.weight for example in train], dtype=np.float64)
    sample = sample / sample.mean()
    rows, cols, values = sparse
    count, width = len(train), len(kinds)
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # entries sorted by row
    present = rows[starts]
    by_col = np.argsort(cols, kind="stable")
    col_sorted = cols[by_col]
    col_starts = np.flatnonzero(np.r_[True, col_sorted[1:] != col_sorted[:-1]])
    col_present = col_sorted[col_starts]
    w = np.zeros((len(names), width))
    b = np.zeros(width)
    # Adam, full batch, from zero: deterministic.
    m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    for step in range(1, epochs + 1):
        scores = np.tile(b, (count, 1))
        scores[present] += np.add.reduceat(values[:, None] * w[cols], starts)
        p = 1 / (1 + np.exp(-np.clip(scores, -30, 30)))
        residual = (p - truth) * sample[:, None] / count
        grad_w = l2 * w
        grad_w[col_present] += np.add.reduceat(
            (values[:, None] * residual[rows])[by_col], col_starts
        )
        grad_b = residual.sum(axis=0)
        for param, grad, m, v in ((w, grad_w, m_w, v_w), (b, grad_b, m_b, v_b)):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            m_hat = m / (1 - 0.9**step)
            v_hat = v / (1 - 0.999**step)
            param -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8)
    model = Model(
        kinds,
        index,
        w.astype(np.float16).astype(np.float32),  # as saved, so calibration sees the same
        b.astype(np.float32),
        np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(kinds), 1)),
    )
    if calibrate:
        raw = np.array([_raw_exact(model, features(example.text, cues)) for example in calibrate])
        gold = np.array(
            [[kind in example.kinds for kind in kinds] for example in calibrate], dtype=float
        )
        platt = np.array([_platt(raw[:, k], gold[:, k]) for k in range(len(kinds))])
        model = Model(kinds, index, model.weights, model.bias, platt.astype(np.float32))
    return model


DICTIONARY_MIN_COUNT = 200  # below this, pyspellchecker's list holds misspellings too


def write_words(rows: Sequence[Mapping], out: str | Path) -> None:
    """The words ``spelling`` never repairs: the English words of five letters or more in
    pyspellchecker's frequency list (a dev-only dependency, pinned, so ``make train`` is
    reproducible), and those of the corpus's train and valid splits, less the messages
    written with typos on purpose (never the frozen test split)."""
    from spellchecker import SpellChecker

    frequencies = SpellChecker(language="en").word_frequency.dictionary
    english = [
        word
        for word, count in frequencies.items()
        if count >= DICTIONARY_MIN_COUNT and len(word) >= spelling.MIN_LENGTH and word.isalpha()
    ]
    texts = [
        str(row["text"])
        for row in rows
        if row.get("split") in ("train", "valid")
        and row.get("form") != "typo"
        and row.get("group") != "typo"
    ]
    words = spelling.corpus_words([*texts, " ".join(english)])
    words = [word for word in words if len(word) >= spelling.MIN_LENGTH]
    Path(out).write_text("\n".join(words) + "\n", encoding="utf-8")
    spelling.forget()


def train_shipped(out: str | Path) -> Model:
    """Rebuild the shipped model: train split for the weights, valid split to calibrate (the
    word list the typo repair keeps first, as the model will read with it)."""
    rows = shipped_corpus()
    write_words(rows, Path(out).with_name(spelling.WORDS_FILE))
    model = fit(with_typos(examples(rows, "train")), examples(rows, "valid"))
    model.save(out)
    return model


def main() -> int:
    """``make train``: rebuild the shipped model from the shipped corpus."""
    out = resources.files("handlers").joinpath("signals", "data", SHIPPED_MODEL)
    model = train_shipped(str(out))
    print(f"trained {len(model.kinds)} kinds over {len(model.index)} features: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
