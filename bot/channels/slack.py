"""Slack: Bolt's AsyncApp on the shared aiohttp server (or Socket Mode), rendered in Block Kit.

The adapter stays thin: it turns events, commands and interactions into Inbound messages,
hands them to the core in a worker thread (the core is synchronous and talks to the database),
and renders the Outgoing replies. Everything Slack waits for is acknowledged first:

- events are acknowledged by Bolt before any listener runs (`process_before_response=False`);
- commands, buttons and shortcuts call `ack()` before anything else; a modal is opened from
  data carried by the button or the message, without touching the database, so `views.open`
  runs well inside the three seconds a `trigger_id` lives;
- a modal submission is validated by the core within `SUBMIT_BUDGET`; when the database is
  slower than that, the modal is switched to a "Saving..." view at once and updated when the
  core has answered (with the field errors, if any, shown in the form again).

Most channel messages are not signals: they are dropped here, after one regular-expression
pass, with no Web API call and no database access.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.channels.interactions import (
    ACT_FORM,
    MAX_ITEMS,
    TTLCache,
    clip,
    field_errors,
    form_for_button,
    intake_data,
    keep_for_later,
    read_json,
)
from bot.channels.interactions import deliver as deliver_each
from bot.channels.interactions import submission as submitted_action
from bot.lifecycle import InFlight
from bot.retry import Retrier, backoff, once_the_database_answers, retry_after_seconds, with_jitter
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

log = logging.getLogger("liaison.slack")
CHANNEL = "slack"

# What the app registers, and so what manifest.yml must declare (a test compares them).
COMMAND = "/commitments"
SHORTCUTS = ("plan_with_it", "track_commitment")
EVENTS = ("message", "app_mention", "app_home_opened")
VIEWS = ("intake", "commitment", "act", "cycle")
# The manifest's bot events, and the scope each needs (None: the event needs none).
BOT_EVENTS = {
    "app_home_opened": None,
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
}
# The Web API methods the adapter calls, and the bot scope each needs (None: no scope).
METHODS = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.getPermalink": None,
    "conversations.open": "im:write",
    "users.info": "users:read",
    "views.open": None,
    "views.update": None,
    "views.publish": None,
    "apps.connections.open": None,  # Socket Mode, with the app-level token
}
# Scopes needed for something other than a method or an event.
OTHER_SCOPES = {
    "commands": "the /commitments command and the message shortcuts",
    "users:read.email": "users.info returns the email that links one person across channels",
}

# Message subtypes a person writes; everything else (edits, deletions, joins, topics, bots,
# thread-reply notices...) is ignored.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
SUBMIT_BUDGET = 2.0  # seconds for the core to judge a modal; Slack gives the whole reply 3
USER_CACHE_SECONDS = 3600.0
_TS = re.compile(r"^\d+\.\d+$")
_CONVERSATION = re.compile(r"^[CGD][A-Z0-9]+$")
_SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


# Retries of the Web API


def _asked_wait(response: HttpResponse | None) -> float:
    """The pause a 429 asks for, in seconds (one second when it does not say)."""
    wait = retry_after_seconds(response.headers) if response is not None else None
    return 1.0 if wait is None else wait


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Retry a 429 after its Retry-After, up to `max_retry_count` times.

    slack_sdk's AsyncRateLimitErrorRetryHandler retries only once by default, parses only
    integer seconds, and adds up to a whole second of jitter. This one reads fractions and
    HTTP dates too, adds at most 10% of jitter, and gives up (the call raises `ratelimited`)
    when Slack asks for a pause longer than `max_wait`, so a caller such as the sweeper can
    keep the message and retry it on a later tick instead of holding a task for minutes.
    """

    def __init__(self, max_retry_count: int = 3, max_wait: float = 30.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is not None or response is None or response.status_code != 429:
            return False
        return _asked_wait(response) <= self.max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait = _asked_wait(response)
        await asyncio.sleep(with_jitter(wait))
        state.increment_current_attempt()


class ServerErrorRetry(AsyncServerErrorRetryHandler):
    """Retry any 5xx answer (slack_sdk's handler retries only 500 and 503), with backoff."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return error is None and response is not None and 500 <= response.status_code < 600


class Backoff(RetryIntervalCalculator):
    """slack_sdk's pauses between retries, on the one backoff policy of bot/retry."""

    def __init__(self, base: float = 0.5, cap: float = 10.0) -> None:
        self.base, self.cap = base, cap

    def calculate_sleep_duration(self, current_attempt: int) -> float:
        return backoff(current_attempt, self.base, self.cap)


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        RateLimitRetry(max_retry_count=3),
        ServerErrorRetry(max_retry_count=2, interval_calculator=Backoff()),
        AsyncConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=Backoff()),
    ]


# The channel


@dataclass
class SlackChannel:
    liaison: Liaison
    app: AsyncApp
    client: AsyncWebClient
    users: TTLCache[str, Sender] = field(default_factory=lambda: TTLCache(USER_CACHE_SECONDS))
    handled: OrderedDict[tuple[str, str], None] = field(default_factory=OrderedDict)
    session: aiohttp.ClientSession | None = None
    verifier: SignatureVerifier | None = None  # for the chatter fast path (HTTP mode)
    retrier: Retrier = field(default_factory=Retrier)  # work a passing outage interrupted
    in_flight: InFlight = field(default_factory=InFlight)  # listener runs shutdown waits for

    # Lifecycle

    async def start(self) -> None:
        """One pooled HTTP session for every Web API call (instead of one per call)."""
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            self.client.session = self.session

    async def close(self) -> None:
        await self.retrier.stop()  # what still waits gets its last try and its fallback
        if self.session is not None:
            self.client.session = None
            await self.session.close()
            self.session = None

    # Inbound plumbing

    async def core(self, inbound: Inbound) -> list[Outgoing]:
        return await asyncio.to_thread(self.liaison.handle, inbound)

    async def sender(self, user_id: str) -> Sender:
        """Who a Slack user is (name, email, time zone), cached for an hour."""
        cached = self.users.get(user_id)
        if cached is not None:
            return cached
        sender = Sender(CHANNEL, user_id)
        try:
            info = (await self.client.users_info(user=user_id))["user"]
            profile = info.get("profile") or {}
            sender = Sender(
                CHANNEL,
                user_id,
                name=info.get("name") or profile.get("display_name") or None,
                email=profile.get("email") or None,
                timezone=info.get("tz") or None,
                tenant=info.get("team_id") or None,
            )
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, _slack_error(exc))
            return sender  # not cached: try again next time
        self.users.put(user_id, sender)
        return sender

    async def register(self, user_id: str) -> int:
        """Make sure a Slack user (picked in a form, or mentioned) is a known person; their id."""
        return await asyncio.to_thread(self.liaison.register, await self.sender(user_id))

    async def register_mentions(self, text: str) -> None:
        """Make every person mentioned (`<@U123|name>`, as Slack escapes them) known, so the
        core can find them by their Slack id."""
        for user_id in dict.fromkeys(_SLACK_MENTION.findall(text)):
            await self.register(user_id)

    def first_time(self, key: tuple[str, str]) -> bool:
        """True the first time this process handles a message (Slack may deliver it again)."""
        if key in self.handled:
            return False
        self.handled[key] = None
        while len(self.handled) > 10_000:
            self.handled.popitem(last=False)
        return True

    # Delivery

    async def deliver(
        self,
        outgoing: Iterable[Outgoing],
        *,
        channel: str | None,
        thread_ts: str | None = None,
        user_id: str | None = None,
        respond: AsyncRespond | None = None,
    ) -> None:
        """Send replies: DMs to their person, private ones to the asker only, the rest to the
        conversation (in the thread when there is one). A reply Slack would not take even after
        the client's retries is tried again in the background while the failure looks passing
        (5xx, 429, the network), then kept for the sweeps to send as a DM."""

        async def send(out: Outgoing) -> None:
            await self.send_one(out, channel, thread_ts, user_id, respond)

        async def keep(out: Outgoing, why: str) -> None:
            await self.keep_for_later(out, user_id, why)

        await deliver_each(
            outgoing,
            send,
            failures=(SlackApiError, aiohttp.ClientError, TimeoutError),
            describe=_failure,
            passing=passing_failure,
            retrier=self.retrier,
            keep=keep,
            what=f"slack reply to {channel or user_id}",
        )

    async def send_one(
        self,
        out: Outgoing,
        channel: str | None,
        thread_ts: str | None,
        user_id: str | None,
        respond: AsyncRespond | None,
    ) -> None:
        blocks = render_blocks(out.reply)
        text = fallback_text(out.reply)
        if out.to_person is not None:
            await self.dm(out.to_person, text, blocks)
        elif respond is not None and (out.reply.private or channel is None):
            await respond(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
        elif out.reply.private and channel and user_id and not channel.startswith("D"):
            await self.client.chat_postEphemeral(
                channel=channel, user=user_id, text=text, blocks=blocks, thread_ts=thread_ts
            )
        elif channel:
            await self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
            )
        elif user_id:
            await self.client.chat_postMessage(channel=user_id, text=text, blocks=blocks)

    async def keep_for_later(self, out: Outgoing, user_id: str | None, why: str) -> None:
        """A reply Slack would not take, even after retries: the sweeps send it later as a DM,
        so an offer or an answer is late rather than lost."""

        async def asker() -> int | None:
            return await self.register(user_id) if user_id else None

        await keep_for_later(self.liaison, out, asker, why)

    async def dm(self, person_id: int, text: str, blocks: list[dict]) -> bool:
        """DM a person on Slack, opening (and remembering) the DM channel once."""
        address = await asyncio.to_thread(self.liaison.address_of, person_id, CHANNEL)
        if address is None:
            log.info("person %s has no Slack address; DM skipped", person_id)
            return False
        await self.dm_address(address, text, blocks)
        return True

    async def dm_address(self, address, text: str, blocks: list[dict]) -> None:
        dm_channel = address.dm_channel
        if not dm_channel:
            opened = await self.client.conversations_open(users=address.external_id)
            dm_channel = opened["channel"]["id"]
            await asyncio.to_thread(self.liaison.remember_dm, address.id, dm_channel)
        await self.client.chat_postMessage(channel=dm_channel, text=text, blocks=blocks)

    async def open_form(self, trigger_id: str, form: Form) -> None:
        await self.client.views_open(trigger_id=trigger_id, view=render_modal(form))

    async def publish_home(self, user_id: str, notice: Iterable[Outgoing] = ()) -> None:
        """The App Home: the viewer's commitments and initiatives (and, for a liaison, what is
        stuck in their units), after an optional notice of what just happened."""
        sender = await self.sender(user_id)
        sections = await self.core(Inbound(sender, "home", action=Action("home.open")))
        await self.client.views_publish(user_id=user_id, view=render_home(sections, notice))

    async def report(
        self, where: dict, user_id: str, replies: list[Outgoing], message: dict | None = None
    ) -> None:
        """Tell the person who pressed a button (or sent a small form) what happened, where
        they pressed it (see `_where`); DMs go to the other people involved. `message` is the
        message the button was in, when the payload carried it."""
        mine = [r for r in replies if r.to_person is None]
        others = [r for r in replies if r.to_person is not None]
        if where.get("home"):
            await self.publish_home(user_id, notice=mine)
        else:
            done = [r for r in mine if not r.reply.private]
            spot = where.get("done") or []
            if done and message and len(spot) == 3 and await self.mark_done(spot, done, message):
                mine = [r for r in mine if r.reply.private]
            private = [r for r in mine if r.reply.private or where.get("private")]
            public = [r for r in mine if not (r.reply.private or where.get("private"))]
            if private and not (where.get("ru") and await self.respond_to(where["ru"], private)):
                public = private + public  # no response_url left: a DM instead
            channel = where.get("ch") or user_id
            await self.deliver(
                public, channel=channel, thread_ts=where.get("thread"), user_id=user_id
            )
        await self.deliver(others, channel=None, user_id=user_id)

    async def mark_done(self, spot: list, done: list[Outgoing], message: dict) -> bool:
        """Replace the buttons just used in a DM with what they did, so they can't be pressed
        twice. `spot` is [channel, message ts, block id]."""
        channel, ts, block_id = spot
        blocks = message.get("blocks") or []
        index = next((i for i, b in enumerate(blocks) if b.get("block_id") == block_id), None)
        if index is None:
            return False
        line = " ".join(fallback_text(r.reply) for r in done)
        context = {"type": "context", "elements": [{"type": "mrkdwn", "text": _text(line, 2900)}]}
        blocks = [*blocks[:index], context, *blocks[index + 1 :]]
        text = message.get("text") or line
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("chat.update failed: %s", _slack_error(exc))
            return False
        return True

    async def respond_to(self, response_url: str, replies: list[Outgoing]) -> bool:
        """Answer through a response_url (ephemeral); False when Slack no longer takes it
        (they last 30 minutes and 5 uses)."""
        webhook = AsyncWebhookClient(response_url, session=self.session)
        for out in replies:
            try:
                response = await webhook.send(
                    text=fallback_text(out.reply),
                    blocks=render_blocks(out.reply),
                    response_type="ephemeral",
                    replace_original=False,
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("response_url failed: %s", exc)
                return False
            if response.status_code != 200:
                log.warning("response_url answered %s", response.status_code)
                return False
        return True

    async def update_offer(self, channel: str, ts: str, text: str) -> None:
        """Replace an offer's buttons with what became of it."""
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": _text(text)}]}]
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("chat.update of an offer failed: %s", _slack_error(exc))


class SlackOutbox:
    """The sweeps' way to DM someone on Slack (rate limits are retried by the client)."""

    channel = CHANNEL

    def __init__(self, slack: SlackChannel) -> None:
        self.slack = slack

    async def send(self, address, reply: Reply) -> None:
        from schedules.outbox import DeliveryError

        try:
            await self.slack.dm_address(address, fallback_text(reply), render_blocks(reply))
        except SlackApiError as exc:
            raise DeliveryError(f"slack: {exc.response.get('error')}") from exc
        except Exception as exc:  # a network failure after the client's own retries
            raise DeliveryError(f"slack: {type(exc).__name__}") from exc


def build_slack(
    liaison: Liaison,
    *,
    token: str,
    signing_secret: str | None,
    api_url: str,
    socket_mode: bool = False,
    in_flight: InFlight | None = None,
) -> SlackChannel:
    """The Bolt app with every listener registered, and its retrying Web API client."""
    client = AsyncWebClient(token=token, base_url=api_url, retry_handlers=retry_handlers())
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "socket-mode-has-no-signing-secret",
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=logging.getLogger("liaison.slack.bolt"),
        # Built-in middleware this app has no use for, skipped on every request: the app's
        # own messages are dropped by `is_person_message`, and it uses neither the assistant
        # helpers (say, set_status...) nor workflow functions.
        ignoring_self_events_enabled=False,
        attaching_conversation_kwargs_enabled=False,
        attaching_function_token_enabled=False,
    )
    channel = SlackChannel(liaison, app, client, in_flight=in_flight or InFlight())
    if signing_secret and not socket_mode:
        channel.verifier = SignatureVerifier(signing_secret)
    register_events(channel)
    register_commands(channel)
    register_interactions(channel)
    return channel


def _failure(exc: BaseException) -> str:
    return _slack_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__


PASSING_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}


def passing_failure(exc: BaseException) -> bool:
    """A failure worth trying again soon: Slack's 5xx or 429, or the network; not a refusal
    (a channel the app is not in, a user that is gone)."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 0) or 0
        return status == 429 or status >= 500 or _slack_error(exc) in PASSING_ERRORS
    return isinstance(exc, aiohttp.ClientError | TimeoutError)


def _slack_error(exc: SlackApiError) -> str:
    """Slack's error code, or the HTTP status when the answer was not JSON (a 5xx page)."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return f"http_{getattr(exc.response, 'status_code', '?')}"


def slack_route(channel: SlackChannel) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for POST /slack/events (events, interactivity and commands)."""
    app = channel.app

    async def handle(request: web.Request) -> web.Response:
        # Refuse what cannot be a signed Slack request before Bolt parses it: Bolt raises on a
        # body that is not UTF-8, a timestamp that is not a number or a non-ASCII signature.
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not stamp.isdigit() or not signature.isascii():
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            body = await request.text()
        except UnicodeDecodeError:
            return web.json_response({"error": "the body is not UTF-8"}, status=400)
        if channel.verifier is not None and is_chatter(body, channel):
            # Everyday chat in a channel: the bot does nothing with it, so after checking the
            # signature it is acknowledged here, without Bolt's middleware and listener chain.
            if channel.verifier.is_valid(body, stamp, signature):
                return web.Response(status=200)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=body, query=request.query_string, headers=request.headers
            )
            bolt_response = await app.async_dispatch(bolt_request)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # an unparsable body
            log.info("slack request refused: %s", type(exc).__name__)
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(bolt_response)

    return handle


def is_chatter(body: str, channel: SlackChannel) -> bool:
    """A channel message event the bot would ignore: no DM, no subtype, no mention of anyone,
    and no signal in its text. Anything else goes through Bolt as usual."""
    if not body.startswith("{") or '"event_callback"' not in body:
        return False
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict) or event.get("type") != "message":
        return False
    text = event.get("text")
    if event.get("subtype") or event.get("channel_type") == "im" or not isinstance(text, str):
        return False
    if "<@" in text or event.get("bot_id"):
        return False
    return not channel.liaison.may_answer(text)


def slack_context(channel: SlackChannel, app_token: str | None = None):
    """An aiohttp cleanup context: the shared HTTP session and, with an app-level token,
    Socket Mode on the server's own event loop, for the server's lifetime."""

    async def context(_web_app: web.Application) -> AsyncIterator[None]:
        await channel.start()
        handler = None
        try:
            if app_token:
                from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

                handler = AsyncSocketModeHandler(channel.app, app_token)
                await handler.connect_async()
                log.info("slack socket mode connected")
            yield
        finally:
            if handler is not None:
                await handler.close_async()
            await channel.close()

    return context


# Events


def is_person_message(event: dict, bot_user_id: str | None) -> bool:
    """A message a person wrote (not an edit, a join, a bot, or the app itself)."""
    return (
        event.get("subtype") in PERSON_SUBTYPES
        and not event.get("bot_id")
        and not event.get("bot_profile")
        and not event.get("hidden")
        and bool(event.get("user"))
        and event.get("user") != bot_user_id
    )


def register_events(slack: SlackChannel) -> None:
    track = slack.in_flight.tracked  # shutdown waits for what runs after the ack
    app = slack.app
    detect = slack.liaison.detect

    @app.event("message")
    @track
    async def on_message(event: dict, context: dict, body: dict) -> None:
        bot_user_id = context.get("bot_user_id")
        if not is_person_message(event, bot_user_id):
            return
        event_id = body.get("event_id")
        if event.get("channel_type") == "im":
            await on_person_message(slack, event, direct=True, event_id=event_id)
            return
        text = event.get("text") or ""
        if bot_user_id and f"<@{bot_user_id}>" in text:
            return  # the app_mention event handles it
        signal = detect(text) is not None
        if not signal and not slack.liaison.finds_promise(text):
            return  # everyday chat: nothing stored, nothing said, no API call
        # A signal is offered for planning; a promise, to its author only, for tracking.
        await on_person_message(slack, event, direct=False, signal=signal, event_id=event_id)

    @app.event("app_mention")
    @track
    async def on_mention(event: dict, context: dict, body: dict) -> None:
        if is_person_message(event, context.get("bot_user_id")):
            signal = detect(event.get("text") or "") is not None
            await on_person_message(
                slack, event, direct=True, signal=signal, event_id=body.get("event_id")
            )

    @app.event("app_home_opened")
    @track
    async def on_home(event: dict) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            await slack.publish_home(event["user"])


async def on_person_message(
    slack: SlackChannel,
    event: dict,
    *,
    direct: bool,
    signal: bool = False,
    event_id: str | None = None,
) -> None:
    """A DM, a mention or a channel message with a signal: ask the core, answer in place."""
    channel_id, ts, user = event.get("channel", ""), event.get("ts") or "", event["user"]
    if not slack.first_time((channel_id, ts)):
        return  # Slack delivered it again (a retry); the core's ledger guards other replicas
    in_im = event.get("channel_type") == "im"
    want_link = signal and not in_im and bool(ts)
    sender, link = await asyncio.gather(
        slack.sender(user), permalink(slack, channel_id, ts) if want_link else _none()
    )
    inbound = Inbound(
        sender=sender,
        conversation=channel_id,
        text=event.get("text") or "",
        message_id=ts or None,
        link=link,
        is_direct=direct,
    )
    thread = event.get("thread_ts") or (None if in_im else ts or None)

    async def answer() -> None:
        replies = await slack.core(inbound)
        log.info(
            "slack event",
            extra={
                "event_id": event_id,
                "channel": channel_id,
                "ts": ts,
                "signal": signal,
                "reply": replies[0].reply.kind if replies else None,
            },
        )
        await slack.deliver(replies, channel=channel_id, thread_ts=thread, user_id=user)

    await once_the_database_answers(slack.retrier, f"slack event {event_id or ts}", answer)


async def _none() -> None:
    return None


async def permalink(slack: SlackChannel, channel: str | None, ts: str | None) -> str | None:
    if not ts or not channel:
        return None
    try:
        return (await slack.client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
    except SlackApiError as exc:
        log.info("no permalink for %s/%s: %s", channel, ts, _slack_error(exc))
        return None


# Slash command


def register_commands(slack: SlackChannel) -> None:
    track = slack.in_flight.tracked  # shutdown waits for what runs after the ack

    @slack.app.command(COMMAND)
    @track
    async def on_commitments(ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        await ack()
        user_id = command["user_id"]
        text = command.get("text") or ""
        await slack.register_mentions(text)
        sender = await slack.sender(user_id)
        inbound = Inbound(
            sender, command.get("channel_id", ""), text=f"commitments {text}", is_direct=True
        )
        replies = await slack.core(inbound)
        await slack.deliver(
            [_private(r) for r in replies], channel=None, user_id=user_id, respond=respond
        )


def _private(out: Outgoing) -> Outgoing:
    """Slash command answers are for the asker only; DMs to others stay DMs."""
    if out.to_person is not None:
        return out
    return Outgoing(replace(out.reply, private=True), None, out.meta)


# Buttons, shortcuts and modals


def register_interactions(slack: SlackChannel) -> None:
    track = slack.in_flight.tracked  # shutdown waits for what runs after the ack
    app = slack.app

    @app.action(re.compile(r".+"))
    @track
    async def on_button(ack: AsyncAck, body: dict, action: dict) -> None:
        await ack()
        await on_action(slack, body, action)

    @app.shortcut(SHORTCUTS[0])
    @track
    async def on_plan_shortcut(ack: AsyncAck, shortcut: dict) -> None:
        await ack()
        message = shortcut.get("message") or {}
        channel_id = (shortcut.get("channel") or {}).get("id")
        mid = message.get("ts") or shortcut.get("action_ts")
        data = intake_data(slack.liaison, message.get("text") or "", channel_id, mid)
        # The permalink is fetched when the form comes back: views.open goes first.
        await slack.open_form(shortcut["trigger_id"], slack.liaison.intake_form(data))

    @app.shortcut(SHORTCUTS[1])
    @track
    async def on_track_shortcut(ack: AsyncAck, shortcut: dict) -> None:
        await ack()
        message = shortcut.get("message") or {}
        channel_id = (shortcut.get("channel") or {}).get("id")
        state = json.dumps({"conv": channel_id, "mid": message.get("ts")})
        form = slack.liaison.commitment_form(message.get("text") or "", state=state)
        await slack.open_form(shortcut["trigger_id"], form)

    @app.view(re.compile(f"^({'|'.join(VIEWS)})$"))
    @track
    async def on_submit(ack: AsyncAck, body: dict, view: dict) -> None:
        await submit_view(slack, ack, body, view)


async def on_action(slack: SlackChannel, body: dict, action: dict) -> None:
    """A button: open the modal it stands for, or let the core act on it."""
    action_id = (action.get("action_id") or "").split("#", 1)[0]
    value = action.get("value") or ""
    data = read_json(value)
    user_id = body["user"]["id"]
    container = body.get("container") or {}
    channel_id = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message = body.get("message") or {}
    trigger = body.get("trigger_id") or ""
    if action_id == "offer.plan":
        if not data.get("conv"):
            data["conv"] = channel_id
        data.setdefault("mid", message.get("thread_ts") or message.get("ts"))
        if channel_id and message.get("ts"):
            data["offer"] = message["ts"]
    where = _where(body, action)
    opens = form_for_button(slack.liaison, action_id, data, where)
    if isinstance(opens, Reply):
        await slack.deliver([Outgoing(opens)], channel=channel_id or user_id, user_id=user_id)
        return
    if opens is not None:
        await slack.open_form(trigger, opens)
        return
    if action_id == "home.initiative":
        await show_details(slack, trigger, user_id, action_id, value)
        return
    sender = await slack.sender(user_id)
    inbound = Inbound(sender, channel_id or "", action=Action(action_id, value), is_direct=True)
    replies = await slack.core(inbound)
    if action_id == "offer.dismiss" and channel_id and message.get("ts"):
        await slack.update_offer(
            channel_id, message["ts"], f"<@{user_id}> said IT isn't needed for this one."
        )
    await slack.report(where, user_id, replies, message)


def _where(body: dict, action: dict) -> dict:
    """Where a button was pressed, so that its outcome is shown there:

    - "home": on the App Home tab (it is published again, with the outcome on top);
    - "ru": the response_url, for answers only the presser should see (ephemeral);
    - "ch" and "thread": the conversation (and thread) of the message the button was in;
    - "done": [channel, ts, block id] of a commitment's buttons in a DM, which are replaced
      by what they did;
    - "private": the message was itself ephemeral, so every answer stays ephemeral.
    Nothing (a modal) means a DM to the presser.
    """
    container = body.get("container") or {}
    if container.get("type") == "view":
        return {"home": 1} if (body.get("view") or {}).get("type") == "home" else {}
    where: dict[str, Any] = {}
    if body.get("response_url"):
        where["ru"] = body["response_url"]
    if container.get("is_ephemeral"):
        where["private"] = 1
        return where
    channel_id = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    message = body.get("message") or {}
    if channel_id:
        where["ch"] = channel_id
        if not channel_id.startswith("D") and (message.get("thread_ts") or message.get("ts")):
            where["thread"] = message.get("thread_ts") or message.get("ts")
    action_id = action.get("action_id") or ""
    if channel_id.startswith("D") and message.get("ts") and action_id.startswith("commitment."):
        where["done"] = [channel_id, message["ts"], action.get("block_id") or ""]
    return where


async def show_details(
    slack: SlackChannel, trigger: str, user_id: str, action_id: str, value: str
) -> None:
    """A read-only modal: open it at once (the trigger expires), fill it when the core answers."""
    loading = info_modal("Details", [_section("Loading…")])
    opened = await slack.client.views_open(trigger_id=trigger, view=loading)
    sender = await slack.sender(user_id)
    replies = await slack.core(Inbound(sender, "home", action=Action(action_id, value)))
    blocks = [b for r in replies if r.to_person is None for b in render_blocks(r.reply)]
    await slack.client.views_update(
        view_id=opened["view"]["id"], view=info_modal("Details", blocks)
    )


async def submit_view(slack: SlackChannel, ack: AsyncAck, body: dict, view: dict) -> None:
    """Validate in the core; answer field errors inside the modal, or close it and report."""
    user_id = body["user"]["id"]
    callback = view.get("callback_id") or ""
    state = read_json(view.get("private_metadata") or "")
    values = read_values(view)
    work = asyncio.ensure_future(submission(slack, user_id, callback, state, dict(values)))
    try:
        replies = await asyncio.wait_for(asyncio.shield(work), SUBMIT_BUDGET)
    except TimeoutError:
        # Slow database: keep Slack's 3 seconds, show progress, and finish in the background.
        await ack(response_action="update", view=saving_modal(view))
        try:
            replies = await work
        except Exception:
            log.exception("slack form %s failed", callback)
            await _views_update(slack, view, info_modal(_title(view), [_section(FAILED)]))
            return
        errors = form_errors(callback, replies, view)
        if errors:
            await _views_update(slack, view, refill(view, values, errors))
            return
        await _views_update(slack, view, done_modal(view, replies))
    except Exception:
        log.exception("slack form %s failed", callback)
        await ack(response_action="update", view=info_modal(_title(view), [_section(FAILED)]))
        return
    else:
        errors = form_errors(callback, replies, view)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
    await after_submission(slack, user_id, callback, state, replies)


FAILED = "Sorry, something went wrong and nothing was saved. Please try again in a minute."


async def submission(
    slack: SlackChannel, user_id: str, callback: str, state: dict, values: dict
) -> list[Outgoing]:
    """Everything a form needs before the core judges it, and the core's answer."""
    picked = values.get("owner")
    if picked:
        await slack.register(picked)
        values["owner"] = f"<@{picked}>"
    conv, mid = str(state.get("conv") or ""), str(state.get("mid") or "")
    if callback == "intake" and not state.get("link") and conv[:1] in ("C", "G") and _TS.match(mid):
        state = {**state, "link": await permalink(slack, conv, mid)}
    sender = await slack.sender(user_id)
    action = submitted_action(callback, state, values)
    return await slack.core(Inbound(sender, conv, action=action, is_direct=True))


def form_errors(callback: str, replies: list[Outgoing], view: dict) -> dict[str, str]:
    """The core's field errors, keyed by the modal's block ids (Slack's response_action)."""
    errors = field_errors(replies)
    if not errors:
        return {}
    inputs = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
    result: dict[str, str] = {}
    for key, text in errors.items():
        target = key if key in inputs or not inputs else inputs[0]
        result[target] = f"{result[target]} {text}" if target in result else text
    return {k: _text(v, 150) for k, v in result.items()}


async def after_submission(
    slack: SlackChannel, user_id: str, callback: str, state: dict, replies: list[Outgoing]
) -> None:
    """The summary where the conversation is (in the message's thread), DMs to the owners."""
    if callback == ACT_FORM:
        await slack.report(state.get("where") or {}, user_id, replies)
        return
    mine = [r for r in replies if r.to_person is None]
    others = [r for r in replies if r.to_person is not None]
    conv, mid = str(state.get("conv") or ""), str(state.get("mid") or "")
    channel = conv if _CONVERSATION.match(conv) else None
    thread = mid if channel and not channel.startswith("D") and _TS.match(mid) else None
    posted = False
    if channel:
        try:
            for out in mine:
                await slack.client.chat_postMessage(
                    channel=channel,
                    text=fallback_text(out.reply),
                    blocks=render_blocks(out.reply),
                    thread_ts=thread,
                )
            posted = True
        except SlackApiError as exc:  # e.g. not_in_channel after a shortcut: DM instead
            log.info("summary not posted in %s: %s", channel, _slack_error(exc))
    if not posted:
        await slack.deliver(mine, channel=None, user_id=user_id)
    saved = next((r for r in mine if r.meta.get("initiative")), None)
    if callback == "intake" and saved and channel and _TS.match(str(state.get("offer") or "")):
        title = saved.reply.text.split("\n", 1)[0]
        outcome = f"<@{user_id}> planned it with IT. {escape(title)}"
        await slack.update_offer(channel, state["offer"], outcome)
    await slack.deliver(others, channel=None, user_id=user_id)


async def _views_update(slack: SlackChannel, view: dict, new_view: dict) -> None:
    try:
        await slack.client.views_update(view_id=view.get("id"), view=new_view)
    except SlackApiError as exc:
        log.warning("views.update failed: %s", _slack_error(exc))


def read_values(view: dict) -> dict[str, Any]:
    """Flatten a modal's state into {field key: value} (block ids are the field keys)."""
    values: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for element in actions.values():
            kind = element.get("type")
            if kind == "datepicker":
                values[block_id] = element.get("selected_date")
            elif kind == "users_select":
                values[block_id] = element.get("selected_user")
            elif kind == "static_select":
                values[block_id] = (element.get("selected_option") or {}).get("value")
            elif kind in ("multi_static_select", "checkboxes"):
                values[block_id] = [o["value"] for o in element.get("selected_options") or []]
            else:
                values[block_id] = element.get("value")
    return values


# Block Kit rendering


def _text(text: str, limit: int = 3000) -> str:
    return clip(text, limit)


def escape(text: str) -> str:
    """Slack's three control characters, so people's words can't turn into mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fallback_text(reply: Reply) -> str:
    """The plain text Slack shows in notifications and to screen readers."""
    warnings = "".join(f"\n⚠ {w}" for w in reply.warnings)
    return _text(escape(reply.text + warnings), 3000)


def item_text(item: Item) -> str:
    """One list line in mrkdwn: a heading bold, a line no longer current struck through. (The
    core's older markup, `*heading*` and `~dropped~`, is mrkdwn already and passes as it is.)"""
    text = escape(item.text)
    if item.struck:
        text = f"~{text}~"
    return f"*{text}*" if item.heading else text


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _text(text or " ")}}


def _buttons(choices: tuple[Choice, ...], block_id: str | None = None) -> dict:
    elements = []
    for index, choice in enumerate(choices[:25]):
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": _text(choice.label, 75), "emoji": True},
            "action_id": f"{choice.action}#{index}",
            "value": choice.value[:2000] or "{}",
        }
        if choice.style:
            button["style"] = choice.style
        elements.append(button)
    block: dict[str, Any] = {"type": "actions", "elements": elements}
    if block_id:
        block["block_id"] = block_id[:255]
    return block


def render_blocks(reply: Reply, prefix: str = "") -> list[dict]:
    """A reply as Block Kit: its text, its facts, one line per item with that item's buttons,
    then the reply's own buttons."""
    blocks: list[dict] = [_section(escape(reply.text))]
    for warning in reply.warnings:
        blocks.append(_section(f"⚠ *{escape(warning)}*"))
    if reply.facts:
        fields = [
            {"type": "mrkdwn", "text": _text(f"*{escape(label)}*\n{escape(value)}", 2000)}
            for label, value in reply.facts[:10]
        ]
        blocks.append({"type": "section", "fields": fields})
    for index, item in enumerate(reply.items[:MAX_ITEMS]):
        blocks.append(_section(item_text(item)))
        if item.choices:
            blocks.append(_buttons(item.choices, f"{prefix}item-{index}"))
    if len(reply.items) > MAX_ITEMS:
        more = len(reply.items) - MAX_ITEMS
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more."}]}
        )
    if reply.choices:
        blocks.append(_buttons(reply.choices, f"{prefix}choices"))
    return blocks[:50]


def render_home(sections: list[Outgoing], notice: Iterable[Outgoing] = ()) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "IT Liaison", "emoji": True}}
    ]
    for out in notice:
        line = f"{'⚠' if out.reply.private else '✓'} {fallback_text(out.reply)}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _text(line)}]})
    for index, out in enumerate(sections):
        blocks.append({"type": "divider"})
        blocks += render_blocks(out.reply, prefix=f"s{index}-")
    return {"type": "home", "blocks": blocks[:100]}


def _title(view: dict) -> str:
    return ((view.get("title") or {}).get("text") or "IT Liaison")[:24]


def info_modal(title: str, blocks: list[dict]) -> dict:
    return {
        "type": "modal",
        "callback_id": "details",
        "title": {"type": "plain_text", "text": _text(title, 24)},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": (blocks or [_section(" ")])[:100],
    }


def saving_modal(view: dict) -> dict:
    text = "Saving… this is taking a little longer than usual. You can close this window."
    return info_modal(_title(view), [_section(text)])


def done_modal(view: dict, replies: list[Outgoing]) -> dict:
    mine = [r for r in replies if r.to_person is None]
    text = "\n".join(fallback_text(r.reply) for r in mine) or "Done."
    return info_modal(_title(view), [_section(text)])


def refill(view: dict, values: dict[str, Any], errors: dict[str, str]) -> dict:
    """The submitted form again, filled with what was typed, each error under its field
    (views.update cannot show response_action errors)."""
    blocks: list[dict] = []
    for block in copy.deepcopy(view.get("blocks") or []):
        key = block.get("block_id")
        if block.get("type") == "input" and values.get(key):
            _set_initial(block["element"], values[key])
        blocks.append(block)
        if key in errors:
            warning = f"⚠ {escape(errors[key])}"
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": warning}]})
    new_view = {
        k: view[k]
        for k in ("type", "callback_id", "title", "submit", "close", "private_metadata")
        if view.get(k) is not None
    }
    new_view["blocks"] = blocks[:100]
    return new_view


def _set_initial(element: dict, value: Any) -> None:
    kind = element.get("type")
    if kind == "datepicker":
        element["initial_date"] = value
    elif kind == "users_select":
        element["initial_user"] = value
    elif kind == "static_select":
        chosen = [o for o in element.get("options") or [] if o.get("value") == value]
        if chosen:
            element["initial_option"] = chosen[0]
    elif kind == "multi_static_select":
        kept = set(value)
        element["initial_options"] = [o for o in element.get("options") or [] if o["value"] in kept]
    elif kind == "plain_text_input":
        element["initial_value"] = str(value)[: element.get("max_length") or 3000]


def render_modal(form: Form) -> dict:
    return {
        "type": "modal",
        "callback_id": form.id,
        "title": {"type": "plain_text", "text": _text(form.title, 24)},
        "submit": {"type": "plain_text", "text": _text(form.submit_label, 24)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": form.state[:3000],
        "blocks": [_input_block(f) for f in form.fields][:100],
    }


def _option(value: str, label: str) -> dict:
    return {"text": {"type": "plain_text", "text": _text(label, 75)}, "value": value[:150]}


def _input_block(field: FormField) -> dict:
    action_id = "value"
    hint = field.hint
    if field.kind == "date":
        element: dict[str, Any] = {"type": "datepicker", "action_id": action_id}
        if field.initial and re.fullmatch(r"\d{4}-\d{2}-\d{2}", field.initial):
            element["initial_date"] = field.initial
        hint = None  # the hints describe typed dates; a date picker needs none
    elif field.kind == "person":
        element = {"type": "users_select", "action_id": action_id}
        if field.initial and re.fullmatch(r"[UW][A-Z0-9]+", field.initial):
            element["initial_user"] = field.initial
    elif field.kind == "choice":
        options = [_option(v, label) for v, label in field.options[:100]]
        element = {"type": "static_select", "action_id": action_id, "options": options}
        chosen = [o for o in options if o["value"] == field.initial]
        if chosen:
            element["initial_option"] = chosen[0]
    elif field.kind == "roles":
        options = [_option(v, label) for v, label in field.options[:100]]
        kept = set((field.initial or "").split(","))
        element = {"type": "multi_static_select", "action_id": action_id, "options": options}
        initial = [o for o in options if o["value"] in kept]
        if initial:
            element["initial_options"] = initial
    else:
        limit = 3000 if field.kind == "long_text" else 200
        element = {
            "type": "plain_text_input",
            "action_id": action_id,
            "multiline": field.kind == "long_text",
            "max_length": limit,
        }
        if field.initial:
            element["initial_value"] = field.initial[:limit]
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.key[:255],
        "label": {"type": "plain_text", "text": _text(field.label, 2000)},
        "element": element,
        "optional": field.optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": _text(hint, 2000)}
    return block
