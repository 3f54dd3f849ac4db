"""The liaison's escalation digest has buttons: nudge the owner again, take it over, or mark
it as known; each works only for someone who oversees the item's unit."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from handlers.messages import Action, ActionId, Inbound, ReplyKind, Sender
from handlers.people import by_handle
from schedules.sweep import Sweeper
from storage.db import session_scope
from storage.models import Commitment
from tests.integration.test_nudges import RecordingOutbox, ask, local, sweep, unanswered


@pytest.fixture
def outbox() -> RecordingOutbox:
    return RecordingOutbox()


@pytest.fixture
def sweeper(liaison, outbox, clock) -> Sweeper:
    return Sweeper(liaison.engine, liaison.org, {"shell": outbox}, clock)


def press(bot, who: str, action: str, cid: int):
    inbound = Inbound(
        Sender("shell", who, name=who), "dm", action=Action(action, json.dumps({"id": cid}))
    )
    return bot.handle(inbound)


def escalated(liaison, sweeper, outbox) -> tuple[int, object]:
    cid = ask(liaison, "pat", "lee", "Survey the Wi-Fi", dt.date(2026, 11, 20))
    for day in (23, 24, 25):
        sweep(sweeper, local(2026, 11, day, 9, 30))
    (digest,) = outbox.to(liaison, "sam")
    return cid, digest


def test_each_escalated_item_carries_the_three_buttons(liaison, sweeper, outbox):
    cid, digest = escalated(liaison, sweeper, outbox)
    (item,) = digest.items
    assert [(c.label, c.action, json.loads(c.value)) for c in item.choices] == [
        ("Nudge again", ActionId.ESCALATION_NUDGE, {"id": cid}),
        ("Take it over", ActionId.ESCALATION_TAKE, {"id": cid}),
        ("Reassign", ActionId.ESCALATION_REASSIGN, {"id": cid}),
        ("Mark as known", ActionId.ESCALATION_KNOWN, {"id": cid}),
    ]


def test_nudge_again_reaches_the_owner_with_their_buttons(liaison, sweeper, outbox):
    cid, _ = escalated(liaison, sweeper, outbox)
    before = unanswered(liaison, cid)
    said, dm = press(liaison, "sam", ActionId.ESCALATION_NUDGE, cid)
    assert said.reply.text == "Nudged @lee about #1." and said.reply.private
    assert "@sam asks for an update on: #1 Survey the Wi-Fi" in dm.reply.text
    assert dm.to_person is not None and dm.reply.choices  # the owner's own buttons
    assert unanswered(liaison, cid) == before + 1


def test_take_it_over_makes_the_liaison_the_owner_and_tells_both_sides(liaison, sweeper, outbox):
    cid, _ = escalated(liaison, sweeper, outbox)
    mine, *told = press(liaison, "sam", ActionId.ESCALATION_TAKE, cid)
    assert mine.reply.kind == ReplyKind.ACK and "@sam" in mine.reply.text
    assert len(told) == 2 and all("@sam took over" in t.reply.text for t in told)
    with session_scope(liaison.engine) as session:
        item = session.get(Commitment, cid)
        assert (item.owner_id, item.state) == (by_handle(session, "sam").id, "requested")
        told_ids = {t.to_person for t in told}
        assert told_ids == {by_handle(session, "lee").id, by_handle(session, "pat").id}
    assert unanswered(liaison, cid) == 0


def test_mark_as_known_stops_the_escalation_until_new_nudges_go_unanswered(
    liaison, sweeper, outbox
):
    cid, _ = escalated(liaison, sweeper, outbox)
    (said,) = press(liaison, "sam", ActionId.ESCALATION_KNOWN, cid)
    assert said.reply.text.startswith("Noted: #1 won't be raised with you again")
    assert unanswered(liaison, cid) == 0
    sweep(sweeper, local(2026, 11, 26, 9, 30))
    assert len(outbox.to(liaison, "sam")) == 1  # not raised again the next day


def test_only_someone_who_oversees_the_unit_may_press_them(liaison, sweeper, outbox):
    cid, _ = escalated(liaison, sweeper, outbox)
    before = unanswered(liaison, cid)
    for action in (ActionId.ESCALATION_NUDGE, ActionId.ESCALATION_TAKE, ActionId.ESCALATION_KNOWN):
        (refused,) = press(liaison, "pat", action, cid)
        assert "Only the liaison" in refused.reply.text and refused.reply.private
    assert unanswered(liaison, cid) == before


def submit_reassign(bot, who: str, cid: int, owner: str):
    data = {"state": {"id": cid}, "values": {"owner": owner}}
    action = Action(ActionId.REASSIGN_SUBMIT, json.dumps(data))
    return bot.handle(Inbound(Sender("shell", who, name=who), "dm", action=action))


def test_reassign_hands_it_to_the_person_picked_and_tells_everyone(liaison, sweeper, outbox):
    cid, _ = escalated(liaison, sweeper, outbox)
    (refused,) = submit_reassign(liaison, "sam", cid, "@nobody")
    assert refused.reply.kind == ReplyKind.FORM_ERRORS
    mine, *dms = submit_reassign(liaison, "sam", cid, "@dana")
    assert mine.reply.text.startswith("Reassigned to @dana: #1 Survey the Wi-Fi")
    with session_scope(liaison.engine) as session:
        item = session.get(Commitment, cid)
        ids = {h: by_handle(session, h).id for h in ("dana", "lee", "pat")}
    assert item.owner_id == ids["dana"]
    assert {d.to_person for d in dms} == set(ids.values())
    (new_owner,) = [d for d in dms if d.to_person == ids["dana"]]
    assert "@sam hands you" in new_owner.reply.text and new_owner.reply.choices
    assert unanswered(liaison, cid) == 0
