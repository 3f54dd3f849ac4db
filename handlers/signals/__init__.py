"""Signal detection: notice chat messages that hint at an initiative with hidden IT roles.

The bot hears every message in its channels, so this runs on every one of them. A small
learned model decides (``model.py``): letters, words and the rules' findings go in, a
calibrated probability per kind comes out, and every kind at or above the threshold is
reported, the most likely first. The cue-word rules (``rules.py``) are one of its inputs,
not the judge. The model ships in the package (``data/model.npz``, rebuilt by ``make
train`` from ``data/corpus.jsonl``); an organisation's own model, refitted on its labels
by ``liaison-bot train``, replaces it when ``configure`` is given its path.

The bot hears every message, and most are not signals: a prefilter (``prefilter.py``)
shows, for most chat, that no kind can reach the threshold, at a fraction of the model's
cost and never for a message the model would fire on. The scores of the last few messages
are remembered, so a message looked at by a channel's fast path, its listener and the core
runs the model once.

An organisation may also ask a language model for a second opinion on the messages the
model is least sure of (``second_opinion``, off by default): channels then await
``detect_async``, which is ``detect`` plus that call, bounded in time.

Who speaks matters too (``Speaker``): an external user gets no offer, and IT staff talking
about IT's own work ("IT here: we're replacing the core switches") are not a signal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from handlers.signals import second_opinion as _second_opinion
from handlers.signals.first_pass import _merged_index
from handlers.signals.recent import LONG_KEY, RECENT, Recent, text_key
from handlers.signals.rules import (
    EXCERPT_CHARS,
    MAX_SCAN_CHARS,
    Signal,
    SignalCues,
    _excerpt,
    cue_words,
    default_cues,
)

if TYPE_CHECKING:
    from handlers.signals import model as _model

__all__ = [
    "EXCERPT_CHARS",
    "LONG_KEY",
    "MAX_SCAN_CHARS",
    "RECENT",
    "THRESHOLD",
    "Signal",
    "SignalCues",
    "Speaker",
    "borderline",
    "configure",
    "configure_second_opinion",
    "default_cues",
    "detect",
    "detect_async",
    "detect_consulting",
    "probabilities",
    "run_jsonl",
    "second_opinion_on",
    "text_key",
]

log = logging.getLogger(__name__)

THRESHOLD = 0.5  # calibrated: about half the messages scoring 0.5 are signals
# A further kind must be surer than the first: on the valid split this gets the whole set
# of kinds exactly right for 96% of signals, against 92% with one threshold for all.
SECOND_KIND = 0.8


@dataclass(frozen=True)
class Speaker:
    """Who wrote a message, as far as detection cares."""

    is_it: bool = False  # a liaison, an admin, in ``it_staff``, or writing in an IT channel
    external: bool = False  # a guest or a user of another organisation (never offered)


# "IT here:", "From IT -", "Helpdesk:": an IT account speaking for IT.
_IT_PREFIX = re.compile(
    r"^\W*(?:it|it team|the it team|helpdesk|help desk|service desk|it ops|infrastructure)"
    r"(?:\s+here)?\s*[:\-\u2013\u2014]|^\W*(?:from|update from)\s+(?:the\s+)?it\b",
    re.IGNORECASE,
)
# Openers that make the speaker (or IT) the one acting: "we're", "I'll", "our team", or no
# subject at all ("Replacing the switches Saturday").
_OWN_OPENERS = frozenset(
    {"we", "we're", "we'll", "we've", "we'd", "i", "i'm", "i'll", "i've", "our", "us"}
    | {"my", "let's", "it", "it's", "the", "this", "tonight", "tomorrow", "reminder"}
    | {"heads", "fyi", "update", "note", "please", "pls", "all", "everyone", "team"}
)
_FIRST_WORD = re.compile(r"[A-Za-z][\w']*")


@dataclass
class _Settings:
    model_path: Path | None = None
    threshold: float = THRESHOLD


_settings = _Settings()


def configure(model_path: str | Path | None = None, threshold: float | None = None) -> None:
    """Use an organisation's own model (when its file exists) and threshold from now on."""
    _settings.model_path = Path(model_path) if model_path else None
    _settings.threshold = THRESHOLD if threshold is None else float(threshold)


def current_model() -> _model.Model:
    """The organisation's model if one was trained, else the shipped one."""
    # The model (and numpy) load at the first message, not at start: an idle server keeps
    # ~18 MiB less. The first message pays the import once (see README, Figures).
    from handlers.signals import model as _model

    path = _settings.model_path
    if path is not None and path.is_file():
        try:
            return _model.load_fresh(path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("signal model %s unreadable (%s); using the shipped one", path, exc)
    return _model.shipped()


def it_speaking_for_it(text: str, speaker: Speaker | None) -> bool:
    """Whether IT staff are talking about IT's own work: an "IT here:" prefix, or a message
    whose first word makes the speaker (or nobody named) the one acting."""
    if speaker is None or not speaker.is_it:
        return False
    if _IT_PREFIX.match(text):
        return True
    first = _FIRST_WORD.search(text[:200])
    if first is None:
        return True
    word = first.group(0).lower()
    return word in _OWN_OPENERS or word.endswith("ing")


def probabilities(text: str, cues: Mapping[str, SignalCues] | None = None) -> dict[str, float]:
    """Kind -> calibrated probability, before any threshold or speaker rule."""
    return _scores(current_model(), text, cues)


# (text, model, cue index) -> the scores, or the lowest threshold the prefilter showed that
# no kind reaches (a long text is found by its digest): a message is scored once however many
# places look at it (``recent``).
_recent = Recent(RECENT)


def _scores(
    model: _model.Model, text: str, cues: Mapping[str, SignalCues] | None
) -> dict[str, float]:
    """The model's scores, remembered for the last few messages."""
    key = (text_key(text), model, _merged_index(cues))
    found = _recent.recall(key)
    if not isinstance(found, dict):
        found = model.probabilities(text, cues)
        _recent.remember(key, found)
    return dict(found)


def _scores_within_reach(
    model: _model.Model, text: str, cues: Mapping[str, SignalCues] | None, threshold: float
) -> dict[str, float] | None:
    """The model's scores, or None when the prefilter shows that no kind reaches the
    threshold (remembered too, for the last few messages)."""
    key = (text_key(text), model, _merged_index(cues))
    found = _recent.recall(key)
    if isinstance(found, float) and threshold >= found:
        return None
    scored = isinstance(found, dict)
    from handlers.signals import prefilter as _prefilter

    if not scored and not _prefilter.for_model(model, cues).may_fire(text, threshold, cues):
        _recent.remember(key, float(threshold) if found is None else min(found, float(threshold)))
        return None
    return _scores(model, text, cues)


def detect(
    text: str,
    cues: Mapping[str, SignalCues] | None = None,
    *,
    speaker: Speaker | None = None,
    threshold: float | None = None,
) -> Signal | None:
    """Return the signal in a chat message (every kind it holds, the most likely first), or
    None for everyday chatter, for an external user and for IT talking about its own work.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    if speaker is not None and (speaker.external or it_speaking_for_it(text, speaker)):
        return None
    limit = _settings.threshold if threshold is None else threshold
    # Most chat cannot reach the threshold, and the prefilter shows it at a fraction of the
    # model's cost; it never turns away a message the model would fire on.
    scores = _scores_within_reach(current_model(), text, cues, limit)
    if scores is None:
        return None
    from handlers.signals.model import top_kinds

    kinds = top_kinds(scores, limit)
    if not kinds:
        return None
    kind = kinds[0]
    kinds = [kind, *(other for other in kinds[1:] if scores[other] >= max(limit, SECOND_KIND))]
    score = round(min(scores[kind], 0.99), 2)
    return Signal(
        kind,
        cue_words(text, kind, cues),
        score,
        _excerpt(text),
        kinds=tuple(kinds),
        score=score,
    )


# --- the optional second opinion ----------------------------------------------------------

_second = _second_opinion.SecondOpinion()


def configure_second_opinion(
    settings: _second_opinion.SecondOpinionSettings | None,
    summaries: Mapping[str, str] | None = None,
    *,
    advisor: _second_opinion.Advisor | None = None,
) -> None:
    """Ask a language model about borderline messages from now on (``settings`` enabled and
    the ``openai`` extra installed), or stop asking (``None`` or disabled settings).

    ``summaries`` are the kinds' one-line descriptions (kind -> the playbook's summary);
    ``advisor`` replaces the OpenAI client (tests).
    """
    global _second
    settings = settings or _second_opinion.SecondOpinionSettings()
    if advisor is not None:
        _second = _second_opinion.SecondOpinion(settings, advisor)
    else:
        _second = _second_opinion.build(settings, summaries or {})


async def detect_async(
    text: str,
    cues: Mapping[str, SignalCues] | None = None,
    *,
    speaker: Speaker | None = None,
    threshold: float | None = None,
) -> Signal | None:
    """``detect``, with the configured second opinion on a borderline message.

    With no second opinion configured this is ``detect`` exactly, and nothing leaves the
    process. Otherwise a message whose best score lies in the uncertain band is sent (its
    excerpt only) to the language model, whose readable answer given within the timeout
    replaces the local verdict; on a timeout, an error or an unreadable answer the local
    verdict stands. Messages from external users and IT's own announcements are never sent.
    """
    local = detect(text, cues, speaker=speaker, threshold=threshold)
    second = _second
    if second.advisor is None or not isinstance(text, str) or not text.strip():
        return local
    if speaker is not None and (speaker.external or it_speaking_for_it(text, speaker)):
        return local
    low = second.settings.band[0]
    scores = _scores_within_reach(current_model(), text, cues, low)
    if scores is None or not second.wants(max(scores.values(), default=0.0)):
        return local
    return await second.reconsider(text, local, scores)


def second_opinion_on() -> bool:
    """Whether a second opinion is configured (and its client could be built)."""
    return _second.advisor is not None


def borderline(text: str, cues: Mapping[str, SignalCues] | None = None) -> bool:
    """Whether the configured second opinion would be asked about this message (its best
    score lies in the uncertain band); False when none is configured."""
    second = _second
    if second.advisor is None or not isinstance(text, str) or not text.strip():
        return False
    scores = _scores_within_reach(current_model(), text, cues, second.settings.band[0])
    return scores is not None and second.wants(max(scores.values(), default=0.0))


def detect_consulting(
    text: str,
    cues: Mapping[str, SignalCues] | None = None,
    *,
    speaker: Speaker | None = None,
) -> Signal | None:
    """``detect_async`` for the core, which answers a message in a worker thread: the
    question goes on the second opinion's own event loop and this thread waits at most its
    timeout (and a little). Called on a running event loop, it never blocks it: the local
    verdict stands."""
    if _second.advisor is None:
        return detect(text, cues, speaker=speaker)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return detect(text, cues, speaker=speaker)
    future = asyncio.run_coroutine_threadsafe(
        detect_async(text, cues, speaker=speaker), _advice_loop()
    )
    try:
        return future.result(timeout=_second.settings.timeout + 1.0)
    except Exception:
        future.cancel()
        log.warning("signals: the second opinion did not answer in time; the local model decides")
        return detect(text, cues, speaker=speaker)


_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _advice_loop() -> asyncio.AbstractEventLoop:
    """The event loop the second opinion's client lives on, in a daemon thread of its own,
    so that its connection pool outlives each question."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="second-opinion", daemon=True).start()
        return _loop


# --- the `liaison-bot detect` command -----------------------------------------------------


def _detect_line(line: str, cues: Mapping[str, SignalCues] | None) -> dict[str, Any]:
    """One JSONL record in, one result out; bad input becomes a friendly error, not a crash.

    A record may say who wrote it: ``"it": true`` for IT staff, ``"external": true``.
    """
    if not line.strip():
        return {
            "kind": None,
            "error": 'This line is blank; expected a JSON object like {"text": "..."}.',
        }
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        reason = getattr(exc, "msg", "it could not be read")
        return {"kind": None, "error": f"This line is not valid JSON ({reason})."}
    if not isinstance(record, dict):
        return {"kind": None, "error": 'Each line should be a JSON object like {"text": "..."}.'}
    result: dict[str, Any] = {"id": record["id"]} if "id" in record else {}
    text = record.get("text")
    if not isinstance(text, str):
        problem = "has no" if "text" not in record else "needs a string in its"
        result.update(kind=None, error=f'This object {problem} "text" field.')
        return result
    speaker = Speaker(is_it=record.get("it") is True, external=record.get("external") is True)
    signal = detect(text, cues, speaker=speaker)
    if signal is None:
        top = max(probabilities(text, cues).values(), default=0.0) if text.strip() else 0.0
        result.update(kind=None, kinds=[], score=round(top, 2), confidence=0.0, cues=[])
    else:
        result.update(
            kind=signal.kind,
            kinds=list(signal.kinds),
            score=signal.score,
            confidence=signal.confidence,
            cues=list(signal.cues),
        )
    return result


def run_jsonl(
    lines: Iterable[str], out: TextIO, cues: Mapping[str, SignalCues] | None = None
) -> int:
    """Read {"text": ...} lines, write one result line each, in order; return the count."""
    count = 0
    for line in lines:
        out.write(json.dumps(_detect_line(line, cues)) + "\n")
        count += 1
    return count
