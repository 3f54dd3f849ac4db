"""Webhook retries: a failed delivery waits in the ledger until its `retry_at` (a pause doubling
from a minute, with jitter, or the receiver's Retry-After on 429 and 503), no sweep posts it
sooner or twice, and a receiver that keeps failing is given up after a bounded number of
attempts, with an error line and a metric. Time is the test's clock: nothing sleeps."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging

import pytest

import bot.webhooks
from bot.observability import Metrics
from bot.webhooks import BASE_PAUSE, MAX_PAUSE, MAX_RETRY_AFTER, WebhookSender, pause_after
from handlers import webhooks
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.integration.test_webhooks import SECRET, accept_a_request, configured, rows


def aware(moment: dt.datetime) -> dt.datetime:
    """A time read back from the database (SQLite gives it without its zone), as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def test_the_pause_doubles_with_jitter_and_a_longer_retry_after_wins():
    for attempts in range(1, 8):
        floor = min(BASE_PAUSE * 2 ** (attempts - 1), MAX_PAUSE)
        pauses = {pause_after(attempts, None) for _ in range(50)}
        assert all(floor <= p <= floor + BASE_PAUSE / 2 for p in pauses)
        assert len(pauses) > 1  # jittered, so receivers are not hit in step
    assert MAX_PAUSE <= pause_after(30, None) <= MAX_PAUSE + BASE_PAUSE / 2
    assert pause_after(1, 900.0) == 900.0  # the receiver asked for longer: honoured
    assert BASE_PAUSE <= pause_after(1, 5.0) <= BASE_PAUSE * 1.5  # shorter: the bot's own
    assert pause_after(1, 30 * 24 * 3600.0) == MAX_RETRY_AFTER  # a month: a day at most


def test_a_503_with_retry_after_waits_that_long_in_the_ledger_and_is_posted_once(liaison, clock):
    start = clock()

    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            receiver.answers = [(503, {"Retry-After": "600"})]
            org = configured(liaison.org, receiver.url)
            accept_a_request(liaison.engine, org, start)
            sender = WebhookSender(liaison.engine, SECRET, timeout=5)
            first = await sender.deliver(start)
            [failed] = rows(liaison.engine)
            early = await sender.deliver(start + dt.timedelta(minutes=9))
            on_time = await sender.deliver(start + dt.timedelta(minutes=10))
            after = await sender.deliver(start + dt.timedelta(hours=1))
            return receiver, first, failed, early, on_time, after

    receiver, first, failed, early, on_time, after = asyncio.run(scenario())
    assert list(first.values()) == ["failed"] and early == {} and after == {}
    assert (failed.status, failed.attempts, failed.error) == ("failed", 1, "HTTP 503")
    assert aware(failed.retry_at) == start + dt.timedelta(seconds=600)
    assert list(on_time.values()) == ["sent"]
    assert receiver.attempts == 2 and len(receiver.received) == 1
    [row] = rows(liaison.engine)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_429_with_an_http_date_is_read_against_the_sweeps_clock(liaison, clock):
    start = clock()
    when = email.utils.format_datetime(start + dt.timedelta(hours=2), usegmt=True)

    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            receiver.answers = [(429, {"Retry-After": when})]
            org = configured(liaison.org, receiver.url)
            accept_a_request(liaison.engine, org, start)
            sender = WebhookSender(liaison.engine, SECRET, timeout=5)
            await sender.deliver(start)
            early = await sender.deliver(start + dt.timedelta(minutes=119))
            later = await sender.deliver(start + dt.timedelta(minutes=120))
            return receiver, early, later

    receiver, early, later = asyncio.run(scenario())
    assert early == {} and list(later.values()) == ["sent"] and receiver.attempts == 2
    [row] = rows(liaison.engine)
    assert aware(row.retry_at) == start + dt.timedelta(hours=2)


def test_failures_back_off_and_a_sweep_before_the_pause_posts_nothing(liaison, clock):
    start = clock()

    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            receiver.answers = [500] * 4
            org = configured(liaison.org, receiver.url)
            accept_a_request(liaison.engine, org, start)
            sender = WebhookSender(liaison.engine, SECRET, timeout=5)
            now, pauses, early = start, [], []
            for _ in range(4):
                await sender.deliver(now)
                [row] = rows(liaison.engine)
                due = aware(row.retry_at)
                pauses.append((due - now).total_seconds())
                early.append(await sender.deliver(due - dt.timedelta(seconds=1)))
                now = due
            last = await sender.deliver(now)
            return receiver, pauses, early, last

    receiver, pauses, early, last = asyncio.run(scenario())
    for attempt, pause in enumerate(pauses):
        floor = BASE_PAUSE * 2**attempt
        assert floor <= pause <= floor + BASE_PAUSE / 2
    assert early == [{}] * 4
    assert list(last.values()) == ["sent"] and receiver.attempts == 5
    assert len(receiver.received) == 1


def test_two_sweeps_at_once_post_a_retry_that_is_due_once(liaison, clock):
    start = clock()

    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            receiver.answers = [502, 502, 502]
            org = configured(liaison.org, receiver.url)
            for n in range(3):
                accept_a_request(liaison.engine, org, start + dt.timedelta(seconds=n))
            await WebhookSender(liaison.engine, SECRET, timeout=5).deliver(start)
            due = start + dt.timedelta(hours=1)
            a, b = (WebhookSender(liaison.engine, SECRET, timeout=5) for _ in range(2))
            await asyncio.gather(a.deliver(due), b.deliver(due))
            return receiver

    receiver = asyncio.run(scenario())
    assert receiver.attempts == 6 and len(receiver.received) == 3
    assert len({body["id"] for body in receiver.received}) == 3


def test_a_receiver_that_keeps_failing_is_given_up_with_a_log_line_and_a_metric(
    liaison, clock, monkeypatch, caplog
):
    monkeypatch.setattr(bot.webhooks, "MAX_ATTEMPTS", 3)
    metrics = Metrics()
    start = clock()

    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            receiver.answers = [500] * 10
            org = configured(liaison.org, receiver.url)
            accept_a_request(liaison.engine, org, start)
            sender = WebhookSender(liaison.engine, SECRET, timeout=5)
            sender.on_outcome = metrics.on_webhook
            outcomes = []
            for hours in range(0, 4 * 24, 12):  # a sweep every 12 hours for four days
                done = await sender.deliver(start + dt.timedelta(hours=hours))
                outcomes += list(done.values())
            return receiver, outcomes

    with caplog.at_level(logging.WARNING, logger="liaison.webhooks"):
        receiver, outcomes = asyncio.run(scenario())
    assert outcomes == ["failed", "failed", webhooks.ABANDONED] and receiver.attempts == 3
    [row] = rows(liaison.engine)
    assert (row.status, row.attempts, row.error) == (webhooks.ABANDONED, 3, "HTTP 500")
    [given_up] = [r for r in caplog.records if "given up" in r.getMessage()]
    assert given_up.levelno == logging.ERROR and "after 3 attempts" in given_up.getMessage()
    sample = metrics.registry.get_sample_value
    labels = {"event": "commitment.changed"}
    assert sample("liaison_webhook_deliveries_total", {**labels, "outcome": "failed"}) == 2
    assert sample("liaison_webhook_deliveries_total", {**labels, "outcome": "abandoned"}) == 1


@pytest.mark.parametrize("status", [400, 410])
def test_a_lasting_refusal_has_no_retry_time(liaison, clock, status):
    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            receiver.answers = [(status, {"Retry-After": "60"})]
            org = configured(liaison.org, receiver.url)
            accept_a_request(liaison.engine, org, clock())
            sender = WebhookSender(liaison.engine, SECRET, timeout=5)
            await sender.deliver(clock())
            return await sender.deliver(clock() + dt.timedelta(days=2))

    assert asyncio.run(scenario()) == {}
    [row] = rows(liaison.engine)
    assert (row.status, row.retry_at) == (webhooks.REJECTED, None)
