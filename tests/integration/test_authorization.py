"""Who may see and do what: a table of (role, action, expected outcome), run through the core.

Every row goes through `Liaison.handle()` with a shell `Inbound`, on SQLite and on PostgreSQL.
The rules (README, "Who sees what"):

- people see and act on their own commitments, as owner or as requester, each only on their
  own side of the protocol (`handlers.commitments.PROTOCOL`);
- a unit's liaison sees, and may act on, the commitments of that unit;
- admins see and act on everything;
- anyone else is refused in a plain sentence, and nothing changes.

The cast, from liaison.example.toml plus two people who first talk to the bot here:

    owner       @alex   owes the commitment (a newcomer)
    requester   @robin  asked for it (a newcomer)
    liaison     @sam    Finance's liaison (and Parks')
    admin       @dana   an admin
    lead        @pat    Finance's own lead: no say over other people's commitments
    other_lead  @kim    the lead of another unit (Parks)
    stranger    @lee    no role at all

Every commitment below belongs to Finance. "allowed" means the act is applied (one more history
event, by that person, and the state the protocol says); "refused" means a private sentence back
and not one row changed anywhere. For queries, "allowed" means the commitment is shown and
"refused" means it is not, with a sentence instead. A rule the product broke would be pinned
by a strict xfail test naming the code; none is now.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from sqlmodel import func, select

from handlers.messages import Action, Inbound, Outgoing, Sender
from handlers.people import by_handle
from storage.db import session_scope
from storage.models import (
    Address,
    Commitment,
    CommitmentEvent,
    CommitmentState,
    Cycle,
    Initiative,
    IntakeSession,
    Ledger,
    Person,
    RoleAssignment,
)

S = CommitmentState
A, R = "allowed", "refused"
ROLES = ("owner", "requester", "liaison", "admin", "lead", "other_lead", "stranger")
CAST = {
    "owner": "alex",
    "requester": "robin",
    "liaison": "sam",
    "admin": "dana",
    "lead": "pat",
    "other_lead": "kim",
    "stranger": "lee",
}
NEW_DATE = dt.date(2027, 1, 15)

# fmt: off
# The commitment acts: the state the commitment is in, the state the act leads to, and the
# expected outcome for each role, in the order of ROLES:
#                                                     owner, requester, liaison, admin,
#                                                     lead, other_lead, stranger
COMMITMENT_TABLE = [
    ("promise",     S.REQUESTED,     S.PROMISED,      A, R, A, A, R, R, R),
    ("decline",     S.REQUESTED,     S.DECLINED,      A, R, A, A, R, R, R),
    ("decline",     S.COUNTERED,     S.DECLINED,      A, R, A, A, R, R, R),
    ("counter",     S.REQUESTED,     S.COUNTERED,     A, R, A, A, R, R, R),
    ("report_done", S.PROMISED,      S.DONE_REPORTED, A, R, A, A, R, R, R),
    ("accept",      S.DONE_REPORTED, S.ACCEPTED,      R, A, A, A, R, R, R),
    ("accept",      S.COUNTERED,     S.PROMISED,      R, A, A, A, R, R, R),
    ("reject",      S.DONE_REPORTED, S.PROMISED,      R, A, A, A, R, R, R),
    ("reject",      S.COUNTERED,     S.REQUESTED,     R, A, A, A, R, R, R),
    ("cancel",      S.PROMISED,      S.CANCELLED,     R, A, A, A, R, R, R),
    ("release",     S.PROMISED,      S.RELEASED,      A, R, A, A, R, R, R),
    ("new_date",    S.PROMISED,      S.PROMISED,      A, A, A, A, R, R, R),
    ("blocked",     S.PROMISED,      S.PROMISED,      A, R, A, A, R, R, R),
    ("snooze",      S.PROMISED,      S.PROMISED,      A, A, A, A, R, R, R),
    ("not_mine",    S.REQUESTED,     S.RELEASED,      A, R, A, A, R, R, R),
]

# The queries, about one promised Finance commitment of @alex for @robin, in an initiative
# that @robin asked for and where @alex is Responsible for a role. Outcomes in ROLES order.
QUERY_TABLE = [
    ("commitments @alex",                         A, A, A, A, R, R, R),
    ("commitments @robin",                        A, A, A, A, R, R, R),
    ("commitments unit finance",                  A, A, A, A, R, R, R),
    ("commitments stuck",                         A, A, A, A, R, R, R),
    ("commitments initiative {initiative}",       A, A, A, A, R, R, R),
    ("history {id}",                              A, A, A, A, R, R, R),
]

# Answering Finance's input-cycle questionnaire (the "cycle.submit" action), in ROLES order.
CYCLE_ROW = (R, R, A, A, A, R, R)
# fmt: on

TYPED = {
    "promise": "commitments promise {id}",
    "decline": "commitments decline {id} not our area",
    "counter": "commitments counter {id} by 2027-01-15",
    "report_done": "commitments done {id}",
    "accept": "commitments accept {id}",
    "reject": "commitments reject {id} the east wing is missing",
    "cancel": "commitments cancel {id}",
    "release": "commitments release {id}",
    "new_date": "commitments new date {id} by 2027-01-15",
    "blocked": "commitments blocked {id} waiting for the vendor",
    "snooze": "commitments snooze {id} for 3 days",
    "not_mine": "commitments not mine {id}",
}
BUTTON_EXTRAS = {
    "counter": {"due": "2027-01-15"},
    "new_date": {"due": "2027-01-15"},
    "blocked": {"note": "waiting for the vendor"},
    "reject": {"note": "the east wing is missing"},
}
SNAPSHOT_TABLES = (
    Person,
    Address,
    Commitment,
    CommitmentEvent,
    Initiative,
    RoleAssignment,
    Cycle,
    Ledger,
    IntakeSession,
)

_ids = itertools.count(1)


# --- talking to the core -----------------------------------------------------------------


def say(bot, handle: str, text: str, where: str = "dm") -> list[Outgoing]:
    return bot.handle(
        Inbound(
            Sender("shell", handle, name=handle),
            where,
            text=text,
            message_id=f"m{next(_ids)}",
            is_direct=where == "dm",
        )
    )


def press(bot, handle: str, action: str, value: dict) -> list[Outgoing]:
    return bot.handle(
        Inbound(
            Sender("shell", handle, name=handle),
            "dm",
            action=Action(action, json.dumps(value)),
            is_direct=True,
        )
    )


def texts(out: list[Outgoing]) -> str:
    """Everything the replies show, as one string."""
    parts = []
    for o in out:
        parts.append(o.reply.text)
        parts += [item.text for item in o.reply.items]
        parts += [f"{k}: {v}" for k, v in o.reply.facts]
    return "\n".join(parts)


def snapshot(bot) -> dict[str, list[dict]]:
    """Every row the core may write when someone acts, to prove that nothing changed."""
    with session_scope(bot.engine) as session:
        return {
            model.__name__: [
                row.model_dump() for row in session.exec(select(model).order_by(model.id)).all()
            ]
            for model in SNAPSHOT_TABLES
        }


def person_id(bot, handle: str) -> int:
    with session_scope(bot.engine) as session:
        return by_handle(session, handle).id


def assert_refused(out: list[Outgoing], before: dict, after: dict, row: str) -> None:
    assert after == before, f"{row}: refused, yet something changed"
    assert len(out) == 1, f"{row}: one reply expected, got {texts(out)!r}"
    reply = out[0].reply
    assert out[0].to_person is None, f"{row}: a refusal is not sent to anyone else"
    assert reply.private, f"{row}: a refusal is shown only to the person who asked"
    assert not reply.choices and not any(i.choices for i in reply.items), row
    sentence = reply.text.strip()
    assert sentence[:1].isupper() and len(sentence.split()) >= 4, f"{row}: {sentence!r}"


# --- the cast and the commitments --------------------------------------------------------


@pytest.fixture
def bot(liaison):
    """The example organisation, with the owner and the requester known to the bot."""
    for handle in (CAST["owner"], CAST["requester"]):
        say(liaison, handle, "commitments")  # first contact creates the person, nothing else
    return liaison


def commitment_in(bot, state: S, what: str) -> int:
    """A Finance commitment of @alex for @robin, brought to `state` by them through the core."""
    owner, requester = CAST["owner"], CAST["requester"]
    asked = say(bot, requester, f"commitments ask @{owner} to {what} by 2026-12-08", "#finance")
    assert asked[0].reply.kind == "ack", texts(asked)
    with session_scope(bot.engine) as session:
        cid = session.exec(select(func.max(Commitment.id))).one()
    steps = {
        S.REQUESTED: [],
        S.COUNTERED: ["commitments counter {id} by 2027-01-08"],
        S.PROMISED: ["commitments promise {id}"],
        S.DONE_REPORTED: ["commitments promise {id}", "commitments done {id}"],
    }[state]
    for step in steps:
        say(bot, owner, step.format(id=cid))
    with session_scope(bot.engine) as session:
        item = session.get(Commitment, cid)
        assert (item.state, item.unit_id, item.what) == (state, "finance", what)
    return cid


def _events(bot, cid: int) -> list[CommitmentEvent]:
    with session_scope(bot.engine) as session:
        query = select(CommitmentEvent).where(CommitmentEvent.commitment_id == cid)
        return list(session.exec(query.order_by(CommitmentEvent.id)).all())


def _row_id(row) -> str:
    return f"{row[0]}-from-{row[1].value}"


# --- the commitment acts -----------------------------------------------------------------


@pytest.mark.parametrize("row", COMMITMENT_TABLE, ids=_row_id)
def test_commitment_acts(bot, row):
    act, state, leads_to, *outcomes = row
    for role, outcome in zip(ROLES, outcomes, strict=True):
        for via in ("typed", "button"):
            _one_act(bot, act, state, leads_to, role, outcome, via)


def _one_act(bot, act, state, leads_to, role, outcome, via) -> None:
    handle = CAST[role]
    cid = commitment_in(bot, state, f"survey the Wi-Fi for the {role} via {via} ({act})")
    label = f"{role} @{handle} {act} #{cid} ({state.value}, {via})"
    before, events_before = snapshot(bot), _events(bot, cid)
    if via == "typed":
        out = say(bot, handle, TYPED[act].format(id=cid))
    else:
        out = press(bot, handle, f"commitment.{act}", {"id": cid, **BUTTON_EXTRAS.get(act, {})})
    after = snapshot(bot)

    if outcome == R:
        assert_refused(out, before, after, label)
        return

    assert out and out[0].to_person is None, label
    first = out[0].reply.text
    assert first.startswith(("Got it.", "Snoozed")), f"{label}: {first!r}"
    events = _events(bot, cid)
    assert len(events) == len(events_before) + 1, f"{label}: one history event per act"
    last = events[-1]
    assert (last.act, last.actor_id, last.from_state) == (act, person_id(bot, handle), state)
    assert last.to_state == leads_to, label
    with session_scope(bot.engine) as session:
        item = session.get(Commitment, cid)
    assert item.state == leads_to, label
    if act == "new_date":
        assert item.due == NEW_DATE, label
    if act == "counter":
        assert item.proposed_due == NEW_DATE, label
    if act == "snooze":
        assert item.snoozed_until is not None, label
    # Nothing else moved: only this commitment and its one new event.
    for table in ("Initiative", "RoleAssignment", "Cycle", "IntakeSession"):
        assert after[table] == before[table], f"{label}: {table} changed"
    others = [c for c in after["Commitment"] if c["id"] != cid]
    assert others == [c for c in before["Commitment"] if c["id"] != cid], label


# --- the queries -------------------------------------------------------------------------


@pytest.fixture
def case(bot, clock):
    """One promised Finance commitment inside an initiative, left alone long enough to be
    stuck; returns the ids the queries name."""
    what = "survey the Wi-Fi at the Elm Street building"
    cid = commitment_in(bot, S.PROMISED, what)
    with session_scope(bot.engine) as session:
        requester = by_handle(session, CAST["requester"])
        owner = by_handle(session, CAST["owner"])
        initiative = Initiative(
            kind="office_move",
            title="Move to the Elm Street building",
            unit_id="finance",
            requester_id=requester.id,
            owner_id=requester.id,
        )
        session.add(initiative)
        session.flush()
        session.add(
            RoleAssignment(
                initiative_id=initiative.id,
                role_key="network_wifi",
                role_title="Network drops and Wi-Fi survey",
                party="it",
                person_id=owner.id,
                letter="R",
            )
        )
        item = session.get(Commitment, cid)
        item.initiative_id, item.role_key = initiative.id, "network_wifi"
        session.add(item)
        initiative_id = initiative.id
    clock.advance(days=10)  # ten quiet days, due in five: stale, so "stuck" lists it
    return {"id": cid, "initiative": initiative_id, "what": what}


@pytest.mark.parametrize("row", QUERY_TABLE, ids=lambda row: row[0].split(" {")[0])
def test_queries(bot, case, row):
    template, *outcomes = row
    query = template.format(**case)
    for role, outcome in zip(ROLES, outcomes, strict=True):
        _one_query(bot, case, query, role, outcome)


def _one_query(bot, case, query, role, outcome) -> None:
    label = f"{role} @{CAST[role]}: {query}"
    before = snapshot(bot)
    out = say(bot, CAST[role], query)
    after = snapshot(bot)
    shown = texts(out)
    assert after == before, f"{label}: a query changed something"
    assert out and all(o.to_person is None and o.reply.private for o in out), label
    if outcome == A:
        assert f"#{case['id']} " in shown and case["what"] in shown, f"{label}: {shown!r}"
        return
    assert case["what"] not in shown, f"{label}: shows a commitment it may not see: {shown!r}"
    assert f"#{case['id']} " not in shown, label
    for o in out:
        for item in o.reply.items:
            assert not item.choices, f"{label}: buttons on something it may not see"
    sentence = out[0].reply.text.strip()
    assert sentence[:1].isupper() and len(sentence.split()) >= 4, f"{label}: {sentence!r}"


def test_an_initiative_shows_only_the_commitments_the_viewer_may_see(bot, case):
    """The owner of one commitment in an initiative may open the initiative, but not read
    another person's commitment in it."""
    say(bot, "jo", "commitments")  # a third newcomer
    other = "book the movers for the Elm Street building"
    asked = say(bot, CAST["requester"], f"commitments ask @jo to {other}", "#finance")
    assert asked[0].reply.kind == "ack"
    with session_scope(bot.engine) as session:
        item = session.exec(select(Commitment).where(Commitment.what == other)).one()
        item.initiative_id = case["initiative"]
        session.add(item)
    shown = texts(say(bot, CAST["owner"], f"commitments initiative {case['initiative']}"))
    assert case["what"] in shown
    assert other not in shown, f"@alex reads @jo's commitment: {shown!r}"


# --- the input-cycle questionnaire -------------------------------------------------------


def _submit_cycle(bot, handle: str, unit: str, day: dt.date) -> list[Outgoing]:
    value = {
        "state": {"unit": unit, "cycle": day.isoformat()},
        "values": {
            "six_months": "We're buying 40 laptops for the auditors.",
            "twelve_months": "Nothing planned yet.",
        },
    }
    return press(bot, handle, "cycle.submit", value)


def test_answering_a_units_input_cycle(bot):
    # A lead may answer their own unit's questionnaire, just not another unit's.
    _one_cycle(bot, "other_lead", A, dt.date(2040, 4, 1), unit="parks")
    for number, (role, outcome) in enumerate(zip(ROLES, CYCLE_ROW, strict=True)):
        _one_cycle(bot, role, outcome, dt.date(2027 + number, 3, 1))


def _one_cycle(bot, role, outcome, day, unit="finance") -> None:
    handle = CAST[role]
    label = f"{role} @{handle}: cycle.submit for {unit} {day}"
    before = snapshot(bot)
    out = _submit_cycle(bot, handle, unit, day)
    after = snapshot(bot)
    if outcome == R:
        assert_refused(out, before, after, label)
        return
    with session_scope(bot.engine) as session:
        cycle = session.exec(
            select(Cycle).where(Cycle.unit_id == unit, Cycle.cycle_date == day)
        ).one()
        assert cycle.answered_by == by_handle(session, handle).id, label
        assert cycle.six_months.startswith("We're buying 40 laptops"), label
    assert out[0].reply.text.startswith("Thanks!"), f"{label}: {texts(out)!r}"
    assert any(o.reply.kind == "offer" for o in out), f"{label}: the laptops are offered"


def test_an_outsiders_email_links_to_nobody_and_is_not_stored(liaison):
    """A Slack Connect user who claims a colleague's email stays a stranger."""
    outsider = Sender(
        "slack", "U0OUTSIDE", name="Mallory", email="pat.lee@riverton.example", external=True
    )
    insider_id = liaison.register(Sender("slack", "U0PAT", email="pat.lee@riverton.example"))
    outsider_id = liaison.register(outsider)
    assert outsider_id != insider_id
    with session_scope(liaison.engine) as session:
        from storage.models import Person

        stranger = session.get(Person, outsider_id)
        assert stranger.email is None and stranger.display_name == "Mallory"
        assert session.get(Person, insider_id).handle == "pat"


def test_it_isnt_needed_is_decided_by_the_author_the_units_lead_or_liaison(liaison):
    """Lee says Finance is moving in #finance; Kim (Parks' lead) cannot dismiss the offer for
    everyone, Lee can, and so can Finance's liaison."""
    from tests.integration.test_conversation import choice, press, say

    for decider in ("lee", "sam", "pat", "dana"):
        offer = say(liaison, "lee", "We're moving to a new building in ten months", "#finance")
        dismiss = choice(offer, "IT isn't needed")
        [refused] = press(liaison, "kim", dismiss, "#finance")
        assert (
            refused.reply.kind != "dismissed" and "Finance's lead or liaison" in refused.reply.text
        )
        [done] = press(liaison, decider, dismiss, "#finance")
        assert done.reply.kind == "dismissed", decider
