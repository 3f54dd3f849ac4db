"""Learning from the organisation: answers to offers become labels, labels a model.

"Plan it with IT" and "Not now" say the offer was right (the timing may not be); "IT isn't
needed" says it was not a signal here. Each answer is kept as the 280-character excerpt
privacy already allows (``storage.models.SignalLabel``). ``train_organisation`` refits the
detector on the shipped corpus, those labels and the ``examples`` of every playbook's
``[signal]`` table, so an organisation that adds a kind can teach it with a score of
examples, and a message it keeps dismissing stops being offered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from handlers.signals.rules import EXCERPT_CHARS, SignalCues, _excerpt
from storage.models import SignalLabel

if TYPE_CHECKING:  # training needs numpy; recording an answer (on every press) does not
    from handlers.signals import model as _model
    from handlers.signals import train

PLAN, LATER, NOT_IT = "plan", "later", "not_it"
ANSWERS = (PLAN, LATER, NOT_IT)
LABEL_WEIGHT = 8.0  # the organisation's own answers outweigh a generic corpus message
EXAMPLE_WEIGHT = 4.0


def record_label(
    session: Session,
    text: str,
    kind: str,
    answer: str,
    now: dt.datetime,
    person_id: int | None = None,
) -> SignalLabel:
    """Keep one answer to an offer, as an excerpt of the message."""
    if answer not in ANSWERS:
        raise ValueError(f"answer must be one of {', '.join(ANSWERS)}, not {answer!r}")
    label = SignalLabel(
        excerpt=_excerpt(text)[:EXCERPT_CHARS],
        kind=kind[:64],
        answer=answer,
        person_id=person_id,
        created_at=now,
    )
    session.add(label)
    session.flush()
    return label


def labels(session: Session) -> list[SignalLabel]:
    """Every label kept, oldest first."""
    return list(session.exec(select(SignalLabel).order_by(SignalLabel.id)))


def label_examples(rows: Iterable[SignalLabel]) -> list[train.Example]:
    """Labels as training examples: a right offer is its kind, a wrong one is no signal.

    When the same excerpt was answered more than once, the latest answer wins.
    """
    from handlers.signals import train

    latest: dict[str, SignalLabel] = {}
    for row in rows:
        latest[row.excerpt] = row
    return [
        train.Example(row.excerpt, (row.kind,) if row.answer != NOT_IT else (), LABEL_WEIGHT)
        for row in latest.values()
    ]


def train_organisation(
    out: str | Path,
    cues: Mapping[str, SignalCues],
    own: Sequence[train.Example] = (),
    corpus: Sequence[Mapping] | None = None,
    epochs: int | None = None,
) -> _model.Model:
    """Refit the detector for one organisation and write it to ``out``.

    Trains on the corpus's train split (the shipped corpus unless given), the playbooks'
    ``examples`` and the organisation's own labels; calibrates on the corpus's valid split
    (``epochs``: ``train.EPOCHS`` unless given).
    """
    from handlers.signals import train

    rows = train.shipped_corpus() if corpus is None else list(corpus)
    taught = [
        train.Example(text, (kind,), EXAMPLE_WEIGHT)
        for kind, kind_cues in cues.items()
        for text in kind_cues.examples
    ]
    examples = train.with_typos(train.examples(rows, "train") + taught) + list(own)
    kinds = sorted({kind for example in examples for kind in example.kinds} | set(cues))
    valid = train.examples(rows, "valid")
    epochs = train.EPOCHS if epochs is None else epochs
    fitted = train.fit(examples, valid, kinds, cues, epochs=epochs)
    fitted.save(out)
    return fitted
