"""Due dates through the core: doubt is asked about and saves nothing, and the organisation's
day/month order and public holidays reach every place that reads a date or counts business days."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from sqlmodel import func, select

from handlers import commitments
from handlers.core import Liaison
from handlers.dates import BusinessDays, holiday_calendar
from handlers.playbooks import load_catalogue
from schedules.sweep import Sweeper
from storage.db import session_scope
from storage.models import Commitment
from tests.integration.test_conversation import say
from tests.integration.test_nudges import CHICAGO, RecordingOutbox, ask


def _bot(engine, org, clock, **changes):
    org = dataclasses.replace(org, **changes)
    bot = Liaison(engine=engine, org=org, catalogue=load_catalogue(org), clock=clock)
    bot.sync()
    return bot


def _dues(bot) -> list[dt.date | None]:
    with session_scope(bot.engine) as session:
        return list(session.exec(select(Commitment.due).order_by(Commitment.id)))


def _count(bot) -> int:
    with session_scope(bot.engine) as session:
        return session.exec(select(func.count()).select_from(Commitment)).one()


def test_a_due_date_the_bot_is_not_sure_of_is_asked_about_and_saves_nothing(liaison, clock):
    today = clock().date()  # Monday 23 November 2026: the 26th is a Thursday
    [out] = say(liaison, "pat", "commitments ask @sam to send the floor plan by Friday the 26th")
    assert out.reply.text == (
        "26 Nov 2026 is a Thursday, not a Friday. Did you mean Thu 26 Nov 2026 or "
        "Fri 27 Nov 2026? Say 'by 2026-11-26' or 'by 2026-11-27', or give another date. "
        "Nothing was saved."
    )
    assert _count(liaison) == 0
    confirmed = say(liaison, "pat", "commitments ask @sam to send the floor plan by 2026-11-27")
    assert "Asked @sam" in confirmed[0].reply.text
    assert _dues(liaison) == [today + dt.timedelta(days=4)]


def test_an_ambiguous_numeric_date_is_asked_about_without_a_date_order(liaison):
    [out] = say(liaison, "pat", "commitments ask @sam to send the floor plan by 3/12")
    assert "could be day/month or month/day" in out.reply.text
    assert "Say 'by 2026-12-03' or 'by 2027-03-12'" in out.reply.text
    assert _count(liaison) == 0


@pytest.mark.parametrize(
    ("order", "due"), [("DMY", dt.date(2026, 12, 3)), ("MDY", dt.date(2027, 3, 12))]
)
def test_numeric_dates_in_chat_follow_the_organisations_date_order(engine, org, clock, order, due):
    bot = _bot(engine, org, clock, date_order=order)
    out = say(bot, "pat", "commitments ask @sam to send the floor plan by 3/12")
    assert "Asked @sam" in out[0].reply.text
    assert _dues(bot) == [due]


def test_no_digest_goes_out_on_a_public_holiday(engine, org, clock):
    us = BusinessDays(org.business_days, holiday_calendar("US"))
    bot = _bot(engine, org, clock, business_days=us)
    outbox = RecordingOutbox()
    sweeper = Sweeper(bot.engine, bot.org, {"shell": outbox}, clock)
    ask(bot, "pat", "lee", "Order the label printers", dt.date(2026, 11, 24))
    thanksgiving = dt.datetime(2026, 11, 26, 9, 30, tzinfo=CHICAGO)
    assert asyncio.run(sweeper.run(thanksgiving)) == []
    lines = asyncio.run(sweeper.run(thanksgiving + dt.timedelta(days=1)))
    assert [(line.kind, line.handle) for line in lines] == [("digest", "lee")]


def test_a_public_holiday_does_not_count_towards_an_unanswered_request(engine, org, clock):
    four_days = org.thresholds.model_copy(update={"unanswered_business_days": 4})
    plain = dataclasses.replace(org, thresholds=four_days)
    with_holidays = dataclasses.replace(
        plain, business_days=BusinessDays(org.business_days, holiday_calendar("US"))
    )
    bot = _bot(engine, org, clock)
    ask(bot, "pat", "lee", "Order the label printers", None)  # Monday 23 November, 15:00 UTC
    friday = dt.datetime(2026, 11, 27, 15, tzinfo=dt.UTC)  # Tue, Wed, (Thanksgiving), Fri
    with session_scope(bot.engine) as session:
        item = session.exec(select(Commitment)).one()
        assert commitments.stuck_reason(item, friday, plain) == "unanswered"
        assert commitments.stuck_reason(item, friday, with_holidays) is None
