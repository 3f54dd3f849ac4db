"""Reading a message: Slack markup stripped, tokens, sentences and clauses, and the context
(idioms, negation, modifiers, tense markers) that every kind's scoring needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from handlers.signals.lexicon import _lexicon
from handlers.signals.vocabulary import _STATUS_OPENERS, EXCERPT_CHARS, MAX_SCAN_CHARS

_TOKEN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*|[.!?;:,()\[\]]")
_ASCII_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*|[.!?;:,()\[\]]")  # on lowered ASCII
_SENTENCE_BREAKS = frozenset(".!?;")
_CLAUSE_BREAKS = frozenset(
    {",", ":", "(", ")", "[", "]", "but", "so", "though", "although", "however", "because"}
    | {"while", "whereas", "except", "instead", "unless"}
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SLACK_ANGLE = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_SLACK_EMOJI = re.compile(r"(?<![\w:]):[a-z0-9_+'\-]+:(?![\w:])", re.IGNORECASE)
_DASHES = re.compile(r"\s[-\u2013\u2014]+\s|[\u2013\u2014]")
_LINE_BREAKS = re.compile(r"[\r\n]+")


@dataclass
class _Doc:
    """A message cut into tokens, with the context every kind's scoring needs."""

    raw: list[str]
    tokens: list[str]
    sentence: list[int]
    clause: list[int]
    clause_start: list[bool]
    lexicon_hits: list[tuple[int, int, str]]
    blanked: set[int] = field(default_factory=set)
    dead_clauses: set[int] = field(default_factory=set)
    negators: set[int] = field(default_factory=set)
    modifiers: set[int] = field(default_factory=set)
    future: bool = False
    history: bool = False
    recent: bool = False
    year: bool = False
    status_question: bool = False
    echo: bool = False  # "We're hiring? news to me": someone else's news, wondered at
    shouting: bool = False


def _plain_text(text: str) -> str:
    """Strip Slack markup so it neither hides nor fakes cues; line breaks end sentences."""
    # Each step runs only if its pattern could match: plain chat skips most of them.
    if "<" in text:
        text = _SLACK_ANGLE.sub(lambda m: f" {m.group(2)} " if m.group(2) else " ", text)
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if ":" in text:
        text = _SLACK_EMOJI.sub(" ", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    if "-" in text or "\u2013" in text or "\u2014" in text:
        text = _DASHES.sub(" , ", text)
    if "\n" in text or "\r" in text:
        text = _LINE_BREAKS.sub(" . ", text)
    return text


def _read(text: str) -> _Doc:
    plain = _plain_text(text[:MAX_SCAN_CHARS])
    raw = _TOKEN.findall(plain)
    tokens = [token.lower() for token in raw]
    sentence, clause, clause_start = [], [], []
    sentence_id = clause_id = 0
    fresh = True
    for token in tokens:
        if token in _SENTENCE_BREAKS:
            sentence_id += 1
        if token in _SENTENCE_BREAKS or token in _CLAUSE_BREAKS:
            clause_id += 1
            fresh = True
            sentence.append(sentence_id)
            clause.append(clause_id)
            clause_start.append(False)
            continue
        sentence.append(sentence_id)
        clause.append(clause_id)
        clause_start.append(fresh)
        fresh = False
    return _Doc(raw, tokens, sentence, clause, clause_start, _lexicon().index.find(tokens))


def _mark_context(doc: _Doc) -> None:
    """Fill in idioms, dead clauses, negators, modifiers and the message-wide markers.

    Only called once some kind has a cue in the message: most chat never gets this far.
    """
    lexicon = _lexicon()
    joined = " ".join(doc.tokens)
    for start, end, role in doc.lexicon_hits:
        if role == "neutral":
            doc.blanked.update(range(start, end))
    for start, end, role in doc.lexicon_hits:
        if start in doc.blanked:
            continue
        if role in ("cancel", "personal", "support"):
            doc.dead_clauses.add(doc.clause[start])
        elif role == "modifier":
            doc.modifiers.update(range(start, end))
    for position, token in enumerate(doc.tokens):
        if position in doc.blanked:
            continue
        if token in lexicon.negators or token.endswith("n't"):
            doc.negators.add(position)
        elif token.isdigit():
            doc.modifiers.add(position)
    without_history, found = lexicon.history.subn(" ", joined)
    doc.history = found > 0
    doc.future = lexicon.future.search(without_history) is not None
    doc.recent = lexicon.recent.search(joined) is not None
    doc.year = _YEAR.search(joined) is not None
    doc.status_question = "?" in doc.tokens and doc.tokens[0] in _STATUS_OPENERS
    if "?" in doc.tokens and _echo_question(doc.tokens):
        # Wondered at, unless answered with a plan: "Hiring? Yes, 12 nurses in March".
        answer = doc.tokens[doc.tokens.index("?") + 1 :][:1]
        denied = bool(answer) and (answer[0] in lexicon.negators or answer[0] in ("nope", "nah"))
        doc.echo = denied or not doc.future
    text = " ".join(doc.raw)
    doc.shouting = text == text.upper() and text != text.lower()


def _echo_question(tokens: list[str]) -> bool:
    """A message that opens with a few words and a "?": "We're hiring? news to me"."""
    first = tokens.index("?")
    return 0 < first <= 3


def _tokens(text: str) -> tuple[str, list[str]]:
    """The plain text and lowercase tokens that ``_read`` would see, without the rest."""
    plain = _plain_text(text[:MAX_SCAN_CHARS])
    if plain.isascii():  # lowered ASCII: the same tokens, matched by a simpler pattern
        return plain, _ASCII_TOKEN.findall(plain.lower())
    return plain, [token.lower() for token in _TOKEN.findall(plain)]


def _excerpt(text: str) -> str:
    """Whitespace-collapsed, control characters removed, at most EXCERPT_CHARS."""
    flat = " ".join(_CONTROL.sub(" ", text[: MAX_SCAN_CHARS * 2]).split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    return flat[: EXCERPT_CHARS - 1].rstrip() + "\u2026"
