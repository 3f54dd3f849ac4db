"""The rules' fixed vocabulary: evidence weights, windows, the small word classes the
matcher reasons with, and the inflections that keep cue lists short ("buy" matches "bought").

Shared by the cue compiler, the reader, the scorer and the first pass, so that each reads
the same numbers and words.
"""

from __future__ import annotations

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


def _is_past(token: str) -> bool:
    return token in _PAST_FORMS or token.endswith("ed")
