"""Bad input for the core: property-based tests of `Liaison.handle` with arbitrary text and actions.

Every channel turns what people type and click into an `Inbound`, so the core is the last parser
of outside input: the text of any message, and any action id with any JSON value (a button from
an old message, a form from an older version, a value a client mangled). For all of them:

- `handle()` returns replies and raises nothing;
- every reply a person reads is a clear sentence (`unclear`): not empty, starting with a capital
  letter, an emoji or a mention, with no Python repr or traceback text in it;
- the data stays sound (`db_problems`): every commitment has a valid state and a history whose
  last event ends in that state, intakes and initiatives have valid statuses, RASCI cells have
  valid letters, and the ledger's keys are unique;
- a message that is neither a signal nor a command writes nothing.

The checks and strategies here are shared with the end-to-end fuzz tests of the channels
(tests/e2e/test_fuzz_slack.py and tests/e2e/test_fuzz_teams.py), which import this module.

Crashes found here were fixed and keep cases of their own at the end; the generators steer
clear of them (ids are numbers, dates and notes are strings, form states and values are
objects, typed roles JSON is well formed) so that the properties test everything else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, select

from handlers.commands import ACT_NAMES, strip_mentions
from handlers.core import Liaison
from handlers.messages import Action, Inbound, Outgoing, Sender
from handlers.org import load_organisation
from handlers.playbooks import load_catalogue
from storage.db import make_engine, upgrade
from storage.models import (
    Address,
    Commitment,
    CommitmentEvent,
    CommitmentState,
    Initiative,
    InitiativeStatus,
    IntakeSession,
    IntakeStatus,
    Ledger,
    Letter,
    Person,
    RoleAssignment,
)
from tests.conftest import EXAMPLE_CONFIG

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# --- what a person may read ----------------------------------------------------------------------

# Python's own words leaking into a reply: a traceback, or the repr of an exception, a dict, a
# list or an object.
REPR_PATTERNS = tuple(
    re.compile(p)
    for p in (
        r"Traceback",
        r"\w*(?:Error|Exception)\(",
        r"\{'[^']*': ",
        r"\['[^']*'(?:, |\])",
        r"object at 0x",
    )
)


def python_text(text: str, said: Iterable[str] = ()) -> str | None:
    """The first bit of Python repr or traceback in `text` that the person did not say."""
    heard = "\n".join(said)
    for pattern in REPR_PATTERNS:
        found = pattern.search(text)
        if found and not pattern.search(heard):
            return found.group()
    return None


# A reply may open with a person or a commitment as its subject ("@pat asks you for: ...",
# "<@U0PAT> planned it", "#12 Phones — ...") or by quoting what was said ("'x' isn't a number").
# Markup (bold, block quotes, code) may come first.
_LEADING_MARKUP = re.compile(r"^[\s*_~>`]+")
_SUBJECT = re.compile(r"^(?:@[\w.\-]+|<@[A-Z0-9]+(?:\|[^>]*)?>|&lt;@[A-Z0-9]+|#\d+)")


def unclear(text: Any, said: Iterable[str] = ()) -> str | None:
    """Why `text` is not a clear sentence for a person, or None when it is.

    `said` is what the person sent: a marker that was in their own words may be echoed back.
    """
    if not isinstance(text, str) or not text.strip():
        return f"an empty answer: {text!r}"
    leak = python_text(text, said)
    if leak:
        return f"Python text ({leak!r}) in {text[:300]!r}"
    head = _LEADING_MARKUP.sub("", text)
    if not head:
        return f"only markup: {text!r}"
    if _SUBJECT.match(head):
        return None
    first = head[:1]
    if first.isupper() or unicodedata.category(first).startswith("S") or first in "…•'\"‘“":
        return None
    return f"does not start like a sentence: {text[:120]!r}"


def reply_problems(replies: list[Outgoing], said: Iterable[str] = ()) -> list[str]:
    """Everything unclear in the core's replies: their texts, items, facts, errors, labels."""
    said = list(said)
    problems = []
    for out in replies:
        reply = out.reply
        problems.append(unclear(reply.text, said))
        for key, sentence in reply.errors:
            problems.append(unclear(sentence, said) and f"error for {key}: {sentence!r}")
        lines = [item.text for item in reply.items] + [f"{k}: {v}" for k, v in reply.facts]
        for line in lines:
            leak = python_text(line, said)
            problems.append(leak and f"Python text ({leak!r}) in {line[:200]!r}")
        for choice in reply.choices + tuple(c for i in reply.items for c in i.choices):
            problems.append(None if choice.label.strip() else f"a button without a label: {choice}")
    return [p for p in problems if p]


# --- what the database must always be ------------------------------------------------------------


def db_problems(engine: Engine) -> list[str]:
    """Broken invariants of the stored data, as sentences (an empty list when all is well)."""
    problems: list[str] = []
    states = {s.value for s in CommitmentState}
    with Session(engine) as session:
        last: dict[int, CommitmentEvent] = {}
        for ev in session.exec(select(CommitmentEvent).order_by(CommitmentEvent.id)).all():
            last[ev.commitment_id] = ev
            if ev.to_state not in states:
                problems.append(f"history event {ev.id} goes to an unknown state {ev.to_state!r}")
        for item in session.exec(select(Commitment)).all():
            if item.state not in states:
                problems.append(f"commitment #{item.id} has an unknown state {item.state!r}")
            if item.id not in last:
                problems.append(f"commitment #{item.id} has no history")
            elif last[item.id].to_state != item.state:
                problems.append(
                    f"commitment #{item.id} is {item.state!r} but its history ends in "
                    f"{last[item.id].to_state!r}"
                )
        statuses = {s.value for s in IntakeStatus}
        for intake in session.exec(select(IntakeSession)).all():
            if intake.status not in statuses:
                problems.append(f"intake {intake.id} has an unknown status {intake.status!r}")
            if intake.status == IntakeStatus.DONE and intake.initiative_id is None:
                problems.append(f"intake {intake.id} is done without an initiative")
        initiative_statuses = {s.value for s in InitiativeStatus}
        for initiative in session.exec(select(Initiative)).all():
            if initiative.status not in initiative_statuses:
                problems.append(f"initiative {initiative.id} has status {initiative.status!r}")
        letters = {x.value for x in Letter}
        for cell in session.exec(select(RoleAssignment)).all():
            if cell.letter not in letters:
                problems.append(f"RASCI cell {cell.id} has the letter {cell.letter!r}")
        twice = session.exec(
            select(Ledger.key, func.count()).group_by(Ledger.key).having(func.count() > 1)
        ).all()
        problems += [f"ledger key {key!r} is stored {n} times" for key, n in twice]
    return problems


def row_counts(engine: Engine) -> dict[str, int]:
    """How many rows each table holds (to prove that nothing was written)."""
    with Session(engine) as session:
        return {
            t.name: session.exec(select(func.count()).select_from(t)).one()
            for t in SQLModel.metadata.sorted_tables
        }


# --- strategies ----------------------------------------------------------------------------------

# Lone surrogates are left out: SQLite cannot store them (tested in test_fuzz_teams.py).
CHARS = st.characters(exclude_categories=("Cs",))
TEXT = st.text(CHARS, max_size=40)
SIGNALS = (
    "We're moving to a new building in ten months",
    "We are buying a new CRM for the sales team",
    "12 new nurses start on the 1st",
    "We're launching the new website in March",
)
COMMANDS = (
    "help",
    "?",
    "plan",
    "plan office move",
    "plan a software purchase",
    "plan spaceship",
    "history 1",
    "history x",
    "commitments",
    "commitments mine",
    "commitments help",
    "commitments stuck",
    "commitments overdue",
    "commitments cycle",
    "commitments calendar",
    "commitments unit finance",
    "commitments unit nowhere",
    "commitments initiative 1",
    "commitments initiative 99999999999999999999",
    "commitments @sam",
    "commitments <@U0SAMRIVRA>",
    "commitments ask @sam to send the floor plan by Friday",
    "commitments ask @nobody to do it",
    "commitments ask @sam to do it by yesterday",
    "commitments promise 1",
    "commitments done 2",
    "commitments counter 1 by March 1",
    "commitments blocked 3 waiting for the vendor",
    "commitments snooze 1 for 3 days",
    "commitments not mine 4",
    "commitments cancel 9999999999999999999999",
)
ANSWERS = (
    "1",
    "2",
    "3",
    "me",
    "@sam",
    "<@U0SAMRIVRA>",
    "ok",
    "save",
    "skip",
    "cancel",
    "no",
    "in ten months",
    "by Friday",
    "yesterday",
    "Finance",
    "office move",
    "Move to the Elm Street building",
    "drop 2",
    "keep 2",
    "drop 99",
    "assign 2 @sam",
    "accountable 1 @pat",
    "consult 3 @nobody",
)
PHRASES = SIGNALS + COMMANDS + ANSWERS + ("<@UBOT>", "<at>IT Liaison</at>", "@dana", "lunch?")


def _not_roles_json(text: str) -> bool:
    # Typed text starting with "{" is read as roles JSON at the roles step: tested on its own below.
    return not " ".join(text.split()).startswith("{")


CHAT_TEXT = st.one_of(
    TEXT,
    st.sampled_from(PHRASES),
    st.lists(st.one_of(st.sampled_from(PHRASES), TEXT), min_size=1, max_size=4).map(" ".join),
    st.text(CHARS, min_size=4001, max_size=4100),
).filter(_not_roles_json)

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)

KINDS = ("office_move", "software_purchase", "hardware_purchase", "staffing_change", "nope")
UNITS = ("finance", "parks", "nowhere")
ROLE_KEYS = ("network_wifi", "phones", "sso", "security_review", "nope")
ACTIONS_TYPED = (
    "offer.plan",
    "home.initiative",
    "cycle.submit",
    "intake.submit",
    "intake.answer",
    "commitment.submit",
    *(f"commitment.{act}" for act in (*ACT_NAMES, "bogus")),
)
# These read nothing from their value, or only what `Action.data()` makes safe.
ACTIONS_ANY_VALUE = ("offer.later", "offer.dismiss", "home.open", "unknown.button", "")
ACTION_IDS = st.one_of(st.sampled_from(ACTIONS_TYPED + ACTIONS_ANY_VALUE), TEXT)

ID = st.one_of(
    st.integers(0, 40),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(0, 40).map(str),
    st.none(),
)
DATE_TEXT = st.one_of(
    st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)).map(dt.date.isoformat),
    st.sampled_from(("by Friday", "in ten months", "next week", "yesterday", "", "soon")),
    TEXT,
)
WORDS = st.one_of(TEXT, st.sampled_from(PHRASES), st.none())
STATE = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(KINDS) | TEXT | st.none(),
        "unit": st.sampled_from(UNITS) | TEXT | st.none(),
        "conv": st.sampled_from(("C0FINANCE1", "D0PAT", "finance", "")) | TEXT,
        "mid": st.sampled_from(("1764000000.000100", "")) | TEXT | st.none(),
        "link": st.sampled_from(("https://fake.slack.test/archives/C1/p1",)) | TEXT | st.none(),
        "excerpt": WORDS,
        "cycle": DATE_TEXT,
        "offer": TEXT,
        "id": ID,
        "act": st.sampled_from(ACT_NAMES) | TEXT,
    },
)
VALUES = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(KINDS) | TEXT | st.none(),
        "unit": st.sampled_from(UNITS) | TEXT | st.none(),
        "title": WORDS,
        "target_date": DATE_TEXT,
        "owner": st.sampled_from(("me", "@sam", "<@U0SAMRIVRA>", "<@U0NOBODY>", "")) | TEXT,
        "q:headcount": WORDS,
        "q:site": WORDS,
        "roles": st.lists(st.sampled_from(ROLE_KEYS) | TEXT, max_size=4),
        "what": WORDS,
        "due": DATE_TEXT,
        "six_months": WORDS,
        "twelve_months": WORDS,
    },
)


def action_value(action_id: str) -> st.SearchStrategy[str]:
    """A button's or a form's value for this action: the types our own buttons and forms
    write, with arbitrary contents, plus unknown keys holding any JSON; or not JSON at all."""
    if action_id in ACTIONS_TYPED:
        typed = st.fixed_dictionaries(
            {},
            optional={
                "id": ID,
                "intake": ID,
                "answer": WORDS,
                "due": DATE_TEXT,
                "note": WORDS,
                "kind": st.sampled_from(KINDS) | TEXT | st.none(),
                "unit": st.sampled_from(UNITS) | TEXT | st.none(),
                "excerpt": WORDS,
                "link": TEXT | st.none(),
                "mid": TEXT | st.none(),
                "conv": TEXT | st.none(),
                "cycle": DATE_TEXT,
                "state": STATE,
                "values": VALUES,
            },
        )
        extra = st.dictionaries(TEXT.filter(lambda k: k not in KNOWN_KEYS), JSON, max_size=2)
        document = st.builds(lambda a, b: {**b, **a}, typed, extra)
    else:
        document = JSON
    return st.one_of(
        document.map(json.dumps),
        st.sampled_from(("", "{", "null", "[]", '"x"', "12")),
        TEXT,
    )


KNOWN_KEYS = frozenset(
    {"id", "intake", "answer", "due", "note", "kind", "unit", "excerpt", "link", "mid", "conv"}
    | {"cycle", "state", "values"}
)


def roles_json(person_ids: list[int]) -> st.SearchStrategy[str]:
    """The structured roles answer channels with pickers send, well formed."""
    return st.fixed_dictionaries(
        {},
        optional={
            "drop": st.lists(st.sampled_from(ROLE_KEYS) | TEXT, max_size=3),
            "assign": st.dictionaries(
                st.sampled_from(ROLE_KEYS) | TEXT, st.sampled_from(person_ids), max_size=3
            ),
            "agree": st.booleans(),
        },
    ).map(json.dumps)


# --- the world the examples run in ---------------------------------------------------------------


class TickingClock:
    """A clock that moves one second each time it is read, from a fixed Monday afternoon."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


@dataclass
class World:
    bot: Liaison
    engine: Engine
    people: dict[str, Sender]
    person_ids: list[int]
    fresh: int = 0

    def newcomer(self, channel: str = "slack") -> Sender:
        """Someone the bot has never heard from."""
        self.fresh += 1
        return Sender(channel, f"U0NEW{self.fresh:06d}", name=f"newcomer {self.fresh}")

    def say(self, sender: Sender, conversation: str, text: str, **kw: Any) -> list[Outgoing]:
        return self.bot.handle(Inbound(sender, conversation, text=text, **kw))

    def press(self, sender: Sender, conversation: str, action: str, value: str = ""):
        return self.bot.handle(
            Inbound(sender, conversation, action=Action(action, value), is_direct=True)
        )


def _seed(world: World) -> None:
    """Commitments in several states, a saved initiative and an open intake."""
    pat, sam, kim, lee = (world.people[h] for h in ("pat", "sam", "kim", "lee"))
    world.say(pat, "dm", "commitments ask @sam to send the floor plan by Friday", is_direct=True)
    world.say(pat, "dm", "commitments ask @sam to order the badges", is_direct=True)
    world.say(sam, "dm", "commitments ask @pat to confirm the headcount", is_direct=True)
    world.say(kim, "dm", "commitments ask @lee to book the movers by next week", is_direct=True)
    world.say(sam, "dm", "commitments promise 1", is_direct=True)
    world.say(lee, "dm", "commitments done 4", is_direct=True)
    answers = ["plan office move", "Move to Elm Street", "in ten months", "me", "skip", "skip"]
    for text in [*answers, "ok", "save"]:
        replies = world.say(pat, "finance", text)
    assert replies[0].reply.text.startswith("Saved initiative"), replies[0].reply.text
    world.say(kim, "parks", "plan")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('core') / 'fuzz.db'}")
    upgrade(engine)
    org = load_organisation(EXAMPLE_CONFIG)
    bot = Liaison(engine=engine, org=org, catalogue=load_catalogue(org), clock=TickingClock())
    bot.sync()
    people = {h: Sender("shell", h, name=h) for h in ("pat", "sam", "kim", "dana", "lee")}
    people["pat@slack"] = Sender("slack", "U0PAT", name="pat", email="pat.lee@riverton.example")
    people["sam@slack"] = Sender("slack", "U0SAMRIVRA", name="sam")
    people["kim@teams"] = Sender(
        "teams", "aad-kim", name="Kim Nguyen", email="kim.nguyen@riverton.example"
    )
    with Session(engine) as session:
        ids = [p.id for p in session.exec(select(Person).order_by(Person.id)).all()]
    result = World(bot, engine, people, ids)
    _seed(result)
    assert db_problems(engine) == []
    yield result
    engine.dispose()


SENDER_NAMES = st.sampled_from(("pat", "sam", "kim", "dana", "lee", "pat@slack", "sam@slack"))
CONVERSATIONS = st.one_of(
    st.sampled_from(("dm", "finance", "parks", "C0FINANCE1", "#finance", "D0PAT", "home")), TEXT
)


def sender_for(world: World, name: str | None) -> Sender:
    return world.newcomer() if name is None else world.people[name]


def check(world: World, replies: list[Outgoing], said: Iterable[str]) -> None:
    assert reply_problems(replies, said) == []
    assert db_problems(world.engine) == []


# --- properties ----------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), who=SENDER_NAMES | st.none(), conversation=CONVERSATIONS)
def test_any_action_with_any_value_gets_a_clear_sentence(world, data, who, conversation):
    action_id = data.draw(ACTION_IDS, label="action")
    value = data.draw(action_value(action_id), label="value")
    event(f"action: {action_id if action_id in ACTIONS_TYPED + ACTIONS_ANY_VALUE else 'random'}")
    replies = world.press(sender_for(world, who), conversation, action_id, value)
    assert replies, "a button press always gets an answer"
    check(world, replies, [value, action_id])


@FUZZ
@given(
    who=SENDER_NAMES | st.none(),
    conversation=CONVERSATIONS,
    text=CHAT_TEXT,
    direct=st.booleans(),
    message_id=st.none() | TEXT,
)
def test_any_text_anywhere_gets_a_clear_sentence_or_nothing(
    world, who, conversation, text, direct, message_id
):
    sender = sender_for(world, who)
    if message_id is not None:  # a message id seen before is a redelivery, answered once
        world.fresh += 1
        message_id = f"{message_id}-{world.fresh}"
    replies = world.say(sender, conversation, text, is_direct=direct, message_id=message_id)
    if direct:
        assert replies, "a direct message always gets an answer"
    check(world, replies, [text])


@FUZZ
@given(
    data=st.data(),
    start=st.sampled_from(("plan", "plan office move", "plan software purchase", "plan new hire")),
    conversation=st.sampled_from(("finance", "parks", "dm", "C0NOWHERE")),
    steps=st.integers(1, 8),
)
def test_an_intake_fed_any_answers_stays_sound(world, data, start, conversation, steps):
    person = world.newcomer()
    said = [start]
    replies = world.say(person, conversation, start, is_direct=True)
    check(world, replies, said)
    answer = st.one_of(
        st.sampled_from(ANSWERS), CHAT_TEXT, roles_json(world.person_ids), st.just("save")
    )
    for _ in range(steps):
        with Session(world.engine) as session:
            intake = session.exec(
                select(IntakeSession)
                .join(Address, Address.person_id == IntakeSession.person_id)
                .where(Address.external_id == person.external_id)
                .where(IntakeSession.conversation == conversation)
                .order_by(IntakeSession.id.desc())
            ).first()
        text = data.draw(answer, label="answer")
        said.append(text)
        if intake is not None and data.draw(st.booleans(), label="as a button"):
            value = json.dumps({"intake": intake.id, "answer": text})
            replies = world.press(person, conversation, "intake.answer", value)
        else:
            replies = world.say(person, conversation, text, is_direct=True)
        assert replies
        assert reply_problems(replies, said) == []
    assert db_problems(world.engine) == []


def _chatter(text: str) -> bool:
    """Not a command: the core reads it only for a signal (or an intake's answer)."""
    words = strip_mentions(" ".join(text.split())).lower().split(" ", 1)
    return words[0].lstrip("/") not in ("help", "?", "commitments", "history", "plan")


@FUZZ
@given(
    text=st.one_of(
        TEXT,
        st.sampled_from(("lunch?", "can we move the meeting", "I'm buying lunch", "thanks!")),
    ).filter(_chatter),
    direct=st.booleans(),
    conversation=CONVERSATIONS,
    who=st.sampled_from(("pat", "sam", "dana")) | st.none(),
)
def test_chatter_that_is_neither_a_signal_nor_a_command_writes_nothing(
    world, text, direct, conversation, who
):
    sender = sender_for(world, who)
    if who is not None:  # someone with an intake open here would be answering it
        with Session(world.engine) as session:
            person = session.exec(select(Person).where(Person.handle == who)).one()
            open_here = session.exec(
                select(IntakeSession).where(
                    IntakeSession.person_id == person.id,
                    IntakeSession.conversation == conversation,
                    IntakeSession.status == IntakeStatus.OPEN,
                )
            ).first()
        if open_here is not None:
            conversation = f"{conversation}-elsewhere"
    if world.bot.may_answer(text):
        return  # a signal or a promise: answered with an offer
    before = row_counts(world.engine)
    replies = world.say(sender, conversation, text, is_direct=direct, message_id="m1")
    assert row_counts(world.engine) == before
    assert len(replies) == (1 if direct else 0)
    check(world, replies, [text])


# --- inputs that once crashed the core ---


def _crash(reason: str, *values: Any, id: str) -> Any:
    """An input that once crashed the core (the reason says how); now a regression case."""
    return pytest.param(*values, id=id)


def _fresh_commitment(world: World) -> int:
    """A new request from Sam to Pat (Pat owns it, so Pat may act on it)."""
    world.say(
        world.people["sam"], "dm", "commitments ask @pat to check the cabling", is_direct=True
    )
    with Session(world.engine) as session:
        return session.exec(select(func.max(Commitment.id))).one()


def _to_the_roles_step(world: World) -> tuple[Sender, str]:
    """A newcomer planning an office move for Finance, at the step that lists the IT roles."""
    person = world.newcomer()
    for text in ("plan office move", "Move the archive", "in ten months", "me", "skip", "skip"):
        replies = world.say(person, "finance", text, is_direct=True)
    assert "IT roles" in replies[0].reply.text, replies[0].reply.text
    return person, "finance"


CORE = "handlers/core.py, Turn.on_action"
ACTION_CRASHES = [
    _crash(
        f"{CORE}: int(data.get('id') or 0) raises ValueError for a non-numeric id",
        "commitment.promise",
        '{"id": "seven"}',
        id="commitment-id-not-a-number",
    ),
    _crash(
        f"{CORE}: int(data.get('id') or 0) raises TypeError for a list id",
        "commitment.done",
        '{"id": [1]}',
        id="commitment-id-a-list",
    ),
    _crash(
        f"{CORE}: int(...) of a float id such as 1e300 raises OverflowError on SQLite",
        "commitment.accept",
        '{"id": 1e300}',
        id="commitment-id-huge-float",
    ),
    _crash(
        "handlers/commitments.py apply: session.get(Commitment, 2**63) raises OverflowError "
        "(SQLite INTEGER) for an id past 64 bits",
        "commitment.cancel",
        '{"id": 9223372036854775808}',
        id="commitment-id-past-64-bits",
    ),
    _crash(
        f"{CORE}: home.initiative does int(data.get('id') or 0), ValueError for 'x'",
        "home.initiative",
        '{"id": "x"}',
        id="initiative-id-not-a-number",
    ),
    _crash(
        "handlers/dates.py parse_due: a non-string due (here a number) raises AttributeError "
        "('int' object has no attribute 'strip'); the core passes data['due'] unchecked",
        "commitment.new_date",
        '{"id": {cid}, "due": 20270301}',
        id="due-not-a-string",
    ),
    _crash(
        "handlers/commitments.py apply: a non-string note raises AttributeError on "
        "note.strip(); the core passes data['note'] unchecked",
        "commitment.blocked",
        '{"id": {cid}, "note": ["vendor"]}',
        id="note-not-a-string",
    ),
    _crash(
        f"{CORE}: intake.answer does session.get(IntakeSession, data['intake']); a dict id "
        "raises InvalidRequestError",
        "intake.answer",
        '{"intake": {"key": 1}, "answer": "ok"}',
        id="intake-id-an-object",
    ),
    _crash(
        "handlers/core.py submit_cycle: (data.get('state') or {}).get raises AttributeError "
        "when the state is a string",
        "cycle.submit",
        '{"state": "finance", "values": {}}',
        id="cycle-state-a-string",
    ),
    _crash(
        "handlers/core.py submit_intake: (data.get('state') or {}).get raises AttributeError "
        "when the state is a list",
        "intake.submit",
        '{"state": ["finance"], "values": {}}',
        id="intake-state-a-list",
    ),
    _crash(
        "handlers/intake.py submit: values.get raises AttributeError when the form's values "
        "are a list",
        "intake.submit",
        '{"state": {"kind": "office_move"}, "values": ["Move"]}',
        id="intake-values-a-list",
    ),
    _crash(
        "handlers/intake.py submit: `unit_id in ctx.org.units` raises TypeError (unhashable) "
        "when the state's unit is a list",
        "intake.submit",
        '{"state": {"unit": ["finance"]}, "values": {"title": "x"}}',
        id="intake-state-unit-a-list",
    ),
    _crash(
        "handlers/core.py submit_commitment: values.get raises AttributeError when the "
        "values are not an object",
        "commitment.submit",
        '{"values": true}',
        id="commitment-form-values-not-an-object",
    ),
    _crash(
        "handlers/intake.py start: a link that is an object is bound as an SQL parameter "
        "(sqlite3.ProgrammingError: type 'dict' is not supported)",
        "offer.plan",
        '{"kind": "office_move", "mid": "m-link-object", "link": {"url": "x"}}',
        id="offer-link-an-object",
    ),
    _crash(
        "handlers/intake.py suggest_title: re.sub on a non-string excerpt raises TypeError",
        "offer.plan",
        '{"kind": "office_move", "mid": "m-excerpt-number", "excerpt": 42}',
        id="offer-excerpt-a-number",
    ),
]


@pytest.mark.parametrize(("action_id", "value"), ACTION_CRASHES)
def test_known_crashes_on_ill_typed_action_values(world, action_id, value):
    value = value.replace("{cid}", str(_fresh_commitment(world)))
    person = world.people["pat"]
    replies = world.press(person, "dm", action_id, value)
    assert replies
    check(world, replies, [value])


ROLES = "handlers/intake.py _apply_roles_value"
ROLES_CRASHES = [
    _crash(
        f"{ROLES}: typed '{{\"drop\": 5}}' at the roles step raises TypeError (int not iterable)",
        ['{"drop": 5}'],
        id="roles-drop-a-number",
    ),
    _crash(
        f"{ROLES}: typed '{{\"drop\": [[1]]}}' raises TypeError (unhashable list)",
        ['{"drop": [[1]]}'],
        id="roles-drop-nested-list",
    ),
    _crash(
        f"{ROLES}: typed '{{\"assign\": [1]}}' raises AttributeError (list has no items)",
        ['{"assign": [1]}'],
        id="roles-assign-a-list",
    ),
    _crash(
        f"{ROLES} takes any integer as a person id: typed "
        "'{\"assign\": {\"network_wifi\": 99999}}' is kept, and 'save' then fails in "
        "handlers/intake.py complete with IntegrityError (FOREIGN KEY constraint failed)",
        ['{"assign": {"network_wifi": 99999}}', "save"],
        id="roles-assign-an-unknown-person",
    ),
]


@pytest.mark.parametrize("answers", ROLES_CRASHES)
def test_known_crashes_on_typed_roles_json(world, answers):
    person, conversation = _to_the_roles_step(world)
    for text in answers:
        replies = world.say(person, conversation, text, is_direct=True)
        assert replies
        check(world, replies, answers)


def test_the_shared_checks_catch_what_they_should():
    """The sentence check accepts the bot's phrasing and refuses leaks."""
    for good in (
        "Got it. #1 Phones — @sam for @pat · promised",
        "@pat asks you for: #3 Floor plan",
        "<@U0PAT> planned it with IT.",
        "#12 Phones — @sam for @pat",
        "*Your open commitments* (2)",
        "⚠ No one is named Accountable.",
        "🎉 Done.",
        "…and 3 more.",
    ):
        assert unclear(good) is None, good
    for bad in (
        "",
        "  ",
        None,
        "***",
        "oops",
        "KeyError('id')",
        "Saved {'id': 1}",
        "Kept ['a', 'b']",
        "Traceback (most recent call last):",
        "Got <handlers.core.Turn object at 0x7f>",
    ):
        assert unclear(bad) is not None, bad
    assert unclear("I don't have a playbook for '{'.") is None
    assert unclear("You said {'a': 1}", said=["{'a': 1}"]) is None
