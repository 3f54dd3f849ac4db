"""Nudges, escalations and input cycles with a fake clock and a recording outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from collections import Counter

import pytest
from sqlmodel import select

from handlers import commitments, nudges
from handlers.people import by_handle
from schedules.outbox import DeliveryError
from schedules.sweep import Sweeper
from storage import ledger
from storage.db import session_scope
from storage.models import Commitment, Cycle, Ledger

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


class RecordingOutbox:
    """A hand-written fake of the outbox port: records what would reach each person."""

    channel = "shell"

    def __init__(self) -> None:
        self.sent: list[tuple[int, object]] = []
        self.fail_next = 0

    async def send(self, address, reply) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise DeliveryError("the chat service said 500")
        self.sent.append((address.person_id, reply))

    def to(self, bot, handle):
        with session_scope(bot.engine) as session:
            pid = by_handle(session, handle).id
        return [reply for person, reply in self.sent if person == pid]


@pytest.fixture
def outbox():
    return RecordingOutbox()


@pytest.fixture
def sweeper(liaison, outbox, clock):
    return Sweeper(liaison.engine, liaison.org, {"shell": outbox}, clock)


def local(y, m, d, h=9, minute=5, zone=CHICAGO):
    return dt.datetime(y, m, d, h, minute, tzinfo=zone)


def sweep(sweeper, when, **kw):
    return asyncio.run(sweeper.run(when, **kw))


def ask(bot, requester, owner, what, due, unit="finance", at=None):
    with session_scope(bot.engine) as session:
        item = commitments.create(
            session,
            requester=by_handle(session, requester),
            owner=by_handle(session, owner),
            what=what,
            due=due,
            channel="shell",
            unit_id=unit,
            now=at or dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC),
        )
        return item.id


def act(bot, cid, who, what, **kw):
    with session_scope(bot.engine) as session:
        commitments.apply(
            session,
            bot.org,
            cid,
            by_handle(session, who),
            what,
            channel="shell",
            now=kw.pop("now", None) or bot.clock(),
            **kw,
        )


def test_the_first_nudge_goes_out_once_at_nine_local(liaison, sweeper, outbox):
    ask(liaison, "pat", "lee", "Order the label printers", dt.date(2026, 11, 25))
    assert sweep(sweeper, local(2026, 11, 26, 8, 55)) == []  # before 9:00 local
    lines = sweep(sweeper, local(2026, 11, 26, 9, 5))  # Thursday 9:05 in Chicago
    assert [(line.kind, line.handle, line.status) for line in lines] == [("digest", "lee", "sent")]
    assert sweep(sweeper, local(2026, 11, 26, 14, 0)) == []  # a second sweep: nothing more
    nudge = outbox.to(liaison, "lee")[0]
    assert "could use a nudge" in nudge.text
    labels = [c.label for c in nudge.items[0].choices]
    assert labels == ["Accept", "Done", "New date", "I'm blocked", "Snooze", "Not mine"]


def test_a_unit_in_auckland_gets_its_digest_at_nine_auckland_time(liaison, outbox):
    """Overdue is judged on the recipient's local date: at 9:05 on Thursday in Auckland it is
    still Wednesday in UTC, and an item due Wednesday is overdue there all the same."""
    auckland = zoneinfo.ZoneInfo("Pacific/Auckland")
    org = liaison.org.__class__(**{**liaison.org.__dict__})
    units = {
        **org.units,
        "finance": org.units["finance"].model_copy(update={"timezone": auckland.key}),
    }
    object.__setattr__(org, "units", units)
    sweeper = Sweeper(liaison.engine, org, {"shell": outbox})
    cid = ask(liaison, "pat", "lee", "Order the label printers", dt.date(2026, 11, 25))
    act(liaison, cid, "lee", "promise", now=dt.datetime(2026, 11, 23, 16, tzinfo=dt.UTC))
    at = lambda hour, minute: local(2026, 11, 26, hour, minute, zone=auckland).astimezone(dt.UTC)  # noqa: E731
    assert sweep(sweeper, at(8, 55)) == []  # the server's clock says UTC, as it does in service
    lines = sweep(sweeper, at(9, 5))
    assert [(line.kind, line.handle) for line in lines] == [("digest", "lee")]
    (digest,) = outbox.to(liaison, "lee")
    assert digest.items[0].text.endswith("· overdue")


def test_one_digest_for_several_items_and_none_at_weekends(liaison, sweeper, outbox):
    for what in ("Badge access", "Phones", "Wi-Fi survey"):
        ask(liaison, "pat", "lee", what, dt.date(2026, 11, 24))
    assert sweep(sweeper, local(2026, 11, 28, 10)) == []  # Saturday
    sweep(sweeper, local(2026, 11, 30, 9, 30))  # Monday
    digests = outbox.to(liaison, "lee")
    assert len(digests) == 1 and len(digests[0].items) == 3


def test_due_soon_is_a_reminder_and_a_done_report_nudges_the_requester(liaison, sweeper, outbox):
    soon = ask(liaison, "pat", "lee", "Move the printers", dt.date(2026, 11, 25))
    sweep(sweeper, local(2026, 11, 24, 9, 30))
    assert outbox.to(liaison, "lee")[0].items[0].text.endswith("due soon")
    act(liaison, soon, "lee", "report_done")
    with session_scope(liaison.engine) as session:
        item = session.get(Commitment, soon)
        item.last_activity_at = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)  # a quiet week passes
        session.add(item)
    sweep(sweeper, local(2026, 12, 2, 9, 30))
    to_pat = outbox.to(liaison, "pat")
    assert len(to_pat) == 1 and "reported done · stale" in to_pat[0].items[0].text
    assert [c.label for c in to_pat[0].items[0].choices] == ["Accept", "Send back"]


def test_escalation_after_two_unanswered_nudges(liaison, sweeper, outbox):
    cid = ask(liaison, "pat", "lee", "Survey the Wi-Fi", dt.date(2026, 11, 20))
    sweep(sweeper, local(2026, 11, 23, 9, 30))
    sweep(sweeper, local(2026, 11, 24, 9, 30))
    assert outbox.to(liaison, "sam") == []
    sweep(sweeper, local(2026, 11, 25, 9, 30))
    escalation = outbox.to(liaison, "sam")
    assert len(escalation) == 1
    assert "2 nudges" in escalation[0].text
    assert (
        "@lee" in escalation[0].items[0].text
        and "overdue for 5 days" in escalation[0].items[0].text
    )
    sweep(sweeper, local(2026, 11, 25, 15))
    assert len(outbox.to(liaison, "sam")) == 1  # one escalation digest a day
    act(liaison, cid, "lee", "new_date", due=dt.date(2026, 12, 10))  # the owner answers
    sweep(sweeper, local(2026, 11, 26, 9, 30))
    assert len(outbox.to(liaison, "sam")) == 1


def test_the_requester_is_told_once_when_their_request_is_raised(liaison, sweeper, outbox):
    ask(liaison, "pat", "lee", "Survey the Wi-Fi", dt.date(2026, 11, 20))
    for day in (23, 24, 25, 26):
        sweep(sweeper, local(2026, 11, day, 9, 30))
    raised = [r for r in outbox.to(liaison, "pat") if "raised it with" in r.text]
    assert len(raised) == 1 and "@sam" in raised[0].text and "Survey the Wi-Fi" in raised[0].text


def test_an_item_the_liaison_owns_climbs_to_the_next_level(liaison, sweeper, outbox):
    """Sam is Finance's liaison: ignoring a request is noticed by the admins (Dana), not
    skipped, and Pat is told it was raised."""
    ask(liaison, "pat", "sam", "Order the docking stations", dt.date(2026, 11, 20))
    for day in (23, 24, 25):
        sweep(sweeper, local(2026, 11, day, 9, 30))
    to_sam = {r.kind for r in outbox.to(liaison, "sam")}
    assert to_sam == {"nudge"}  # nudged daily, and never escalated to himself
    [escalation] = outbox.to(liaison, "dana")
    assert escalation.kind == "escalation" and "@sam" in escalation.items[0].text
    assert any("raised it with @dana" in r.text for r in outbox.to(liaison, "pat"))


def unanswered(bot, cid) -> int:
    with session_scope(bot.engine) as session:
        return nudges.unanswered_nudges(session, [cid]).get(cid, 0)


def test_only_the_owner_answering_or_the_item_closing_clears_its_nudges(liaison, sweeper):
    cid = ask(liaison, "pat", "lee", "Survey the Wi-Fi", dt.date(2026, 11, 20))
    act(liaison, cid, "lee", "promise")
    sweep(sweeper, local(2026, 11, 23, 9, 30))
    sweep(sweeper, local(2026, 11, 24, 9, 30))
    assert unanswered(liaison, cid) == 2
    act(liaison, cid, "pat", "new_date", due=dt.date(2026, 11, 21))  # the requester moves
    assert unanswered(liaison, cid) == 2
    act(liaison, cid, "lee", "snooze", due=dt.date(2026, 11, 25))  # any answer of the owner's
    assert unanswered(liaison, cid) == 0
    sweep(sweeper, local(2026, 11, 25, 9, 30))
    assert unanswered(liaison, cid) == 1
    act(liaison, cid, "lee", "report_done")
    act(liaison, cid, "pat", "accept")  # closed: nothing left to escalate
    assert unanswered(liaison, cid) == 0


def test_a_digest_for_the_requesters_move_counts_no_nudge_against_the_owner(
    liaison, sweeper, outbox
):
    cid = ask(liaison, "pat", "lee", "Buy webcams", dt.date(2026, 11, 20))
    act(liaison, cid, "lee", "counter", due=dt.date(2026, 12, 4))  # now it's pat's move
    for day in (24, 25, 26):
        sweep(sweeper, local(2026, 11, day, 9, 30))
    assert len(outbox.to(liaison, "pat")) == 3 and outbox.to(liaison, "lee") == []
    assert unanswered(liaison, cid) == 0
    assert outbox.to(liaison, "sam") == []  # so no escalation either


def test_a_snooze_is_honoured(liaison, sweeper, outbox):
    cid = ask(liaison, "pat", "lee", "Buy webcams", dt.date(2026, 11, 20))
    act(liaison, cid, "lee", "snooze", due=dt.date(2026, 11, 30))
    sweep(sweeper, local(2026, 11, 24, 9, 30))
    sweep(sweeper, local(2026, 11, 27, 9, 30))
    assert outbox.to(liaison, "lee") == []
    sweep(sweeper, local(2026, 11, 30, 9, 30))
    assert len(outbox.to(liaison, "lee")) == 1


def test_a_failed_send_is_retried_on_the_next_tick_and_never_doubled(liaison, sweeper, outbox):
    ask(liaison, "pat", "lee", "Renew the licences", dt.date(2026, 11, 20))
    outbox.fail_next = 1
    first = sweep(sweeper, local(2026, 11, 24, 9, 30))
    assert [line.status for line in first] == ["failed"]
    second = sweep(sweeper, local(2026, 11, 24, 9, 45))
    assert [line.status for line in second] == ["sent"]
    sweep(sweeper, local(2026, 11, 24, 10, 0))
    assert len(outbox.to(liaison, "lee")) == 1
    with session_scope(liaison.engine) as session:
        row = session.exec(select(Ledger).where(Ledger.kind == "digest")).one()
        assert (row.status, row.attempts) == ("sent", 2)


def test_a_crash_between_claim_and_send_is_recovered_once(liaison, sweeper, outbox):
    ask(liaison, "pat", "lee", "Renew the licences", dt.date(2026, 11, 20))
    when = local(2026, 11, 24, 9, 30)
    dry = sweep(sweeper, when, dry_run=True)
    assert [line.status for line in dry] == ["would send"] and outbox.sent == []
    from handlers import nudges

    with session_scope(liaison.engine) as session:  # claimed, then the process died
        (due,) = nudges.all_due(session, liaison.org, when)
        assert nudges.claim(session, due, when)
    assert sweep(sweeper, when + dt.timedelta(minutes=5)) == []  # still in its lease
    assert len(sweep(sweeper, when + dt.timedelta(minutes=20))) == 1
    assert sweep(sweeper, when + dt.timedelta(minutes=40)) == []
    assert len(outbox.to(liaison, "lee")) == 1


def test_the_cycle_briefing_and_questionnaire(liaison, sweeper, outbox):
    with session_scope(liaison.engine) as session:
        session.add(
            Cycle(
                unit_id="finance",
                cycle_date=dt.date(2026, 9, 1),
                six_months="New payroll system in spring",
                answered_at=dt.datetime(2026, 9, 2, tzinfo=dt.UTC),
            )
        )
    sweep(sweeper, local(2027, 2, 12, 9, 30))  # 17 days ahead: nothing yet
    assert outbox.to(liaison, "sam") == []
    sweep(sweeper, local(2027, 2, 15, 9, 30))  # 14 days ahead
    (briefing,) = [r for r in outbox.to(liaison, "sam") if r.kind == "briefing"]
    texts = [i.text for i in briefing.items]
    assert "Mon 1 Mar 2027" in briefing.text and "6 months: New payroll system in spring" in texts
    at = texts.index("Promise-keeping since 01 Sep 2026")  # the unit's figures since the last cycle
    assert texts[at + 1] == "On time: nothing fell due"
    sweep(sweeper, local(2027, 2, 16, 9, 30))
    assert len([r for r in outbox.to(liaison, "sam") if r.kind == "briefing"]) == 1
    sweep(sweeper, local(2027, 3, 1, 9, 30))
    (questionnaire,) = [r for r in outbox.to(liaison, "pat") if r.kind == "questionnaire"]
    assert "Set the clock ahead six and twelve months" in questionnaire.text
    assert [f.key for f in questionnaire.form.fields] == ["six_months", "twelve_months"]


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        ("America/Chicago", dt.date(2027, 3, 10), dt.date(2027, 3, 18)),  # DST starts 14 Mar
        ("Europe/Berlin", dt.date(2027, 3, 24), dt.date(2027, 4, 1)),  # DST starts 28 Mar
        ("America/Chicago", dt.date(2027, 11, 3), dt.date(2027, 11, 11)),  # DST ends 7 Nov
    ],
)
def test_daylight_saving_neither_skips_nor_doubles_a_nudge(liaison, outbox, zone, start, end):
    with session_scope(liaison.engine) as session:
        kim = by_handle(session, "kim")
        kim.timezone = zone
        session.add(kim)
    ask(liaison, "pat", "kim", "Fix the badge readers", start - dt.timedelta(days=3))
    org = liaison.org.__class__(**{**liaison.org.__dict__})
    object.__setattr__(
        org, "thresholds", org.thresholds.model_copy(update={"escalate_after_nudges": 99})
    )
    sweeper = Sweeper(liaison.engine, org, {"shell": outbox})
    tz = zoneinfo.ZoneInfo(zone)
    moment = dt.datetime.combine(start, dt.time(0, 7), tz)  # from a local midnight
    stop = dt.datetime.combine(end, dt.time(0), tz)
    with asyncio.Runner() as runner:  # one event loop (and thread pool) for every sweep
        while moment < stop:  # a sweep every hour, in absolute time, across the change
            runner.run(sweeper.run(moment))
            moment += dt.timedelta(hours=1)
    with session_scope(liaison.engine) as session:
        keys = session.exec(select(Ledger.key).where(Ledger.kind == "digest")).all()
    days = Counter(key.rsplit(":", 1)[1] for key in keys)
    expected = {
        (start + dt.timedelta(days=n)).isoformat()
        for n in range((end - start).days)
        if (start + dt.timedelta(days=n)).weekday() < 5
    }
    assert set(days) == expected
    assert set(days.values()) == {1}
    assert len(outbox.to(liaison, "kim")) == len(expected)


def test_the_ledger_key_blocks_a_second_replica(liaison, sweeper, outbox):
    """Two sweepers on one database (as two replicas would be) send each message once."""
    ask(liaison, "pat", "dana", "Order the scanners", dt.date(2026, 11, 20))
    ask(liaison, "pat", "lee", "Set up the Wi-Fi", dt.date(2026, 11, 20))
    other = Sweeper(liaison.engine, liaison.org, {"shell": outbox})
    when = local(2026, 11, 24, 9, 30)

    async def both():
        return await asyncio.gather(sweeper.run(when), other.run(when))

    first, second = asyncio.run(both())
    assert len(first) + len(second) == 2
    assert len(outbox.sent) == 2
    with session_scope(liaison.engine) as session:
        assert ledger.find(session, f"digest:{by_handle(session, 'dana').id}:2026-11-24")


def test_cycle_answers_are_kept_and_each_initiative_is_offered(liaison):
    import json

    from handlers.messages import Action, Inbound, Sender

    def answer(who, values):
        value = json.dumps({"state": {"unit": "finance", "cycle": "2027-03-01"}, "values": values})
        inbound = Inbound(
            Sender("shell", who, name=who), "dm", action=Action("cycle.submit", value)
        )
        return liaison.handle(inbound)

    refused = answer("lee", {"six_months": "We're buying 40 laptops"})
    assert "Only Finance's lead or liaison" in refused[0].reply.text
    out = answer(
        "pat",
        {
            "six_months": "We're hiring 12 new auditors in May. The team lunch is on Friday.",
            "twelve_months": "- moving to the Elm Street building\n- nothing else",
        },
    )
    assert "I spotted 2 things" in out[0].reply.text
    offers = [o.reply for o in out if o.reply.kind == "offer"]
    assert [json.loads(o.choices[0].value)["kind"] for o in offers] == [
        "staffing_change",
        "office_move",
    ]
    assert all(json.loads(o.choices[0].value)["unit"] == "finance" for o in offers)
    with session_scope(liaison.engine) as session:
        cycle = session.exec(select(Cycle)).one()
        assert cycle.six_months.startswith("We're hiring 12 new auditors")
        assert cycle.answered_by == by_handle(session, "pat").id


def test_a_stored_message_comes_back_the_same(liaison, clock):
    from handlers import nudges

    ask(liaison, "pat", "lee", "Order the scanners", dt.date(2026, 11, 20))
    with session_scope(liaison.engine) as session:
        (due,) = nudges.all_due(session, liaison.org, local(2026, 11, 24, 9, 30))
    assert nudges.Due.from_json(due.to_json()) == due
    form = nudges.cycle_form("finance", "Finance", dt.date(2027, 3, 1))
    question = nudges.Due("k", "questionnaire", 1, nudges.Reply("t", form=form))
    assert nudges.Due.from_json(question.to_json()) == question
    marked = nudges.Reply(
        "Heads-up",
        items=(nudges.Item("Stuck items (1)", heading=True), nudges.Item("#1 Old", struck=True)),
        kind="briefing",
        errors=(("due", "Which date?"),),
        warnings=("No one is named Accountable.",),
    )
    stored = nudges.Due("k2", "briefing", 1, marked)
    assert nudges.Due.from_json(stored.to_json()) == stored
    old_payload = stored.to_json().replace(",true,false]", "]").replace(",false,true]", "]")
    assert [i.heading for i in nudges.Due.from_json(old_payload).reply.items] == [False, False]


def test_a_long_digest_counts_what_it_shows_and_says_where_the_rest_is(liaison, sweeper, outbox):
    """80 stuck items: the digest says 80, shows the 20 every channel can show, and names the
    command for the rest; no channel needs to add "…and N more" under it."""
    for n in range(80):
        ask(liaison, "pat", "lee", f"Item {n}", dt.date(2026, 11, 20))
    sweep(sweeper, local(2026, 11, 23, 9, 30))
    [digest] = outbox.to(liaison, "lee")
    assert digest.text.startswith("Good morning! 80 commitments could use a nudge")
    assert len(digest.items) == nudges.MAX_DIGEST_ITEMS == 20
    assert "type 'commitments mine' for all 80" in digest.text


def test_only_owed_messages_are_recovered_from_the_ledger(liaison, sweeper, outbox):
    """An offer's claim carries a note of its author; a sweep long after must not take it for
    a stranded message (only digests, escalations, briefings, questionnaires, deferred)."""
    from storage import ledger

    said = '{"author": "U0PAT", "unit": "finance"}'
    with session_scope(liaison.engine) as session:
        assert ledger.claim(session, "offer:slack:C1:1.2", "offer", said, now=local(2026, 11, 2))
    assert sweep(sweeper, local(2026, 11, 23, 9, 30)) == []
    assert outbox.sent == []
