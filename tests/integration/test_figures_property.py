"""The figures' queries agree with a plain Python reading of the same history.

Random histories (acts in any order, several "done" reports, answers by someone other than the
owner, due dates changed or not, blocks at the same instant as the next act) are written as
the bot writes them, as history rows; the digest the database keeps on each commitment
(done_at, answered_at) is checked against the history, and each figure against the definition
in handlers/figures.py computed here row by row. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import delete, select

from handlers import figures
from handlers.figures import AGE_BUCKETS, LEFT_OUT, Period, Scope
from handlers.sql_days import hours_between
from storage.db import session_scope
from storage.models import OPEN_STATES, Commitment, CommitmentEvent, CommitmentState, Person

STATES = [s.value for s in CommitmentState]
ACTS = ["request", "promise", "counter", "report_done", "accept", "new_date", "blocked", "note"]


@dataclass
class Act:
    actor: int  # an index into the people
    act: str
    from_state: str | None
    to_state: str
    minutes: int  # after the request
    due_before: int | None  # days from the request's day
    due_after: int | None


@dataclass
class Item:
    owner: int
    requester: int
    unit: str
    days_ago: int  # the request, before the test's clock
    due: int | None  # days after the request's day
    state: str
    acts: list[Act]


act_st = st.builds(
    Act,
    actor=st.integers(0, 3),
    act=st.sampled_from(ACTS),
    from_state=st.one_of(st.none(), st.sampled_from(STATES)),
    to_state=st.sampled_from(STATES),
    # Whole hours too: a float day count once made 3 h come out as 2 on SQLite.
    minutes=st.one_of(st.integers(0, 60 * 24 * 60), st.integers(0, 24 * 60).map(lambda h: h * 60)),
    due_before=st.one_of(st.none(), st.integers(-5, 40)),
    due_after=st.one_of(st.none(), st.integers(-5, 40)),
)
item_st = st.builds(
    Item,
    owner=st.integers(0, 3),
    requester=st.integers(0, 3),
    unit=st.sampled_from(["finance", "parks"]),
    days_ago=st.integers(0, 200),
    due=st.one_of(st.none(), st.integers(-10, 60)),
    state=st.sampled_from(STATES),
    acts=st.lists(act_st, max_size=6),
)
scope_st = st.sampled_from(["unit", "person", "it", "business", "all"])


def write(session, items: list[Item], people: list[int], now: dt.datetime):
    """The items and their histories, each act written in the order generated (not by time)."""
    for item in items:
        created = (now - dt.timedelta(days=item.days_ago)).replace(microsecond=0)
        day = created.date()
        row = Commitment(
            what="x",
            owner_id=people[item.owner],
            requester_id=people[item.requester],
            unit_id=item.unit,
            due=day + dt.timedelta(days=item.due) if item.due is not None else None,
            state=item.state,
            created_at=created,
        )
        session.add(row)
        session.flush()
        first = [Act(item.requester, "request", None, "requested", 0, None, item.due)]
        for act in first + item.acts:
            session.add(
                CommitmentEvent(
                    commitment_id=row.id,
                    actor_id=people[act.actor],
                    act=act.act,
                    from_state=act.from_state,
                    to_state=act.to_state,
                    at=created + dt.timedelta(minutes=act.minutes),
                    due_before=_day(day, act.due_before),
                    due_after=_day(day, act.due_after),
                )
            )
        session.flush()


def _day(day: dt.date, offset: int | None) -> dt.date | None:
    return None if offset is None else day + dt.timedelta(days=offset)


def spread(values: list[int]) -> figures.Spread:
    """Nearest rank, from the sorted values themselves."""
    if not values:
        return figures.Spread()
    ordered = sorted(values)
    n = len(ordered)
    return figures.Spread(n, ordered[math.ceil(0.5 * n) - 1], ordered[math.ceil(0.9 * n) - 1])


def expected(rows, events, scope: Scope, period: Period, now: dt.datetime, today: dt.date):
    """Every figure, by its definition, one commitment and one act at a time."""
    history = defaultdict(list)
    for e in events:
        history[e.commitment_id].append(e)
    mine = [c for c in rows if _in_scope(c, scope)]
    start = dt.datetime.combine(period.start, dt.time(), dt.UTC)
    end = dt.datetime.combine(period.end, dt.time(), dt.UTC)

    def last_done(c):
        return max((e.at for e in history[c.id] if e.to_state == "done_reported"), default=None)

    due_in = [
        c
        for c in mine
        if c.due and period.start <= c.due < min(period.end, today) and c.state not in LEFT_OUT
    ]
    kept = [
        c for c in due_in if c.state == "accepted" and last_done(c) and last_done(c).date() <= c.due
    ]
    late = []
    for c in due_in:
        finished = c.state in ("accepted", "done_reported")
        until = (last_done(c).date() if last_done(c) else None) if finished else today
        if until is not None and (until - c.due).days > 0:
            late.append((until - c.due).days)
    moved = [
        e
        for c in mine
        for e in history[c.id]
        if start <= e.at < end
        and None not in (e.due_before, e.due_after)
        and e.due_before != e.due_after
    ]
    hours, unanswered = [], 0
    for c in mine:
        if c.owner_id == c.requester_id or not start <= c.created_at < end:
            continue
        answers = [
            e.at for e in history[c.id] if e.actor_id == c.owner_id and e.from_state == "requested"
        ]
        if answers:
            hours.append(max(math.floor((min(answers) - c.created_at).total_seconds() / 3600), 0))
        else:
            unanswered += 1
    stuck = []
    for c in mine:
        for b in history[c.id]:
            if b.act != "blocked" or not start <= b.at < end:
                continue
            after = [e.at for e in history[c.id] if (e.at, e.id) > (b.at, b.id)]
            stuck.append(((min(after).date() if after else now.date()) - b.at.date()).days)
    ages = Counter()
    for c in mine:
        if c.state in OPEN_STATES:
            age = (today - c.created_at.date()).days
            ages[
                next(i for i, (limit, _) in enumerate(AGE_BUCKETS) if not limit or age < limit)
            ] += 1
    months = Counter()
    months_kept = Counter()
    for c in due_in:
        months[c.due.strftime("%Y-%m")] += 1
        months_kept[c.due.strftime("%Y-%m")] += c in kept
    return {
        "on_time": (len(due_in), len(kept)),
        "late": spread(late),
        "moved": (len(moved), len({e.commitment_id for e in moved})),
        "answer": (spread(hours), unanswered),
        "stuck": spread(stuck),
        "open": [(label, ages[i]) for i, (_, label) in enumerate(AGE_BUCKETS)],
        "by_month": [(m, months[m], months_kept[m]) for m in sorted(months)],
    }


def _in_scope(c: Commitment, scope: Scope) -> bool:
    return {
        "unit": c.unit_id == scope.unit_id,
        "person": c.owner_id == scope.person_id,
        "it": c.owner_id in scope.it_people,
        "business": c.owner_id not in scope.it_people,
        "all": True,
    }[scope.kind]


DAY = 24 * 60
# One example with something in every figure (the generated ones may have nothing in some).
RICH = [
    Item(1, 2, "finance", 40, 20, "accepted", [
        Act(1, "promise", "requested", "promised", 90, 20, 20),
        Act(1, "new_date", "promised", "promised", 2 * DAY, 10, 20),
        Act(1, "blocked", "promised", "promised", 3 * DAY, 20, 20),
        Act(1, "note", "promised", "promised", 7 * DAY, 20, 20),
        Act(1, "report_done", "promised", "done_reported", 25 * DAY, 20, 20),
        Act(2, "accept", "done_reported", "accepted", 26 * DAY, 20, 20),
    ]),
    Item(1, 2, "finance", 30, 5, "accepted", [
        Act(1, "promise", "requested", "promised", 3 * 60, 5, 5),
        Act(1, "report_done", "promised", "done_reported", 4 * DAY, 5, 5),
        Act(2, "accept", "done_reported", "accepted", 5 * DAY, 5, 5),
    ]),
    Item(1, 2, "finance", 10, 5, "promised", [
        Act(1, "blocked", "requested", "promised", 60, 5, 5),
    ]),
    Item(0, 2, "finance", 3, 30, "requested", []),
]  # fmt: skip


@example(items=RICH, kind="unit", back=60, length=70)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    items=st.lists(item_st, min_size=1, max_size=8),
    kind=scope_st,
    back=st.integers(0, 150),
    length=st.integers(1, 200),
)
def test_each_figure_is_its_definition_over_the_history(liaison, items, kind, back, length):
    now = liaison.clock()
    today = now.date()
    start = today - dt.timedelta(days=back)
    period = Period(start, start + dt.timedelta(days=length), "test")
    with session_scope(liaison.engine) as s:
        s.exec(delete(CommitmentEvent))
        s.exec(delete(Commitment))
        people = [p.id for p in s.exec(select(Person).order_by(Person.id)).all()][:4]
        write(s, items, people, now)
    with session_scope(liaison.engine) as s:
        it = figures.it_people(s, liaison.org)
        scope = {
            "unit": Scope("unit", "Finance", unit_id="finance"),
            "person": Scope("person", "@someone", person_id=people[0]),
            "it": Scope("it", "IT", it_people=it),
            "business": Scope("business", "Business", it_people=it),
            "all": Scope("all", "All"),
        }[kind]
        rows = s.exec(select(Commitment)).all()
        events = s.exec(select(CommitmentEvent)).all()
        for c in rows:  # the digest the database keeps is the history's
            mine = [e for e in events if e.commitment_id == c.id]
            done = [e.at for e in mine if e.to_state == "done_reported"]
            answers = [
                e.at for e in mine if e.from_state == "requested" and e.actor_id == c.owner_id
            ]
            assert c.done_at == max(done, default=None)
            assert c.answered_at == min(answers, default=None)
        want = expected(rows, events, scope, period, now, today)
        if items is RICH:  # the example above has something in every figure
            assert want["on_time"] == (3, 1) and want["late"] == figures.Spread(2, 5, 5)
            assert want["moved"] == (1, 1) and want["stuck"] == figures.Spread(2, 4, 10)
            assert want["answer"] == (figures.Spread(3, 1, 3), 1)
        found = figures.compute(s, scope, period, now, today)
        assert (found.due, found.kept) == want["on_time"]
        assert found.late == want["late"]
        assert (found.date_changes, found.moved_items) == want["moved"]
        assert (found.answer_hours, found.unanswered) == want["answer"]
        assert found.stuck_days == want["stuck"]
        assert list(found.open_ages) == want["open"]
        assert figures.on_time_by_month(s, scope, period, today) == want["by_month"]


def test_whole_hours_between_two_times_are_exact(liaison):
    """A float day count once made some 3-hour answers 2 hours on SQLite (not on PostgreSQL)."""
    now = liaison.clock()
    wanted = {}
    with session_scope(liaison.engine) as s:
        someone = s.exec(select(Person.id)).first()
        for i in range(300):
            asked = now - dt.timedelta(days=i % 97, minutes=37 * i)
            hours = i % 50
            row = Commitment(
                what="x",
                owner_id=someone,
                requester_id=someone,
                created_at=asked,
                answered_at=asked + dt.timedelta(hours=hours),
            )
            s.add(row)
            s.flush()
            wanted[row.id] = hours
        query = select(Commitment.id, hours_between(Commitment.created_at, Commitment.answered_at))
        found = dict(s.execute(query).all())
    assert len(found) == 300
    assert found == wanted


def test_upgrading_fills_the_digest_from_the_history(tmp_path, clock):
    """Migration 0011f: commitments recorded before it get done_at and answered_at from their
    history, and acts recorded after it keep them."""
    from sqlalchemy import text

    from storage.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0010")
    t = [(clock() - dt.timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S.%f") for h in range(9)]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO person (id, handle, display_name, created_at) "
                "VALUES (1, 'pat', 'Pat', :t), (2, 'sam', 'Sam', :t)"
            ),
            {"t": t[8]},
        )
        conn.execute(
            text(
                "INSERT INTO commitment (id, what, owner_id, requester_id, state, created_at, "
                "updated_at, last_activity_at) VALUES (1, 'x', 2, 1, 'done_reported', :t, :t, :t)"
            ),
            {"t": t[8]},
        )
        # (actor, from, to, hours ago): a note by the requester is no answer; the last act into
        # done_reported (a note while it is) is when it was last said to be done, as before.
        acts = [
            (1, None, "requested", 8),
            (1, "requested", "requested", 7),
            (2, "requested", "promised", 6),
            (2, "promised", "done_reported", 5),
            (2, "done_reported", "done_reported", 4),
        ]
        for actor, before, after, ago in acts:
            conn.execute(
                text(
                    "INSERT INTO commitmentevent (commitment_id, actor_id, act, from_state, "
                    "to_state, at) VALUES (1, :a, 'x', :f, :s, :at)"
                ),
                {"a": actor, "f": before, "s": after, "at": t[ago]},
            )
    upgrade(engine)
    with engine.begin() as conn:
        digest = conn.execute(text("SELECT answered_at, done_at FROM commitment")).one()
        assert tuple(digest) == (t[6], t[4])
        conn.execute(
            text(
                "INSERT INTO commitmentevent (commitment_id, actor_id, act, from_state, to_state,"
                " at) VALUES (1, 2, 'report_done', 'promised', 'done_reported', :at)"
            ),
            {"at": t[1]},
        )
        assert conn.execute(text("SELECT done_at FROM commitment")).scalar() == t[1]
    engine.dispose()
