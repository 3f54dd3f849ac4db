"""Precision and recall of the similar-initiative matcher on a labelled set of pairs.

    .venv/bin/python bench/similar_initiatives.py [--pairs bench/similar_pairs.jsonl]

Each line of the set is two initiatives of different units (kind, title, the message it came
from, the product named, the target date) and whether a liaison would call them the same need.
Every pair is scored as handlers.similar scores it when an initiative is saved: the IDF is
fitted on all the set's texts, as it is on an organisation's own initiatives. The report gives
precision and recall at the shipped threshold (similar.THRESHOLD) and around it. Precision
matters more than recall: a false "these look the same" costs two liaisons' attention.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers import similar
from handlers.similar import Need

HERE = Path(__file__).resolve().parent


def need(side: dict) -> Need:
    text = " ".join(filter(None, (side["title"], side["excerpt"], side["product"])))
    names = similar.names_in(text) | similar.names_in(side["product"], every_word=True)
    target = dt.date.fromisoformat(side["target"]) if side["target"] else None
    return Need(side["kind"], text, frozenset(names), target)


def scores(pairs: list[dict]) -> list[tuple[float, bool]]:
    corpus = sorted({need(p[s]).text for p in pairs for s in ("a", "b")})
    out = []
    for pair in pairs:
        a, b = need(pair["a"]), need(pair["b"])
        rest = [t for t in corpus if t not in (a.text, b.text)]
        (found,) = similar.score_all(a, [b], rest)
        out.append((found, bool(pair["same"])))
    return out


def at(threshold: float, scored: list[tuple[float, bool]]) -> tuple[float, float, int]:
    said = [same for s, same in scored if s >= threshold]
    positives = sum(same for _, same in scored)
    precision = sum(said) / len(said) if said else 1.0
    recall = sum(said) / positives if positives else 0.0
    return precision, recall, len(said)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=str(HERE / "similar_pairs.jsonl"))
    args = parser.parse_args()
    pairs = [json.loads(line) for line in Path(args.pairs).read_text().splitlines() if line]
    scored = scores(pairs)
    print(f"{len(pairs)} pairs, {sum(s for _, s in scored)} labelled the same need")
    for threshold in sorted({0.30, 0.35, 0.40, 0.45, similar.THRESHOLD, 0.50, 0.55, 0.60}):
        precision, recall, flagged = at(threshold, scored)
        mark = "  <- shipped" if threshold == similar.THRESHOLD else ""
        print(
            f"threshold {threshold:.2f}: precision {precision:.2f}, recall {recall:.2f} "
            f"({flagged} flagged){mark}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
