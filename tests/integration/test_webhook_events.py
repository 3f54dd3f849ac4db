"""The webhook events of a new commitment (`commitment.created`) and of an edited initiative
(`initiative.changed`: its title, date, owner or a role), posted signed to a receiver on
127.0.0.1, each with the fields docs/webhook.schema.json requires."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import datetime as dt
import json
from pathlib import Path

from bot.webhooks import WebhookSender
from handlers.messages import Inbound, Sender
from handlers.webhook_config import EVENTS, WebhooksConfig
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.integration.test_similar import submit
from tests.integration.test_webhooks import SECRET

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "docs/webhook.schema.json").read_text())


def every_event(org, url: str):
    return dataclasses.replace(org, webhooks=WebhooksConfig(urls=dict.fromkeys(EVENTS, url)))


def say(bot, who: str, text: str) -> str:
    inbound = Inbound(Sender("shell", who, name=who), "dm", text=text, is_direct=True)
    return bot.handle(inbound)[0].reply.text


def delivered(liaison, clock, steps) -> WebhookReceiver:
    """Run `steps(bot)` with every event configured, then one sweep; the receiver."""

    async def scenario():
        async with WebhookReceiver(SECRET) as receiver:
            liaison.org = every_event(liaison.org, receiver.url)
            await asyncio.to_thread(steps, liaison)
            await WebhookSender(liaison.engine, SECRET, timeout=5).deliver(clock())
            return receiver

    receiver = asyncio.run(scenario())
    assert receiver.bad_signatures == 0 and receiver.received
    for body in receiver.received:
        assert_fits_the_schema(body)
    return receiver


def assert_fits_the_schema(body: dict) -> None:
    """The fields the schema requires, for the envelope, each event's data and its parts."""
    assert set(body) == set(SCHEMA["required"]) and body["event"] in EVENTS
    assert body["event"] in SCHEMA["properties"]["event"]["enum"]
    rules = {c["if"]["properties"]["event"]["const"]: c["then"] for c in SCHEMA["allOf"]}
    data_rules = rules[body["event"]]["properties"]["data"]
    assert set(body["data"]) == set(data_rules["required"])
    for name in ("commitment", "initiative"):
        if name in body["data"]:
            assert set(body["data"][name]) == set(SCHEMA["$defs"][name]["required"])
    if body["data"].get("role"):
        role = SCHEMA["$defs"]["role"]
        assert set(body["data"]["role"]) == set(role["required"])
        cell = set(role["properties"]["assignments"]["items"]["required"])
        assert all(set(c) == cell for c in body["data"]["role"]["assignments"])


def of(receiver, event: str) -> list[dict]:
    return [body["data"] for body in receiver.received if body["event"] == event]


def test_a_request_asked_in_chat_is_posted_as_created(liaison, clock):
    receiver = delivered(
        liaison, clock, lambda bot: say(bot, "pat", "commitments ask @sam move the printers")
    )
    [created] = of(receiver, "commitment.created")
    assert created["act"] == "request" and created["actor"] == "pat"
    assert created["from_state"] is None
    assert created["commitment"]["what"] == "move the printers"
    assert created["commitment"]["state"] == "requested"
    assert of(receiver, "commitment.changed") == []


def test_an_initiative_saved_posts_each_commitment_it_made(liaison, clock):
    when = (clock().date() + dt.timedelta(days=90)).isoformat()
    receiver = delivered(
        liaison,
        clock,
        lambda bot: submit(bot, "pat", "finance", "software_purchase", "New CRM", when),
    )
    [saved] = of(receiver, "initiative.saved")
    created = of(receiver, "commitment.created")
    assert sorted(c["commitment"]["id"] for c in created) == sorted(saved["commitment_ids"])
    assert len(created) > 1
    assert {c["commitment"]["initiative_id"] for c in created} == {saved["initiative"]["id"]}


def test_each_edit_of_an_initiative_is_posted_with_what_changed(liaison, clock):
    when = (clock().date() + dt.timedelta(days=90)).isoformat()
    later = (clock().date() + dt.timedelta(days=120)).isoformat()

    def steps(bot):
        submit(bot, "pat", "finance", "software_purchase", "New CRM", when)
        say(bot, "sam", "commitments initiative 1 title Acme CRM")
        say(bot, "pat", f"commitments initiative 1 date by {later}")
        say(bot, "sam", "commitments initiative 1 owner @kim")
        say(bot, "sam", "commitments initiative 1 role security consulted @dana")
        say(bot, "sam", "commitments initiative 1 role implementation none")

    receiver = delivered(liaison, clock, steps)
    changes = of(receiver, "initiative.changed")
    assert [(c["field"], c["before"], c["after"], c["actor"]) for c in changes[:3]] == [
        ("title", "New CRM", "Acme CRM", "sam"),
        ("date", when, later, "pat"),
        ("owner", "@pat", "@kim", "sam"),
    ]
    assert all(c["role"] is None for c in changes[:3])
    consulted, dropped = changes[3:]
    assert consulted["field"] == "role" and consulted["actor"] == "sam"
    assert consulted["role"]["key"] == "security_review"
    assert consulted["after"].endswith("C: business @pat · C: IT @dana")
    dana = [c for c in consulted["role"]["assignments"] if c["letter"] == "C"][-1]
    assert dana["party"] == "it" and isinstance(dana["person_id"], int)
    assert dropped["role"] == {
        "key": "implementation",
        "title": "Implementation",
        "assignments": [],
    }
    assert dropped["after"] == "Implementation: none"
    assert changes[-1]["initiative"]["title"] == "Acme CRM"


def test_every_commitment_the_bot_creates_can_be_posted():
    """Each call of `commitments.create` in the bot's handlers passes the organisation, which
    is what owes the `commitment.created` webhook."""
    calls = []
    for path in sorted((ROOT / "handlers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "create"
                and isinstance(func.value, ast.Name)
                and func.value.id == "commitments"
            ):
                calls.append((path.name, {k.arg for k in node.keywords}))
    assert len(calls) >= 4
    assert [name for name, keywords in calls if "org" not in keywords] == []
