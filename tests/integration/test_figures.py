"""Promise-keeping figures over a known history, on SQLite and PostgreSQL, and in chat."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from handlers import figures, records, reports
from handlers.figures import Period, Scope, spread
from handlers.messages import Inbound, ReplyKind, Sender
from handlers.reports import ReportError, parse_period, split_period
from storage.db import session_scope
from storage.models import Commitment, CommitmentEvent, Person


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def add(session, people, what, owner, requester, unit, due, state, events):
    """A commitment and its history: events are (act, from, to, when, due_before, due_after)."""
    first = events[0][3]
    item = Commitment(
        what=what,
        owner_id=people[owner],
        requester_id=people[requester],
        unit_id=unit,
        due=dt.date.fromisoformat(due),
        state=state,
        created_at=first,
        updated_at=events[-1][3],
        last_activity_at=events[-1][3],
    )
    session.add(item)
    session.flush()
    for act, before, after, when, due_before, due_after in events:
        actor = owner if act not in ("request", "accept") else requester
        session.add(
            CommitmentEvent(
                commitment_id=item.id,
                actor_id=people[actor],
                act=act,
                from_state=before,
                to_state=after,
                at=when,
                due_before=dt.date.fromisoformat(due_before) if due_before else None,
                due_after=dt.date.fromisoformat(due_after) if due_after else None,
            )
        )


@pytest.fixture
def history(liaison):
    """Five commitments (see the module's figures): today is Mon 23 Nov 2026."""
    with session_scope(liaison.engine) as s:
        people = {p.handle: p.id for p in s.exec(select(Person)).all()}
        d = "2026-10-10"
        add(s, people, "on time", "sam", "pat", "finance", d, "accepted", [
            ("request", None, "requested", at("2026-10-01", 10), None, d),
            ("promise", "requested", "promised", at("2026-10-01", 13), d, d),
            ("report_done", "promised", "done_reported", at("2026-10-09"), d, d),
            ("accept", "done_reported", "accepted", at("2026-10-12"), d, d),
        ])  # fmt: skip
        d = "2026-10-20"
        add(s, people, "five days late", "sam", "pat", "finance", d, "accepted", [
            ("request", None, "requested", at("2026-10-05"), None, d),
            ("promise", "requested", "promised", at("2026-10-07"), d, d),
            ("report_done", "promised", "done_reported", at("2026-10-25"), d, d),
            ("accept", "done_reported", "accepted", at("2026-10-26"), d, d),
        ])  # fmt: skip
        d = "2026-11-13"
        add(s, people, "still open, moved and blocked", "sam", "pat", "finance", d, "promised", [
            ("request", None, "requested", at("2026-10-15"), None, "2026-11-01"),
            ("promise", "requested", "promised", at("2026-10-15", 10), "2026-11-01", "2026-11-01"),
            ("new_date", "promised", "promised", at("2026-10-20"), "2026-11-01", d),
            ("blocked", "promised", "promised", at("2026-11-02"), d, d),
            ("note", "promised", "promised", at("2026-11-06"), d, d),
        ])  # fmt: skip
        d = "2026-11-01"
        add(s, people, "declined", "pat", "sam", "parks", d, "declined", [
            ("request", None, "requested", at("2026-10-10", 12), None, d),
            ("decline", "requested", "declined", at("2026-10-11", 12), d, d),
        ])  # fmt: skip
        d = "2026-12-20"
        add(s, people, "not answered", "pat", "sam", "parks", d, "requested", [
            ("request", None, "requested", at("2026-11-20"), None, d),
        ])  # fmt: skip
    return liaison


PERIOD = Period(dt.date(2026, 8, 1), dt.date(2026, 11, 24), "test")
TODAY = dt.date(2026, 11, 23)


def compute(bot, scope: Scope) -> figures.Figures:
    with session_scope(bot.engine) as s:
        return figures.compute(s, scope, PERIOD, bot.clock(), TODAY)


def test_a_units_figures_come_from_its_history(history):
    found = compute(history, Scope("unit", "Finance", unit_id="finance"))
    assert (found.due, found.kept) == (3, 1)
    assert found.late == figures.Spread(2, 5, 10)  # 5 days late, and 10 days and counting
    assert (found.date_changes, found.moved_items) == (1, 1)
    assert found.answer_hours == figures.Spread(3, 3, 48)  # 1 h, 3 h and 48 h
    assert found.unanswered == 0
    assert found.stuck_days == figures.Spread(1, 4, 4)  # blocked 2 Nov, next act 6 Nov
    assert dict(found.open_ages) == {
        "under a week": 0,
        "1–4 weeks": 0,
        "1–3 months": 1,
        "over 3 months": 0,
    }


def test_it_and_the_business_side_are_told_apart_by_who_owes(history):
    with session_scope(history.engine) as s:
        it_people = figures.it_people(s, history.org)
    it = compute(history, Scope("it", "IT", it_people=it_people))
    business = compute(history, Scope("business", "Business", it_people=it_people))
    assert (it.due, it.kept, it.late.count) == (3, 1, 2)
    assert (business.due, business.kept) == (0, 0)  # the declined one is left out
    assert (business.answer_hours, business.unanswered) == (figures.Spread(1, 24, 24), 1)
    assert dict(business.open_ages)["under a week"] == 1


def test_a_person_and_a_period_narrow_the_figures(history):
    with session_scope(history.engine) as s:
        sam = s.exec(select(Person).where(Person.handle == "sam")).one()
        october = Period(dt.date(2026, 10, 1), dt.date(2026, 11, 1), "october")
        found = figures.compute(
            s, Scope("person", "@sam", person_id=sam.id), october, history.clock(), TODAY
        )
    assert (found.due, found.kept, found.late.median) == (2, 1, 5)


def test_on_time_by_month_is_one_row_per_month_with_items_due(history):
    with session_scope(history.engine) as s:
        rows = figures.on_time_by_month(s, Scope("all", "All"), PERIOD, TODAY)
    assert rows == [("2026-10", 2, 1), ("2026-11", 1, 0)]


def test_the_export_has_the_figures_of_each_unit_it_and_the_business(history):
    with session_scope(history.engine) as s:
        tables = records.export_tables(s, history.org, history.clock(), TODAY)
    rows = {row["scope"]: row for row in tables["figures"]}
    assert set(rows) == {"Finance", "Parks and Recreation", "IT", "Business"}
    assert (rows["Finance"]["due"], rows["Finance"]["on_time"]) == (3, 1)
    assert list(rows["IT"]) == list(records.FIGURE_COLUMNS)
    assert records.columns_of("figures") == list(records.FIGURE_COLUMNS)


def ask(bot, text: str, who: str):
    inbound = Inbound(Sender("shell", who, name=who), "dm", text=text, is_direct=True)
    return bot.handle(inbound)[0].reply


def test_the_report_in_chat_for_the_units_liaison(history):
    reply = ask(history, "commitments report unit finance last 6 months", "sam")
    assert reply.kind == ReplyKind.LIST
    assert reply.text.startswith("Promise-keeping of Finance, the last 6 months")
    texts = [i.text for i in reply.items]
    assert "On time: 33% (1 of 3 due)" in texts
    assert "Days late: median 5, 90th percentile 10 (2 late)" in texts


@pytest.mark.parametrize(
    ("text", "who", "refusal"),
    [
        ("commitments report unit finance", "lee", "Finance's figures are for its lead"),
        ("commitments report it", "pat", "The IT and business figures are for liaisons"),
        ("commitments report @sam", "lee", "Only @sam, their unit's liaison or an admin"),
        ("commitments report unit mars", "dana", "I don't know the unit 'mars'"),
        ("commitments report business last fortnight", "dana", "I don't know the unit"),
    ],
)
def test_the_report_is_refused_to_those_who_may_not_see_it(history, text, who, refusal):
    reply = ask(history, text, who)
    assert reply.text.startswith(refusal), reply.text
    assert not reply.items


def test_a_person_sees_their_own_figures_and_an_admin_sees_it(history):
    mine = ask(history, "commitments report", "pat")
    assert mine.text.startswith("Promise-keeping of @pat")
    admin = ask(history, "commitments report it this year", "dana")
    assert admin.text.startswith("Promise-keeping of IT, this year")
    assert "On time: 33% (1 of 3 due)" in [i.text for i in admin.items]


def test_periods_are_read_as_said():
    today = dt.date(2026, 11, 23)

    def span(text):
        found = parse_period(text, today)
        return found.start, found.end

    assert span("this quarter") == (dt.date(2026, 10, 1), dt.date(2026, 11, 24))
    assert span("last quarter") == (dt.date(2026, 7, 1), dt.date(2026, 10, 1))
    assert span("last 6 months") == (dt.date(2026, 5, 23), dt.date(2026, 11, 24))
    assert parse_period("", today).label == "the last 6 months"
    assert split_period("unit Finance last six months") == ("unit Finance", "last six months")
    assert split_period("@pat") == ("@pat", "")
    with pytest.raises(ReportError):
        parse_period("last 99 months", today)


def test_spread_reads_median_and_90th_percentile_from_a_histogram():
    assert spread([(1, 5), (2, 4), (30, 1)]) == figures.Spread(10, 1, 2)
    assert spread([(7, 1)]) == figures.Spread(1, 7, 7)
    assert spread([]) == figures.Spread()


def test_the_briefing_lines_are_the_units_figures_since_the_last_cycle(history):
    with session_scope(history.engine) as s:
        since = dt.date(2026, 9, 1)
        texts = [
            i.text
            for i in reports.since_last_cycle(
                s, "finance", "Finance", since, history.clock(), TODAY
            )
        ]
    assert texts[0] == "On time: 33% (1 of 3 due)"
    assert (
        texts[-1] == "Open now by age: under a week 0, 1–4 weeks 0, 1–3 months 1, over 3 months 0"
    )
