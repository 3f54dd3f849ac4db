"""Microsoft Teams: the Bot Framework (botbuilder's CloudAdapter) on the shared aiohttp server.

This is the only module that imports botbuilder. The SDK is archived upstream (its successor is
Microsoft's Agents SDK), so a later move touches this file alone.

The adapter stays thin, like the Slack one: it turns activities into Inbound messages, hands them
to the core in a worker thread (the core is synchronous and talks to the database), and renders
the Outgoing replies as Adaptive Cards. Teams wants an answer to a card action within 5 seconds,
so slow work finishes after the acknowledgement and reports back in the conversation.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import json
import logging
import re
import urllib.parse
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from botbuilder.core import (
    ActivityHandler,
    BotAdapter,
    InvokeResponse,
    TurnContext,
    serializer_helper,
)
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)

from bot.channels.interactions import (
    ACT_FORM,
    FORM_IDS,
    MAX_ITEMS,
    Destination,
    TTLCache,
    clip,
    destination,
    field_errors,
    form_for_button,
    intake_data,
    keep_for_later,
    read_json,
    rebuild_form,
    submission,
)
from bot.channels.interactions import deliver as deliver_each
from bot.lifecycle import InFlight
from bot.retry import Retrier, RetryPolicy, once_the_database_answers, retry_after_seconds
from handlers.core import Liaison
from handlers.messages import (
    Action,
    Choice,
    Form,
    FormField,
    Inbound,
    Item,
    Outgoing,
    Reply,
    Sender,
)
from schedules.outbox import DeliveryError
from storage.models import Address

log = logging.getLogger("liaison.teams")

CHANNEL = "teams"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
INVOKE_BUDGET = 4.0  # seconds: an adaptiveCard/action invoke must be answered within 5
TURN_BUDGET = 4.5  # seconds: answer the HTTP request, and finish longer turns afterwards
SENDER_TTL = 3600.0  # seconds a looked-up sender (name, email) is reused
RETRY_STATUSES = frozenset({412, 429, 502, 504})
MAX_FACTS = 12
MAX_CARD_ACTIONS = 6
MAX_TEXT = 4000
# The message actions (a message's "..." > More actions) in teams/manifest.json, and the form
# each opens: they do what Slack's message shortcuts do.
MESSAGE_ACTIONS = {"trackCommitment": "commitment", "planWithIt": "intake"}

GREETING = (
    "Hi{name}! I'm the IT Liaison Bot. I help your unit and IT spot the IT side of what's "
    "coming up, agree who does what, and keep track of who promised what to whom.\n"
    '• Tell me what\'s coming up ("we\'re moving buildings in May", "we\'re buying a new CRM") '
    "and I'll offer to plan it with IT.\n"
    "• In a channel, @mention me with the news; I only read a channel's messages when your "
    "admin allows it.\n"
    "• Type **commitments** to see what you owe and what's owed to you, **plan** to start "
    "planning something, or **help** for everything I understand."
)
TEAM_GREETING = (
    "Hi everyone! I'm the IT Liaison Bot. When your plans have an IT side (a purchase, a move, "
    "new staff, an event, a data project), @mention me with the news and I'll offer to plan it "
    "with IT. Chat with me directly and type **help** to see what else I can do."
)


# Settings and construction


@dataclass(frozen=True)
class BotConfig:
    """The settings botbuilder's ConfigurationBotFrameworkAuthentication reads by name."""

    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""


def build_teams(
    liaison: Liaison,
    *,
    app_id: str | None,
    app_password: str | None,
    app_type: str | None = "MultiTenant",
    tenant_id: str | None = None,
    in_flight: InFlight | None = None,
) -> TeamsChannel:
    """The Bot Framework adapter and the bot. An empty app id runs unauthenticated (local or
    emulator mode); with an app id, requests without a valid token are refused."""
    app_id = (app_id or "").strip()
    if app_id:
        config = BotConfig(app_id, app_password or "", app_type or "MultiTenant", tenant_id or "")
    else:
        config = BotConfig()
    # msrest warns about every field Teams adds that the archived schema doesn't know (the
    # roster's teamsChannelId, an invoke's trigger...): noise, not news.
    logging.getLogger("msrest.serialization").setLevel(logging.ERROR)
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    return TeamsChannel(
        liaison, adapter, app_id, tenant_id or None, in_flight=in_flight or InFlight()
    )


def teams_route(channel: TeamsChannel) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for POST /api/messages."""
    if not channel.app_id:
        log.warning(
            "Teams runs WITHOUT authentication (no app id): it answers only this machine, for "
            "local testing and the Bot Framework Emulator. Never expose this endpoint publicly."
        )

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _refuse(415, "Send the activity as application/json.")
        try:
            body = json.loads(await request.text())
        except (ValueError, UnicodeDecodeError):
            return _refuse(400, "The body is not JSON.")
        problem = check_activity(body)
        if problem:
            return _refuse(400, problem)
        try:
            activity = Activity().deserialize(body)
        except Exception:  # msrest raises several kinds for badly typed fields
            return _refuse(400, "The body is not a valid activity.")
        if not channel.app_id and not (
            _loopback(f"http://{request.remote}/") and _loopback(activity.service_url)
        ):
            # Unauthenticated local mode: only a caller and a connector on this machine (the
            # Emulator, the tests). The caller is the TCP peer, which a body cannot fake.
            return _refuse(
                403,
                "Without MICROSOFT_APP_ID the bot runs in local mode and only answers "
                "requests from this machine, with a serviceUrl on localhost.",
            )
        auth_header = request.headers.get("Authorization", "")
        try:
            auth = await channel.adapter.bot_framework_authentication.authenticate_request(
                activity, auth_header
            )
        except PermissionError:
            return _refuse(401, "Unauthorized.")
        except Exception as exc:  # a malformed token, or the signing keys could not be read
            log.warning("teams: request refused, token not accepted: %s", type(exc).__name__)
            return _refuse(401, "Unauthorized.")
        turn = asyncio.ensure_future(
            channel.adapter.process_activity(auth, activity, channel.bot.on_turn)
        )
        try:
            invoke_response = await asyncio.wait_for(asyncio.shield(turn), channel.turn_budget)
        except TimeoutError:
            channel.keep(turn)  # acknowledged now; the turn finishes and reports on its own
            if activity.type == ActivityTypes.invoke:
                return web.json_response(_invoke_body(_note_card(WORKING)))
            return web.Response(status=202)
        except Exception:
            log.exception("teams: the %s activity failed", activity.type)
            return _refuse(500, "The bot could not handle this activity.")
        if invoke_response:
            body = invoke_response.body
            if hasattr(body, "serialize"):
                body = serializer_helper(body)
            return web.json_response(body, status=invoke_response.status)
        return web.Response(status=201)

    return handle


def _loopback(url: str | None) -> bool:
    """Is this service URL on this machine (localhost, 127.0.0.0/8 or ::1)?"""
    host = urllib.parse.urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_activity(body: Any) -> str | None:
    """Why a request body is not an activity we can answer, or None when it is."""
    if not isinstance(body, dict):
        return "The body must be a JSON object (an activity)."
    if not isinstance(body.get("type"), str) or not body["type"].strip():
        return "The activity has no type."
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not re.match(r"^https?://\S+$", service_url):
        return "The activity has no serviceUrl."
    if not isinstance(body.get("channelId"), str) or not body["channelId"]:
        return "The activity has no channelId."
    for key in ("conversation", "from", "recipient"):
        part = body.get(key)
        if not isinstance(part, dict) or not isinstance(part.get("id"), str) or not part["id"]:
            return f"The activity has no {key}.id."
    for key in ("entities", "membersAdded", "membersRemoved", "attachments"):
        if key in body and body[key] is not None and not isinstance(body[key], list):
            return f"The activity's {key} must be a list."
    if body.get("channelData") is not None and not isinstance(body["channelData"], dict):
        return "The activity's channelData must be an object."
    if body.get("text") is not None and not isinstance(body["text"], str):
        return "The activity's text must be a string."
    return None


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


# The channel


WORKING = "Working on it… I'll post the result here in a moment."


@dataclass
class Judged:
    """What the core made of a submitted form: its replies, or the form with field errors."""

    outgoing: list[Outgoing]
    form: Form | None = None
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class TeamsChannel:
    liaison: Liaison
    adapter: CloudAdapter
    app_id: str = ""
    tenant_id: str | None = None
    invoke_budget: float = INVOKE_BUDGET
    turn_budget: float = TURN_BUDGET
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    retrier: Retrier = field(default_factory=Retrier)  # messages that found the database away
    in_flight: InFlight = field(default_factory=InFlight)  # work that outlives its request
    bot: ActivityHandler = field(init=False)
    _senders: TTLCache[str, Sender] = field(
        default_factory=lambda: TTLCache(SENDER_TTL), init=False
    )
    _remembered: TTLCache[str, str] = field(
        default_factory=lambda: TTLCache(SENDER_TTL), init=False
    )

    def __post_init__(self) -> None:
        self.bot = _LiaisonBot(self)

    # Plumbing

    async def core(self, inbound: Inbound) -> list[Outgoing]:
        return await asyncio.to_thread(self.liaison.handle, inbound)

    def keep(self, future: Awaitable) -> asyncio.Future:
        """Run work after the acknowledgement, holding a reference until it is done."""
        task = self.in_flight.start(future)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Future) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("teams: background work failed", exc_info=task.exception())

    async def close(self, _app: web.Application | None = None) -> None:
        """Let work that outlived its request finish (the server's on_cleanup)."""
        await self.retrier.stop()
        pending = self.in_flight.pending()
        if pending:
            await asyncio.wait(pending, timeout=10)

    async def sender(
        self, turn_context: TurnContext, account: ChannelAccount | None = None
    ) -> Sender:
        """Who wrote (or, given an account, someone they mentioned): name, email, time zone,
        tenant. The email comes from the member roster; answers are cached for an hour."""
        activity = turn_context.activity
        user = account or activity.from_property
        key = user.id if account is None else f"mentioned:{user.id}"
        cached = self._senders.get(key)
        if cached is not None:
            return cached
        name, email, aad = user.name, None, user.aad_object_id
        try:
            member = await TeamsInfo.get_member(turn_context, user.id)
            upn = member.user_principal_name or ""
            email = member.email or (upn if "@" in upn and "#EXT#" not in upn else None)
            name = name or member.name
            aad = aad or member.aad_object_id
        except Exception as exc:
            log.info("teams: no roster entry for %s: %s", user.id, _describe(exc))
        sender = Sender(
            CHANNEL,
            aad or user.id,
            name=name or None,
            email=email.lower() if email else None,
            timezone=_zone(activity.local_timezone) if account is None else None,
            tenant=_tenant(activity),
        )
        self._senders.put(key, sender)
        return sender

    async def remember(self, turn_context: TurnContext, sender: Sender) -> None:
        """Keep how to reach this person later, so proactive messages survive restarts. A
        1:1 chat is preferred: a channel's reference never replaces a personal one."""
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        reference.activity_id = None
        text = json.dumps(reference.serialize(), sort_keys=True, separators=(",", ":"))
        if self._remembered.get(sender.external_id) == text:
            return
        if not _is_personal(reference):
            person_id = await asyncio.to_thread(self.liaison.register, sender)
            stored = await asyncio.to_thread(self.liaison.address_of, person_id, CHANNEL)
            known = _reference(stored.reference) if stored and stored.reference else None
            if known is not None and _is_personal(known):
                self._remembered.put(sender.external_id, text)
                return
        await asyncio.to_thread(self.liaison.remember_reference, sender, text)
        self._remembered.put(sender.external_id, text)

    # Sending

    def activity_for(self, reply: Reply) -> Activity:
        """A plain message for one line of text, an Adaptive Card for everything else."""
        if _is_plain(reply):
            return Activity(
                type=ActivityTypes.message, text=_md(reply.text), text_format="markdown"
            )
        return card_activity(render_card(reply), summary=reply.text)

    async def send(self, turn_context: TurnContext, activity: Activity) -> None:
        """A message into the conversation of this turn."""
        await self.with_retry(lambda: turn_context.send_activity(activity), "reply")

    async def deliver(self, turn_context: TurnContext, outgoing: list[Outgoing]) -> None:
        """Replies into this conversation; DMs to other people; private answers asked for in
        a channel go to the asker's 1:1 chat, never to the channel."""
        personal = _is_personal_activity(turn_context.activity)
        told_private = False

        async def send(out: Outgoing) -> None:
            nonlocal told_private
            where = destination(out, private_place=personal)
            if where is Destination.PERSON:
                await self.send_to_person(out.to_person, out.reply, refused=DeliveryError)
            elif where is Destination.PRIVATE:
                told_private = await self._private(turn_context, out.reply, told_private)
            else:
                await self.send(turn_context, self.activity_for(out.reply))

        async def asker() -> int | None:
            return await asyncio.to_thread(self.liaison.register, await self.sender(turn_context))

        async def keep(out: Outgoing, why: str) -> None:
            await keep_for_later(self.liaison, out, asker, why)

        # with_retry has already waited out throttling: what still fails is kept for the sweeps
        await deliver_each(
            outgoing,
            send,
            failures=(Exception,),
            describe=_describe,
            passing=lambda _exc: False,
            retrier=self.retrier,
            keep=keep,
            what="teams send",
        )

    async def _private(self, turn_context: TurnContext, reply: Reply, told: bool) -> bool:
        """Send a private answer to the asker's 1:1 chat; say so in the thread once."""
        sender = await self.sender(turn_context)
        person_id = await asyncio.to_thread(self.liaison.register, sender)
        sent = await self.send_to_person(person_id, reply)
        if not told:
            note = (
                "I've sent you the answer in our 1:1 chat."
                if sent
                else "That answer is just for you, and I can't message you privately yet. "
                "Open a chat with me and ask again there."
            )
            await self.send(turn_context, _text_activity(note))
        return True

    async def send_to_person(
        self, person_id: int, reply: Reply, *, refused: type[Exception] | None = None
    ) -> bool:
        """A proactive message to a person's 1:1 chat with the bot; False when it could not
        be sent (no Teams address, or Teams refused it after the retries). With `refused`,
        a refusal raises instead, so the caller can keep the message for later."""
        address = await asyncio.to_thread(self.liaison.address_of, person_id, CHANNEL)
        if address is None or not address.reference:
            log.info("teams: person %s has no Teams conversation reference; not sent", person_id)
            return False
        try:
            await self.send_to_address(address, reply)
        except DeliveryError as exc:
            if refused is not None:
                raise
            log.warning("teams: could not message person %s: %s", person_id, exc)
            return False
        return True

    async def send_to_address(self, address: Address, reply: Reply) -> None:
        """Send through a stored conversation reference (opening the 1:1 chat first when
        only a channel's is known), or raise DeliveryError."""
        reference = _reference(address.reference) if address.reference else None
        if reference is None or not reference.service_url or reference.user is None:
            raise DeliveryError(f"teams: no usable conversation reference for {address.id}")
        try:
            if not _is_personal(reference):
                tenant = address.tenant or _reference_tenant(reference) or self.tenant_id
                reference = await self.with_retry(
                    lambda: self._open_personal(reference, tenant), "create conversation"
                )
                text = json.dumps(reference.serialize(), sort_keys=True, separators=(",", ":"))
                sender = Sender(CHANNEL, address.external_id, tenant=tenant)
                await asyncio.to_thread(self.liaison.remember_reference, sender, text)
            activity = self.activity_for(reply)
            await self.with_retry(lambda: self._continue(reference, activity), "proactive send")
        except Exception as exc:
            raise DeliveryError(f"teams: {_describe(exc)}") from exc

    async def _continue(self, reference: ConversationReference, activity: Activity) -> None:
        async def send(turn_context: TurnContext) -> None:
            _own_the_retries(turn_context)
            # A new message, not a reply to the adapter's synthetic continuation event.
            turn_context.activity.id = None
            await turn_context.send_activity(activity)

        await self.adapter.continue_conversation(reference, send, bot_app_id=self.app_id)

    async def _open_personal(
        self, reference: ConversationReference, tenant: str | None
    ) -> ConversationReference:
        params = ConversationParameters(
            is_group=False,
            bot=reference.bot,
            members=[ChannelAccount(id=reference.user.id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )
        created: dict[str, str] = {}

        async def opened(turn_context: TurnContext) -> None:
            created["id"] = turn_context.activity.conversation.id

        await self.adapter.create_conversation(
            self.app_id,
            opened,
            params,
            channel_id=reference.channel_id or "msteams",
            service_url=reference.service_url,
        )
        return ConversationReference(
            channel_id=reference.channel_id or "msteams",
            service_url=reference.service_url,
            bot=reference.bot,
            user=reference.user,
            locale=reference.locale,
            conversation=ConversationAccount(
                id=created["id"], conversation_type="personal", tenant_id=tenant
            ),
        )

    async def with_retry(self, attempt: Callable[[], Awaitable[Any]], what: str) -> Any:
        """Run one Bot Framework call, backing off on 429, 412, 502 and 504."""
        tries = 0
        while True:
            try:
                return await attempt()
            except ErrorResponseException as exc:
                status = _status(exc)
                wait = (
                    self.retry.delay(tries, _retry_after(exc)) if status in RETRY_STATUSES else None
                )
                if wait is None:
                    raise
                log.info("teams: %s got HTTP %s; retrying in %.2fs", what, status, wait)
                tries += 1
                await asyncio.sleep(wait)

    # Turns

    async def on_message(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if (activity.from_property.role or "").lower() == "bot":
            return
        if isinstance(activity.value, dict) and not (activity.text or "").strip():
            await self.on_submit(turn_context, activity.value)
            return
        text, mentioned = strip_bot_mention(activity)
        personal = _is_personal_activity(activity)
        direct = personal or mentioned
        if not direct and self.liaison.detect(text) is None:
            return  # everyday chat: nothing stored, nothing said
        sender = await self.sender(turn_context)
        if direct:
            await self.remember(turn_context, sender)
        if direct and text.lower().startswith("commitments"):
            text = await self.name_mentioned(turn_context, text)
        inbound = Inbound(
            sender,
            conversation_key(activity),
            text=text,
            message_id=activity.id,
            link=message_link(activity),
            is_direct=direct,
        )

        async def answer() -> None:
            await self.deliver(turn_context, await self.core(inbound))

        await once_the_database_answers(self.retrier, f"teams message {activity.id}", answer)

    async def name_mentioned(self, turn_context: TurnContext, text: str) -> str:
        """In a command, "ask <at>Alex Newcomer</at> ..." names someone the core may not know
        yet: register them from the roster (with their email), as Slack does for a mentioned
        user, and write them as the @handle commands understand."""
        for account, markup in mentioned_people(turn_context.activity):
            person = await self.sender(turn_context, account)
            person_id = await asyncio.to_thread(self.liaison.register, person)
            handle = await asyncio.to_thread(self.liaison.handle_of, person_id)
            text = text.replace(markup, f"@{handle}")
        return text

    async def on_submit(self, turn_context: TurnContext, data: dict) -> None:
        """An Action.Submit: a message whose value carries our action id and data."""
        verb = data.get("act")
        if not isinstance(verb, str) or not verb:
            if _is_personal_activity(turn_context.activity):
                await self.send(
                    turn_context,
                    _text_activity("I didn't recognise that button. It may be from an old card."),
                )
            return
        card, rest = await self.card_action(turn_context, verb, data)
        if card is not None:
            await self.replace_card(turn_context, card)
        await self.deliver(turn_context, rest)

    async def on_execute(self, turn_context: TurnContext, action: dict) -> dict:
        """An Action.Execute: answer with a refreshed card within Teams' 5 seconds."""
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        verb = action.get("verb") if isinstance(action.get("verb"), str) else None
        verb = verb or (data.get("act") if isinstance(data.get("act"), str) else "")
        work = asyncio.ensure_future(self.card_action(turn_context, verb, data))
        try:
            card, rest = await asyncio.wait_for(asyncio.shield(work), self.invoke_budget)
        except TimeoutError:
            self.keep(self._finish_late(turn_context, work))
            return _note_card(WORKING)
        except Exception:
            log.exception("teams: card action %s failed", verb)
            return _note_card("Sorry, that didn't work. Nothing was changed; please try again.")
        if rest:
            self.keep(self.deliver(turn_context, rest))
        return card or _note_card("Done.")

    async def _finish_late(self, turn_context: TurnContext, work: asyncio.Future) -> None:
        card, rest = await work
        if card is not None:
            await self.replace_card(turn_context, card)
        await self.deliver(turn_context, rest)

    async def replace_card(self, turn_context: TurnContext, card: dict) -> None:
        """Show the result in place of the card that was clicked (or below it)."""
        activity = card_activity(card)
        card_id = turn_context.activity.reply_to_id
        if card_id:
            activity.id = card_id
            try:
                await self.with_retry(lambda: turn_context.update_activity(activity), "update")
                return
            except Exception as exc:
                log.info("teams: could not update card %s: %s", card_id, _describe(exc))
            activity = card_activity(card)
        await self.send(turn_context, activity)

    async def card_action(
        self, turn_context: TurnContext, verb: str, data: dict
    ) -> tuple[dict | None, list[Outgoing]]:
        """A button or a form: the refreshed card, and the other replies to deliver."""
        activity = turn_context.activity
        value = data.get("value") if isinstance(data.get("value"), str) else ""
        if verb == "form.cancel":
            return _note_card("OK, nothing was saved."), []
        if data.get("form") in FORM_IDS:
            return await self.submit_form(turn_context, verb, data)
        button = read_json(value)
        if verb == "offer.plan":
            button.setdefault("conv", conversation_key(activity))
            button.setdefault("mid", activity.reply_to_id)
        opens = form_for_button(self.liaison, verb, button)
        if isinstance(opens, Reply):
            return _note_card(opens.text), []
        if opens is not None:
            return render_form_card(opens), []
        sender = await self.sender(turn_context)
        inbound = Inbound(
            sender, conversation_key(activity), action=Action(verb, value), is_direct=True
        )
        return _split(await self.core(inbound))

    async def submit_form(
        self, turn_context: TurnContext, verb: str, data: dict
    ) -> tuple[dict | None, list[Outgoing]]:
        judged = await self.judge_form(turn_context, verb, data)
        if judged.errors:
            return render_form_card(judged.form, judged.errors, judged.values), []
        return _split(judged.outgoing)

    async def judge_form(self, turn_context: TurnContext, verb: str, data: dict) -> Judged:
        """Hand a submitted form to the core: its answer, or the form again with the errors."""
        form_id = data["form"]
        state_text = data.get("state") if isinstance(data.get("state"), str) else ""
        state = read_json(state_text)
        values = form_values(data)
        if form_id == ACT_FORM and not verb.startswith("commitment."):
            return Judged([Outgoing(Reply("I didn't recognise that form."))])
        action = submission(form_id, state, values)
        sender = await self.sender(turn_context)
        conversation = str(state.get("conv") or conversation_key(turn_context.activity))
        outgoing = await self.core(Inbound(sender, conversation, action=action, is_direct=True))
        errors = field_errors(outgoing)
        form = rebuild_form(self.liaison, form_id, state_text) if errors else None
        if form is not None:
            return Judged(outgoing, form, errors, values)
        return Judged(outgoing)

    # Message actions: a task module (dialog) with the form, then its submission

    async def on_fetch_task(self, turn_context: TurnContext) -> dict:
        """ "Track as commitment" or "Plan it with IT" on a message: the form, filled in from
        the message, in a dialog."""
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        payload = (
            value.get("messagePayload") if isinstance(value.get("messagePayload"), dict) else {}
        )
        text = message_payload_text(payload)
        conv = conversation_key(activity)
        mid = payload.get("id") if isinstance(payload.get("id"), str) else None
        command = MESSAGE_ACTIONS.get(str(value.get("commandId") or ""))
        if command == "commitment":
            state = json.dumps({"conv": conv, "mid": mid}, separators=(",", ":"))
            return task_form(self.liaison.commitment_form(text, state=state))
        if command == "intake":
            data = intake_data(self.liaison, text, conv, mid, payload.get("linkToMessage"))
            return task_form(self.liaison.intake_form(data))
        return task_message("I don't know that action. The app may need an update.")

    async def on_submit_action(self, turn_context: TurnContext) -> dict:
        """The dialog's form came back: the same form again with its errors, or a one-line
        result in the dialog; the people it concerns get their DMs."""
        value = turn_context.activity.value
        data = value.get("data") if isinstance(value, dict) else None
        if not isinstance(data, dict) or data.get("form") not in MESSAGE_ACTIONS.values():
            return task_message("That form is out of date. Nothing was saved; please start again.")
        verb = data.get("act") if isinstance(data.get("act"), str) else ""
        try:
            judged = await self.judge_form(turn_context, verb, data)
        except Exception:
            log.exception("teams: message action form %s failed", data.get("form"))
            return task_message("Sorry, that didn't work. Nothing was saved; please try again.")
        if judged.errors:
            return task_form(judged.form, judged.errors, judged.values)
        mine = [o for o in judged.outgoing if o.to_person is None]
        self.keep(self.deliver(turn_context, [o for o in judged.outgoing if o.to_person]))
        return task_message(mine[0].reply.text if mine else "Done.")

    async def welcome(self, turn_context: TurnContext) -> None:
        """The bot was installed, or someone joined its 1:1 chat: greet once, remember them."""
        activity = turn_context.activity
        user = activity.from_property
        if user is None or (activity.recipient and user.id == activity.recipient.id):
            return
        sender = await self.sender(turn_context)
        await self.remember(turn_context, sender)
        if _is_personal_activity(activity):
            key = f"greet:teams:{sender.external_id}"
            text = GREETING.format(name=f" {sender.name.split()[0]}" if sender.name else "")
        else:
            key = f"greet:teams:conversation:{_team_id(activity) or conversation_key(activity)}"
            text = TEAM_GREETING
        if await asyncio.to_thread(self.liaison.first_time, key):
            await self.send(turn_context, self.activity_for(Reply(text, kind="greeting")))


class TeamsOutbox:
    """The sweeps' way to message someone on Teams (throttling is retried by the channel)."""

    channel = CHANNEL

    def __init__(self, teams: TeamsChannel) -> None:
        self.teams = teams

    async def send(self, address: Address, reply: Reply) -> None:
        await self.teams.send_to_address(address, reply)


class _LiaisonBot(ActivityHandler):
    """botbuilder's dispatch, delegating each kind of activity to the channel."""

    def __init__(self, channel: TeamsChannel) -> None:
        self.channel = channel

    async def on_turn(self, turn_context: TurnContext) -> None:
        _own_the_retries(turn_context)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await self.channel.on_message(turn_context)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if _is_personal_activity(activity) or any(m.id == bot_id for m in members_added):
            await self.channel.welcome(turn_context)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self.channel.welcome(turn_context)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if activity.name == "composeExtension/fetchTask":
            return _task_response(await self.channel.on_fetch_task(turn_context))
        if activity.name == "composeExtension/submitAction":
            return _task_response(await self.channel.on_submit_action(turn_context))
        if activity.name != "adaptiveCard/action":
            answer = await super().on_invoke_activity(turn_context)  # sign-in, health checks
            if answer is None or answer.status == 501:
                # botbuilder's "Not Implemented" would be a server error for what is a request
                # the bot does not take (task/fetch, messaging extensions, names Teams adds).
                name = str(activity.name or "")[:80]
                return _invoke_error("NotSupported", f"This bot does not handle '{name}' invokes.")
            return answer
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            return _invoke_error("BadRequest", "Expected an Action.Execute.")
        card = await self.channel.on_execute(turn_context, action)
        return InvokeResponse(status=200, body=_invoke_body(card))


def _task_response(body: dict) -> InvokeResponse:
    return InvokeResponse(status=200, body=body)


def _invoke_error(code: str, message: str) -> InvokeResponse:
    """A 400 in the shape Teams expects from an invoke it sent wrongly or the bot does not take."""
    error = {"code": code, "message": message}
    body = {"statusCode": 400, "type": "application/vnd.microsoft.error", "value": error}
    return InvokeResponse(status=400, body=body)


# Reading activities


def strip_bot_mention(activity: Activity) -> tuple[str, bool]:
    """The message without the bot's own @mention, and whether the bot was mentioned. Other
    people's mentions stay, so that "ask <at>Pat</at> ..." still names Pat."""
    text = activity.text or ""
    bot = activity.recipient
    mentioned = False
    for entity in activity.entities or []:
        if (getattr(entity, "type", None) or "").lower() != "mention":
            continue
        props = getattr(entity, "additional_properties", None) or {}
        who = props.get("mentioned")
        if isinstance(who, dict) and bot is not None and who.get("id") == bot.id:
            mentioned = True
            markup = props.get("text")
            if isinstance(markup, str) and markup:
                text = text.replace(markup, " ")
    if bot is not None and bot.name:
        pattern = rf"<at[^>]*>\s*{re.escape(bot.name)}\s*</at>"
        text, found = re.subn(pattern, " ", text, flags=re.IGNORECASE)
        mentioned = mentioned or bool(found)
    text = re.sub(r"</?(?!at\b)[a-z][a-z0-9]*(?:\s[^<>]*)?/?>", " ", text, flags=re.IGNORECASE)
    text = html.unescape(text)
    return " ".join(text.split()), mentioned


def mentioned_people(activity: Activity) -> list[tuple[ChannelAccount, str]]:
    """The people (not the bot) a message @mentions, with their mention markup."""
    bot_id = activity.recipient.id if activity.recipient else None
    found: dict[str, tuple[ChannelAccount, str]] = {}
    for entity in activity.entities or []:
        if (getattr(entity, "type", None) or "").lower() != "mention":
            continue
        props = getattr(entity, "additional_properties", None) or {}
        who = props.get("mentioned")
        if not isinstance(who, dict) or not isinstance(who.get("id"), str) or who["id"] == bot_id:
            continue
        name = who.get("name") if isinstance(who.get("name"), str) else None
        markup = props.get("text") if isinstance(props.get("text"), str) else f"<at>{name}</at>"
        found.setdefault(who["id"], (ChannelAccount(id=who["id"], name=name), markup))
    return list(found.values())[:10]


def conversation_key(activity: Activity) -> str:
    """The conversation as units and intakes know it: a channel's id (without the thread), or
    the chat's id."""
    channel = _channel_data(activity).get("channel")
    if isinstance(channel, dict) and isinstance(channel.get("id"), str) and channel["id"]:
        return channel["id"]
    return (activity.conversation.id or "").split(";", 1)[0]


def message_link(activity: Activity) -> str | None:
    """A deep link to a channel message, kept with an initiative as its source."""
    channel = _channel_data(activity).get("channel")
    if not isinstance(channel, dict) or not channel.get("id") or not activity.id:
        return None
    conversation_id = activity.conversation.id or ""
    parent = conversation_id.split(";messageid=", 1)[1] if ";messageid=" in conversation_id else ""
    query = {"tenantId": _tenant(activity), "parentMessageId": parent or activity.id}
    query = {k: v for k, v in query.items() if v}
    return (
        f"https://teams.microsoft.com/l/message/{quote(str(channel['id']), safe='')}/"
        f"{quote(activity.id, safe='')}?{urlencode(query)}"
    )


def form_values(data: dict) -> dict[str, Any]:
    """The inputs of a submitted form card, by field key; multi-selects as lists."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(key, str) and key.startswith("f:"):
            values[key[2:]] = value if isinstance(value, str) else json.dumps(value)
    multi = data.get("multi") if isinstance(data.get("multi"), list) else []
    for key in multi:
        if isinstance(key, str):
            picked = values.get(key) or ""
            values[key] = [v.strip() for v in picked.split(",") if v.strip()]
    return values


def _channel_data(activity: Activity) -> dict:
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


def _tenant(activity: Activity) -> str | None:
    if activity.conversation is not None and activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    tenant = _channel_data(activity).get("tenant")
    return tenant.get("id") if isinstance(tenant, dict) else None


def _team_id(activity: Activity) -> str | None:
    team = _channel_data(activity).get("team")
    return team.get("id") if isinstance(team, dict) else None


def _is_personal_activity(activity: Activity) -> bool:
    conversation = activity.conversation
    if conversation is None:
        return False
    kind = conversation.conversation_type
    return kind == "personal" or (not kind and not conversation.is_group)


def _is_personal(reference: ConversationReference) -> bool:
    conversation = reference.conversation
    return bool(conversation and conversation.id and conversation.conversation_type == "personal")


def _reference(text: str) -> ConversationReference | None:
    try:
        return ConversationReference().deserialize(json.loads(text))
    except Exception:
        return None


def _reference_tenant(reference: ConversationReference) -> str | None:
    return reference.conversation.tenant_id if reference.conversation else None


def _zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None
    return name


def _status(exc: ErrorResponseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) or getattr(response, "status", None)


def _retry_after(exc: ErrorResponseException) -> float | None:
    return retry_after_seconds(getattr(getattr(exc, "response", None), "headers", None))


def _describe(exc: BaseException) -> str:
    status = _status(exc) if isinstance(exc, ErrorResponseException) else None
    return f"HTTP {status}" if status else f"{type(exc).__name__}: {exc}"


def _own_the_retries(turn_context: TurnContext) -> None:
    """Leave retrying on HTTP status to `with_retry`: the connector's HTTP client would retry
    some statuses itself (PUT and GET on 5xx), which would multiply the attempts and waits."""
    client = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
    policy = getattr(getattr(getattr(client, "config", None), "retry_policy", None), "policy", None)
    if policy is not None:
        policy.status_forcelist = frozenset()


def _split(outgoing: list[Outgoing]) -> tuple[dict | None, list[Outgoing]]:
    """The first reply to this conversation becomes the refreshed card; the rest are sent."""
    card, rest = None, []
    for out in outgoing:
        if card is None and out.to_person is None:
            card = render_card(out.reply)
        else:
            rest.append(out)
    return card, rest


# Adaptive Cards


def card_activity(card: dict, summary: str | None = None) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        attachments=[Attachment(content_type=CARD_TYPE, content=card)],
        summary=_clip(summary, 200) if summary else None,
    )


def _text_activity(text: str) -> Activity:
    return Activity(type=ActivityTypes.message, text=text, text_format="markdown")


def _invoke_body(card: dict) -> dict:
    return {"statusCode": 200, "type": CARD_TYPE, "value": card}


def _is_plain(reply: Reply) -> bool:
    return (
        not (reply.choices or reply.items or reply.facts or reply.form or reply.errors)
        and not reply.warnings
        and "\n" not in reply.text.strip()
    )


_clip = clip


def _md(text: str) -> str:
    """The core's light markup, as Teams' markdown: *bold* and ~dropped~."""
    text = re.sub(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])", r"**\1**", text)
    return re.sub(r"~([^~\n]+)~", r"(\1)", text)


def _card(body: list[dict], actions: list[dict] | None = None) -> dict:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def _note_card(text: str) -> dict:
    return _card(_text_blocks(text))


def _text_blocks(text: str, **style: Any) -> list[dict]:
    """One TextBlock per line: Teams does not keep single line breaks inside a TextBlock."""
    blocks = []
    for line in _clip(text or " ", MAX_TEXT).split("\n"):
        if not line.strip():
            continue
        block: dict[str, Any] = {"type": "TextBlock", "text": _md(line), "wrap": True, **style}
        if line.lstrip().startswith("⚠"):
            block["color"] = "Attention"
        if blocks:
            block["spacing"] = "None"
        blocks.append(block)
    return blocks or [{"type": "TextBlock", "text": " ", "wrap": True}]


def _warning_block(text: str) -> dict:
    return {"type": "TextBlock", "text": f"⚠ {_clip(text, MAX_TEXT)}", "wrap": True,
            "color": "Attention", "weight": "Bolder"}  # fmt: skip


def _item_blocks(item: Item) -> list[dict]:
    """One list line: a heading in bold, a line no longer current struck through (the older
    `*heading*` and `~dropped~` markup is translated by `_md`)."""
    if item.struck:
        run = {"type": "TextRun", "text": _clip(item.text, MAX_TEXT), "strikethrough": True}
        if item.heading:
            run["weight"] = "Bolder"
        return [{"type": "RichTextBlock", "inlines": [run]}]
    if item.heading:
        return _text_blocks(item.text, weight="Bolder")
    return _text_blocks(item.text)


def _action(choice: Choice) -> dict:
    data: dict[str, Any] = {"act": choice.action}
    if choice.value:
        data["value"] = choice.value
    action: dict[str, Any] = {
        "type": "Action.Execute",
        "title": _clip(choice.label, 80),
        "verb": choice.action,
        "data": data,
    }
    if choice.style:
        action["style"] = "positive" if choice.style == "primary" else "destructive"
    return action


def _action_sets(choices: tuple[Choice, ...], size: int = 5) -> list[dict]:
    return [
        {"type": "ActionSet", "actions": [_action(c) for c in choices[i : i + size]]}
        for i in range(0, len(choices), size)
    ]


def render_card(reply: Reply) -> dict:
    """A reply as an Adaptive Card: text, facts, items with their buttons, choices."""
    if reply.form is not None:  # the form itself, not a button that would open it
        return render_form_card(reply.form, reply.errors or None, intro=reply.text)
    body = _text_blocks(reply.text)
    for warning in reply.warnings:
        body.append(_warning_block(warning))
    for key, sentence in reply.errors:
        body.append(
            {"type": "TextBlock", "text": f"{key}: {sentence}", "wrap": True, "color": "Attention"}
        )
    if reply.facts:
        facts = [
            {"title": _clip(label, 100), "value": _clip(_md(value), 1000)}
            for label, value in reply.facts[:MAX_FACTS]
        ]
        body.append({"type": "FactSet", "facts": facts})
    for item in reply.items[:MAX_ITEMS]:
        parts = _item_blocks(item) + _action_sets(item.choices)
        body.append({"type": "Container", "separator": True, "spacing": "Small", "items": parts})
    if len(reply.items) > MAX_ITEMS:
        more = len(reply.items) - MAX_ITEMS
        body.append({"type": "TextBlock", "text": f"…and {more} more.", "isSubtle": True})
    if len(reply.choices) <= MAX_CARD_ACTIONS:
        return _card(body, [_action(c) for c in reply.choices])
    return _card(body + _action_sets(reply.choices))


def render_form_card(
    form: Form,
    errors: tuple[tuple[str, str], ...] | dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    intro: str = "",
) -> dict:
    """A form as an Adaptive Card; errors show under their fields, values refill the inputs."""
    errors = dict(errors or {})
    values = values or {}
    keys = {f.key for f in form.fields}
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": form.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    body += _text_blocks(intro) if intro else []
    if errors:
        body.append(
            {
                "type": "TextBlock",
                "text": "Please check the form.",
                "color": "Attention",
                "wrap": True,
            }
        )
    for key, sentence in errors.items():
        if key not in keys:
            body.append({"type": "TextBlock", "text": sentence, "color": "Attention", "wrap": True})
    for field_ in form.fields:
        if field_.key in values:
            shown = values[field_.key]
            shown = ",".join(shown) if isinstance(shown, list) else str(shown or "")
            field_ = replace(field_, initial=shown)
        body.append(_input(field_))
        if field_.key in errors:
            body.append(
                {
                    "type": "TextBlock",
                    "text": errors[field_.key],
                    "color": "Attention",
                    "size": "Small",
                    "spacing": "None",
                    "wrap": True,
                }
            )
    if form.id == "act":
        verb = f"commitment.{read_json(form.state).get('act') or 'new_date'}"
    else:
        verb = f"{form.id}.submit"
    data: dict[str, Any] = {"act": verb, "form": form.id, "state": form.state}
    multi = [f.key for f in form.fields if f.kind == "roles"]
    if multi:
        data["multi"] = multi
    actions = [
        {
            "type": "Action.Execute",
            "title": _clip(form.submit_label, 40),
            "verb": verb,
            "style": "positive",
            "data": data,
            "associatedInputs": "auto",
        },
        {
            "type": "Action.Execute",
            "title": "Cancel",
            "verb": "form.cancel",
            "data": {"act": "form.cancel"},
            "associatedInputs": "none",
        },
    ]
    return _card(body, actions)


def task_form(
    form: Form, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None
) -> dict:
    """A form in a dialog (a task module): its card submits with Action.Submit, which is what
    dialogs take, and the dialog's own close button cancels."""
    card = render_form_card(form, errors, values)
    submit = card["actions"][0]
    card["actions"] = [
        {
            "type": "Action.Submit",
            "title": submit["title"],
            "style": "positive",
            "data": submit["data"],
        }
    ]
    attachment = {"contentType": CARD_TYPE, "content": card}
    size = "large" if len(form.fields) > 4 else "medium"
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": _clip(form.title, 64),
                "height": size,
                "width": "medium",
                "card": attachment,
            },
        }
    }


def task_message(text: str) -> dict:
    """A short note in the dialog, which then closes."""
    return {"task": {"type": "message", "value": _clip(text, 1000)}}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append("\n")


def message_payload_text(payload: dict) -> str:
    """The text of the message a message action was used on (Teams sends its HTML)."""
    body = payload.get("body") if isinstance(payload.get("body"), dict) else {}
    content = body.get("content") if isinstance(body.get("content"), str) else ""
    if str(body.get("contentType") or "html").lower() == "html":
        parser = _Text()
        parser.feed(content[:20_000])
        parser.close()
        content = "".join(parser.parts)
    return re.sub(r"[ \t]*\n[ \t\n]*", "\n", content).strip()


def _input(field_: FormField) -> dict:
    element: dict[str, Any] = {"id": f"f:{field_.key}", "label": _clip(field_.label, 300)}
    initial = field_.initial
    if field_.kind == "date":
        element["type"] = "Input.Date"
        if initial and re.fullmatch(r"\d{4}-\d{2}-\d{2}", initial):
            element["value"] = initial
    elif field_.kind in ("choice", "roles"):
        element.update(
            type="Input.ChoiceSet",
            choices=[{"title": _clip(label, 100), "value": v} for v, label in field_.options],
        )
        if field_.kind == "roles":
            element.update(isMultiSelect=True, style="expanded")
        else:
            element.update(style="compact", placeholder="Pick one")
        if initial:
            element["value"] = initial
    else:
        element["type"] = "Input.Text"
        if field_.kind == "long_text":
            element.update(isMultiline=True, maxLength=3000)
        else:
            element["maxLength"] = 200
        if field_.kind == "person":
            element["placeholder"] = field_.hint or "me, or an @name"
        elif field_.hint:
            element["placeholder"] = _clip(field_.hint, 200)
        if initial:
            element["value"] = initial[:3000]
    return element
