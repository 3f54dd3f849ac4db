"""Input cycles followed through: the lead reminded, the liaison told when it stays
unanswered or when it is answered (with what was spotted), one offer per initiative named,
and `commitments cycle` showing where each unit stands."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from handlers.messages import Action, Inbound, Sender
from schedules.sweep import Sweeper
from tests.integration.test_nudges import RecordingOutbox, local, sweep


@pytest.fixture
def outbox():
    return RecordingOutbox()


@pytest.fixture
def sweeper(liaison, outbox, clock):
    return Sweeper(liaison.engine, liaison.org, {"shell": outbox}, clock)


def press(bot, who, action, value):
    inbound = Inbound(Sender("shell", who, name=who), "dm", action=Action(action, value))
    return bot.handle(inbound)


def answer(bot, who, values, day="2027-03-01"):
    value = json.dumps({"state": {"unit": "finance", "cycle": day}, "values": values})
    return press(bot, who, "cycle.submit", value)


def said(box, bot, handle, start):
    return [r for r in box.to(bot, handle) if r.text.startswith(start)]


def cycle_line(bot, who="sam"):
    inbound = Inbound(
        Sender("shell", who, name=who), "dm", text="commitments cycle", is_direct=True
    )
    reply = bot.handle(inbound)[0].reply
    return next(i.text for i in reply.items if i.text.startswith("Finance:"))


def test_an_unanswered_look_ahead_reminds_the_lead_then_tells_the_liaison(
    liaison, sweeper, outbox, clock
):
    assert liaison.org.thresholds.cycle_reminder_business_days == 5
    sweep(sweeper, local(2027, 3, 1, 9, 30))  # Monday: the questionnaire goes to @pat
    assert len(said(outbox, liaison, "pat", "It's input-cycle time for Finance")) == 1
    sweep(sweeper, local(2027, 3, 5, 9, 30))  # four business days later: not yet
    assert said(outbox, liaison, "pat", "A reminder") == []
    sweep(sweeper, local(2027, 3, 8, 9, 30))  # five: the reminder, with the same button
    (reminder,) = said(outbox, liaison, "pat", "A reminder: Finance's look-ahead")
    assert reminder.choices[0].action == "cycle.open" and reminder.form is not None
    sweep(sweeper, local(2027, 3, 12, 9, 30))
    assert said(outbox, liaison, "sam", "@pat hasn't answered") == []
    sweep(sweeper, local(2027, 3, 15, 9, 30))  # five business days after the reminder
    (told,) = said(outbox, liaison, "sam", "@pat hasn't answered Finance's look-ahead")
    assert "01 Mar 2027" in told.text
    sweep(sweeper, local(2027, 3, 16, 9, 30))  # each once
    assert len(said(outbox, liaison, "pat", "A reminder")) == 1
    assert len(said(outbox, liaison, "sam", "@pat hasn't answered")) == 1
    clock.now = local(2027, 3, 16, 10).astimezone(dt.UTC)
    assert cycle_line(liaison).endswith("· asked, not answered yet · lead reminded · liaison told")


def test_an_answer_stops_the_follow_ups_and_the_liaison_hears_what_was_spotted(
    liaison, sweeper, outbox, clock
):
    sweep(sweeper, local(2027, 3, 1, 9, 30))
    clock.now = local(2027, 3, 3, 11).astimezone(dt.UTC)
    sentence = "We are buying a new CRM and moving to the Elm Street building in May"
    out = answer(liaison, "pat", {"six_months": sentence})
    assert out[0].reply.text.startswith("Thanks! I spotted 2 things")
    offers = [json.loads(o.reply.choices[0].value) for o in out if o.reply.kind == "offer"]
    assert [o["kind"] for o in offers] == ["office_move", "software_purchase"]  # one sentence
    (note,) = [o.reply.text for o in out if o.to_person is not None]
    assert note.startswith("@pat answered Finance's look-ahead.\nNext 6 months: We are buying")
    assert "I spotted 2 things with an IT side and offered to plan each: office move:" in note
    sweep(sweeper, local(2027, 3, 8, 9, 30))
    sweep(sweeper, local(2027, 3, 15, 9, 30))
    assert said(outbox, liaison, "pat", "A reminder") == []
    assert said(outbox, liaison, "sam", "@pat hasn't answered") == []
    assert cycle_line(liaison).endswith("· answered")


def test_a_cycle_that_produced_initiatives_names_them_to_its_liaison_only(liaison, clock):
    clock.now = local(2027, 3, 3, 11).astimezone(dt.UTC)
    out = answer(liaison, "pat", {"six_months": "We're buying 40 new laptops for the auditors"})
    (offer,) = [o.reply for o in out if o.reply.kind == "offer"]
    state = json.loads(offer.choices[0].value)
    values = {"title": "Laptops for auditors", "target_date": "2027-05-01", "owner": "me"}
    value = json.dumps({"state": state, "values": values})
    inbound = Inbound(
        Sender("shell", "pat", name="pat"), "dm", action=Action("intake.submit", value)
    )
    assert liaison.handle(inbound)[0].reply.text.startswith("Saved initiative #1")
    assert cycle_line(liaison, "sam").endswith("· answered · produced #1 Laptops for auditors")
    assert cycle_line(liaison, "lee").endswith("· answered · produced 1 initiative(s)")
