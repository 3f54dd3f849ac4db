"""Promises in chat: "I'll send the floor plans by Friday" is a commitment worth tracking.

The commitment protocol lets a commitment start as *promised* when someone says they will do
something by a date. This finds such a sentence: the speaker (I, or we) will do something, by
(or before, on, no later than) a date that reads as a date. It is deliberately narrow, because
the bot offers to track what it finds: no offer for a question, a negation, a condition, a
promise without a date, or someone else's promise.

Pure text in, a `Promise` (what and when) or None out: nothing is stored until the speaker
presses "Track it".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from handlers.dates import DateParseError, UncertainDateError, parse_due

MAX_CHARS = 500  # a promise is a sentence, not a paste
MAX_WHAT = 200

# "I'll", "I will", "I'm going to", "I can", "let me", "we'll"... and the verb phrase after it.
_OPENER = re.compile(
    r"(?:^|(?<=[\s,;:(\-]))"
    r"(?P<who>i|we)(?:\s*(?:'|’)?\s*ll|\s+will|\s+shall|\s*(?:'|’)?\s*m\s+going\s+to"
    r"|\s*(?:'|’)?\s*re\s+going\s+to|\s+am\s+going\s+to|\s+are\s+going\s+to|\s+can|\s+could)"
    r"\s+(?P<rest>.+)",
    re.IGNORECASE | re.DOTALL,
)
_LET_ME = re.compile(r"(?:^|(?<=[\s,;:(]))(?:let\s+me|lemme)\s+(?P<rest>.+)", re.IGNORECASE)
_PREPOSITION = re.compile(
    r"(?:^|\s)(?:by|before|no\s+later\s+than|on|until|till)\s+", re.IGNORECASE
)
# A date said without a preposition, at the end: "I'll call the vendor tomorrow".
_BARE_DATE = re.compile(
    r"\s(?P<due>today|tonight|tomorrow|this\s+(?:afternoon|evening|week)|next\s+week|eod|eow)"
    r"\s*[.!]*$",
    re.IGNORECASE,
)
# "by end of day tomorrow": the day named after an end-of-day phrase is the date.
_END_OF_DAY = re.compile(
    r"^(?:the\s+)?(?:end\s+of\s+(?:the\s+)?day|eod|close\s+of\s+business|cob)\s+(?:on\s+)?(?=\S)",
    re.IGNORECASE,
)
_DATE_WORDS = 5  # the longest date phrase tried: "the end of next week"
_VAGUE = frozenset(
    {"do", "it", "that", "this", "them", "so", "the", "a", "one", "some", "too", "at", "to"}
    | {"on", "in", "up", "out", "with", "for", "of", "into", "over", "back"}
)
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|probably|possibly|hopefully|might|fingers\s+crossed)\b", re.IGNORECASE
)
# Negated, tentative or noncommittal: "I'll not...", "I'll try to...", "I'll let you know".
# (Hedges are _HEDGE's, and being somewhere, "I'll be out on Friday", is _SOCIAL's.)
_NOT_A_PROMISE = re.compile(
    r"^(?:not|never|no\s+longer|try(?:\s+to)?|see\s+if|have\s+to\s+see|need\s+to\s+check"
    r"|take\s+(?:the\s+day|a\s+look)|get\s+back\s+to\s+you|let\s+you\s+know|think\s+about"
    r"|keep\s+(?:you|that|it|an\s+eye))\b",
    re.IGNORECASE,
)
# Plans to be somewhere or with someone, not work to deliver: "see you Friday", "I'll grab
# lunch", "swing by tomorrow", "work from home on Friday".
_SOCIAL = re.compile(
    r"^(?:see|talk|chat|speak|meet|catch\s+up|join|hop\s+on|grab|bring|wfh|work\s+from"
    r"|have\s+(?:lunch|dinner|breakfast|coffee|drinks?|a\s+drink)"
    r"|get\s+(?:coffee|lunch|dinner|food|drinks?|a\s+drink)"
    r"|head\s+(?:out|home|in|over|back)|(?:swing|stop|drop|come)\s+by|pop\s+(?:by|in|over)"
    r"|pick\s+up\s+(?:the\s+kids|my|lunch|dinner|food)|be\s+\w+)\b",
    re.IGNORECASE,
)
# Everyday things, not deliverables: "send out the invite", "order the pizza".
_EVERYDAY = re.compile(
    r"\b(?:invite|invitation|meeting|lunch|coffee|snack|party|drink|dinner|breakfast|donut"
    r"|doughnut|cake|pizza|cookie|bagel)s?\b",
    re.IGNORECASE,
)
_CONDITION = re.compile(r"\b(?:if|unless|whether|once\s+(?:i|we|you|they))\b", re.IGNORECASE)
_QUESTION_START = re.compile(
    r"^\s*(?:can|could|will|would|should|shall|do|does|did|is|are|when|who|what|how)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)


# A first look, cheap enough for every channel message: could this hold a promise at all?
_MAYBE = re.compile(
    r"\b(?:i|we)\s*(?:'|’)?\s*ll\b|\b(?:i|we)\s+(?:will|shall|can|could)\b|\bgoing\s+to\b"
    r"|\blet\s+me\b|\blemme\b",
    re.IGNORECASE,
)


def may_hold_promise(text: str) -> bool:
    """False for most chat, cheaply; True when `find_promise` is worth running."""
    return isinstance(text, str) and len(text) <= MAX_CHARS and _MAYBE.search(text) is not None


@dataclass(frozen=True)
class Promise:
    what: str  # "send the floor plans to facilities"
    due: dt.date
    by_us: bool  # "we'll", not "I'll"


def find_promise(text: str, today: dt.date) -> Promise | None:
    """The first sentence in which the speaker promises something by a readable date."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHARS:
        return None
    for sentence in _sentences(text):
        found = _promise_in(sentence, today)
        if found is not None:
            return found
    return None


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def _promise_in(sentence: str, today: dt.date) -> Promise | None:
    if sentence.rstrip().endswith("?") or _QUESTION_START.match(sentence):
        return None
    match = _OPENER.search(sentence) or _LET_ME.search(sentence)
    if match is None:
        return None
    before = sentence[: match.start()]
    if _CONDITION.search(before) or _HEDGE.search(before):
        return None  # "if the vendor answers, I'll...", "maybe I'll..."
    rest = match.group("rest").strip()
    if _NOT_A_PROMISE.match(rest) or _CONDITION.search(rest) or _HEDGE.search(rest):
        return None  # "...by Monday if the budget clears", "...by Friday, hopefully"
    found = _due_in(rest, today)
    if found is None:
        return None
    what, due = found
    what = re.sub(r"\s+", " ", what).strip(" ,;:-")
    words = [w.lower() for w in _WORDS.findall(what)]
    if len([w for w in words if w not in _VAGUE]) < 2:
        return None  # "I'll do it by Friday", "I'll look at it by Friday": too little to track
    if _SOCIAL.match(what) or _EVERYDAY.search(what) or words[1:] == ["you"]:
        return None  # "see you Friday", "send out the invite", "call you tomorrow"
    if len(what) > MAX_WHAT:
        what = what[: MAX_WHAT - 1].rsplit(" ", 1)[0] + "…"
    who = match.groupdict().get("who")
    return Promise(what, due, by_us=bool(who) and who.lower() == "we")


def _due_in(rest: str, today: dt.date) -> tuple[str, dt.date] | None:
    """What is promised and by when: the last phrase after "by", "before", "on"... that reads
    as a date (its longest readable start), or a bare "tomorrow" at the end."""
    clause = re.split(r"[.!?;\n]", rest, maxsplit=1)[0]
    for preposition in reversed(list(_PREPOSITION.finditer(clause))[-3:]):
        words = _END_OF_DAY.sub("", clause[preposition.end() :]).split()
        for size in range(min(len(words), _DATE_WORDS), 0, -1):
            phrase = " ".join(words[:size]).strip(" ,")
            try:
                return clause[: preposition.start()], parse_due(phrase, today)
            except UncertainDateError as doubt:
                if len(doubt.candidates) > 1:
                    return None  # the words disagree on the date: a shorter reading would guess
                continue
            except DateParseError:
                continue
    bare = _BARE_DATE.search(clause)
    if bare is not None:
        try:
            return clause[: bare.start()], parse_due(bare.group("due"), today)
        except DateParseError:
            return None
    return None
