"""The commitment protocol, its history and its permissions, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from handlers import commitments
from handlers.commitments import CommitmentError, NotAllowed
from handlers.people import by_handle
from storage.db import session_scope
from storage.models import Commitment, CommitmentState

S = CommitmentState
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def people(liaison):
    with session_scope(liaison.engine) as session:
        return {h: by_handle(session, h) for h in ("dana", "sam", "pat", "kim", "lee")}


def _new(liaison, people, requester="pat", owner="sam", **kw):
    with session_scope(liaison.engine) as session:
        item = commitments.create(
            session,
            requester=people[requester],
            owner=people[owner],
            what=kw.pop("what", "Survey the new site's Wi-Fi"),
            due=kw.pop("due", dt.date(2026, 12, 4)),
            channel="shell",
            unit_id=kw.pop("unit_id", "finance"),
            now=NOW,
            **kw,
        )
        return item.id


def _act(liaison, cid, actor, act, **kw):
    with session_scope(liaison.engine) as session:
        return commitments.apply(
            session,
            liaison.org,
            cid,
            by_handle(session, actor),
            act,
            channel="shell",
            now=NOW,
            **kw,
        ).state


def test_the_common_path_request_promise_done_accept(liaison, people):
    cid = _new(liaison, people)
    assert _act(liaison, cid, "sam", "promise") == S.PROMISED
    assert _act(liaison, cid, "sam", "report_done") == S.DONE_REPORTED
    assert _act(liaison, cid, "pat", "accept") == S.ACCEPTED
    with session_scope(liaison.engine) as session:
        acts = [e.act for e in commitments.history(session, cid)]
        assert acts == ["request", "promise", "report_done", "accept"]
        assert session.get(Commitment, cid).closed_at is not None


def test_a_counter_accepted_by_the_requester_becomes_a_promise_with_the_new_date(liaison, people):
    cid = _new(liaison, people)
    assert _act(liaison, cid, "sam", "counter", due=dt.date(2026, 12, 18)) == S.COUNTERED
    assert _act(liaison, cid, "pat", "accept") == S.PROMISED
    with session_scope(liaison.engine) as session:
        assert session.get(Commitment, cid).due == dt.date(2026, 12, 18)


def test_a_rejected_done_report_goes_back_to_promised(liaison, people):
    cid = _new(liaison, people)
    _act(liaison, cid, "sam", "promise")
    _act(liaison, cid, "sam", "report_done")
    assert _act(liaison, cid, "pat", "reject", note="the east wing is missing") == S.PROMISED


def test_decline_cancel_and_release_close_it(liaison, people):
    assert _act(liaison, _new(liaison, people), "sam", "decline") == S.DECLINED
    assert _act(liaison, _new(liaison, people), "pat", "cancel") == S.CANCELLED
    cid = _new(liaison, people)
    _act(liaison, cid, "sam", "promise")
    assert _act(liaison, cid, "sam", "release") == S.RELEASED


def test_a_new_date_counts_as_activity_and_is_in_the_history(liaison, people):
    cid = _new(liaison, people)
    _act(liaison, cid, "sam", "promise")
    with session_scope(liaison.engine) as session:
        later = NOW + dt.timedelta(days=3)
        commitments.apply(
            session,
            liaison.org,
            cid,
            by_handle(session, "pat"),
            "new_date",
            channel="slack",
            due=dt.date(2027, 1, 8),
            now=later,
        )
    with session_scope(liaison.engine) as session:
        item = session.get(Commitment, cid)
        assert item.due == dt.date(2027, 1, 8)
        assert item.last_activity_at == later
        last = commitments.history(session, cid)[-1]
        assert (last.due_before, last.due_after, last.channel) == (
            dt.date(2026, 12, 4),
            dt.date(2027, 1, 8),
            "slack",
        )


def test_someone_else_is_refused_and_nothing_changes(liaison, people):
    cid = _new(liaison, people, unit_id=None)
    with pytest.raises(CommitmentError) as refused:
        _act(liaison, cid, "kim", "report_done")
    assert "can't find" in str(refused.value)  # kim can't even see it
    with session_scope(liaison.engine) as session:
        assert session.get(Commitment, cid).state == S.REQUESTED
        assert len(commitments.history(session, cid)) == 1


def test_the_requester_cannot_do_the_owners_part(liaison, people):
    cid = _new(liaison, people, requester="pat", owner="kim", unit_id=None)
    with pytest.raises(NotAllowed) as refused:
        _act(liaison, cid, "pat", "promise")
    assert "Only @kim (who owns it)" in str(refused.value)
    assert "Nothing was changed" in str(refused.value)


def test_the_units_liaison_and_an_admin_may_act(liaison, people):
    cid = _new(liaison, people, requester="pat", owner="kim", unit_id="finance")
    assert _act(liaison, cid, "sam", "promise") == S.PROMISED  # sam is Finance's liaison
    assert _act(liaison, cid, "dana", "report_done") == S.DONE_REPORTED  # dana is an admin


def test_an_act_that_does_not_fit_the_state_is_explained(liaison, people):
    cid = _new(liaison, people)
    with pytest.raises(CommitmentError, match="is requested, so you can't accept it now"):
        _act(liaison, cid, "pat", "accept")


def test_blocked_needs_a_reason_and_a_counter_needs_a_date(liaison, people):
    cid = _new(liaison, people)
    with pytest.raises(CommitmentError, match="blocked on"):
        _act(liaison, cid, "sam", "blocked")
    with pytest.raises(CommitmentError, match="Which date"):
        _act(liaison, cid, "sam", "counter")


def test_a_self_made_promise_closes_when_done(liaison, people):
    cid = _new(liaison, people, requester="sam", owner="sam")
    with session_scope(liaison.engine) as session:
        assert session.get(Commitment, cid).state == S.PROMISED
    assert _act(liaison, cid, "sam", "report_done") == S.ACCEPTED


def test_queries_mine_unit_overdue_and_stuck(liaison, people):
    a = _new(liaison, people, due=dt.date(2026, 11, 20))  # overdue
    b = _new(liaison, people, requester="sam", owner="pat", unit_id="parks")
    c = _new(liaison, people, requester="kim", owner="lee", unit_id="parks")
    _act(liaison, c, "lee", "promise")
    with session_scope(liaison.engine) as session:
        sam = by_handle(session, "sam")
        assert [x.id for x in commitments.owed_by(session, sam.id)] == [a]
        assert [x.id for x in commitments.owed_to(session, sam.id)] == [b]
        assert {x.id for x in commitments.for_unit(session, "parks")} == {b, c}
        assert [x.id for x in commitments.overdue(session, dt.date(2026, 11, 23))] == [a]
        # Two business days later, b is an unanswered request; a is overdue; c was promised.
        later = NOW + dt.timedelta(days=2, hours=1)
        stuck = {x.id: why for x, why in commitments.stuck(session, liaison.org, later)}
        assert stuck == {a: "overdue", b: "unanswered"}
        # After 7 quiet days the promise is stale too.
        week = NOW + dt.timedelta(days=7, hours=1)
        assert (
            dict((x.id, w) for x, w in commitments.stuck(session, liaison.org, week))[c] == "stale"
        )
        ids = select(Commitment.id).where(Commitment.unit_id == "parks")
        assert len(session.exec(ids).all()) == 2


def test_unanswered_counts_business_days_not_weekends(liaison, people):
    friday = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)
    with session_scope(liaison.engine) as session:
        item = commitments.create(
            session,
            requester=people["pat"],
            owner=people["sam"],
            what="Badge access",
            due=None,
            channel="shell",
            now=friday,
        )
        monday = friday + dt.timedelta(days=3)
        assert commitments.stuck_reason(item, monday, liaison.org) is None
        tuesday = friday + dt.timedelta(days=4)
        assert commitments.stuck_reason(item, tuesday, liaison.org) == "unanswered"


def test_what_must_be_said_and_not_too_long(liaison, people):
    with session_scope(liaison.engine) as session, pytest.raises(CommitmentError):
        commitments.create(
            session,
            requester=people["pat"],
            owner=people["sam"],
            what="   ",
            due=None,
            channel="shell",
            now=NOW,
        )
    with session_scope(liaison.engine) as session, pytest.raises(CommitmentError):
        commitments.create(
            session,
            requester=people["pat"],
            owner=people["sam"],
            what="x" * 501,
            due=None,
            channel="shell",
            now=NOW,
        )


def test_nobody_accepts_their_own_work(liaison, people):
    """Sam is Finance's liaison and owns the item: he reports it done, but only the requester
    (or an admin who is not on it) accepts it, and he cannot cancel it for her either."""
    cid = _new(liaison, people, requester="pat", owner="sam")
    _act(liaison, cid, "sam", "promise")
    _act(liaison, cid, "sam", "report_done")
    for act in ("accept", "reject", "cancel"):
        with pytest.raises(NotAllowed, match="the other side decides this one: @pat"):
            _act(liaison, cid, "sam", act)
    assert _act(liaison, cid, "dana", "accept") == S.ACCEPTED  # an admin who is not on it
    with session_scope(liaison.engine) as session:
        events = commitments.history(session, cid)
    assert [e.act for e in events] == ["request", "promise", "report_done", "accept"]


def test_an_admin_who_owns_an_item_does_not_accept_it_either(liaison, people):
    cid = _new(liaison, people, requester="pat", owner="dana")
    _act(liaison, cid, "dana", "promise")
    _act(liaison, cid, "dana", "report_done")
    with pytest.raises(NotAllowed, match="other side decides"):
        _act(liaison, cid, "dana", "accept")
    assert _act(liaison, cid, "pat", "accept") == S.ACCEPTED


def test_two_presses_at_the_same_instant_act_once(liaison, people):
    """Both presses read 'done_reported' before either writes: the change is conditional on
    the state it came from, so one accepts and the other is told it already moved."""
    import threading

    cid = _new(liaison, people)
    _act(liaison, cid, "sam", "promise")
    _act(liaison, cid, "sam", "report_done")
    both_read = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def press() -> None:
        try:
            with session_scope(liaison.engine) as session:
                item = session.get(Commitment, cid)
                assert item.state == S.DONE_REPORTED
                both_read.wait()
                commitments.apply(
                    session,
                    liaison.org,
                    cid,
                    by_handle(session, "pat"),
                    "accept",
                    channel="slack",
                    now=NOW,
                )
            outcomes.append("acted")
        except CommitmentError as exc:
            outcomes.append("refused" if "changed a moment ago" in str(exc) else str(exc))
        except Exception as exc:  # SQLite refuses the second writer of a stale snapshot
            outcomes.append("refused" if "locked" in str(exc) else repr(exc))

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["acted", "refused"]
    with session_scope(liaison.engine) as session:
        acts = [e.act for e in commitments.history(session, cid)]
    assert acts.count("accept") == 1


def test_a_promise_due_months_away_is_not_stale_for_a_quiet_week(liaison, people):
    far = _new(liaison, people, due=(NOW + dt.timedelta(days=240)).date())
    near = _new(liaison, people, due=(NOW + dt.timedelta(days=12)).date())
    undated = _new(liaison, people, due=None)
    for cid in (far, near, undated):
        _act(liaison, cid, "sam", "promise")
    later = NOW + dt.timedelta(days=8)  # eight quiet days
    with session_scope(liaison.engine) as session:
        reasons = {item.id: why for item, why in commitments.stuck(session, liaison.org, later)}
    assert reasons == {near: "stale", undated: "stale"}
