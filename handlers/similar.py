"""Similar initiatives across units: the same need, planned twice, turned into one plan.

When an initiative is saved, the open (or recently closed) initiatives of *other* units of the
same kind are scored against it: the text (title, the message it came from, the product named)
as sparse TF-IDF vectors of character n-grams, fitted on the organisation's own initiatives;
a product or vendor name both mention; and target dates close together. A pair scoring at
least `THRESHOLD` (chosen on bench/similar_pairs.jsonl, where precision matters more than
recall) is kept once, and each unit's liaison is told with a "Link them" button.

Privacy: until both liaisons agree, a liaison is told only what they may already see. Of the
other unit's initiative they get its unit, its kind and its target month, and the name of its
liaison to talk to, unless they oversee that unit too. Once both sides agree (`linked_at`),
each initiative shows the other (its number, title and unit) to those who may see it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, or_, select

from handlers import commitments
from handlers.messages import ActionId, Choice, Item, Outgoing, Reply, ReplyKind
from handlers.org import Organisation
from handlers.turn import Turn, record_id, say
from storage.models import Initiative, InitiativeLink, InitiativeStatus, Person, Unit

THRESHOLD = 0.5  # bench/similar_initiatives.py: precision 1.00, recall 0.85 on the labelled pairs
RECENT_DAYS = 180  # closed initiatives this recent still count (the other unit may reuse it)
DATE_SPAN_DAYS = 180  # target dates this far apart add nothing
WEIGHTS = {"text": 0.65, "names": 0.25, "dates": 0.10}
NGRAMS = (3, 4, 5)
MAX_CANDIDATES = 500
_WORD = re.compile(r"[A-Za-z0-9][\w&+.-]*")
_COMMON_WORDS = """a an and are as at be buy buying by for from get getting in into is it its
looking move moving new next of on or our plan planning purchase replace replacing the their
this to trial upgrade we we're will with want need needs us i i'm tool system software
platform app service"""
_NOT_NAMES = frozenset(_COMMON_WORDS.split())


@dataclass(frozen=True)
class Need:
    """What is compared: an initiative's kind, words, named products and date."""

    kind: str
    text: str
    names: frozenset[str] = frozenset()
    target: dt.date | None = None


def need_of(initiative: Initiative) -> Need:
    details = _details(initiative)
    product = str(details.get("product") or "")
    text = " ".join(filter(None, (initiative.title, initiative.source_excerpt or "", product)))
    names = names_in(text) | names_in(product, every_word=True)
    return Need(initiative.kind, text, frozenset(names), initiative.target_date)


def names_in(text: str, every_word: bool = False) -> set[str]:
    """Product and vendor names: capitalised or mixed-case words that are not the first word
    of a sentence nor common words (or every uncommon word of a 'product' answer)."""
    found = set()
    for index, match in enumerate(_WORD.finditer(text)):
        word = match.group().strip(".-")
        lowered = word.lower()
        if len(lowered) < 3 or lowered in _NOT_NAMES or lowered.isdigit():
            continue
        starts_sentence = index == 0 or text[: match.start()].rstrip().endswith((".", "!", "?"))
        capitalised = word[0].isupper() or any(c.isupper() for c in word[1:])
        if every_word or (capitalised and not starts_sentence):
            found.add(lowered)
    return found


def _grams(text: str) -> Counter[str]:
    """Character n-grams inside words (padded by spaces), as scikit-learn's char_wb does."""
    counts: Counter[str] = Counter()
    for word in _WORD.findall(text.lower()):
        padded = f" {word} "
        for n in NGRAMS:
            counts.update(padded[i : i + n] for i in range(max(len(padded) - n + 1, 1)))
    return counts


def tfidf(texts: Sequence[str], corpus: Sequence[str] = ()) -> list[dict[str, float]]:
    """One L2-normalised sparse vector (n-gram -> weight) per text: sublinear term frequency
    times smoothed IDF, the document frequencies counted over `texts` and `corpus`. Sparse,
    so hundreds of initiatives cost kilobytes, not a dense matrix of every n-gram."""
    grams = [_grams(t) for t in texts]
    df: Counter[str] = Counter()
    for counts in grams:
        df.update(counts.keys())
    for text in corpus:
        df.update(_grams(text).keys())
    total = len(texts) + len(corpus)
    vectors = []
    for counts in grams:
        weights = {
            g: (1 + math.log(n)) * (math.log((1 + total) / (1 + df[g])) + 1)
            for g, n in counts.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors.append({g: w / norm for g, w in weights.items()})
    return vectors


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return sum(w * large.get(g, 0.0) for g, w in small.items())


def score(a: Need, b: Need, text_similarity: float) -> float:
    """0..1: the same kind is a must; then text, shared names and close dates, weighed over
    what both sides have (a signal's draft has no date, and often no product name)."""
    if a.kind != b.kind:
        return 0.0
    parts = {"text": text_similarity}
    if a.names and b.names:
        parts["names"] = 1.0 if a.names & b.names else 0.0
    if a.target and b.target:
        parts["dates"] = max(0.0, 1 - abs((a.target - b.target).days) / DATE_SPAN_DAYS)
    weight = sum(WEIGHTS[k] for k in parts)
    return round(sum(WEIGHTS[k] * v for k, v in parts.items()) / weight, 3)


def score_all(new: Need, others: Sequence[Need], corpus: Sequence[str] = ()) -> list[float]:
    """The score of `new` against each of `others`; IDF is fitted on them and `corpus`."""
    if not others:
        return []
    first, *rest = tfidf([new.text, *(o.text for o in others)], corpus)
    return [score(new, other, cosine(first, v)) for other, v in zip(others, rest, strict=True)]


# --- finding, telling, linking ---------------------------------------------------------------


def find(session: Session, initiative: Initiative, now: dt.datetime) -> list[tuple[int, float]]:
    """(initiative id, score) of other units' initiatives that look like the same need."""
    if not initiative.unit_id:
        return []
    need = functools.partial(need_of, initiative)
    return _find(session, initiative.kind, need, initiative.unit_id, initiative.id, now)


def _find(
    session: Session,
    kind: str,
    need: Callable[[], Need],
    unit_id: str,
    own_id: int | None,
    now: dt.datetime,
) -> list[tuple[int, float]]:
    """`find` for a need of a kind in a unit (a saved initiative's, `own_id`, or a signal's
    draft's), worked out by `need` only when another unit has one of that kind. The
    candidates are read as plain rows: only what `need_of` reads, and no ORM objects."""
    recent = now - dt.timedelta(days=RECENT_DAYS)
    values = {"recent": recent, "own": -1 if own_id is None else own_id}
    session.flush()  # what the session changed counts (a Core query does not flush)
    pool = session.connection().execute(_candidates(), values).all()
    others = [i for i in pool if i.unit_id != unit_id and i.kind == kind]
    if not others:
        return []
    ids = {i.id for i in others}
    corpus = [need_of(i).text for i in pool if i.id not in ids]
    scores = score_all(need(), [need_of(i) for i in others], corpus)
    return sorted(
        ((i.id, s) for i, s in zip(others, scores, strict=True) if s >= THRESHOLD),
        key=lambda pair: -pair[1],
    )


@functools.cache
def _candidates():
    """The open (or recently closed) initiatives with a unit, newest first, but one (`own`:
    the initiative compared; -1, which no id is, for a draft): built once."""
    live = or_(  # not `status IN (...)`: an expanding IN is rendered again at every query
        Initiative.status == InitiativeStatus.PLANNING,
        Initiative.status == InitiativeStatus.ACTIVE,
        Initiative.closed_at >= bindparam("recent"),
    )
    columns = (Initiative.id, Initiative.unit_id, Initiative.kind, Initiative.title)
    columns += (Initiative.source_excerpt, Initiative.details, Initiative.target_date)
    return (
        select(*columns)
        .where(live, Initiative.unit_id.is_not(None), Initiative.id != bindparam("own"))
        .order_by(Initiative.id.desc())
        .limit(MAX_CANDIDATES)
    )


def on_saved(
    session: Session, org: Organisation, initiative: Initiative, now: dt.datetime
) -> list[Outgoing]:
    """Keep each new similar pair, and tell both units' liaisons (once per pair)."""
    out: list[Outgoing] = []
    for other_id, found_score in find(session, initiative, now):
        first, second = sorted((initiative.id, other_id))
        exists = session.exec(
            select(InitiativeLink).where(
                InitiativeLink.first_id == first, InitiativeLink.second_id == second
            )
        ).first()
        if exists is not None:
            continue
        link = InitiativeLink(first_id=first, second_id=second, score=found_score, created_at=now)
        session.add(link)
        session.flush()
        out += tell_liaisons(session, org, link)
    return out


def on_offer(
    session: Session,
    org: Organisation,
    kind: str,
    excerpt: str,
    unit_id: str | None,
    now: dt.datetime,
) -> list[Outgoing]:
    """A signal offered in one unit that looks like another unit's plan: the unit's liaison
    hears of it now, before anything is saved (the offer's ledger key makes this once)."""
    if not unit_id:
        return []
    liaison_id = session.connection().execute(_liaison_of(), {"unit": unit_id}).scalar()
    if not liaison_id:  # no such unit, or no liaison to tell
        return []

    def draft() -> Need:
        """What the signal, as a draft initiative (its excerpt the title), is compared on."""
        return need_of(Initiative(kind=kind, title=excerpt[:200], unit_id=unit_id, requester_id=0))

    found = _find(session, kind, draft, unit_id, None, now)
    if not found:
        return []
    viewer = session.get(Person, liaison_id)
    other = describe(session, org, viewer, session.get(Initiative, found[0][0]))
    name = org.units[unit_id].name if unit_id in org.units else unit_id
    text = (
        f"Heads-up: someone in {name} just mentioned “{excerpt}”, which looks like {other}. "
        "If they plan it, I'll suggest linking the two."
    )
    return [Outgoing(Reply(text, kind=ReplyKind.INFO), to_person=liaison_id)]


@functools.cache
def _liaison_of():
    return select(Unit.liaison_id).where(Unit.id == bindparam("unit"))


def tell_liaisons(session: Session, org: Organisation, link: InitiativeLink) -> list[Outgoing]:
    """One DM per liaison of the two units (one in all when they are the same person)."""
    pair = [session.get(Initiative, link.first_id), session.get(Initiative, link.second_id)]
    told: dict[int, list[Initiative]] = {}
    for mine in pair:
        unit = session.get(Unit, mine.unit_id)
        if unit is not None and unit.liaison_id:
            told.setdefault(unit.liaison_id, []).append(mine)
    out = []
    for liaison_id, own in told.items():
        viewer = session.get(Person, liaison_id)
        ours = own[0]
        theirs = pair[1] if ours.id == pair[0].id else pair[0]
        text = (
            f"{describe(session, org, viewer, ours)} looks like the same need as "
            f"{describe(session, org, viewer, theirs)}. Planning it once could serve both. "
            "Link them? Each unit's liaison agrees; once both have, each plan shows the other."
        )
        choice = Choice.of("Link them", ActionId.SIMILAR_LINK, "primary", pair=link.id)
        reply = Reply(text, choices=(choice,), kind=ReplyKind.INFO)
        out.append(Outgoing(reply, to_person=liaison_id, meta={"link": link.id}))
    return out


def describe(session: Session, org: Organisation, viewer: Person, found: Initiative) -> str:
    """An initiative as this viewer may see it: in full if they may, else only its unit, kind,
    target month and the liaison to ask."""
    unit = org.units.get(found.unit_id or "")
    unit_name = unit.name if unit else (found.unit_id or "another unit")
    if may_see(session, org, viewer, found):
        return f"{unit_name}'s #{found.id} “{found.title}”"
    when = f", aimed at {found.target_date:%B %Y}" if found.target_date else ""
    liaison = f" (ask {unit_name}'s liaison, @{unit.liaison})" if unit and unit.liaison else ""
    return f"a {found.kind.replace('_', ' ')} {unit_name} is planning{when}{liaison}"


def may_see(session: Session, org: Organisation, viewer: Person, found: Initiative) -> bool:
    return viewer.id in (found.requester_id, found.owner_id) or commitments.can_oversee(
        org, viewer, found.unit_id
    )


def agree(
    session: Session, org: Organisation, viewer: Person, link_id: int, now: dt.datetime
) -> str:
    """A liaison (or admin) agrees for the side(s) they oversee; a sentence saying where the
    link stands."""
    link = session.get(InitiativeLink, link_id)
    if link is None:
        return "That suggestion has gone."
    first = session.get(Initiative, link.first_id)
    second = session.get(Initiative, link.second_id)
    sides = [commitments.can_oversee(org, viewer, i.unit_id) for i in (first, second)]
    if not any(sides):
        return "Only the liaisons of the two units can link these."
    if sides[0] and link.first_agreed_by is None:
        link.first_agreed_by = viewer.id
    if sides[1] and link.second_agreed_by is None:
        link.second_agreed_by = viewer.id
    if link.first_agreed_by and link.second_agreed_by and link.linked_at is None:
        link.linked_at = now
    session.add(link)
    if link.linked_at is not None:
        return f"Linked: #{first.id} and #{second.id} now show each other."
    waiting = first if not link.first_agreed_by else second
    unit = org.units.get(waiting.unit_id or "")
    who = f"@{unit.liaison}" if unit and unit.liaison else "the other unit's liaison"
    return f"Noted. They are linked once {who} agrees too."


def linked(session: Session, initiative_id: int) -> list[Initiative]:
    """The initiatives linked with this one (both liaisons agreed)."""
    links = session.exec(
        select(InitiativeLink).where(
            InitiativeLink.linked_at.is_not(None),
            or_(
                InitiativeLink.first_id == initiative_id,
                InitiativeLink.second_id == initiative_id,
            ),
        )
    ).all()
    ids = [l.second_id if l.first_id == initiative_id else l.first_id for l in links]  # noqa: E741
    return [session.get(Initiative, i) for i in sorted(ids)]


def linked_items(session: Session, org: Organisation, initiative_id: int) -> list[Item]:
    """'Linked with #7 “Scheduling tool” (Parks and Recreation)', one line per link."""
    out = []
    for other in linked(session, initiative_id):
        unit = org.units.get(other.unit_id or "")
        where = f" ({unit.name})" if unit else ""
        out.append(Item(f"Linked with #{other.id} “{other.title}”{where}"))
    return out


def link_button(turn: Turn, data: dict) -> list[Outgoing]:
    """ "Link them": the presser agrees for the side(s) they oversee."""
    text = agree(turn.session, turn.bot.org, turn.person, record_id(data.get("pair")), turn.now())
    return say(text, private=True)


def _details(initiative: Initiative) -> dict:
    try:
        found = json.loads(initiative.details or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
