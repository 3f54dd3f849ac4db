"""The rules' verdict: each kind's cues found in a message are weighed against the context
(negation, chatter, idioms, compounds, tense) and the best kind at or above ``THRESHOLD``
wins. On a tie, the kind whose verb comes first, then the one whose object is nearest it.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.signals.cues import Signal, SignalCues, _Match
from handlers.signals.reading import _Doc, _excerpt, _mark_context, _read
from handlers.signals.vocabulary import (
    _AUXILIARIES,
    _DETERMINERS,
    _NAME_SKIP,
    _NAME_STOPS,
    EXTRA_OBJECT,
    INTENT,
    MAX_HITS_PER_KIND,
    MODIFIED,
    MODIFIER_WINDOW,
    NAME_PAIR,
    NAME_WINDOW,
    NEGATION_WINDOW,
    OBJECT,
    PAIR,
    PAIR_AFTER,
    PAIR_BEFORE,
    PHRASE,
    STALE_PAST,
    STATUS_QUESTION,
    THRESHOLD,
    _is_past,
)


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
