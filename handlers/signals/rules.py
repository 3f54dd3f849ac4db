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
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

THRESHOLD = 0.5
MAX_SCAN_CHARS = 2000  # a signal is stated early; the rest of a long paste is not read
MAX_HITS_PER_KIND = 64  # bounds the work on cue-dense text; real messages have a handful
EXCERPT_CHARS = 280

# Evidence weights. Only an object, or an action with its object, can carry a kind: a verb
# alone ("moving", "buying") is far too common in chat to mean anything by itself.
PHRASE = 0.7
PAIR = 0.6
NAME_PAIR = 0.45  # an action with a capitalised product name: weaker than a known object
OBJECT = 0.3
EXTRA_OBJECT = 0.1  # per further distinct object, at most two
MODIFIED = 0.1  # "40 new laptops", "summer interns"
INTENT = 0.15  # "next spring", "we're buying", "planning to"
STALE_PAST = -0.1  # "we bought" without "just" or "last week"
STATUS_QUESTION = -0.15  # "who approved...?", "did we ever...?"

PAIR_AFTER = 10  # an object may follow its action in the same clause ("move the X team to")
PAIR_BEFORE = 3  # ...or precede it, if new or counted ("twenty new teachers start") or
# joined by an auxiliary ("the two departments are merging", "the unit is being split")
NEGATION_WINDOW = 5  # "we don't have the budget to hire"
MODIFIER_WINDOW = 3
NAME_WINDOW = 3

_SIGNAL_KEYS = ("actions", "objects", "phrases", "ignore", "names", "examples")
_LIST_KEYS = ("actions", "objects", "phrases", "ignore")
_CUE_SHAPE = re.compile(r"[^\W_](?:[^\W_]|[ '\-])*\*?")
_CUE_MAX_CHARS = 60

_TOKEN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*|[.!?;:,()\[\]]")
_ASCII_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*|[.!?;:,()\[\]]")  # on lowered ASCII
_SENTENCE_BREAKS = frozenset(".!?;")
_CLAUSE_BREAKS = frozenset(
    {",", ":", "(", ")", "[", "]", "but", "so", "though", "although", "however", "because"}
    | {"while", "whereas", "except", "instead", "unless"}
)
_AUXILIARIES = frozenset({"are", "is", "be", "being", "were", "was", "been"})
_DETERMINERS = frozenset(
    {"a", "an", "the", "our", "your", "my", "his", "her", "their", "its", "this", "that"}
)
_STATUS_OPENERS = frozenset(
    {"who", "who's", "what", "where", "when", "why", "how", "is", "are", "was", "were"}
    | {"has", "have", "had", "did", "does", "do", "whose", "which", "anyone", "anybody"}
)
_NAME_SKIP = frozenset(
    {"a", "an", "the", "our", "to", "with", "for", "on", "up", "into", "onto", "from", "some"}
    | {"new"}  # "implementing a new MES"
)
_NAME_STOPS = frozenset(
    {"i", "i'm", "i'll", "i've", "i'd", "it", "hr", "ok", "okay", "we", "you", "they"}
    | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
    | {"january", "february", "march", "april", "may", "june", "july", "august"}
    | {"september", "october", "november", "december", "q1", "q2", "q3", "q4"}
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SLACK_ANGLE = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_SLACK_EMOJI = re.compile(r"(?<![\w:]):[a-z0-9_+'\-]+:(?![\w:])", re.IGNORECASE)
_DASHES = re.compile(r"\s[-\u2013\u2014]+\s|[\u2013\u2014]")
_LINE_BREAKS = re.compile(r"[\r\n]+")

_VOWELS = frozenset("aeiou")
_IRREGULAR_PAST = {
    "buy": ("bought",),
    "get": ("got", "gotten"),
    "bring": ("brought",),
    "hold": ("held",),
    "run": ("ran",),
    "go": ("went", "gone"),
    "choose": ("chose", "chosen"),
    "build": ("built",),
    "keep": ("kept",),
    "begin": ("began", "begun"),
    "take": ("took", "taken"),
    "make": ("made",),
    "lay": ("laid",),
    "give": ("gave", "given"),
    "send": ("sent",),
    "throw": ("threw", "thrown"),
    "sell": ("sold",),
    "pay": ("paid",),
    "grow": ("grew", "grown"),
    "spend": ("spent",),
    "find": ("found",),
    "leave": ("left",),
}
_PAST_FORMS = frozenset(form for forms in _IRREGULAR_PAST.values() for form in forms)
_IRREGULAR_PLURAL = {"person": "people", "child": "children", "man": "men", "woman": "women"}


@dataclass(frozen=True)
class Signal:
    """A chat message that looks like an initiative with hidden IT roles."""

    kind: str  # playbook kind: the most likely one
    cues: tuple[str, ...]  # human-readable cues that matched, e.g. ("moving", "building")
    confidence: float  # 0..1 (the score of ``kind``)
    excerpt: str  # the message, whitespace-collapsed, at most 280 characters
    kinds: tuple[str, ...] = ()  # every kind the message is a signal of, most likely first
    score: float = -1.0  # the calibrated probability of ``kind`` (the rules: their score)

    def __post_init__(self) -> None:
        if not self.kinds:
            object.__setattr__(self, "kinds", (self.kind,))
        if self.score < 0:
            object.__setattr__(self, "score", self.confidence)


# --- cue compilation ----------------------------------------------------------------------


def _verb_forms(word: str) -> set[str]:
    """Every tense of a verb ("buy" -> buys, buying, bought), so cue lists stay short."""
    forms = {word, *_IRREGULAR_PAST.get(word, ())}
    if word.endswith("e"):
        gerund = word + "ing" if word.endswith(("ee", "ye", "oe")) else word[:-1] + "ing"
        forms |= {word + "s", gerund, word + "d"}
    elif len(word) > 1 and word.endswith("y") and word[-2] not in _VOWELS:
        forms |= {word[:-1] + "ies", word + "ing", word[:-1] + "ied"}
    else:
        plural = word + "es" if word.endswith(("s", "x", "z", "ch", "sh", "o")) else word + "s"
        forms |= {plural, word + "ing", word + "ed"}
        if _ends_consonant_vowel_consonant(word) or word.endswith(("al", "el")):
            # plan -> planning, cancel -> cancelled, trial -> trialling (both spellings)
            forms |= {word + word[-1] + "ing", word + word[-1] + "ed"}
    return forms


def _ends_consonant_vowel_consonant(word: str) -> bool:
    """Whether the last consonant may double before -ing/-ed (both spellings are accepted)."""
    if len(word) < 3 or not word[-3:].isalpha():
        return False
    a, b, c = word[-3:]
    return a not in _VOWELS and b in _VOWELS and c not in _VOWELS and c not in "wxy"


def _noun_forms(word: str) -> set[str]:
    """Singular, plural and possessive ("laptop", "laptops", "building's")."""
    if word in _IRREGULAR_PLURAL:
        plural = _IRREGULAR_PLURAL[word]
    elif word.endswith(("s", "x", "z", "ch", "sh")):
        plural = word + "es"
    elif len(word) > 1 and word.endswith("y") and word[-2] not in _VOWELS:
        plural = word[:-1] + "ies"
    else:
        plural = word + "s"
    return {word, plural, word + "'s", plural + "'s"}


@dataclass(frozen=True)
class _Cue:
    """One cue: at each position a set of accepted tokens, or a prefix (from a trailing *)."""

    role: str
    words: tuple[frozenset[str] | str, ...]

    def matches(self, tokens: list[str], start: int) -> bool:
        """Whether the cue's later words follow (the index has already matched the first)."""
        if start + len(self.words) > len(tokens):
            return False
        for offset in range(1, len(self.words)):
            word, token = self.words[offset], tokens[start + offset]
            if isinstance(word, str):
                if not token.startswith(word):
                    return False
            elif token not in word:
                return False
        return True


def _compile_cue(text: str, role: str, inflect: str) -> _Cue:
    """Turn "sign up" or "label printer" into a token matcher with its inflected forms."""
    words = text.split()
    slots: list[frozenset[str] | str] = []
    for index, word in enumerate(words):
        if word.endswith("*"):
            slots.append(word[:-1])
        elif inflect == "verb" and index == 0:
            slots.append(frozenset(_verb_forms(word)))
        elif inflect == "noun" and index == len(words) - 1:
            slots.append(frozenset(_noun_forms(word)))
        else:
            slots.append(frozenset({word}))
    return _Cue(role, tuple(slots))


@dataclass(frozen=True)
class _Index:
    """Cues keyed by their first token, so matching is a dictionary look-up per token."""

    by_first: dict[str, tuple[_Cue, ...]]
    by_prefix: tuple[tuple[str, _Cue], ...]  # cues whose first word ends in *

    @classmethod
    def build(cls, cues: Iterable[_Cue]) -> _Index:
        by_first: dict[str, list[_Cue]] = {}
        by_prefix: list[tuple[str, _Cue]] = []
        for cue in cues:
            first = cue.words[0]
            if isinstance(first, str):
                by_prefix.append((first, cue))
                continue
            for form in first:
                by_first.setdefault(form, []).append(cue)
        return cls({k: tuple(v) for k, v in by_first.items()}, tuple(by_prefix))

    def find(self, tokens: list[str]) -> list[tuple[int, int, str]]:
        """Every (start, end, role) match, overlapping ones included."""
        found = []
        for start, token in enumerate(tokens):
            for cue in self.by_first.get(token, ()):
                if len(cue.words) == 1 or cue.matches(tokens, start):
                    found.append((start, start + len(cue.words), cue.role))
            for prefix, cue in self.by_prefix:
                if token.startswith(prefix) and cue.matches(tokens, start):
                    found.append((start, start + len(cue.words), cue.role))
        return found


def _clean_entries(key: str, values: Iterable[str]) -> tuple[str, ...]:
    """Normalise cue strings and reject ones that could never match as written."""
    cleaned = []
    for position, value in enumerate(values):
        if not isinstance(value, str):
            raise ValueError(f"signal.{key} must be a list of strings")
        entry = " ".join(value.lower().split())
        where = f"signal.{key}[{position}]"
        if not entry:
            raise ValueError(f"{where} is empty")
        if len(entry) > _CUE_MAX_CHARS:
            raise ValueError(f"{where} is longer than {_CUE_MAX_CHARS} characters")
        if not _CUE_SHAPE.fullmatch(entry):
            raise ValueError(
                f"{where} ({value!r}) may hold only letters, digits, spaces, apostrophes and"
                " hyphens, with an optional * at the very end"
            )
        cleaned.append(entry)
    return tuple(cleaned)


@dataclass(frozen=True)
class SignalCues:
    """The cues of one initiative kind, as written in a playbook's ``[signal]`` table.

    ``actions`` are verbs (any tense matches), ``objects`` are nouns (plurals match) and
    ``phrases`` are strong enough alone. ``ignore`` lists things that make this kind's
    actions chatter when they come first after the action, on top of the global chatter.
    ``names`` lets a capitalised product name right after an action count as an object.
    A trailing ``*`` matches any ending ("reorgani*"). ``examples`` are whole messages of
    the kind: the rules ignore them, ``liaison-bot train`` teaches them to the model.
    """

    actions: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    names: bool = False
    examples: tuple[str, ...] = ()  # messages of this kind, for the model (not the rules)
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in _LIST_KEYS:
            value = getattr(self, key)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"signal.{key} must be a list of strings")
            object.__setattr__(self, key, _clean_entries(key, value))
        if not isinstance(self.names, bool):
            raise ValueError("signal.names must be true or false")
        if not self.objects and not self.phrases:
            raise ValueError("signal needs at least one entry in signal.objects or signal.phrases")
        cues = [_compile_cue(text, "action", "verb") for text in self.actions]
        cues += [_compile_cue(text, "object", "noun") for text in self.objects]
        cues += [_compile_cue(text, "phrase", "verb") for text in self.phrases]
        cues += [_compile_cue(text, "stop", "noun") for text in self.ignore]
        object.__setattr__(self, "_index", _Index.build(cues))

    @classmethod
    def from_table(cls, table: dict) -> SignalCues:
        """Build from the ``[signal]`` table of a playbook TOML, with errors that name the key."""
        if not isinstance(table, Mapping):
            raise ValueError("signal must be a table with actions, objects and phrases lists")
        unknown = sorted(str(key) for key in table if key not in _SIGNAL_KEYS)
        if unknown:
            raise ValueError(
                f"signal.{unknown[0]} is not a known key (expected: {', '.join(_SIGNAL_KEYS)})"
            )
        lists = {}
        for key in _LIST_KEYS:
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"signal.{key} must be a list of strings")
            lists[key] = tuple(value)
        names = table.get("names", False)
        if not isinstance(names, bool):
            raise ValueError("signal.names must be true or false")
        examples = table.get("examples", [])
        if not isinstance(examples, list) or not all(isinstance(item, str) for item in examples):
            raise ValueError("signal.examples must be a list of strings")
        cleaned = tuple(" ".join(item.split())[:EXCERPT_CHARS] for item in examples)
        return cls(**lists, names=names, examples=tuple(item for item in cleaned if item))


# --- the shipped data ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Lexicon:
    """The global lexicon: cross-kind chatter, idioms, negation and time markers."""

    index: _Index  # roles: stop, neutral, cancel, personal, support, modifier
    negators: frozenset[str]
    future: re.Pattern[str]
    history: re.Pattern[str]
    recent: re.Pattern[str]


def _string_list(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"signal_lexicon.toml: {key} must be a list of strings")
    return value


@cache
def _lexicon() -> _Lexicon:
    """Read signal_lexicon.toml once; a broken shipped file should fail loudly and early."""
    text = resources.files("handlers").joinpath("signal_lexicon.toml").read_text("utf-8")
    data = tomllib.loads(text)
    cues = []
    for key, role, inflect in (
        ("chatter", "stop", "noun"),
        ("neutral", "neutral", "noun"),
        ("cancellers", "cancel", ""),
        ("personal", "personal", ""),
        ("support", "support", ""),
        ("modifiers", "modifier", ""),
    ):
        entries = [" ".join(entry.lower().split()) for entry in _string_list(data, key)]
        cues += [_compile_cue(entry, role, inflect) for entry in entries if entry]

    def pattern(key: str, *extra: str) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in (*_string_list(data, key), *extra)))

    negators = frozenset(word.lower() for word in _string_list(data, "negators"))
    future = pattern("future", _coming_years())
    return _Lexicon(_Index.build(cues), negators, future, pattern("history"), pattern("recent"))


def _coming_years() -> str:
    """ "in 2027", "by FY2028": a year from this one on, after a preposition, is ahead of us
    (a bare year is not: "since 2019" is history)."""
    this_year = dt.date.today().year
    years = "|".join(str(year) for year in range(this_year, this_year + 6))
    return rf"\b(?:in|by|until|before|for|starting|from|during) (?:fy ?)?(?:{years})\b"


@cache
def _shipped_cues() -> tuple[tuple[str, SignalCues], ...]:
    """The [signal] table of every shipped playbook, in file-name order."""
    folder = resources.files("handlers").joinpath("playbooks")
    found = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text("utf-8"))
        if "signal" not in data:
            continue
        try:
            cues = SignalCues.from_table(data["signal"])
        except ValueError as exc:
            raise ValueError(f"playbooks/{entry.name}: {exc}") from None
        found.append((str(data.get("kind", entry.name.removesuffix(".toml"))), cues))
    return tuple(found)


def default_cues() -> dict[str, SignalCues]:
    """Kind -> cues from the shipped playbooks (read once, returned as a fresh dict)."""
    return dict(_shipped_cues())


# --- reading a message --------------------------------------------------------------------


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


# --- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    role: str
    owner: str | None  # the kind, or None for the global lexicon


def _longest_only(hits: list[_Hit]) -> list[_Hit]:
    """Drop hits inside a longer one: "call center" beats "call", "phone system" "phone"."""
    kept: list[_Hit] = []
    reach = -1  # the furthest end among spans sorted before the current one
    for hit in sorted(hits, key=lambda hit: (hit.start, -hit.end)):
        same_as_last = bool(kept) and (kept[-1].start, kept[-1].end) == (hit.start, hit.end)
        if same_as_last or reach < hit.end:
            kept.append(hit)
        reach = max(reach, hit.end)
    return kept


_NOT_IN_A_COMPOUND = (
    _DETERMINERS
    | _AUXILIARIES
    | frozenset(
        {"and", "or", "for", "to", "of", "in", "on", "at", "with", "from", "by", "into", "than"}
        | {"will", "would", "can", "could", "should", "must", "may", "might", "shall", "need"}
        | {"needs", "get", "gets", "got", "have", "has", "had", "do", "does", "did", "who", "that"}
        | {"every", "each", "all", "any", "no", "some", "many", "few", "several", "both", "per"}
        | {"about", "across", "around", "over", "under", "through", "between", "among", "near"}
        | {"without", "within", "after", "before", "during", "like", "as", "via", "which"}
    )
)


def _heads_only(doc: _Doc, hits: list[_Hit]) -> list[_Hit]:
    """In a compound the last noun names the thing: a "body camera evidence platform" is
    software, a "laptop cart" is not a laptop. Drop an object another kind's object follows
    at once or after one word that is neither a verb cue nor a word that ends a noun phrase
    ("drivers start training" is no compound)."""
    objects = [h for h in hits if h.role == "object"]
    if len(objects) < 2:
        return hits
    verbs = {h.start for h in hits if h.role in ("action", "phrase")}

    def qualifies(hit: _Hit) -> bool:
        for other in objects:
            gap = other.start - hit.end
            if other.owner == hit.owner or not 0 <= gap <= 1:
                continue
            between = doc.tokens[hit.end : other.start]
            if (
                doc.clause[other.start] == doc.clause[hit.start]
                and not (gap and hit.end in verbs)
                and not any(t in _NOT_IN_A_COMPOUND or not t[:1].isalnum() for t in between)
            ):
                return True
        return False

    return [h for h in hits if h.role != "object" or not qualifies(h)]


def _negated(doc: _Doc, hit: _Hit) -> bool:
    """A negator shortly before, in the same clause: "not going with", "no new hires"."""
    clause = doc.clause[hit.start]
    return any(
        position in doc.negators and doc.clause[position] == clause
        for position in range(max(0, hit.start - NEGATION_WINDOW), hit.start)
    )


def _usable(doc: _Doc, hit: _Hit) -> bool:
    return doc.clause[hit.start] not in doc.dead_clauses and not _negated(doc, hit)


def _modified(doc: _Doc, hit: _Hit) -> bool:
    """Whether the object is new or counted: a modifier just before it, or inside ("new hire")."""
    clause = doc.clause[hit.start]
    return any(
        position in doc.modifiers and doc.clause[position] == clause
        for position in range(max(0, hit.start - MODIFIER_WINDOW), hit.end - 1)
    )


def _chatter_first(doc: _Doc, action: _Hit, objects: list[_Hit], stops: list[_Hit]) -> bool:
    """Whether the first thing after an action is chatter ("buying coffee", "move standup").

    Chatter that merely qualifies a cue right after it is not chatter ("a reminder service").
    """
    clause = doc.clause[action.start]
    heads = {hit.start for hit in objects}
    stops = [hit for hit in stops if hit.end not in heads]
    candidates = [
        (hit.start, -(hit.end - hit.start), hit.role == "stop")
        for hit in (*objects, *stops)
        if 0 <= hit.start - action.end <= PAIR_AFTER and doc.clause[hit.start] == clause
    ]
    return bool(candidates) and min(candidates)[2]


def _echo_question(tokens: list[str]) -> bool:
    """A message that opens with a few words and a "?": "We're hiring? news to me"."""
    first = tokens.index("?")
    return 0 < first <= 3


def _is_past(token: str) -> bool:
    return token in _PAST_FORMS or token.endswith("ed")


def _progressive(doc: _Doc, hit: _Hit) -> bool:
    """An arrangement in progress: "we're buying", "the team is moving", "Ordering ..."."""
    if not doc.tokens[hit.start].endswith("ing"):
        return False
    if doc.clause_start[hit.start]:
        return True
    before = doc.tokens[max(0, hit.start - 2) : hit.start]
    return any(
        token in _AUXILIARIES or token.endswith(("'re", "'s")) for token in before
    ) and not any(token in ("i'm", "am") for token in before)


def _name_after(doc: _Doc, action: _Hit, stop_starts: set[int]) -> int | None:
    """A capitalised product name right after an action ("trialing Asana"), if any.

    A capitalised run that ends in chatter is a brand of that chatter ("Girl Scout cookies").
    """
    if doc.shouting:
        return None
    for position in range(action.end, min(len(doc.tokens), action.end + NAME_WINDOW)):
        token = doc.tokens[position]
        if token in _NAME_SKIP:
            continue
        raw = doc.raw[position]
        capitalised = raw[0].isupper() or (raw[0].isalpha() and any(c.isupper() for c in raw))
        fresh_sentence = position == 0 or doc.sentence[position - 1] != doc.sentence[position]
        if (
            capitalised
            and raw[0].isalpha()
            and not fresh_sentence
            and token not in _NAME_STOPS
            and not token.endswith("'s")
            and position not in doc.blanked
        ):
            end = position + 1
            while end < len(doc.raw) and doc.raw[end][:1].isupper():
                end += 1
            return None if end in stop_starts else position
        return None
    return None


@dataclass
class _Evidence:
    """What one kind found in a message, after negation, chatter and idioms are set aside."""

    objects: list[_Hit]
    actions: list[_Hit]
    phrases: list[_Hit]
    pairs: list[tuple[_Hit, _Hit]]
    named: list[tuple[_Hit, int]]  # (action, position of the product name)


@dataclass(frozen=True)
class _Score:
    value: float
    lead: int  # where the deciding evidence starts: on a tie the main verb, first, wins
    cues: tuple[str, ...]
    reach: int = 0  # tokens from the verb to its object: on a further tie the nearer one wins


def _gather(doc: _Doc, hits: list[_Hit], stops: list[_Hit], names: bool) -> _Evidence:
    """Keep the hits that still count: not negated, not chatter, not idiom, not a noun use."""
    objects = [h for h in hits if h.role == "object" and _usable(doc, h) and not _owned(doc, h)]
    all_objects = [h for h in hits if h.role == "object"]
    kind_stops = stops + [h for h in hits if h.role == "stop"]
    stop_starts = {h.start for h in kind_stops}
    actions, phrases, named = [], [], []
    for hit in hits:
        if hit.role not in ("action", "phrase") or not _usable(doc, hit) or _as_noun(doc, hit):
            continue
        name = _name_after(doc, hit, stop_starts) if names and hit.role == "action" else None
        # "buying coffee", "we hired a caterer"; a phrase of several words stands on its own
        # ("the grand opening is on the 14th, with a DJ").
        verb_like = hit.role == "action" or hit.end - hit.start == 1
        if name is None and verb_like and _chatter_first(doc, hit, all_objects, kind_stops):
            continue
        (phrases if hit.role == "phrase" else actions).append(hit)
        if name is not None:
            named.append((hit, name))
    pairs = [(a, o) for a in actions for o in objects if _paired(doc, a, o)]
    return _Evidence(objects, actions, phrases, pairs, named)


def _score(doc: _Doc, found: _Evidence) -> _Score | None:
    """Weigh one kind's evidence: the strongest kind of evidence, then the context."""
    if found.phrases:
        value, drivers = PHRASE, found.phrases
    elif found.pairs:
        value, drivers = PAIR, [a for a, _ in found.pairs]
    elif found.named:
        value, drivers = NAME_PAIR, [a for a, _ in found.named]
    elif found.objects:
        value, drivers = OBJECT, []
    else:
        return None
    past = bool(drivers) and all(_is_past(doc.tokens[h.start]) for h in drivers)
    if past and doc.year and not doc.future:
        return None  # "we moved into this building in 2015"
    distinct = {" ".join(doc.tokens[h.start : h.end]) for h in found.objects}
    value += EXTRA_OBJECT * min(2, max(0, len(distinct) - 1))
    if any(_modified(doc, o) for o in found.objects):
        value += MODIFIED
    # In a status question the auxiliary is inverted ("where are we keeping...?"): no intent.
    verbs = (*found.actions, *found.phrases)
    ongoing = not doc.status_question and any(_progressive(doc, h) for h in verbs)
    if doc.future or ongoing:
        value += INTENT
    if past and not doc.recent:
        value += STALE_PAST
    if doc.status_question:
        value += STATUS_QUESTION
    lead = min(h.start for h in (drivers or found.objects))
    reach = min((abs(o.start - a.end) for a, o in found.pairs), default=0)
    return _Score(value, lead, _cue_words(doc, found), reach)


def _as_noun(doc: _Doc, hit: _Hit) -> bool:
    """A gerund after a determiner names a thing ("the onboarding checklist", "a moving van")."""
    return (
        hit.start > 0
        and doc.tokens[hit.start].endswith("ing")
        and doc.tokens[hit.start - 1] in _DETERMINERS
    )


def _owned(doc: _Doc, hit: _Hit) -> bool:
    """Someone's existing thing ("my laptop", "your car"), not something the unit acquires."""
    before = doc.tokens[max(0, hit.start - 2) : hit.start]
    return any(token in ("my", "your", "his", "her") for token in before)


def _paired(doc: _Doc, action: _Hit, obj: _Hit) -> bool:
    if doc.clause[action.start] != doc.clause[obj.start]:
        return False
    if 0 <= obj.start - action.end <= PAIR_AFTER:
        return True
    if not 0 <= action.start - obj.end <= PAIR_BEFORE:
        return False
    if action.start == obj.end and _is_past(doc.tokens[action.start]):
        return True  # a participle right after its object: "tablets mounted in the buses"
    between = doc.tokens[obj.end : action.start]
    return _modified(doc, obj) or any(token in _AUXILIARIES for token in between)


def _cue_words(doc: _Doc, found: _Evidence) -> tuple[str, ...]:
    """The matched words, in message order, for people to see why the bot spoke up."""
    spans = {(h.start, h.end) for h in found.phrases}
    spans |= {(h.start, h.end) for pair in found.pairs for h in pair}
    spans |= {(a.start, a.end) for a, _ in found.named}
    names = {position for _, position in found.named}
    spans |= {(position, position + 1) for position in names}
    if not spans:
        spans = {(h.start, h.end) for h in found.objects}
    words: list[str] = []
    for start, end in sorted(spans):
        text = doc.raw[start] if start in names else " ".join(doc.tokens[start:end])
        if text not in words:
            words.append(text)
    return tuple(words[:6])


def _excerpt(text: str) -> str:
    """Whitespace-collapsed, control characters removed, at most EXCERPT_CHARS."""
    flat = " ".join(_CONTROL.sub(" ", text[: MAX_SCAN_CHARS * 2]).split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    return flat[: EXCERPT_CHARS - 1].rstrip() + "\u2026"


# --- the first pass -----------------------------------------------------------------------


_Match = tuple[int, int, str]  # (start, end, role), as ``_Index.find`` gives them


@dataclass(frozen=True, eq=False)
class _Plan:
    """One cue set, merged into a single index for the first pass every message goes through.

    Only an object, a phrase, or an action followed by a product name (for kinds with
    ``names``) can carry a kind; an action alone or an ``ignore`` entry never can. So a
    message whose tokens start none of those *strong* cues is chatter after one set
    look-up, and one in which none of them matches in full after a short loop. Otherwise
    one pass over the merged index finds each kind's cues, and a kind still cannot score if
    it has only actions and no product name, or only objects that cannot reach
    ``THRESHOLD`` even with every bonus still possible. Only a message with a kind that may
    score goes through the full matcher, which is unchanged: the first pass never changes a
    result, it only saves the work chatter never needed.
    """

    table: tuple[tuple[str, SignalCues], ...]  # kind -> cues, as the full matcher reads them
    strong: _Index  # every object, phrase and name-taking action of every kind
    strong_first: frozenset[str]  # their first tokens
    strong_prefix: re.Pattern[str] | None  # the same, for cues whose first word ends in *
    strong_infix: re.Pattern[str] | None  # those prefixes anywhere: a cheaper test first
    by_first: dict[str, tuple[tuple[int, _Cue], ...]]  # every cue: (kind number, cue)
    by_prefix: tuple[tuple[str, int, _Cue], ...]
    prefixes: tuple[str, ...]  # the prefixes in by_prefix, for one str.startswith call
    names: tuple[bool, ...]  # per kind number: whether product names count

    @classmethod
    def build(cls, table: tuple[tuple[str, SignalCues], ...]) -> _Plan:
        by_first: dict[str, list[tuple[int, _Cue]]] = {}
        by_prefix: list[tuple[str, int, _Cue]] = []
        strong: dict[int, _Cue] = {}
        for number, (_, kind_cues) in enumerate(table):
            index = kind_cues._index  # the full matcher's own cues, so both see the same
            for form, cues in index.by_first.items():
                for cue in cues:
                    by_first.setdefault(form, []).append((number, cue))
                    if _is_strong(cue, kind_cues.names):
                        strong[id(cue)] = cue
            for prefix, cue in index.by_prefix:
                by_prefix.append((prefix, number, cue))
                if _is_strong(cue, kind_cues.names):
                    strong[id(cue)] = cue
        strong_index = _Index.build(strong.values())
        pattern = "|".join(sorted({re.escape(prefix) for prefix, _ in strong_index.by_prefix}))
        return cls(
            table,
            strong_index,
            frozenset(strong_index.by_first),
            re.compile(f"(?:^| )(?:{pattern})") if pattern else None,
            re.compile(pattern) if pattern else None,
            {form: tuple(cues) for form, cues in by_first.items()},
            tuple(by_prefix),
            tuple(sorted({prefix for prefix, _, _ in by_prefix})),
            tuple(kind_cues.names for _, kind_cues in table),
        )

    def first_pass(self, plain: str, tokens: list[str]) -> list[list[_Match]] | None:
        """Each kind's cue matches, or None if no kind can reach ``THRESHOLD``: chatter."""
        prefixed = self._strong_prefix_in(tokens)
        if self.strong_first.isdisjoint(tokens) and not prefixed:
            return None
        if not self._strong_match(tokens, prefixed):
            return None
        found = self.find(tokens)
        return found if self._may_score(plain, tokens, found) else None

    def _strong_match(self, tokens: list[str], prefixed: bool) -> bool:
        """Whether a strong cue matches in full, not only its first word ("on" of "on board")."""
        by_first = self.strong.by_first
        for start, token in enumerate(tokens):
            cues = by_first.get(token)
            if cues and any(len(cue.words) == 1 or cue.matches(tokens, start) for cue in cues):
                return True
            if prefixed:
                for prefix, cue in self.strong.by_prefix:
                    if token.startswith(prefix) and cue.matches(tokens, start):
                        return True
        return False

    def _strong_prefix_in(self, tokens: list[str]) -> bool:
        """Whether a token starts a strong cue whose first word ends in *."""
        if self.strong_prefix is None or self.strong_infix is None:
            return False
        joined = " ".join(tokens)  # tokens hold no spaces: a token starts at 0 or after one
        return (
            self.strong_infix.search(joined) is not None
            and self.strong_prefix.search(joined) is not None
        )

    def find(self, tokens: list[str]) -> list[list[_Match]]:
        """What each kind's own index finds, in the same order, in one pass for all kinds."""
        found: list[list[_Match]] = [[] for _ in self.names]
        for start, token in enumerate(tokens):
            for number, cue in self.by_first.get(token, ()):
                if len(cue.words) == 1 or cue.matches(tokens, start):
                    found[number].append((start, start + len(cue.words), cue.role))
            if self.prefixes and token.startswith(self.prefixes):
                for prefix, number, cue in self.by_prefix:
                    if token.startswith(prefix) and cue.matches(tokens, start):
                        found[number].append((start, start + len(cue.words), cue.role))
        return found

    def _may_score(self, plain: str, tokens: list[str], found: list[list[_Match]]) -> bool:
        """Whether some kind may score, counting every bonus that is still possible."""
        raw: list[str] | None = None
        future: bool | None = None
        for names, matches in zip(self.names, found, strict=True):
            objects: list[tuple[int, int]] = []
            action_ends: list[int] = []
            for start, end, role in matches:
                if role == "phrase":
                    return True  # evidence enough on its own
                if role == "object":
                    objects.append((start, end))
                elif role == "action":
                    action_ends.append(end)
            if objects and action_ends:
                return True  # an action may pair with an object
            if names and action_ends:
                raw = _TOKEN.findall(plain) if raw is None else raw
                if any(_may_be_name(tokens, raw, end) for end in action_ends):
                    return True
            if objects:
                value = _best_object_score(tokens, objects)
                if value >= THRESHOLD:
                    return True
                if value + INTENT >= THRESHOLD:
                    future = _is_future(tokens) if future is None else future
                    if future:
                        return True
        return False


def _is_strong(cue: _Cue, names: bool) -> bool:
    return cue.role in ("object", "phrase") or (cue.role == "action" and names)


def _may_be_name(tokens: list[str], raw: list[str], end: int) -> bool:
    """A looser ``_name_after``: whether a product name may follow an action ending at end.

    It leaves out only what rules a name out (shouting, a sentence's first word, idioms, a
    brand of chatter), so where it finds no name the full matcher finds none either.
    """
    for position in range(end, min(len(tokens), end + NAME_WINDOW)):
        token = tokens[position]
        if token in _NAME_SKIP:
            continue
        word = raw[position]
        return (
            word[0].isalpha()
            and (word[0].isupper() or any(c.isupper() for c in word))
            and token not in _NAME_STOPS
            and not token.endswith("'s")
        )
    return False


def _best_object_score(tokens: list[str], objects: list[tuple[int, int]]) -> float:
    """The most that objects alone can score before intent, added up as ``_score`` does.

    Every distinct object is counted and any modifier word nearby counts, whatever negation,
    idioms, clauses or chatter would later take away; the penalties are left out.
    """
    distinct = {" ".join(tokens[start:end]) for start, end in objects}
    value = OBJECT
    value += EXTRA_OBJECT * min(2, max(0, len(distinct) - 1))
    if any(_may_be_modified(tokens, start, end) for start, end in objects):
        value += MODIFIED
    return value


def _may_be_modified(tokens: list[str], start: int, end: int) -> bool:
    """A looser ``_modified``: a possible modifier word in the window, in any clause."""
    words, prefixes = _modifier_words()
    return any(
        token in words or token.isdigit() or (prefixes and token.startswith(prefixes))
        for token in tokens[max(0, start - MODIFIER_WINDOW) : end - 1]
    )


@cache
def _modifier_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """Every word that can be part of a modifier in the lexicon, and any wildcard prefixes."""
    index = _lexicon().index
    cues = {id(cue): cue for cues in index.by_first.values() for cue in cues}
    cues.update((id(cue), cue) for _, cue in index.by_prefix)
    words: set[str] = set()
    prefixes: set[str] = set()
    for cue in cues.values():
        if cue.role != "modifier":
            continue
        for slot in cue.words:
            if isinstance(slot, str):
                prefixes.add(slot)
            else:
                words |= slot
    return frozenset(words), tuple(sorted(prefixes))


def _is_future(tokens: list[str]) -> bool:
    """The message-wide intent marker, exactly as ``_mark_context`` computes it."""
    lexicon = _lexicon()
    without_history = lexicon.history.sub(" ", " ".join(tokens))
    return lexicon.future.search(without_history) is not None


_PLAN_CACHE_SIZE = 32
_plans: dict[tuple[tuple[Any, ...], tuple[int, ...]], _Plan] = {}
_last_plan: list[_Plan] = []  # the plan used last: almost every message needs it again


@cache
def _shipped_plan() -> _Plan:
    return _Plan.build(_shipped_cues())


def _plan(cues: Mapping[str, SignalCues] | None) -> _Plan:
    """The plan for a cue set, built once per set of cue objects.

    Callers may pass a fresh mapping with every message (a catalogue builds one per call),
    so plans are found by the kinds and cue objects the mapping holds, not by the mapping:
    first the plan used last, if its kinds and cues are the same (equal cues build equal
    indexes), then by the identity of the cue objects. A cached plan holds its cue objects,
    so their ids stay unique while it is cached.
    """
    if cues is None:
        return _shipped_plan()
    items = tuple(cues.items())  # read once: the plan keeps exactly the objects in the key
    if _last_plan and _last_plan[0].table == items:  # an identity check per item, usually
        return _last_plan[0]
    key = (tuple([kind for kind, _ in items]), tuple([id(value) for _, value in items]))
    try:
        plan = _plans.get(key)
    except TypeError:  # a mapping with unhashable keys: still correct, just not cached
        return _Plan.build(items)
    if plan is None:
        plan = _Plan.build(items)
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.clear()
        _plans[key] = plan
    _last_plan[:] = [plan]
    return plan


def _tokens(text: str) -> tuple[str, list[str]]:
    """The plain text and lowercase tokens that ``_read`` would see, without the rest."""
    plain = _plain_text(text[:MAX_SCAN_CHARS])
    if plain.isascii():  # lowered ASCII: the same tokens, matched by a simpler pattern
        return plain, _ASCII_TOKEN.findall(plain.lower())
    return plain, [token.lower() for token in _TOKEN.findall(plain)]


def detect(text: str, cues: Mapping[str, SignalCues] | None = None) -> Signal | None:
    """Return the most likely signal in a chat message, or None for everyday chatter."""
    if not isinstance(text, str):
        return None
    plan = _plan(cues)
    found = plan.first_pass(*_tokens(text))
    if found is None:
        return None
    return _match(text, plan.table, found)


def _detect_full(text: str, cues: Mapping[str, SignalCues] | None = None) -> Signal | None:
    """``detect`` without the first pass: every message gets the full matcher."""
    if not isinstance(text, str):
        return None
    return _match(text, _shipped_cues() if cues is None else tuple(cues.items()))


def _match(
    text: str,
    table: tuple[tuple[str, SignalCues], ...],
    found: list[list[_Match]] | None = None,
) -> Signal | None:
    """The full matcher: read the message, find every kind's cues, weigh them, pick a kind.

    ``found`` is what the first pass already matched for each kind, in the table's order.
    """
    doc = _read(text)
    hits = []
    for number, (kind, kind_cues) in enumerate(table):
        matches = kind_cues._index.find(doc.tokens) if found is None else found[number]
        hits += [_Hit(s, e, role, kind) for s, e, role in matches]
    if not hits:
        return None
    _mark_context(doc)
    if (doc.history and not doc.future) or doc.echo:
        return None
    hits += [_Hit(s, e, role, None) for s, e, role in doc.lexicon_hits if role == "stop"]
    hits = [
        hit
        for hit in _longest_only(hits)
        if not doc.blanked.intersection(range(hit.start, hit.end))
    ]
    hits = _heads_only(doc, hits)
    stops = [hit for hit in hits if hit.owner is None]
    best: tuple[str, _Score] | None = None
    for kind, kind_cues in table:
        own = [hit for hit in hits if hit.owner == kind][:MAX_HITS_PER_KIND]
        scored = _score(doc, _gather(doc, own, stops, kind_cues.names)) if own else None
        if scored is None or scored.value < THRESHOLD:
            continue
        rank = (scored.value, -scored.lead, -scored.reach)
        if best is None or rank > (best[1].value, -best[1].lead, -best[1].reach):
            best = (kind, scored)
    if best is None:
        return None
    kind, scored = best
    return Signal(kind, scored.cues, round(min(scored.value, 0.99), 2), _excerpt(text))


# --- findings, as the model's features -----------------------------------------------------


def cue_words(
    text: str, kind: str, cues: Mapping[str, SignalCues] | None = None
) -> tuple[str, ...]:
    """The words of a message that are cues of one kind, in order, to explain a detection."""
    plan = _plan(cues)
    _, tokens = _tokens(text)
    for (name, _), matches in zip(plan.table, plan.find(tokens), strict=True):
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
    plan = _plan(cues)
    _, tokens = _tokens(text)
    found = plan.find(tokens)
    out: list[str] = []
    for (kind, _), matches in zip(plan.table, found, strict=True):
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
    return out
