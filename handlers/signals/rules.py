"""The rules: a scored matcher over cue words, now one input of the learned detector.

Until the model came, this was the detector itself. Its findings (which kind's verbs, objects
and phrases a message holds, negation, cancellation, tense) are features of the model in
``handlers.signals.model``; its own verdict is still available as ``detect`` here, used
when no model file can be read, and by the tests that pin the matcher's behaviour.

How it works:

* each playbook's ``[signal]`` table lists its kind's *actions* (verbs, matched in every
  tense), *objects* (nouns, matched in the plural) and *phrases* (enough on their own);
* ``signal_lexicon.toml`` holds what is true for every kind: chatter objects ("buying
  coffee"), neutral idioms ("moving on", "buy-in"), negation, cancellation, personal life,
  and the markers of intent, history and recency;
* a kind scores by its strongest evidence (a phrase, then an action with its object, then
  an object alone), plus intent, new or counted objects and extra objects, minus stale past
  tense and status questions. The best kind at or above ``THRESHOLD`` wins; on a tie, the
  one whose verb comes first, then the one whose object is nearest its verb. In a compound
  of two kinds' nouns the last one names the thing ("camera evidence platform": software).

Matching works on tokens through dictionaries built once per cue set, so a message costs a
few dictionary look-ups per word, and only a bounded prefix of a long message is read. Most
chat is not a signal, so a first pass over one index merged from every kind turns it away
after a tokenisation and a set look-up when no kind could reach the threshold; only the
rest goes through the full matcher, whose results the first pass never changes.

Where each part lives: ``vocabulary`` (weights, word classes, inflections), ``cues`` (a
kind's cues compiled, ``SignalCues``, ``Signal``), ``lexicon`` (the global lexicon),
``reading`` (markup, tokens, clauses and context), ``scoring`` (the full matcher) and
``first_pass`` (the merged index). This module puts them together.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from handlers.signals.cues import Signal, SignalCues, _Match, _shipped_cues, default_cues
from handlers.signals.first_pass import _merged_index, _MergedIndex
from handlers.signals.lexicon import _lexicon
from handlers.signals.reading import _excerpt, _tokens
from handlers.signals.scoring import _match
from handlers.signals.vocabulary import EXCERPT_CHARS, MAX_SCAN_CHARS, THRESHOLD

__all__ = [
    "EXCERPT_CHARS",
    "MAX_SCAN_CHARS",
    "THRESHOLD",
    "Signal",
    "SignalCues",
    "_excerpt",
    "cue_words",
    "default_cues",
    "detect",
    "findings",
]


def detect(text: str, cues: Mapping[str, SignalCues] | None = None) -> Signal | None:
    """Return the most likely signal in a chat message, or None for everyday chatter."""
    if not isinstance(text, str):
        return None
    merged = _merged_index(cues)
    found = merged.first_pass(*_tokens(text))
    if found is None:
        return None
    return _match(text, merged.table, found)


def _detect_full(text: str, cues: Mapping[str, SignalCues] | None = None) -> Signal | None:
    """``detect`` without the first pass: every message gets the full matcher."""
    if not isinstance(text, str):
        return None
    return _match(text, _shipped_cues() if cues is None else tuple(cues.items()))


# --- findings, as the model's features -----------------------------------------------------


def cue_words(
    text: str, kind: str, cues: Mapping[str, SignalCues] | None = None
) -> tuple[str, ...]:
    """The words of a message that are cues of one kind, in order, to explain a detection."""
    merged = _merged_index(cues)
    tokens, found = _matched(text, merged)
    for (name, _), matches in zip(merged.table, found, strict=True):
        if name == kind:
            words = [" ".join(tokens[start:end]) for start, end, role in matches]
            return tuple(dict.fromkeys(word for word in words if word))[:6]
    return ()


def findings(text: str, cues: Mapping[str, SignalCues] | None = None) -> list[str]:
    """What the rules see in a message, as feature names for the model.

    Each kind's cue roles ("software_purchase action", "... object", "... phrase", "... pair"
    when an action and an object of the kind both occur), the lexicon's roles (chatter,
    idiom, cancellation, personal life, support request, modifier), negation and a question
    mark. Cheap: one pass over each index, no scoring (the rules' full verdict and their
    tense patterns cost several times the rest of detection, and the model learns tense
    from the words themselves).
    """
    return list(_findings(text, _merged_index(cues)))


# A message read for a signal is matched against the cues by the prefilter, by the model and
# for its cue words, one after the other: the last few matchings are kept for the next.
RECENT_MATCHES = 32


@functools.lru_cache(maxsize=RECENT_MATCHES)
def _matched(text: str, merged: _MergedIndex) -> tuple[list[str], list[list[_Match]]]:
    """The message's tokens and what each kind's cues match in them (read-only)."""
    _, tokens = _tokens(text)
    return tokens, merged.find(tokens)


@functools.lru_cache(maxsize=RECENT_MATCHES)
def _findings(text: str, merged: _MergedIndex) -> tuple[str, ...]:
    tokens, found = _matched(text, merged)
    out: list[str] = []
    for (kind, _), matches in zip(merged.table, found, strict=True):
        if not matches:
            continue
        roles = {role for _, _, role in matches}
        out += [f"{kind} {role}" for role in roles]
        if "action" in roles and "object" in roles:
            out.append(f"{kind} pair")
    lexicon = _lexicon()
    out += [f"lexicon {role}" for role in {role for _, _, role in lexicon.index.find(tokens)}]
    negators = lexicon.negators
    if any(token in negators or token.endswith("n't") for token in tokens):
        out.append("negation")
    if "?" in tokens:
        out.append("question")
    return tuple(out)
