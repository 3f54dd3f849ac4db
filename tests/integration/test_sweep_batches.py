"""What a sweep over many people must keep while its work is done in batches: one digest per
person with all their due items, one ledger row per message and one nudge per item shown,
the failures of a batch each marked, and nothing at all sent twice at the same instant."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import re
import zoneinfo
from collections import Counter

import pytest
from sqlmodel import func, select

from handlers import commitments
from handlers.nudges import Due
from handlers.people import by_handle
from schedules import sweep as sweep_module
from schedules.outbox import DeliveryError
from schedules.sweep import RECORD_BATCH, Sweeper
from storage.db import session_scope
from storage.models import Address, Ledger, LedgerStatus, Nudge, Person

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
OWNERS = RECORD_BATCH + 5  # more people than one batch of results holds
ITEMS_EACH = 3


class CountingOutbox:
    """A hand-written fake of the outbox port: what reached each person, and failures."""

    channel = "shell"

    def __init__(self) -> None:
        self.sent: list[tuple[int, object]] = []
        self.fail_next = 0

    async def send(self, address, reply) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise DeliveryError("the chat service said 500")
        self.sent.append((address.person_id, reply))


def _tuesday_morning(clock) -> dt.datetime:
    """9:30 in Chicago on the day after the test clock's Monday."""
    day = clock().astimezone(CHICAGO).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(9, 30), CHICAGO)


def _owners_with_overdue_items(liaison, clock) -> dict[int, set[int]]:
    """OWNERS new people, each owing ITEMS_EACH overdue requests: item ids by owner id."""
    now = clock()
    owed: dict[int, set[int]] = {}
    with session_scope(liaison.engine) as session:
        requester = by_handle(session, "pat")
        for n in range(OWNERS):
            owner = Person(handle=f"owner{n}", display_name=f"Owner {n}", created_at=now)
            session.add(owner)
            session.flush()
            handle = {"channel": "shell", "external_id": owner.handle, "updated_at": now}
            session.add(Address(person_id=owner.id, **handle))
            for k in range(ITEMS_EACH):
                item = commitments.create(
                    session,
                    requester=requester,
                    owner=owner,
                    what=f"Task {k} of owner {n}",
                    due=now.date() - dt.timedelta(days=k + 3),
                    channel="shell",
                    unit_id="finance",
                    now=now - dt.timedelta(days=1),
                )
                owed.setdefault(owner.id, set()).add(item.id)
    return owed


def _ids_in(reply) -> set[int]:
    return {int(re.match(r"#(\d+) ", item.text).group(1)) for item in reply.items}


def _counts(engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        ledgers = session.exec(select(func.count()).select_from(Ledger)).one()
        nudges = session.exec(select(func.count()).select_from(Nudge)).one()
    return ledgers, nudges


def test_one_digest_per_person_with_all_their_items_and_exactly_once(liaison, clock):
    owed = _owners_with_overdue_items(liaison, clock)
    outbox = CountingOutbox()
    sweeper = Sweeper(liaison.engine, liaison.org, {"shell": outbox}, clock)
    at = _tuesday_morning(clock)

    lines = asyncio.run(sweeper.run(at))

    to_owners = [(person, reply) for person, reply in outbox.sent if person in owed]
    assert Counter(person for person, _ in to_owners) == Counter(dict.fromkeys(owed, 1))
    for person, reply in to_owners:
        assert _ids_in(reply) == owed[person]
    assert {line.status for line in lines} == {"sent"} and len(lines) == len(outbox.sent)
    with session_scope(liaison.engine) as session:
        rows = session.exec(select(Ledger).where(Ledger.kind == "digest")).all()
        stored = {Due.from_json(row.payload).person_id: row for row in rows}
        nudged = Counter(session.exec(select(Nudge.commitment_id)).all())
    assert len(rows) == len(stored) and owed.keys() <= stored.keys()
    for person, reply in to_owners:
        row = stored[person]
        assert (row.status, row.attempts) == (LedgerStatus.SENT, 1)
        assert Due.from_json(row.payload).reply == reply  # a retry would send the same
    for items in owed.values():
        assert all(nudged[item] == 1 for item in items)

    before = _counts(liaison.engine)
    assert asyncio.run(sweeper.run(at)) == []  # the same instant again: nothing
    assert asyncio.run(sweeper.run(at + dt.timedelta(hours=3))) == []  # later that day too
    assert len(outbox.sent) == len(lines) and _counts(liaison.engine) == before


def test_failures_in_a_batch_are_each_marked_and_only_they_are_retried(liaison, clock):
    owed = _owners_with_overdue_items(liaison, clock)
    outbox = CountingOutbox()
    outbox.fail_next = 3
    sweeper = Sweeper(liaison.engine, liaison.org, {"shell": outbox}, clock)
    at = _tuesday_morning(clock)

    lines = asyncio.run(sweeper.run(at))

    failed = [line for line in lines if line.status == "failed"]
    assert len(failed) == 3 and len(lines) - 3 == len(outbox.sent)
    with session_scope(liaison.engine) as session:
        marked = session.exec(select(Ledger).where(Ledger.status == LedgerStatus.FAILED)).all()
        nudged = set(session.exec(select(Nudge.commitment_id)).all())
    assert [(row.error, row.attempts) for row in marked] == [("the chat service said 500", 1)] * 3
    unsent = {Due.from_json(row.payload).person_id for row in marked}
    for person in unsent & owed.keys():
        assert not owed[person] & nudged  # a digest not sent counts no nudge

    retried = asyncio.run(sweeper.run(at + dt.timedelta(minutes=5)))
    assert [(line.status, line.retry) for line in retried] == [("sent", True)] * 3
    assert Counter(person for person, _ in outbox.sent) == Counter(
        {person: 1 for person, _ in outbox.sent}
    )


def test_people_known_already_are_not_read_again(liaison):
    with session_scope(liaison.engine) as session:
        pat, lee = by_handle(session, "pat"), by_handle(session, "lee")
        known = commitments.load_people(session, {pat.id})
        pat.timezone = "Asia/Tokyo"  # changed after it was read: `known` keeps what was read
        session.add(pat)
        session.flush()
        found = commitments.load_people(session, {pat.id, lee.id}, known)
        assert found is known and set(found) == {pat.id, lee.id}
        assert found[pat.id].timezone != "Asia/Tokyo" and found[lee.id].handle == "lee"
        assert commitments.load_people(session, {pat.id})[pat.id].timezone == "Asia/Tokyo"


@pytest.mark.parametrize("was_on", [True, False])
def test_the_collector_is_back_as_it_was_after_a_sweep_even_a_failed_one(was_on):
    async def failing_sweep() -> None:
        async with sweep_module._collector_paused():
            assert not gc.isenabled()
            async with sweep_module._collector_paused():  # an overlapping sweep
                pass
            assert not gc.isenabled()  # still off until the last one ends
            raise RuntimeError("the database went away")

    (gc.enable if was_on else gc.disable)()
    try:
        with pytest.raises(RuntimeError):
            asyncio.run(failing_sweep())
        assert gc.isenabled() is was_on
    finally:
        gc.enable()
