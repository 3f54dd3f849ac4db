"""Microsoft Teams end to end: real HTTP into the bot's /api/messages, real HTTP out to a fake
Bot Framework connector, and the real database behind the core.

The bot is built the way production builds it (bootstrap on a SQLite file with the example
organisation), with the Teams route on an aiohttp application on 127.0.0.1. Activities carry a
serviceUrl that points at the fake connector, so every reply, card update and proactive message
the bot sends is recorded there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email.utils
import http.server
import importlib.util
import json
import struct
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import ClientSession, web
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from bot.bootstrap import bootstrap
from bot.channels.interactions import unseal
from bot.channels.teams import (
    MESSAGE_ACTIONS,
    RetryPolicy,
    TeamsOutbox,
    build_teams,
    render_card,
    render_form_card,
    teams_route,
)
from bot.channels.teams.host import BOTBUILDER, SDKS, BotbuilderHost
from bot.config import Settings
from handlers.messages import Choice, Form, FormField, Item, Reply
from schedules.outbox import DeliveryError
from storage.models import (
    Address,
    Commitment,
    Cycle,
    Initiative,
    IntakeSession,
    Ledger,
    Person,
    RoleAssignment,
)
from tests.conftest import EXAMPLE_CONFIG, ROOT
from tests.fakes.teams_connector import (
    ALEX,
    CARD_TYPE,
    CHANNEL_ID,
    KIM,
    PAT,
    SAM,
    TENANT,
    FakeConnector,
    card_actions,
    card_inputs,
    card_invoke,
    card_text,
    channel_message,
    click,
    members_added,
    message_action_fetch,
    message_action_submit,
    personal_conversation,
    personal_message,
    submit_message,
    task_card,
)
from tests.sealed import sealed_document
from tests.sqlite import migrated_sqlite

APP_ID = "11111111-2222-4333-8444-555555555555"


class RunningBot:
    """The bot's aiohttp app with the Teams route, listening on 127.0.0.1 (port 0)."""

    def __init__(
        self,
        settings: Settings,
        *,
        app_id: str = "",
        app_password: str = "",
        auth_config: Any = None,
        tenant_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.app_id, self.app_password, self.tenant_id = app_id, app_password, tenant_id
        self.auth_config = auth_config  # botbuilder's settings, to point it at a fake OpenID

    async def start(self) -> RunningBot:
        self.app = bootstrap(self.settings)
        self.teams = build_teams(
            self.app.liaison,
            app_id=self.app_id,
            app_password=self.app_password,
            app_type="SingleTenant" if self.tenant_id else "MultiTenant",
            tenant_id=self.tenant_id,
            sdk=self.settings.teams_sdk,
        )
        if self.auth_config is not None:
            self.teams.host = signed_by(self.auth_config, self.settings.teams_sdk)
        self.teams.retry = RetryPolicy(attempts=4, base_delay=0.05)
        web_app = web.Application(client_max_size=1024 * 1024)
        web_app.router.add_post("/api/messages", teams_route(self.teams))
        web_app.on_cleanup.append(self.teams.close)
        self.runner = web.AppRunner(web_app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/api/messages"
        self.http = ClientSession()
        return self

    async def stop(self) -> None:
        await self.http.close()
        await self.runner.cleanup()
        self.app.engine.dispose()

    async def post(
        self,
        activity: Any = None,
        *,
        raw: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else json.dumps(activity)
        headers = {"Content-Type": content_type, **(headers or {})}
        async with self.http.post(self.url, data=data, headers=headers) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

    def session(self) -> Session:
        return Session(self.app.engine)

    def person_id(self, handle: str) -> int:
        with self.session() as session:
            return session.exec(select(Person).where(Person.handle == handle)).one().id

    def count(self, model) -> int:
        with self.session() as session:
            return session.exec(select(func.count()).select_from(model)).one()


def signed_by(cloud: Any, sdk: str) -> Any:
    """A host of `sdk` that takes the tokens of `cloud` (a FakeCloud). The Agents SDK's also
    gets its outgoing tokens locally: there is no Azure app behind the test's app id."""
    if sdk == BOTBUILDER:
        return BotbuilderHost(CloudAdapter(ConfigurationBotFrameworkAuthentication(cloud)), APP_ID)
    from bot.channels.teams.agents import AgentsHost, LocalConnections
    from bot.channels.teams.channel_tokens import ChannelTokens

    tokens = ChannelTokens(
        cloud.APP_ID,
        cloud.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
        cloud.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
    )
    return AgentsHost(cloud.APP_ID, connections=LocalConnections(), tokens=tokens)


@pytest.fixture(params=SDKS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Every Teams test that runs the bot runs it on both SDKs (TEAMS_SDK): botbuilder and
    the Microsoft 365 Agents SDK."""
    return Settings(
        database_url=migrated_sqlite(tmp_path / "liaison.db"),  # current at start-up
        config_path=str(EXAMPLE_CONFIG),
        teams_emulator=True,
        teams_sdk=request.param,
    )


@pytest.fixture
async def connector():
    async with FakeConnector() as fake:
        yield fake


@pytest.fixture
async def bot(settings: Settings, connector: FakeConnector):
    # Depends on the connector so that it stops first and its work in flight can finish.
    running = await RunningBot(settings).start()
    yield running
    await running.stop()


async def offer_card(bot: RunningBot, connector: FakeConnector, text: str):
    """Pat says something in their 1:1 chat; the bot's offer card and its activity id."""
    before = len(connector.messages())
    status, _ = await bot.post(personal_message(connector.service_url, PAT, text))
    assert status == 201
    reply = connector.messages()[before]
    return reply.card, reply.response["id"]


async def execute(
    bot: RunningBot, connector: FakeConnector, user, card, title, inputs=None, *, card_id=None
) -> dict:
    """Press a button (Action.Execute); the refreshed card Teams shows in its place."""
    verb, data = click(card, title, inputs)
    status, body = await bot.post(
        card_invoke(connector.service_url, user, verb, data, reply_to_id=card_id)
    )
    assert status == 200, body
    assert body["statusCode"] == 200 and body["type"] == CARD_TYPE
    return body["value"]


def follows(card: dict, input_id: str) -> dict:
    """The body element right after an input."""
    body = card["body"]
    index = next(i for i, e in enumerate(body) if e.get("id") == input_id)
    return body[index + 1]


# Conversations


async def test_signal_in_personal_chat_gets_an_offer_card(bot, connector):
    activity = personal_message(connector.service_url, PAT, "We're moving buildings in ten months")
    status, _ = await bot.post(activity)

    assert status == 201
    [reply] = connector.messages()
    assert reply.kind == "reply"
    assert reply.conversation_id == personal_conversation(PAT)
    assert reply.activity_id == activity["id"]
    assert reply.body["recipient"]["id"] == PAT.id
    text = reply.text.lower()
    assert "office move" in text and "network" in text and "phones" in text
    actions = card_actions(reply.card)
    assert [a["title"] for a in actions] == ["Plan it with IT", "Not now", "IT isn't needed"]
    assert {a["type"] for a in actions} == {"Action.Execute"}
    assert reply.card["version"] in ("1.4", "1.5")
    # The roster gave Pat's email, so Teams' Pat is the organisation's @pat, now reachable.
    with bot.session() as session:
        address = session.exec(select(Address).where(Address.external_id == PAT.aad)).one()
        assert session.get(Person, address.person_id).handle == "pat"
        reference = json.loads(address.reference)
    assert address.channel == "teams" and address.tenant == TENANT
    assert reference["conversation"]["id"] == personal_conversation(PAT)
    assert reference["serviceUrl"] == connector.service_url


async def test_mention_in_a_channel_and_private_answers_go_to_the_1on1_chat(bot, connector):
    activity = channel_message(connector.service_url, KIM, "we're buying a new CRM for Parks")
    status, _ = await bot.post(activity)

    assert status == 201
    [reply] = connector.messages()
    assert reply.kind == "reply"
    assert reply.conversation_id == activity["conversation"]["id"]  # the message's thread
    assert reply.activity_id == activity["id"]
    assert "software purchase" in reply.text.lower()
    assert "<at>" not in reply.text

    # Someone's commitments are theirs alone: asked in a channel, answered in a 1:1 chat.
    await bot.post(channel_message(connector.service_url, KIM, "commitments mine"))
    [created] = connector.of("create")
    assert created.body["members"] == [{"id": KIM.id}]
    assert {k.lower(): v for k, v in created.body.items()}["tenantid"] == TENANT
    assert created.body["channelData"] == {"tenant": {"id": TENANT}}
    [private] = connector.messages(connector.created[0])
    assert private.kind == "send" and "Your open commitments" in private.text
    in_channel = [c for c in connector.messages() if c.conversation_id.startswith(CHANNEL_ID)]
    assert "1:1 chat" in in_channel[-1].text
    assert "Your open commitments" not in in_channel[-1].text
    with bot.session() as session:
        address = session.exec(select(Address).where(Address.external_id == KIM.aad)).one()
    assert json.loads(address.reference)["conversation"]["id"] == connector.created[0]

    # A Teams @mention names someone the bot has never met: the roster tells who they are.
    ask = channel_message(
        connector.service_url,
        KIM,
        "commitments ask <at>Alex Newcomer</at> to book the community room by next Friday",
        mentions=[ALEX],
    )
    await bot.post(ask)
    in_thread = [c for c in connector.messages() if c.conversation_id.startswith(CHANNEL_ID)]
    # People are real mentions: <at>Name</at> in the text, and an entity naming their id.
    assert "Asked <at>Alex Newcomer</at>" in in_thread[-1].text
    assert "@alex.newcomer" not in in_thread[-1].text
    assert in_thread[-1].mentions[ALEX.aad] == "<at>Alex Newcomer</at>"
    assert in_thread[-1].mentions[KIM.aad] == "<at>Kim Nguyen</at>"
    # Alex never talked to the bot: a 1:1 chat is opened for them, and the request reaches them.
    [to_alex] = connector.messages(connector.created[-1])
    assert "asks you for" in to_alex.text and "community room" in to_alex.text
    with bot.session() as session:
        item = session.exec(select(Commitment)).one()
        owner = session.get(Person, item.owner_id)
    assert owner.email == ALEX.email and item.what.startswith("book the community room")


async def test_everyday_chat_in_a_channel_stores_nothing_and_says_nothing(bot, connector):
    tables = (Person, Address, Ledger, IntakeSession, Initiative)
    before = [bot.count(t) for t in tables]

    chatter = channel_message(
        connector.service_url, ALEX, "anyone up for lunch at noon?", mention_bot=False
    )
    status, _ = await bot.post(chatter)

    assert status == 201
    assert connector.calls == []  # no reply, not even a roster lookup
    assert [bot.count(t) for t in tables] == before

    # A signal in a channel the bot may read (the RSC permission) is offered in its thread,
    # and still creates no person: only "Plan it with IT" would.
    signal = channel_message(
        connector.service_url, ALEX, "We're hiring 12 new nurses in March", mention_bot=False
    )
    await bot.post(signal)
    [offer] = connector.messages()
    assert offer.activity_id == signal["id"] and "staffing" in offer.text.lower()
    assert bot.count(Person) == before[0] and bot.count(Address) == before[1]


async def test_card_driven_intake_reaches_the_database(bot, connector):
    await bot.post(personal_message(connector.service_url, SAM, "hello"))  # Sam is reachable
    card, card_id = await offer_card(bot, connector, "We're moving buildings in ten months")

    form = await execute(bot, connector, PAT, card, "Plan it with IT", card_id=card_id)

    inputs = card_inputs(form)
    assert inputs["f:target_date"]["type"] == "Input.Date"
    assert inputs["f:owner"]["type"] == "Input.Text"
    assert inputs["f:unit"]["type"] == "Input.ChoiceSet"
    roles = inputs["f:roles"]
    assert roles["type"] == "Input.ChoiceSet" and roles["isMultiSelect"] is True
    all_roles = [c["value"] for c in roles["choices"]]
    assert roles["value"] == ",".join(all_roles)  # every role ticked to start with
    keep = all_roles[:3]
    due = dt.date.today() + dt.timedelta(days=300)

    summary = await execute(
        bot,
        connector,
        PAT,
        form,
        "Save",
        {
            "f:unit": "finance",
            "f:title": "Move to the Elm Street building",
            "f:target_date": due.isoformat(),
            "f:owner": "me",
            "f:q:headcount": "about 40 people",
            "f:roles": ",".join(keep),
        },
        card_id=card_id,
    )

    assert "Saved initiative #1" in card_text(summary)
    with bot.session() as session:
        [initiative] = session.exec(select(Initiative)).all()
        pat = session.exec(select(Person).where(Person.handle == "pat")).one()
        sam = session.exec(select(Person).where(Person.handle == "sam")).one()
        assignments = session.exec(select(RoleAssignment)).all()
        items = session.exec(select(Commitment)).all()
    assert initiative.kind == "office_move"
    assert initiative.title == "Move to the Elm Street building"
    assert initiative.unit_id == "finance" and initiative.target_date == due
    assert initiative.requester_id == pat.id and initiative.owner_id == pat.id
    assert {a.role_key for a in assignments} == set(keep)
    assert items and {c.role_key for c in items} <= set(keep)
    assert sam.id in {c.owner_id for c in items}
    # Sam, the unit's liaison, gets a DM listing what he was asked for, with buttons.
    messages = await connector.wait_for_messages(2, personal_conversation(SAM))
    dm = messages[-1]
    assert dm.kind == "send" and "asks you for" in dm.text
    assert "Accept" in [a["title"] for a in card_actions(dm.card)]


async def test_validation_errors_show_on_the_card(bot, connector):
    card, card_id = await offer_card(bot, connector, "We're moving buildings in ten months")

    # Action.Submit: the message's value carries our action id; the card is updated in place.
    _, data = click(card, "Plan it with IT")
    connector.fail_next(1, 502, kinds=("update",))  # a transient error is retried
    status, _ = await bot.post(
        submit_message(connector.service_url, PAT, data, reply_to_id=card_id)
    )
    assert status == 201
    assert [c.status for c in connector.of("update", ok=None)] == [502, 200]
    [update] = connector.of("update")
    assert update.activity_id == card_id
    form = update.card
    assert "f:target_date" in card_inputs(form)

    wrong = {
        "f:unit": "finance",
        "f:title": "",
        "f:target_date": "2001-01-01",
        "f:owner": "@nobody",
    }
    refreshed = await execute(bot, connector, PAT, form, "Save", wrong, card_id=card_id)

    assert "Please check the form." in card_text(refreshed)
    date_error = follows(refreshed, "f:target_date")
    assert date_error["type"] == "TextBlock" and date_error["color"] == "Attention"
    assert "past" in date_error["text"]
    owner_error = follows(refreshed, "f:owner")
    assert "@nobody" in owner_error["text"] and owner_error["color"] == "Attention"
    assert follows(refreshed, "f:title")["color"] == "Attention"
    assert card_inputs(refreshed)["f:owner"]["value"] == "@nobody"  # what they typed stays
    assert bot.count(Initiative) == 0 and bot.count(IntakeSession) == 0

    # The same mistake sent as an Action.Submit re-sends the form with its errors.
    _, data = click(form, "Save", wrong)
    await bot.post(submit_message(connector.service_url, PAT, data, reply_to_id=card_id))
    last = connector.of("update")[-1]
    assert "past" in follows(last.card, "f:target_date")["text"]
    assert bot.count(Initiative) == 0


async def test_action_execute_refreshes_commitment_cards(bot, connector):
    url = connector.service_url
    await bot.post(personal_message(url, SAM, "hello"))
    await bot.post(
        personal_message(url, PAT, "commitments ask @sam to send the floor plan by next Friday")
    )
    asked = (await connector.wait_for_messages(2, personal_conversation(SAM)))[-1]
    assert asked.kind == "send" and "floor plan" in asked.text
    assert [a["title"] for a in card_actions(asked.card)] == [
        "Accept",
        "Decline",
        "Propose another date",
    ]

    accepted = await execute(
        bot, connector, SAM, asked.card, "Accept", card_id=asked.response["id"]
    )

    assert "Got it" in card_text(accepted) and "promised" in card_text(accepted)
    # The refreshed card names people as real mentions, with the entities Teams needs.
    mentioned = {e["mentioned"]["id"]: e["text"] for e in accepted["msteams"]["entities"]}
    assert mentioned[PAT.aad] == "<at>Pat Lee</at>" and "<at>Pat Lee</at>" in card_text(accepted)
    with bot.session() as session:
        assert session.exec(select(Commitment)).one().state == "promised"
    # Pat hears about it in their 1:1 chat, with the requester's buttons.
    pat_messages = await connector.wait_for(
        lambda c: [m for m in c.messages(personal_conversation(PAT)) if "promised" in m.text]
    )
    told = pat_messages[-1]
    assert "New date" in [a["title"] for a in card_actions(told.card)]

    # "New date" needs a date: the card turns into a one-field form, then into the result.
    form = await execute(bot, connector, PAT, told.card, "New date", card_id=told.response["id"])
    assert card_inputs(form)["f:due"]["type"] == "Input.Date"
    new_due = dt.date.today() + dt.timedelta(days=30)
    done = await execute(bot, connector, PAT, form, "Send", {"f:due": new_due.isoformat()})
    assert "Got it" in card_text(done)
    with bot.session() as session:
        assert session.exec(select(Commitment)).one().due == new_due
    told_sam = await connector.wait_for_messages(3, personal_conversation(SAM))
    assert "set a new date" in told_sam[-1].text


async def test_the_input_cycle_questionnaire_is_a_form_on_the_card(bot, connector):
    await bot.post(personal_message(connector.service_url, PAT, "hello"))  # Finance's lead
    cycle = (dt.date.today() + dt.timedelta(days=90)).isoformat()  # the bot's clock is real
    form = bot.app.liaison.cycle_form({"unit": "finance", "cycle": cycle})
    button = Choice("Answer the questions", "cycle.open", form.state, "primary")
    pat = bot.app.liaison.address_of(bot.person_id("pat"), "teams")
    outbox = TeamsOutbox(bot.teams)

    # A reply that carries its form shows the form itself, under the reply's text.
    await outbox.send(pat, Reply("It's input-cycle time for Finance.", (button,), form=form))
    sent = connector.messages(personal_conversation(PAT))[-1]
    assert "input-cycle time" in sent.text and "f:six_months" in card_inputs(sent.card)
    # The button alone opens the same form on the card.
    await outbox.send(pat, Reply("It's input-cycle time for Finance.", (button,)))
    opened = await execute(
        bot, connector, PAT, connector.messages()[-1].card, "Answer the questions"
    )
    assert set(card_inputs(opened)) == {"f:six_months", "f:twelve_months"}

    answers = {"f:six_months": "We're moving to a new building in the spring."}
    thanks = await execute(bot, connector, PAT, sent.card, "Send", answers)

    assert "Thanks!" in card_text(thanks)
    with bot.session() as session:
        cycle = session.exec(select(Cycle)).one()
    assert cycle.unit_id == "finance" and cycle.six_months.startswith("We're moving")
    offers = await connector.wait_for(
        lambda c: [m for m in c.messages(personal_conversation(PAT)) if "office move" in m.text]
    )
    assert "Plan it with IT" in [a["title"] for a in card_actions(offers[-1].card)]


async def test_a_slow_card_action_is_acknowledged_then_updated(bot, connector):
    card, card_id = await offer_card(bot, connector, "We're moving buildings in ten months")
    bot.teams.invoke_budget = 0.0  # as if the database were slow

    refreshed = await execute(bot, connector, PAT, card, "Not now", card_id=card_id)

    assert "Working on it" in card_text(refreshed)
    [update] = await connector.wait_for(lambda c: c.of("update"))
    assert update.activity_id == card_id and "No problem" in update.text


async def test_proactive_messages_survive_a_restart(settings, connector):
    first = await RunningBot(settings).start()
    await first.post(personal_message(connector.service_url, PAT, "hello"))
    await first.post(channel_message(connector.service_url, KIM, "we're buying a new CRM"))
    await first.stop()
    connector.calls.clear()

    # A new process on the same database, on the other SDK: TEAMS_SDK can be switched either
    # way, and the conversation references stored by one are used by the other.
    other = next(sdk for sdk in SDKS if sdk != settings.teams_sdk)
    again = await RunningBot(dataclasses.replace(settings, teams_sdk=other)).start()
    try:
        reply = Reply(
            "Your floor plan is due on Friday.",
            choices=(Choice.of("Done", "commitment.report_done", "primary", id=1),),
        )
        assert await again.teams.send_to_person(again.person_id("pat"), reply) is True
        [sent] = connector.messages()
        assert sent.kind == "send" and sent.conversation_id == personal_conversation(PAT)
        assert "floor plan" in sent.text and sent.body["recipient"]["id"] == PAT.id

        # Kim only ever wrote in a channel: a 1:1 chat is opened first, and remembered.
        assert await again.teams.send_to_person(again.person_id("kim"), Reply("Hi Kim")) is True
        [created] = connector.of("create")
        assert created.body["members"] == [{"id": KIM.id}]
        assert connector.messages(connector.created[0])[0].text == "Hi Kim"

        # Dana never talked to the bot on Teams: nothing to send to, and nothing sent.
        calls = len(connector.calls)
        assert await again.teams.send_to_person(again.person_id("dana"), Reply("Hi")) is False
        assert len(connector.calls) == calls

        # The sweeps' outbox sends the same way, and raises when Teams keeps refusing.
        outbox = TeamsOutbox(again.teams)
        pat = again.app.liaison.address_of(again.person_id("pat"), "teams")
        await outbox.send(pat, Reply("Nudge: the floor plan is overdue."))
        assert "overdue" in connector.messages(personal_conversation(PAT))[-1].text
        connector.fail_next(10, 504)
        with pytest.raises(DeliveryError):
            await outbox.send(pat, Reply("Nudge again"))
    finally:
        await again.stop()


async def test_a_new_user_is_greeted_once(settings, connector):
    first = await RunningBot(settings).start()
    await first.post(members_added(connector.service_url, ALEX))
    await first.post(members_added(connector.service_url, ALEX))
    await first.stop()
    again = await RunningBot(settings).start()
    try:
        await again.post(members_added(connector.service_url, ALEX, [ALEX.account()]))

        [greeting] = connector.messages(personal_conversation(ALEX))
        assert "Hi Alex" in greeting.text and "commitments" in greeting.text
        with again.session() as session:
            address = session.exec(select(Address).where(Address.external_id == ALEX.aad)).one()
        assert json.loads(address.reference)["conversation"]["conversationType"] == "personal"

        # Installed in a team: one short introduction in the channel, once.
        await again.post(members_added(connector.service_url, PAT, scope="team"))
        await again.post(members_added(connector.service_url, PAT, scope="team"))
        intros = connector.messages(CHANNEL_ID)
        assert len(intros) == 1 and "Hi everyone" in intros[0].text
    finally:
        await again.stop()


# The HTTP edge


async def test_requests_without_a_valid_token_are_refused_when_an_app_id_is_set(
    settings, connector
):
    secured = await RunningBot(settings, app_id=APP_ID, app_password="not-a-real-secret").start()
    try:
        activity = personal_message(connector.service_url, PAT, "We're buying a new CRM")
        assert (await secured.post(activity))[0] == 401
        forged = {"Authorization": "Bearer not-a-token"}
        assert (await secured.post(activity, headers=forged))[0] == 401
        assert connector.calls == []
        assert secured.count(Person) == 5  # the organisation's people, nobody new
    finally:
        await secured.stop()


class OpenIdServer:
    """A stand-in for the Bot Framework's OpenID metadata and signing keys, with a key pair of
    our own, so that tokens can be signed the way the Bot Connector signs them. A thread of its
    own: botbuilder fetches the keys with a blocking call."""

    ISSUER = "https://api.botframework.com"
    KID = "test-signing-key"

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.KID, use="sig", endorsements=["msteams"])
        keys = json.dumps({"keys": [jwk]}).encode()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/openid":
                    body = json.dumps({"issuer": server.ISSUER, "jwks_uri": f"{server.url}/keys"})
                    self._send(body.encode())
                elif self.path == "/keys":
                    self._send(keys)
                else:
                    self.send_error(404)

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, service_url: str, *, key=None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.ISSUER,
            "aud": APP_ID,
            "serviceurl": service_url,
            "nbf": now - 60,
            "exp": now + 3600,
            **claims,
        }
        signer = key or self.key
        return jwt.encode(payload, signer, algorithm="RS256", headers={"kid": self.KID})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass(frozen=True)
class FakeCloud:
    """botbuilder's settings for a bot registered in a cloud whose keys `OpenIdServer` holds."""

    APP_ID: str
    APP_PASSWORD: str
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str = OpenIdServer.ISSUER
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""


async def test_a_properly_signed_token_is_taken_and_every_flaw_in_one_is_refused(
    settings, connector
):
    keys = OpenIdServer()
    cloud = FakeCloud(APP_ID, "not-a-real-secret", f"{keys.url}/openid")
    secured = await RunningBot(
        settings, app_id=APP_ID, app_password="not-a-real-secret", auth_config=cloud
    ).start()
    try:
        url = connector.service_url
        # Channel chatter: the bot takes it and says nothing, so no reply needs a token of its own.
        activity = channel_message(url, PAT, "Lunch at noon, anyone?", mention_bot=False)
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        flawed = {
            "signed by another key": keys.token(url, key=other_key),
            "for another bot": keys.token(url, aud="99999999-2222-4333-8444-555555555555"),
            "expired": keys.token(url, exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200),
            "from another issuer": keys.token(url, iss="https://example.org"),
            "for another connector": keys.token("https://smba.example.org/amer/"),
        }
        for why, token in flawed.items():
            status, _ = await secured.post(activity, headers={"Authorization": f"Bearer {token}"})
            assert status == 401, why
        good = {"Authorization": f"Bearer {keys.token(url)}"}
        # A good token, for a channel its signing key does not endorse (only "msteams").
        elsewhere = {**activity, "channelId": "directline"}
        assert (await secured.post(elsewhere, headers=good))[0] == 401
        assert (await secured.post(activity, headers=good))[0] in (200, 201)
        assert connector.calls == []
    finally:
        await secured.stop()
        keys.close()


async def test_malformed_requests_get_a_4xx_and_the_server_keeps_serving(bot, connector):
    good = personal_message(connector.service_url, PAT, "We're moving buildings in ten months")
    cases = [
        ({"raw": "this is not json"}, 400),
        ({"raw": "[1, 2, 3]"}, 400),
        ({"raw": json.dumps(good), "content_type": "text/plain"}, 415),
        ({"activity": {"type": "message"}}, 400),
        ({"activity": {**good, "type": ""}}, 400),
        ({"activity": {**good, "serviceUrl": "file:///etc/passwd"}}, 400),
        ({"activity": {**good, "from": "pat"}}, 400),
        ({"activity": {**good, "conversation": {}}}, 400),
        ({"activity": {**good, "entities": {"type": "mention"}}}, 400),
        ({"activity": {**good, "entities": [1, 2]}}, 400),
        ({"activity": {**good, "text": 42}}, 400),
        ({"activity": {**good, "channelData": "x"}}, 400),
        ({"activity": {**good, "type": "invoke", "name": "adaptiveCard/action", "value": 3}}, 400),
    ]
    for kwargs, expected in cases:
        status, body = await bot.post(**kwargs)
        assert status == expected, (kwargs, status, body)

    assert connector.calls == []
    status, _ = await bot.post(good)
    assert status == 201
    assert "office move" in connector.messages()[-1].text.lower()


async def test_throttled_proactive_sends_back_off_and_retry(bot, connector):
    await bot.post(personal_message(connector.service_url, PAT, "hello"))
    pat = bot.person_id("pat")
    connector.calls.clear()

    connector.fail_next(1, 429, retry_after=1)
    connector.fail_next(1, 502)
    connector.fail_next(1, 412)
    started = time.monotonic()
    assert await bot.teams.send_to_person(pat, Reply("Ping")) is True

    sends = connector.of("send", ok=None)
    assert [c.status for c in sends] == [429, 502, 412, 201]
    assert sends[1].at - sends[0].at >= 1.0  # Retry-After was honoured
    assert time.monotonic() - started < 5

    # A bounded retry: a send that keeps failing gives up and says so. (From here the pauses
    # of the shared breaker, which these failures open, are made short: no timing is checked.)
    breaker = bot.teams.breaker
    breaker.first_pause, breaker.pause, breaker.max_pause = 0.05, 0.05, 0.2
    connector.calls.clear()
    connector.fail_next(10, 504)
    assert await bot.teams.send_to_person(pat, Reply("Ping")) is False
    assert len(connector.of("send", ok=None)) == bot.teams.retry.attempts
    # A Retry-After beyond what a send may wait is not waited out.
    connector.calls.clear()
    connector.clear_failures()
    connector.fail_next(1, 429, retry_after=3600)
    assert await bot.teams.send_to_person(pat, Reply("Ping")) is False
    assert len(connector.of("send", ok=None)) == 1


async def test_throttled_sends_honour_a_retry_after_given_as_an_http_date(bot, connector):
    """Retry-After may be an HTTP date (RFC 9110): Teams reads it as Slack does, not as a
    number it cannot parse (which would retry at once, into the same throttling)."""
    await bot.post(personal_message(connector.service_url, PAT, "hello"))
    pat = bot.person_id("pat")
    connector.calls.clear()
    # HTTP dates have whole seconds: two seconds on is a pause of more than one.
    connector.fail_next(1, 429, retry_after=email.utils.formatdate(time.time() + 2, usegmt=True))

    assert await bot.teams.send_to_person(pat, Reply("Ping")) is True

    sends = connector.of("send", ok=None)
    assert [c.status for c in sends] == [429, 201]
    assert sends[1].at - sends[0].at >= 0.95


async def test_a_reply_teams_keeps_refusing_is_kept_and_sent_later_by_the_sweeps(bot, connector):
    """Past the retries, a reply is not dropped: it is kept for the sweeps, as on Slack."""
    await bot.post(personal_message(connector.service_url, PAT, "hello"))  # known, reachable
    connector.calls.clear()
    connector.fail_next(100, 504, kinds=("reply",))

    moving = "We're moving buildings in ten months"
    status, _ = await bot.post(personal_message(connector.service_url, PAT, moving))

    assert status == 201
    assert len(connector.of("reply", ok=None)) == bot.teams.retry.attempts
    with bot.session() as session:
        (kept,) = session.exec(select(Ledger).where(Ledger.kind == "deferred")).all()
    assert kept.status == "failed" and "office move" in kept.payload.lower()
    assert kept.key.startswith(f"deferred:{bot.person_id('pat')}:")


# Rendering


def test_render_card_shows_text_facts_items_and_buttons():
    reply = Reply(
        "Your open commitments:\n⚠ One is overdue",
        choices=(Choice.of("Plan it with IT", "offer.plan", "primary", kind="office_move"),),
        items=(
            Item("*You owe* (1)"),
            Item("#4 Phones — @sam for @pat", (Choice.of("Done", "commitment.report_done", id=4),)),
        ),
        facts=(("Roles IT often plays", "Network, Phones"),),
    )

    card = render_card(reply)

    assert card["type"] == "AdaptiveCard" and card["version"] in ("1.4", "1.5")
    lines = card_text(card).splitlines()
    assert lines[0] == "Your open commitments:"
    assert card["body"][1]["color"] == "Attention"
    assert "Roles IT often plays: Network, Phones" in lines
    assert "**You owe** (1)" in lines
    done, plan = card_actions(card)  # the item's button, then the card's own
    assert plan["verb"] == "offer.plan" and plan["style"] == "positive"
    assert sealed_document(plan["data"]["value"]) == {"kind": "office_move"}
    assert plan["data"]["act"] == "offer.plan"
    assert done["verb"] == "commitment.report_done"
    item = card["body"][-1]
    assert item["type"] == "Container" and item["items"][-1]["type"] == "ActionSet"


def test_render_card_keeps_within_teams_limits():
    many = tuple(Choice.of(f"Unit {n}", "intake.answer", answer=n) for n in range(9))
    items = tuple(Item(f"Item {n}") for n in range(30))
    card = render_card(Reply("x" * 9000, choices=many, items=items))

    assert "actions" not in card  # more than Teams shows in a row: ActionSets in the body
    assert len(card_actions(card)) == 9
    assert "…and 10 more." in card_text(card)
    assert len(json.dumps(card)) < 28_000


def test_render_form_card_has_the_right_inputs_and_errors_next_to_fields():
    form = Form(
        "intake",
        "Plan: Office move",
        (
            FormField("kind", "Kind?", "choice", options=(("office_move", "Office move"),)),
            FormField("title", "What?", initial="Move"),
            FormField("target_date", "When?", "date"),
            FormField("owner", "Who owns it?", "person"),
            FormField("notes", "Notes", "long_text", optional=True),
            FormField("roles", "Roles", "roles", options=(("a", "A"), ("b", "B")), initial="a,b"),
        ),
        state='{"kind":"office_move"}',
    )

    card = render_form_card(form, (("target_date", "That's in the past."), ("x", "Other.")))

    inputs = card_inputs(card)
    assert inputs["f:kind"]["type"] == "Input.ChoiceSet" and inputs["f:kind"]["style"] == "compact"
    assert inputs["f:title"] == {**inputs["f:title"], "type": "Input.Text", "value": "Move"}
    assert inputs["f:target_date"]["type"] == "Input.Date"
    assert "@name" in inputs["f:owner"]["placeholder"]
    assert inputs["f:notes"]["isMultiline"] is True
    assert inputs["f:roles"]["isMultiSelect"] is True and inputs["f:roles"]["value"] == "a,b"
    assert follows(card, "f:target_date")["text"] == "That's in the past."
    assert "Other." in card_text(card)
    save, cancel = card["actions"]
    assert save["verb"] == "intake.submit" and save["data"]["form"] == "intake"
    assert unseal(save["data"]["state"], "intake") == form.state
    assert save["data"]["multi"] == ["roles"]
    assert cancel["verb"] == "form.cancel" and cancel["associatedInputs"] == "none"


# The app package


def test_the_teams_app_package_builds(tmp_path):
    out = tmp_path / "teams-app.zip"
    result = subprocess.run(
        [sys.executable, str(ROOT / "teams" / "package.py"), "--app-id", APP_ID, "--out", out],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        sizes = {name: _png_size(package.read(name)) for name in ("color.png", "outline.png")}
    assert sizes == {"color.png": (192, 192), "outline.png": (32, 32)}
    assert "{{" not in json.dumps(manifest)
    assert float(manifest["manifestVersion"]) >= 1.16
    assert manifest["id"] == APP_ID
    for key in ("version", "developer", "name", "description", "icons", "accentColor"):
        assert manifest[key], key
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    titles = {c["title"] for cl in bot["commandLists"] for c in cl["commands"]}
    assert {"help", "plan", "commitments mine"} <= titles
    permissions = {p["name"] for p in manifest["authorization"]["permissions"]["resourceSpecific"]}
    assert permissions == {"ChannelMessage.Read.Group", "ChatMessage.Read.Chat"}
    assert manifest["webApplicationInfo"]["id"] == APP_ID
    [extension] = manifest["composeExtensions"]  # the message actions the bot answers
    assert extension["botId"] == APP_ID
    commands = {c["id"]: c for c in extension["commands"]}
    assert set(commands) == set(MESSAGE_ACTIONS)
    assert all(c["type"] == "action" and c["context"] == ["message"] for c in commands.values())
    assert all(c["fetchTask"] for c in commands.values())

    bad = subprocess.run(
        [
            sys.executable,
            str(ROOT / "teams" / "package.py"),
            "--app-id",
            "not-a-guid",
            "--out",
            tmp_path / "bad.zip",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "app id" in bad.stderr.lower()


def test_the_committed_icons_are_what_make_icons_draws():
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "teams" / "make_icons.py")
    make_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icons)

    assert (ROOT / "teams" / "color.png").read_bytes() == make_icons.color_icon()
    assert (ROOT / "teams" / "outline.png").read_bytes() == make_icons.outline_icon()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def test_local_mode_answers_only_this_machine(bot, connector):
    """Without an app id, the endpoint refuses a remote caller and a remote serviceUrl."""
    from aiohttp.test_utils import make_mocked_request

    from bot.channels.teams import teams_route

    activity = personal_message(connector.service_url, PAT, "We're buying a new CRM")
    remote = personal_message("https://smba.trafficmanager.net/amer/", PAT, "We're buying a CRM")
    assert (await bot.post(remote))[0] == 403  # a connector elsewhere, even from this machine
    handler = teams_route(bot.app.teams)
    body = json.dumps(activity).encode()
    request = make_mocked_request(
        "POST", "/api/messages", headers={"Content-Type": "application/json"}, payload=None
    ).clone(remote="203.0.113.9")  # a caller on another machine, with a loopback serviceUrl

    async def read() -> bytes:
        return body

    request.read = read  # the body a remote caller would send
    response = await handler(request)
    assert response.status == 403
    assert connector.calls == []
    assert bot.count(Person) == 5  # nobody was created


# Message actions ("..." > More actions on any message)


async def test_track_as_commitment_on_a_message_opens_a_dialog_and_saves(bot, connector):
    url = connector.service_url
    await bot.post(personal_message(url, SAM, "hello"))  # Sam is reachable for his DM
    html = "<p>Sam will send the <b>floor plans</b> to facilities&nbsp;&amp; IT</p>"
    said = len(connector.messages())
    status, answer = await bot.post(message_action_fetch(url, PAT, "trackCommitment", html))
    assert status == 200
    form = task_card(answer)
    inputs = card_inputs(form)
    assert inputs["f:what"]["value"] == "Sam will send the floor plans to facilities\xa0& IT"
    [submit] = card_actions(form)
    assert submit["type"] == "Action.Submit"  # what a dialog takes (not Action.Execute)
    assert len(connector.messages()) == said  # the dialog is the answer: nothing is posted

    due = dt.date.today() + dt.timedelta(days=10)  # the running bot's clock is the real one
    _, data = click(form, "Track", {"f:owner": "@sam", "f:due": due.isoformat()})
    status, answer = await bot.post(message_action_submit(url, PAT, "trackCommitment", data))
    assert status == 200 and answer["task"]["type"] == "message"
    assert "floor plans" in answer["task"]["value"]
    with bot.session() as session:
        [item] = session.exec(select(Commitment)).all()
        sam = session.exec(select(Person).where(Person.handle == "sam")).one()
    assert item.owner_id == sam.id and item.due == due
    assert item.what.startswith("Sam will send the floor plans")
    dm = (await connector.wait_for_messages(2, personal_conversation(SAM)))[-1]
    assert dm.kind == "send" and "floor plans" in dm.text
    assert "Accept" in [a["title"] for a in card_actions(dm.card)]


async def test_a_message_action_form_with_mistakes_comes_back_with_them(bot, connector):
    url = connector.service_url
    status, answer = await bot.post(message_action_fetch(url, PAT, "trackCommitment", "<p></p>"))
    assert status == 200
    form = task_card(answer)
    _, data = click(form, "Track", {"f:what": "", "f:owner": "@nobody"})
    status, answer = await bot.post(message_action_submit(url, PAT, "trackCommitment", data))
    assert status == 200
    again = task_card(answer)  # the dialog stays open, with the errors
    assert "Please check the form." in card_text(again)
    assert "@nobody" in follows(again, "f:owner")["text"]
    assert card_inputs(again)["f:owner"]["value"] == "@nobody"  # what they typed stays
    assert bot.count(Commitment) == 0


async def test_plan_it_with_it_on_a_message_reads_the_signal_and_saves_an_initiative(
    bot, connector
):
    url = connector.service_url
    html = "<div>Heads up: we're moving to the Elm Street building in March</div>"
    status, answer = await bot.post(message_action_fetch(url, PAT, "planWithIt", html))
    assert status == 200
    form = task_card(answer)
    inputs = card_inputs(form)
    assert "Elm Street" in inputs["f:title"]["value"]
    assert "f:roles" in inputs and "office" in card_text(form).lower()
    due = dt.date.today() + dt.timedelta(days=120)
    _, data = click(
        form, "Save", {"f:unit": "finance", "f:target_date": due.isoformat(), "f:owner": "me"}
    )
    status, answer = await bot.post(message_action_submit(url, PAT, "planWithIt", data))
    assert status == 200
    assert answer["task"]["type"] == "message" and "Saved initiative #1" in answer["task"]["value"]
    with bot.session() as session:
        [initiative] = session.exec(select(Initiative)).all()
    assert initiative.kind == "office_move" and initiative.target_date == due
    assert initiative.source_link and initiative.source_link.startswith("https://teams.microsoft")


@pytest.mark.parametrize(
    ("name", "command", "data"),
    [
        ("composeExtension/fetchTask", "somethingNew", None),
        ("composeExtension/submitAction", "trackCommitment", {"form": "other"}),
        ("composeExtension/submitAction", "trackCommitment", "not an object"),
    ],
)
async def test_unknown_message_actions_and_stale_forms_get_a_sentence(
    bot, connector, name, command, data
):
    if name.endswith("fetchTask"):
        activity = message_action_fetch(connector.service_url, PAT, command, "<p>hi</p>")
    else:
        activity = message_action_submit(connector.service_url, PAT, command, data)
    status, answer = await bot.post(activity)
    assert status == 200 and answer["task"]["type"] == "message"
    assert answer["task"]["value"]
    assert bot.count(Commitment) == 0 and connector.messages() == []


async def test_a_promise_in_personal_chat_is_offered_and_tracked_from_the_card(bot, connector):
    said = "I'll send the floor plans to facilities by Friday"
    card, card_id = await offer_card(bot, connector, said)
    assert "send the floor plans to facilities" in card_text(card)
    assert bot.count(Commitment) == 0
    done = await execute(bot, connector, PAT, card, "Track it", card_id=card_id)
    assert "Tracking it" in card_text(done)
    with bot.session() as session:
        (item,) = session.exec(select(Commitment)).all()
    assert item.state == "promised" and item.what == "send the floor plans to facilities"


async def test_a_message_that_finds_the_database_away_is_answered_once_it_is_back(
    bot, connector, monkeypatch
):
    """Teams does not send a message again: the bot acknowledges it, waits for the database,
    then answers in the same conversation."""
    bot.teams.retrier.delays = (0.05, 0.1, 0.2)
    handle = bot.app.liaison.handle
    outage = {"left": 2}

    def flaky(inbound):
        if outage["left"]:
            outage["left"] -= 1
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return handle(inbound)

    monkeypatch.setattr(bot.app.liaison, "handle", flaky)
    activity = personal_message(connector.service_url, PAT, "We're moving buildings in ten months")
    status, _ = await bot.post(activity)
    assert status == 201  # acknowledged, not a 500
    [offer] = await connector.wait_for_messages(1, personal_conversation(PAT))
    assert "office move" in offer.text.lower() and outage["left"] == 0


# Who may knock: tenants, tokens before bodies, and requests that never finish


async def test_an_activity_from_another_tenant_is_refused_and_links_nobody(settings, connector):
    running = await RunningBot(settings, tenant_id=TENANT).start()
    try:
        people = running.count(Person)
        outsider = personal_message(connector.service_url, PAT, "We're buying a new CRM")
        outsider["channelData"] = {"tenant": {"id": "tenant-elsewhere"}}
        outsider["conversation"]["tenantId"] = "tenant-elsewhere"
        status, answer = await running.post(outsider)
        assert status == 403 and "one Microsoft 365 tenant" in answer["error"]
        assert connector.calls == [] and running.count(Person) == people
        status, _ = await running.post(personal_message(connector.service_url, PAT, "hello"))
        assert status == 201  # the organisation's own tenant is answered
    finally:
        await running.stop()


async def test_a_request_without_a_token_is_refused_before_its_body_is_parsed(settings):
    running = await RunningBot(settings, app_id=APP_ID, app_password="pw").start()
    try:
        deep = "[" * 200_000 + "]" * 200_000  # a parser's recursion limit, many times over
        assert (await running.post(raw=deep))[0] == 401
        fake = {"Authorization": "Bearer eyJhbGciOi.eyJzdWIiOiIx.c2ln"}
        status, answer = await running.post(raw=deep, headers=fake)
        assert status == 400 and answer == {"error": "The body is not JSON."}  # never a 500
    finally:
        await running.stop()


async def test_a_request_whose_body_never_finishes_gets_a_408(bot, monkeypatch):
    from bot.channels import http

    monkeypatch.setattr(http, "BODY_SECONDS", 0.5)
    port = int(bot.url.split(":")[2].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"type": '
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    assert status_line.startswith(b"HTTP/1.1 408")
    writer.close()


async def test_a_replayed_command_activity_acts_once(bot, connector):
    """The same message activity (the same id) posted again is acknowledged and changes
    nothing: a typed command is claimed by its activity id before the core acts."""
    url = connector.service_url
    await bot.post(personal_message(url, SAM, "hello"))
    ask = personal_message(url, PAT, "commitments ask @sam to send the floor plan by next Friday")
    for _ in range(3):
        status, _ = await bot.post(ask)
        assert status == 201
    await connector.wait_for_messages(2, personal_conversation(SAM))
    with bot.session() as session:
        assert len(session.exec(select(Commitment)).all()) == 1
    assert len(connector.messages(personal_conversation(SAM))) == 2  # "hello" answer + one ask
