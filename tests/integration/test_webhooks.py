"""Outbound webhooks: an act on a commitment (or an initiative saved, an escalation sent)
becomes a delivery the sweeps post once, signed, to a receiver on 127.0.0.1; a 5xx is retried by
the next sweep, a 410 is not retried; with nothing configured nothing is owed or sent."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import secret_named
from bot.webhooks import WebhookSender
from handlers import commitments, webhooks
from handlers.config_files import ConfigError
from handlers.messages import Reply
from handlers.org import load_organisation
from handlers.owed import OwedMessage
from handlers.people import by_handle
from handlers.webhook_config import WebhooksConfig
from schedules.sweep import Sweeper
from storage.db import session_scope
from storage.models import Ledger, LedgerStatus
from tests.fakes.webhook_receiver import WebhookReceiver

SECRET = b"a secret only the receiver and the bot share"


def configured(org, url: str):
    urls = {event: url for event in ("commitment.changed", "escalation", "initiative.saved")}
    return dataclasses.replace(org, webhooks=WebhooksConfig(urls=urls))


def accept_a_request(engine, org, now: dt.datetime) -> int:
    """pat asks sam for something and sam promises it: one `commitment.changed`, when configured."""
    with session_scope(engine) as session:
        item = commitments.create(
            session,
            requester=by_handle(session, "pat"),
            owner=by_handle(session, "sam"),
            what="Move the printers",
            due=now.date() + dt.timedelta(days=7),
            channel="shell",
            now=now,
        )
        commitments.apply(
            session, org, item.id, by_handle(session, "sam"), "promise", channel="shell", now=now
        )
        return item.id


def rows(engine) -> list[Ledger]:
    with session_scope(engine) as session:
        return list(session.exec(select(Ledger).where(Ledger.kind == webhooks.KIND)).all())


def test_an_act_is_delivered_once_signed_even_when_the_sweep_runs_twice(liaison, clock):
    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            org = configured(liaison.org, receiver.url)
            cid = accept_a_request(liaison.engine, org, clock())
            sender = WebhookSender(liaison.engine, SECRET, timeout=5)
            first = await sender.deliver(clock())
            second = await sender.deliver(clock() + dt.timedelta(minutes=5))
            return cid, receiver, first, second

    cid, receiver, first, second = asyncio.run(scenario())
    assert list(first.values()) == ["sent"] and second == {}
    assert receiver.attempts == 1 and receiver.bad_signatures == 0
    [body] = receiver.received
    assert body["event"] == "commitment.changed" and body["schema"] == 1
    assert body["data"]["commitment"]["id"] == cid and body["data"]["act"] == "promise"
    assert body["data"]["actor"] == "sam" and body["id"] in first
    [row] = rows(liaison.engine)
    assert (row.status, row.attempts) == (LedgerStatus.SENT, 1)


def test_two_sweeps_at_once_post_each_delivery_once(liaison, clock):
    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            org = configured(liaison.org, receiver.url)
            for n in range(5):
                accept_a_request(liaison.engine, org, clock() + dt.timedelta(seconds=n))
            a, b = (WebhookSender(liaison.engine, SECRET, timeout=5) for _ in range(2))
            await asyncio.gather(a.deliver(clock()), b.deliver(clock()))
            return receiver

    receiver = asyncio.run(scenario())
    ids = [body["id"] for body in receiver.received]
    assert len(ids) == 5 and len(set(ids)) == 5 and receiver.attempts == 5


def test_a_500_is_retried_by_the_next_sweep_and_delivered_once(liaison, clock):
    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            receiver.answers = [500]
            org = configured(liaison.org, receiver.url)
            accept_a_request(liaison.engine, org, clock())
            sender = WebhookSender(liaison.engine, SECRET, timeout=5)
            first = await sender.deliver(clock())
            failed = rows(liaison.engine)
            second = await sender.deliver(clock() + dt.timedelta(minutes=5))
            third = await sender.deliver(clock() + dt.timedelta(minutes=10))
            return receiver, first, failed, second, third

    receiver, first, failed, second, third = asyncio.run(scenario())
    assert list(first.values()) == ["failed"]
    assert [(r.status, r.attempts, r.error) for r in failed] == [("failed", 1, "HTTP 500")]
    assert list(second.values()) == ["sent"] and third == {}
    assert receiver.attempts == 2 and len(receiver.received) == 1
    [row] = rows(liaison.engine)
    assert (row.status, row.attempts) == (LedgerStatus.SENT, 2)


def test_a_410_is_recorded_as_rejected_and_not_retried(liaison, clock):
    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            receiver.answers = [410]
            org = configured(liaison.org, receiver.url)
            accept_a_request(liaison.engine, org, clock())
            sender = WebhookSender(liaison.engine, SECRET, timeout=5)
            first = await sender.deliver(clock())
            later = await sender.deliver(clock() + dt.timedelta(hours=1))
            return receiver, first, later

    receiver, first, later = asyncio.run(scenario())
    assert list(first.values()) == [webhooks.REJECTED] and later == {}
    assert receiver.attempts == 1 and receiver.received == []
    [row] = rows(liaison.engine)
    assert (row.status, row.attempts, row.error) == ("rejected", 1, "HTTP 410")


def test_a_receiver_that_does_not_answer_is_retried(liaison, clock):
    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            org = configured(liaison.org, receiver.url)
        # The receiver is gone: nothing listens on its port any more.
        accept_a_request(liaison.engine, org, clock())
        sender = WebhookSender(liaison.engine, SECRET, timeout=2)
        return await sender.deliver(clock())

    assert list(asyncio.run(scenario()).values()) == ["failed"]
    [row] = rows(liaison.engine)
    assert (row.status, row.attempts) == (LedgerStatus.FAILED, 1)


def test_nothing_is_owed_or_sent_when_no_webhook_is_configured(liaison, clock):
    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            assert liaison.org.webhooks.urls == {}
            accept_a_request(liaison.engine, liaison.org, clock())
            done = await WebhookSender(liaison.engine, SECRET, timeout=5).deliver(clock())
            return receiver, done

    receiver, done = asyncio.run(scenario())
    assert done == {} and receiver.attempts == 0 and rows(liaison.engine) == []


def test_the_sweep_posts_an_escalation_it_sent(liaison, clock):
    class Outbox:
        channel = "shell"

        async def send(self, address, reply) -> None:
            pass

    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            org = configured(liaison.org, receiver.url)
            sweeper = Sweeper(liaison.engine, org, {"shell": Outbox()}, clock)
            sweeper.webhooks = WebhookSender(liaison.engine, SECRET, timeout=5)
            with session_scope(liaison.engine) as session:
                lee = by_handle(session, "lee").id
            escalation = OwedMessage("escalation:test:1", "escalation", lee, Reply("#7 is stuck"))
            sweeper._record([(escalation, "sent", None)], clock())
            await sweeper.run(clock())
            return receiver, lee

    receiver, lee = asyncio.run(scenario())
    [body] = receiver.received
    assert body["event"] == "escalation"
    assert body["data"] == {
        "key": "escalation:test:1",
        "recipient_id": lee,
        "commitment_ids": [],
        "text": "#7 is stuck",
    }


def test_the_config_refuses_an_unknown_event_or_a_url_without_a_scheme():
    with pytest.raises(ValueError, match="unknown event"):
        WebhooksConfig(urls={"commitment.deleted": "https://example.org/h"})
    with pytest.raises(ValueError, match="https://"):
        WebhooksConfig(urls={"escalation": "example.org/h"})
    assert WebhooksConfig().urls == {} and WebhooksConfig().secret_env == "LIAISON_WEBHOOK_SECRET"


def test_the_body_has_the_fields_the_json_schema_requires(liaison, clock):
    schema = json.loads((Path(__file__).parents[2] / "docs/webhook.schema.json").read_text())
    org = configured(liaison.org, "https://receiver.example.org/hook")
    accept_a_request(liaison.engine, org, clock())
    [row] = rows(liaison.engine)
    body = json.loads(json.loads(row.payload)["body"])
    assert set(body) == set(schema["properties"]) == set(schema["required"])
    rules = {c["if"]["properties"]["event"]["const"]: c["then"] for c in schema["allOf"]}
    assert set(body["data"]) == set(rules[body["event"]]["properties"]["data"]["required"])
    commitment = schema["$defs"]["commitment"]
    assert set(body["data"]["commitment"]) == set(commitment["required"])
    assert body["data"]["commitment"]["state"] == "promised" and body["occurred_at"].endswith("Z")


def test_the_organisation_toml_reads_webhooks_and_the_secret_comes_from_its_variable(tmp_path):
    config = tmp_path / "liaison.toml"
    config.write_text(
        '[organisation]\nname = "X"\n[webhooks]\nsecret_env = "HOOK_KEY"\n'
        '[webhooks.urls]\n"escalation" = "https://example.org/h"\n'
    )
    org = load_organisation(config)
    assert org.webhooks.url_for("escalation") == "https://example.org/h"
    assert org.webhooks.url_for("commitment.changed") is None
    assert secret_named("HOOK_KEY", {"HOOK_KEY": " s3 "}, dotenv_path=None) == "s3"
    assert secret_named("HOOK_KEY", {}, dotenv_path=None) is None
    config.write_text('[webhooks.urls]\n"escalation" = "ftp://example.org/h"\n')
    with pytest.raises(ConfigError, match="https://"):
        load_organisation(config)


def test_an_initiative_saved_at_the_end_of_its_intake_is_posted(liaison, clock):
    from tests.integration.test_similar import submit

    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            liaison.org = configured(liaison.org, receiver.url)
            await asyncio.to_thread(
                submit, liaison, "pat", "finance", "software_purchase", "New CRM", "2027-03-01"
            )
            await WebhookSender(liaison.engine, SECRET, timeout=5).deliver(clock())
            return receiver

    receiver = asyncio.run(scenario())
    [saved] = [b for b in receiver.received if b["event"] == "initiative.saved"]
    initiative = saved["data"]["initiative"]
    assert (initiative["title"], initiative["unit"]) == ("New CRM", "finance")
    assert initiative["kind"] == "software_purchase" and initiative["target_date"] == "2027-03-01"
    assert receiver.bad_signatures == 0


def test_the_bot_refuses_to_start_with_webhooks_but_no_secret(liaison, monkeypatch, tmp_path):
    from bot.bootstrap import _webhooks
    from bot.config import SettingsError

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("LIAISON_WEBHOOK_SECRET", raising=False)
    org = configured(liaison.org, "https://example.org/hook")
    with pytest.raises(SettingsError, match="LIAISON_WEBHOOK_SECRET"):
        _webhooks(liaison.engine, org)
    assert _webhooks(liaison.engine, liaison.org) is None  # nothing configured, nothing needed
    monkeypatch.setenv("LIAISON_WEBHOOK_SECRET", "s3")
    assert _webhooks(liaison.engine, org).secret == b"s3"


def test_every_failed_delivery_is_retried_in_one_sweep_a_batch_at_a_time(
    liaison, clock, monkeypatch
):
    import bot.webhooks

    monkeypatch.setattr(bot.webhooks, "BATCH", 2)

    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            receiver.answers = [503] * 5
            org = configured(liaison.org, receiver.url)
            for n in range(5):
                accept_a_request(liaison.engine, org, clock() + dt.timedelta(seconds=n))
            sender = WebhookSender(liaison.engine, SECRET, timeout=5)
            first = await sender.deliver(clock())
            second = await sender.deliver(clock() + dt.timedelta(minutes=5))
            return receiver, first, second

    receiver, first, second = asyncio.run(scenario())
    assert list(first.values()) == ["failed"] * 5  # each posted once in the first sweep
    assert list(second.values()) == ["sent"] * 5 and receiver.attempts == 10
    assert len({body["id"] for body in receiver.received}) == 5
