"""Conversations through the core: signal, offer, intake, RASCI, commitments, queries, refusals."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlmodel import func, select

from handlers.messages import Action, Inbound, Sender
from storage.db import session_scope
from storage.models import (
    Commitment,
    CommitmentEvent,
    Initiative,
    IntakeSession,
    Person,
    RoleAssignment,
)

_counter = iter(range(10_000))


def say(bot, who, text, where="dm"):
    inbound = Inbound(
        Sender("shell", who, name=who),
        where,
        text=text,
        message_id=f"m{next(_counter)}",
        link="https://chat.example/m1",
        is_direct=where == "dm",
    )
    return bot.handle(inbound)


def press(bot, who, choice, where="dm"):
    inbound = Inbound(
        Sender("shell", who, name=who),
        where,
        action=Action(choice.action, choice.value),
        is_direct=where == "dm",
    )
    return bot.handle(inbound)


def choice(outgoing, label):
    for out in outgoing:
        for c in out.reply.choices:
            if c.label.startswith(label):
                return c
        for item in out.reply.items:
            for c in item.choices:
                if c.label.startswith(label):
                    return c
    raise AssertionError(f"no choice {label!r} in {[o.reply for o in outgoing]}")


def count(bot, model):
    with session_scope(bot.engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def plan_move(bot, who="pat", where="finance"):
    offer = say(bot, who, "We're moving to a new building in ten months", where)
    assert offer and offer[0].reply.kind == "offer"
    steps = [press(bot, who, choice(offer, "Plan it with IT"), where)]
    for answer in (
        "Move to the Elm Street building",
        "in ten months",
        "me",
        "about 40 people",
        "skip",
        "ok",
    ):
        steps.append(say(bot, who, answer, where))
    steps.append(say(bot, who, "save", where))
    return offer, steps


def test_chatter_stays_silent_and_stores_nothing(liaison):
    people_before = count(liaison, Person)
    for text in ("I'm buying coffee, anyone want some?", "Let's move standup to 9:30", "haha nice"):
        assert say(liaison, "newcomer", text, "finance") == []
    assert count(liaison, Person) == people_before
    assert count(liaison, IntakeSession) == 0


def test_a_signal_gets_an_offer_naming_the_hidden_roles(liaison):
    offer = say(liaison, "pat", "We're moving to a new building in ten months", "finance")
    reply = offer[0].reply
    assert "Finance" in reply.text
    assert "network" in reply.text.lower() and "phones" in reply.text.lower()
    assert [c.label for c in reply.choices] == ["Plan it with IT", "Not now", "IT isn't needed"]
    data = json.loads(reply.choices[0].value)
    assert data["kind"] == "office_move" and data["unit"] == "finance"
    assert count(liaison, IntakeSession) == 0  # an offer alone stores nothing


def test_the_whole_intake_leaves_an_initiative_roles_and_commitments(liaison):
    _, steps = plan_move(liaison)
    summary = steps[-1]
    assert summary[0].reply.kind == "summary", summary
    with session_scope(liaison.engine) as session:
        initiative = session.exec(select(Initiative)).one()
        assert initiative.kind == "office_move"
        assert initiative.unit_id == "finance"
        assert initiative.title == "Move to the Elm Street building"
        assert initiative.target_date == dt.date(2027, 9, 23)
        assert initiative.source_excerpt == "We're moving to a new building in ten months"
        assert initiative.source_link == "https://chat.example/m1"
        assert json.loads(initiative.details) == {"headcount": "about 40 people"}
        roles = session.exec(select(RoleAssignment)).all()
        assert {r.role_key for r in roles} >= {"network_wifi", "phones", "internet_circuit"}
        sam = session.exec(select(Person).where(Person.handle == "sam")).one()
        pat = session.exec(select(Person).where(Person.handle == "pat")).one()
        network_r = [r for r in roles if r.role_key == "network_wifi" and r.letter == "R"]
        assert network_r[0].party == "it" and network_r[0].person_id == sam.id
        items = session.exec(select(Commitment)).all()
        # One commitment for each Responsible role with a person: IT roles go to the liaison.
        assert len(items) == 8
        assert all(c.owner_id == sam.id and c.requester_id == pat.id for c in items)
        circuit = next(c for c in items if c.role_key == "internet_circuit")
        assert circuit.due == dt.date(2027, 9, 23) - dt.timedelta(days=90)
        assert circuit.state == "requested"
        assert session.exec(select(func.count()).select_from(CommitmentEvent)).one() == 8
    dms = [o for o in summary if o.to_person is not None]
    assert len(dms) == 1  # one DM per owner, listing everything asked of them
    assert "asks you for 8 things" in dms[0].reply.text
    assert all(i.choices[0].label == "Accept" for i in dms[0].reply.items)


def test_roles_can_be_dropped_and_reassigned(liaison):
    offer = say(liaison, "pat", "We're moving to a new building in ten months", "finance")
    press(liaison, "pat", choice(offer, "Plan it with IT"), "finance")
    for answer in ("Elm Street move", "by 2027-06-01", "me", "skip", "skip"):
        say(liaison, "pat", answer, "finance")
    roles = say(liaison, "pat", "drop 4 5", "finance")
    dropped = roles[0].reply.items[3]
    assert dropped.struck and "Badge and door access" in dropped.text and "~" not in dropped.text
    assert not roles[0].reply.items[0].struck
    say(liaison, "pat", "assign 2 @lee", "finance")
    confirm = say(liaison, "pat", "ok", "finance")
    assert any(
        "Every security and privacy role was dropped" in w for w in confirm[0].reply.warnings
    )
    assert "⚠" not in confirm[0].reply.text
    say(liaison, "pat", "save", "finance")
    with session_scope(liaison.engine) as session:
        keys = {r.role_key for r in session.exec(select(RoleAssignment)).all()}
        assert "badge_access" not in keys and "meeting_room_av" not in keys
        lee = session.exec(select(Person).where(Person.handle == "lee")).one()
        phones = session.exec(select(Commitment).where(Commitment.role_key == "phones")).one()
        assert phones.owner_id == lee.id


def test_an_intake_resumes_and_is_never_duplicated(liaison):
    offer = say(liaison, "pat", "We're moving to a new building in ten months", "finance")
    plan = choice(offer, "Plan it with IT")
    press(liaison, "pat", plan, "finance")
    say(liaison, "pat", "Elm Street move", "finance")
    again = press(liaison, "pat", plan, "finance")  # a second click, or a restart and a click
    assert "carry on" in again[0].reply.text
    assert "When does it need to be ready" in again[0].reply.text
    assert count(liaison, IntakeSession) == 1
    other = press(liaison, "kim", plan, "finance")
    assert "already planning this one" in other[0].reply.text


def test_an_intake_can_be_cancelled(liaison):
    offer = say(liaison, "pat", "We're moving to a new building in ten months", "finance")
    press(liaison, "pat", choice(offer, "Plan it with IT"), "finance")
    out = say(liaison, "pat", "cancel", "finance")
    assert "Nothing was saved" in out[0].reply.text
    assert count(liaison, Initiative) == 0
    assert say(liaison, "pat", "thanks", "finance") == []  # back to normal chat


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("by Fryday", "couldn't read"),
        ("February 30", "doesn't exist"),
        ("2019-01-01", "in the past"),
    ],
)
def test_bad_dates_get_a_sentence_and_change_nothing(liaison, answer, words):
    offer = say(liaison, "pat", "We're moving to a new building in ten months", "finance")
    press(liaison, "pat", choice(offer, "Plan it with IT"), "finance")
    say(liaison, "pat", "Elm Street move", "finance")
    with session_scope(liaison.engine) as session:
        before = session.exec(select(IntakeSession)).one().answers
    out = say(liaison, "pat", answer, "finance")
    assert words in out[0].reply.text
    assert "When does it need to be ready" in out[0].reply.text
    with session_scope(liaison.engine) as session:
        assert session.exec(select(IntakeSession)).one().answers == before


def test_unknown_people_are_refused_politely(liaison):
    offer = say(liaison, "pat", "We're moving to a new building in ten months", "finance")
    press(liaison, "pat", choice(offer, "Plan it with IT"), "finance")
    say(liaison, "pat", "Elm Street move", "finance")
    say(liaison, "pat", "in ten months", "finance")
    out = say(liaison, "pat", "@nobody", "finance")
    assert "I don't know @nobody" in out[0].reply.text
    out = say(liaison, "pat", "commitments ask @nobody to fix it by Friday")
    assert "I don't know @nobody" in out[0].reply.text


def test_empty_and_huge_messages(liaison):
    assert "didn't get any text" in say(liaison, "pat", "   ")[0].reply.text
    assert say(liaison, "pat", "", "finance") == []
    huge = "we are buying a CRM " * 2000
    out = say(liaison, "pat", huge)
    assert "40,000 characters" in out[0].reply.text and "Nothing was changed" in out[0].reply.text
    assert say(liaison, "pat", huge, "finance") == []
    assert count(liaison, IntakeSession) == 0


def test_ask_promise_and_done_through_commands_and_buttons(liaison):
    out = say(liaison, "pat", "commitments ask @sam to send the floor plan by Friday")
    assert "Asked @sam" in out[0].reply.text
    dm = out[1]
    assert dm.to_person is not None and "floor plan" in dm.reply.text
    accepted = press(liaison, "sam", choice([dm], "Accept"))
    assert "promised" in accepted[0].reply.text
    mine = say(liaison, "sam", "commitments")
    assert any("floor plan" in i.text for i in mine[0].reply.items)
    done = press(liaison, "sam", choice(mine, "Done"))
    assert "reported done" in done[0].reply.text
    to_pat = done[1]
    assert "marked done" in to_pat.reply.text
    final = press(liaison, "pat", choice([to_pat], "Accept"))
    assert "done and accepted" in final[0].reply.text
    history = say(liaison, "pat", "history 1")
    acts = [i.text.split(" ")[3] for i in history[0].reply.items]
    assert acts == ["request", "promise", "report_done", "accept"]


def test_a_typed_note_is_recorded_and_told_to_the_other_side(liaison):
    say(liaison, "pat", "commitments ask @sam to move the printers by Friday")
    out = say(liaison, "sam", "commitments note 1 waiting on facilities")
    assert out[0].reply.kind == "ack" and "requested" in out[0].reply.text
    (to_pat,) = [o for o in out if o.to_person is not None]
    assert "added a note to (waiting on facilities)" in to_pat.reply.text
    assert "What's the note?" in say(liaison, "sam", "commitments note 1")[0].reply.text
    with session_scope(liaison.engine) as session:
        events = session.exec(select(CommitmentEvent).order_by(CommitmentEvent.id)).all()
        assert [(e.act, e.note) for e in events] == [
            ("request", None),
            ("note", "waiting on facilities"),
        ]


def test_acting_on_someone_elses_commitment_is_refused(liaison):
    say(liaison, "pat", "commitments ask @lee to order the label printers by Friday")
    out = say(liaison, "kim", "commitments done 1")
    assert "can't find commitment #1" in out[0].reply.text
    with session_scope(liaison.engine) as session:
        assert session.get(Commitment, 1).state == "requested"


def test_queries_by_unit_initiative_stuck_and_overdue(liaison, clock):
    plan_move(liaison)
    unit = say(liaison, "sam", "commitments unit finance")
    assert len(unit[0].reply.items) == 8
    initiative = say(liaison, "pat", "commitments initiative 1")
    assert "Elm Street" in initiative[0].reply.text
    assert any(i.text.startswith("Phones") for i in initiative[0].reply.items)
    clock.advance(days=10)
    stuck = say(liaison, "sam", "commitments stuck")
    assert all(i.text.endswith("unanswered") for i in stuck[0].reply.items)
    # An empty answer is worded the same whether or not others' items were left out.
    hidden = say(liaison, "kim", "commitments stuck")[0].reply.text
    assert hidden == "Stuck commitments: nothing open that you can see."
    assert say(liaison, "sam", "commitments overdue")[0].reply.text == (
        "Overdue commitments: nothing open that you can see."
    )
    cycles = say(liaison, "pat", "commitments cycle")
    assert [i.text.split(":")[0] for i in cycles[0].reply.items] == [
        "Finance",
        "Parks and Recreation",
    ]


def test_plan_on_demand_asks_for_the_kind(liaison):
    out = say(liaison, "kim", "plan")
    assert "What kind of initiative" in out[0].reply.text
    assert len(out[0].reply.choices) == 6
    out = say(liaison, "kim", "plan a spaceship")
    assert "I don't have a playbook for 'spaceship'" in out[0].reply.text
    out = say(liaison, "kim", "plan an office move")
    assert "carry on" in out[0].reply.text  # the open one is resumed, not duplicated
    assert count(liaison, IntakeSession) == 1


def test_a_redelivered_message_gets_one_offer(liaison):
    inbound = Inbound(
        Sender("slack", "U0PAT"),
        "C0FINANCE1",
        text="We're buying a new CRM next quarter",
        message_id="1700000000.000100",
    )
    assert liaison.handle(inbound)[0].reply.kind == "offer"
    assert liaison.handle(inbound) == []  # the same message again: nothing twice


def submit(bot, who, state, values, action="intake.submit"):
    value = json.dumps({"state": state, "values": values})
    inbound = Inbound(Sender("shell", who, name=who), "finance", action=Action(action, value))
    return bot.handle(inbound)


def test_the_intake_as_one_form_validates_every_field_and_saves_once(liaison):
    offer = say(liaison, "pat", "We're buying a new CRM from Acme next quarter", "finance")
    state = json.loads(choice(offer, "Plan it with IT").value)
    form = liaison.intake_form(state)
    keys = [f.key for f in form.fields]
    assert keys[:3] == ["title", "target_date", "owner"] and keys[-1] == "roles"
    assert form.fields[0].initial == "We're buying a new CRM from Acme next quarter"
    bad = submit(
        liaison, "pat", state, {"title": "", "target_date": "by Fryday", "owner": "@ghost"}
    )
    errors = dict(bad[0].reply.errors)
    assert set(errors) == {"title", "target_date", "owner"}
    assert "couldn't read 'by Fryday'" in errors["target_date"]
    assert count(liaison, IntakeSession) == 0 and count(liaison, Initiative) == 0
    values = {
        "title": "Acme CRM",
        "target_date": "2027-03-01",
        "owner": "me",
        "q:product": "Acme CRM Cloud",
        "roles": ["security_review", "sso_accounts", "contract_review"],
    }
    done = submit(liaison, "pat", state, values)
    assert done[0].reply.kind == "summary"
    again = submit(liaison, "pat", state, values)  # a double submit saves nothing more
    assert "already planned as initiative #1" in again[0].reply.text
    with session_scope(liaison.engine) as session:
        roles = {r.role_key for r in session.exec(select(RoleAssignment)).all()}
        assert roles == {"security_review", "sso_accounts", "contract_review"}
        initiative = session.exec(select(Initiative)).one()
        assert json.loads(initiative.details) == {"product": "Acme CRM Cloud"}


def test_the_track_as_commitment_form(liaison):
    form = liaison.commitment_form("I'll send the floor plan by Friday")
    assert [f.key for f in form.fields] == ["what", "owner", "due"]
    bad = submit(liaison, "pat", {}, {"what": "", "due": "Feb 30"}, "commitment.submit")
    assert set(dict(bad[0].reply.errors)) == {"what", "due"}
    out = submit(
        liaison,
        "pat",
        {},
        {"what": "Send the floor plan", "owner": "@sam", "due": "Friday"},
        "commitment.submit",
    )
    assert "Tracking it" in out[0].reply.text and out[1].to_person is not None
    with session_scope(liaison.engine) as session:
        item = session.exec(select(Commitment)).one()
        assert (item.state, item.due) == ("requested", dt.date(2026, 11, 27))


@pytest.mark.parametrize("me", ["myself", "me", "Myself", "I"])
def test_myself_is_the_person_typing_in_every_place_a_person_is_typed(liaison, me):
    form = submit(liaison, "pat", {}, {"what": "Send the plan", "owner": me}, "commitment.submit")
    assert form[0].reply.kind == "ack" and "@pat" in form[0].reply.text and len(form) == 1
    if me != "I":  # "ask I to ..." is not English; the other three are
        asked = say(liaison, "pat", f"commitments ask {me} to book the room by Friday")
        assert asked[0].reply.kind == "ack" and asked[0].reply.text.startswith("Asked @pat")
    mine = say(liaison, "pat", "commitments myself")
    assert any("Send the plan" in i.text for i in mine[0].reply.items)
    with session_scope(liaison.engine) as session:
        pat = session.exec(select(Person).where(Person.handle == "pat")).one()
        owners = session.exec(select(Commitment.owner_id)).all()
        assert set(owners) == {pat.id}


def test_a_leading_bot_mention_goes_but_the_asked_person_stays(liaison):
    for text in (
        "<@UBOT> commitments ask <@U0SAMRIVRA|sam> to check the Wi-Fi by Friday",
        "<at>IT Liaison</at> commitments ask @sam to check the Wi-Fi by Friday",
    ):
        out = say(liaison, "pat", text)
        assert out[0].reply.text.startswith("Asked @sam"), out[0].reply.text


def test_an_intake_continues_on_another_replica(liaison, org, clock):
    """Two bot processes on one database: the intake started on one goes on on the other."""
    from handlers.core import Liaison
    from handlers.playbooks import load_catalogue

    other = Liaison(engine=liaison.engine, org=org, catalogue=load_catalogue(org), clock=clock)
    offer = say(liaison, "pat", "We're moving to a new building in ten months", "finance")
    press(liaison, "pat", choice(offer, "Plan it with IT"), "finance")
    say(other, "pat", "Elm Street move", "finance")
    out = say(liaison, "pat", "in ten months", "finance")
    assert "Who owns it on the business side?" in out[0].reply.text
    for answer in ("me", "skip", "skip", "ok"):
        say(other if answer == "skip" else liaison, "pat", answer, "finance")
    assert say(other, "pat", "save", "finance")[0].reply.kind == "summary"
    assert count(liaison, Initiative) == 1


# Promises: "I'll ... by Friday" is offered for tracking, to its author only


def test_a_promise_is_offered_for_tracking_and_tracked_once(liaison):
    before = count(liaison, Commitment)
    [offer] = say(liaison, "pat", "Sure, I'll send the floor plans to facilities by Friday")
    assert offer.reply.kind == "promise_offer" and offer.reply.private
    assert "send the floor plans to facilities" in offer.reply.text
    assert count(liaison, Commitment) == before  # nothing stored before the button

    [tracked] = press(liaison, "pat", choice([offer], "Track it"))
    assert tracked.reply.text.startswith("Tracking it: #")
    with session_scope(liaison.engine) as session:
        item = session.exec(select(Commitment).order_by(Commitment.id.desc())).first()
        pat = session.exec(select(Person).where(Person.handle == "pat")).one()
        assert (item.owner_id, item.requester_id, item.state) == (pat.id, pat.id, "promised")
        assert item.due == dt.date(2026, 11, 27)
        assert item.what == "send the floor plans to facilities"
    [again] = press(liaison, "pat", choice([offer], "Track it"))
    assert "already tracking" in again.reply.text
    assert count(liaison, Commitment) == before + 1


def test_a_promise_in_a_channel_is_offered_privately_and_once_per_message(liaison):
    inbound = Inbound(
        Sender("shell", "pat", name="pat"),
        "#finance",
        text="I'll send the floor plans to facilities by Friday",
        message_id="channel-1",
    )
    [offer] = liaison.handle(inbound)
    assert offer.reply.private and offer.reply.kind == "promise_offer"
    assert liaison.handle(inbound) == []  # the channel delivered it again
    [dismissed] = press(liaison, "pat", choice([offer], "No thanks"), where="#finance")
    assert "won't track" in dismissed.reply.text


def test_a_signal_wins_over_a_promise_and_chatter_gets_neither(liaison):
    [out] = say(liaison, "pat", "We'll order 40 laptops for the new hires by Dec 4")
    assert out.reply.kind == "offer"  # planning the purchase comes first
    assert say(liaison, "pat", "I'll grab coffee later", where="#finance") == []
    [out] = say(liaison, "pat", "I'll do it by Friday")
    assert out.reply.kind != "promise_offer"


def test_a_stale_or_forged_track_button_saves_nothing(liaison):
    before = count(liaison, Commitment)
    for value in ({"what": "x y", "due": "not a date"}, {"due": "2026-12-01"}, {"what": ["a"]}):
        forged = Action("promise.track", json.dumps(value))
        inbound = Inbound(Sender("shell", "pat", name="pat"), "dm", action=forged, is_direct=True)
        [out] = liaison.handle(inbound)
        assert "out of date" in out.reply.text
    assert count(liaison, Commitment) == before


def test_home_typed_shows_both_sides_and_the_initiatives(liaison):
    [offer] = say(liaison, "pat", "I'll send the floor plans to facilities by Friday")
    press(liaison, "pat", choice([offer], "Track it"))
    replies = say(liaison, "pat", "home")
    texts = [out.reply.text for out in replies]
    assert texts[0].startswith("Your open commitments") and all(o.reply.private for o in replies)
    assert any("send the floor plans" in item.text for item in replies[0].reply.items)
    assert any(text.startswith("Your initiatives") for text in texts)


def test_an_unfinished_intake_expires_and_never_swallows_a_later_message(liaison, clock):
    offer = say(liaison, "pat", "We're moving to a new building in ten months", "finance")
    started = press(liaison, "pat", choice(offer, "Plan it with IT"), "finance")
    assert started[0].reply.kind == "intake"
    clock.advance(hours=liaison.org.thresholds.intake_expiry_hours + 1)
    later = say(liaison, "pat", "We're buying a new CRM for the sales team", "finance")
    assert later[0].reply.kind == "offer" and "software purchase" in later[0].reply.text
    with session_scope(liaison.engine) as session:
        statuses = session.exec(select(IntakeSession.status)).all()
    assert statuses == ["cancelled"]


def test_asking_someone_the_bot_cannot_reach_says_so_instead_of_asked(liaison):
    """On a Slack deployment, @lee (no Slack id in the config, never wrote to the bot) cannot
    be told: the request is saved, and the asker hears that Lee has not been told."""
    from dataclasses import replace

    on_slack = replace(liaison, reachable_on=("slack",))
    out = say(on_slack, "pat", "commitments ask @lee to order the label printers by Friday")
    assert [o.to_person for o in out] == [None]  # no DM that could only be dropped
    assert out[0].reply.text.startswith("Saved, but I can't reach @lee in chat yet")
    assert count(on_slack, Commitment) == 1
    sam = say(on_slack, "pat", "commitments ask @sam to check the Wi-Fi by Friday")  # on Slack
    assert sam[0].reply.text.startswith("Asked @sam") and sam[1].to_person is not None
