"""Property-based: any sequence of acts by anyone keeps a commitment and its history consistent."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from handlers import commitments
from handlers.commitments import CLOSED, PROTOCOL, CommitmentError
from handlers.org import load_organisation
from handlers.people import by_handle, sync_organisation
from storage.db import make_engine, session_scope, upgrade
from storage.models import Commitment, Person
from tests.conftest import EXAMPLE_CONFIG

ORG = load_organisation(EXAMPLE_CONFIG)
ACTORS = ("pat", "sam", "kim", "dana")  # requester, owner, a stranger, an admin
ACTS = sorted(PROTOCOL)


class CommitmentMachine(RuleBasedStateMachine):
    engine = None

    @initialize()
    def setup(self):
        if CommitmentMachine.engine is None:
            import tempfile

            path = tempfile.mkdtemp()
            CommitmentMachine.engine = make_engine(f"sqlite:///{path}/machine.db")
            upgrade(CommitmentMachine.engine)
            with session_scope(CommitmentMachine.engine) as session:
                sync_organisation(session, ORG, dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
        self.now = dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC)
        with session_scope(self.engine) as session:
            item = commitments.create(
                session,
                requester=by_handle(session, "pat"),
                owner=by_handle(session, "sam"),
                what="Move the printers",
                due=dt.date(2026, 12, 1),
                channel="shell",
                unit_id="parks",  # sam is the liaison of parks too: we want kim refused
                now=self.now,
            )
            self.cid = item.id
        self.accepted_acts = 1
        self.closed_state = None

    @rule(
        actor=st.sampled_from(ACTORS),
        act=st.sampled_from(ACTS),
        days=st.integers(min_value=0, max_value=60),
    )
    def act(self, actor, act, days):
        self.now += dt.timedelta(hours=1)
        with session_scope(self.engine) as session:
            before = session.get(Commitment, self.cid).state
        try:
            with session_scope(self.engine) as session:
                commitments.apply(
                    session,
                    ORG,
                    self.cid,
                    by_handle(session, actor),
                    act,
                    channel="shell",
                    due=dt.date(2026, 12, 1) + dt.timedelta(days=days),
                    note="because",
                    now=self.now,
                )
            self.accepted_acts += 1
            assert actor != "kim", "a stranger was allowed to act"
            assert before not in CLOSED, "a closed commitment changed"
        except CommitmentError:
            with session_scope(self.engine) as session:
                assert session.get(Commitment, self.cid).state == before

    @invariant()
    def history_is_a_chain(self):
        with session_scope(self.engine) as session:
            events = commitments.history(session, self.cid)
            item = session.get(Commitment, self.cid)
            assert len(events) == self.accepted_acts
            for earlier, later in itertools.pairwise(events):
                assert later.from_state == earlier.to_state
                assert later.at >= earlier.at
            assert events[-1].to_state == item.state
            assert (item.closed_at is not None) == (item.state in CLOSED)
            assert session.get(Person, item.owner_id).handle == "sam"


TestCommitmentMachine = CommitmentMachine.TestCase
TestCommitmentMachine.settings = settings(
    max_examples=40,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
