"""Measure signal detection: quality on the labelled sets, and time per message.

Run from the repository root: ``python bench/eval_signals.py``. It prints, for the dev
corpus (when present) and the held-out cases, precision, recall, kind accuracy, the counts
and a confusion table, then the mean and p99 microseconds per ``detect()`` call: on all the
labelled messages, on the chatter among them (labelled not a signal: mostly hard cases that
borrow a signal's words) and on the everyday chatter the Slack ack benchmark sends. For
comparison it times the full matcher alone too, without the first pass that turns most
chatter away.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.signals import _detect_full, detect  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from chatter import CHATTER, plain  # noqa: E402  (the everyday chat the benchmarks send)

EVERYDAY = [plain(template) for template in CHATTER]

SETS = {
    "dev corpus": ROOT.parent / "shared" / "corpus" / "triggers-dev.jsonl",
    "held-out": ROOT / "tests" / "unit" / "signal_cases.jsonl",
}
NONE = "-"


def load(path: Path) -> list[tuple[str, str | None]]:
    """(text, kind) pairs from a JSONL file of {"text", "kind"} records."""
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [(row["text"], row["kind"]) for row in rows]


def evaluate(cases: list[tuple[str, str | None]]) -> dict[str, float]:
    """Precision and recall of "is a signal", and kind accuracy over detected positives."""
    predicted = [(kind, (s.kind if (s := detect(text)) else None)) for text, kind in cases]
    tp = sum(1 for gold, got in predicted if gold and got)
    fp = sum(1 for gold, got in predicted if not gold and got)
    fn = sum(1 for gold, got in predicted if gold and not got)
    right_kind = sum(1 for gold, got in predicted if gold and got == gold)
    confusion = Counter((gold or NONE, got or NONE) for gold, got in predicted)
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "kind_accuracy": right_kind / tp if tp else 1.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "confusion": confusion,
    }


def show(name: str, cases: list[tuple[str, str | None]]) -> None:
    result = evaluate(cases)
    print(f"== {name}: {len(cases)} messages")
    print(
        f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
        f"kind accuracy {result['kind_accuracy']:.3f}  "
        f"(tp {result['tp']}, fp {result['fp']}, fn {result['fn']})"
    )
    kinds = sorted({k for pair in result["confusion"] for k in pair})
    print("gold \\ predicted".ljust(20) + "".join(k[:10].rjust(11) for k in kinds))
    for gold in kinds:
        row = "".join(str(result["confusion"][(gold, got)] or ".").rjust(11) for got in kinds)
        print(gold.ljust(20) + row)
    print()


def timing(
    texts: list[str], rounds: int = 20, function: Callable[[str], object] = detect
) -> tuple[float, float]:
    """Mean and p99 microseconds per call (detect() unless told), after one warm-up pass."""
    for text in texts:
        function(text)
    samples = []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter_ns()
            function(text)
            samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return sum(samples) / len(samples), samples[int(len(samples) * 0.99)]


def show_timing(label: str, texts: list[str], rounds: int = 20) -> None:
    if not texts:
        return
    mean, p99 = timing(texts, rounds)
    full_mean, full_p99 = timing(texts, rounds, _detect_full)
    print(
        f"{label:<22} mean {mean:6.1f} µs, p99 {p99:6.1f} µs per call"
        f"   (full matcher alone: mean {full_mean:6.1f}, p99 {full_p99:6.1f})"
        f"  {len(texts)} messages"
    )


def main() -> int:
    texts: list[str] = []
    chatter: list[str] = []
    for name, path in SETS.items():
        if not path.exists():
            print(f"== {name}: {path.name} not found, skipped\n")
            continue
        cases = load(path)
        show(name, cases)
        texts += [text for text, _ in cases]
        chatter += [text for text, kind in cases if not kind]
    print("detect() time per message")
    show_timing("all labelled", texts)
    show_timing("labelled chatter", chatter)
    show_timing("everyday chatter", list(EVERYDAY), rounds=200)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
