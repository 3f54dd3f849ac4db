"""SlackChannel: who a Slack user is, and sending replies (to the conversation, privately,
as a DM, or kept for the sweeps when Slack keeps refusing); SlackOutbox for the sweeps.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.interactions import (
    Destination,
    TTLCache,
    destination,
    keep_for_later,
)
from bot.channels.interactions import deliver as deliver_each
from bot.channels.slack.backlog import Backlog
from bot.channels.slack.blockkit import (
    clipped,
    fallback_text,
    render_blocks,
    render_home,
)
from bot.channels.slack.directory import (
    derived_permalink,
    find_channel_ids,
    slack_error,
    slack_sender,
    workspace_identity,
)
from bot.channels.slack.people import with_people
from bot.channels.slack.responses import respond_once, respond_to
from bot.channels.slack.retry_handlers import asked_wait_of
from bot.channels.slack.workspaces import (
    NotInstalled,
    current_team,
    in_workspace,
    reaching,
)
from bot.lifecycle import InFlight
from bot.retry import Retrier, waiting_at_most
from handlers.core import Liaison
from handlers.messages import (
    Action,
    Inbound,
    Outgoing,
    Reply,
    Sender,
)

log = logging.getLogger("liaison.slack")

CHANNEL = "slack"
USER_CACHE_SECONDS = 3600.0
TS = re.compile(r"^\d+\.\d+$")
CONVERSATION = re.compile(r"^[CGD][A-Z0-9]+$")


_SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass
class SlackChannel:
    core: Liaison
    app: AsyncApp
    client: AsyncWebClient
    users: TTLCache[str, Sender] = field(default_factory=lambda: TTLCache(USER_CACHE_SECONDS))
    handled: OrderedDict[tuple[str, str], None] = field(default_factory=OrderedDict)
    session: aiohttp.ClientSession | None = None
    verifier: SignatureVerifier | None = None  # for the chatter fast path (HTTP mode)
    retrier: Retrier = field(default_factory=Retrier)  # work a passing outage interrupted
    in_flight: InFlight = field(default_factory=InFlight)  # listener runs shutdown waits for
    team_id: str | None = None  # this workspace (auth.test at start): anyone else's is outside
    team_url: str | None = None  # its address (auth.test's "url"): permalinks are made from it
    installations: Any = None  # multi-workspace mode: oauth.Installations; None for one token
    backlog: Backlog = field(default_factory=Backlog)  # the work after acks (backlog.py)

    # Lifecycle

    async def start(self) -> None:
        """One pooled HTTP session for every Web API call (instead of one per call), and the
        ids of the channels the config names as `#name`."""
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            self.client.session = self.session
        if self.installations is None:  # with many workspaces, no token until an event names one
            await self.own_team()
            await find_channel_ids(self.client, self.core.org)

    async def own_team(self) -> str | None:
        """This workspace's team id (with many, the current request's; see `current_team`)."""
        if self.team_id is None and self.installations is None:
            self.team_id, url = await workspace_identity(self.client)
            self.team_url = self.team_url or url
        return self.team_id if self.installations is None else current_team()

    async def close(self) -> None:
        await self.retrier.stop()  # what still waits gets its last try and its fallback
        if self.session is not None:
            self.client.session = None
            await self.session.close()
            self.session = None

    # Inbound plumbing

    async def answer(self, inbound: Inbound) -> list[Outgoing]:
        return await with_people(self.core, await asyncio.to_thread(self.core.handle, inbound))

    async def sender(self, user_id: str, team: str | None = None) -> Sender:
        """Who a Slack user is (name, email, time zone, and whether they are from another
        organisation: a team other than this workspace's), cached for an hour. `team` is the
        user's team when the event said it (`user_team`)."""
        cached = self.users.get(user_id)
        if cached is not None:
            return cached
        own = await self.own_team()
        try:
            info = (await self.client.users_info(user=user_id))["user"]
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, slack_error(exc))
            return slack_sender(CHANNEL, user_id, None, own, team)  # not cached: ask again
        sender = in_workspace(slack_sender(CHANNEL, user_id, info, own, team))
        self.users.put(user_id, sender)
        return sender

    async def person_id(self, user_id: str) -> int:
        """Make sure a Slack user (picked in a form, or mentioned) is a known person; their id."""
        return await asyncio.to_thread(self.core.register, await self.sender(user_id))

    async def know_mentioned(self, text: str) -> None:
        """Make every person mentioned (`<@U123|name>`, as Slack escapes them) known, so the
        core can find them by their Slack id."""
        for user_id in dict.fromkeys(_SLACK_MENTION.findall(text)):
            await self.person_id(user_id)

    def first_delivery(self, key: tuple[str, str]) -> bool:
        """True the first time this process handles a message (Slack may deliver it again)."""
        return first_seen(self.handled, key)

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
            failures=(SlackApiError, aiohttp.ClientError, TimeoutError, NotInstalled),
            describe=_failure,
            passing=passing_failure,
            retrier=self.retrier,
            keep=keep,
            what=f"slack reply to {channel or user_id}",
            asked=asked_wait_of,
            core=self.core,
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
        where = destination(out, private_place=bool(channel and channel.startswith("D")))
        if where is Destination.PERSON:
            await self.dm(out.to_person, text, blocks)
        elif respond is not None and (out.reply.private or channel is None):
            message = {"text": text, "blocks": blocks, "response_type": "ephemeral"}
            message["replace_original"] = False
            answered = await respond_once(self.session, respond, message)
            status = getattr(answered, "status_code", 200)
            if status != 200 and user_id:  # the response_url expired or was used up: a DM
                log.warning("response_url answered %s; answering %s by DM", status, user_id)
                await self.client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
        elif where is Destination.PRIVATE and channel and user_id:
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
            return await self.person_id(user_id) if user_id else None

        await keep_for_later(self.core, out, asker, why)

    async def dm(self, person_id: int, text: str, blocks: list[dict]) -> bool:
        """DM a person on Slack, opening (and remembering) the DM channel once."""
        address = await asyncio.to_thread(self.core.address_of, person_id, CHANNEL)
        if address is None:
            log.info("person %s has no Slack address; DM skipped", person_id)
            return False
        await self.dm_address(address, text, blocks)
        return True

    async def dm_address(self, address, text: str, blocks: list[dict]) -> None:
        async with reaching(self.installations, address):  # the token of the address's workspace
            dm_channel = address.dm_channel
            if not dm_channel:
                opened = await self.client.conversations_open(users=address.external_id)
                dm_channel = opened["channel"]["id"]
                await asyncio.to_thread(self.core.remember_dm, address.id, dm_channel)
            await self.client.chat_postMessage(channel=dm_channel, text=text, blocks=blocks)

    async def publish_home(self, user_id: str, notice: Iterable[Outgoing] = ()) -> None:
        """The App Home: the viewer's commitments and initiatives (and, for a liaison, what is
        stuck in their units), after an optional notice of what just happened."""
        sender = await self.sender(user_id)
        sections = await self.answer(Inbound(sender, "home", action=Action("home.open")))
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
            if private and not (
                where.get("ru") and await respond_to(self.session, where["ru"], private)
            ):
                log.info("answering %s by DM: no response_url that works", user_id)
                await self.deliver(private, channel=None, user_id=user_id)
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
        context = {"type": "context", "elements": [{"type": "mrkdwn", "text": clipped(line, 2900)}]}
        blocks = [*blocks[:index], context, *blocks[index + 1 :]]
        text = message.get("text") or line
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("chat.update failed: %s", slack_error(exc))
            return False
        return True

    async def update_offer(self, channel: str, ts: str, text: str) -> None:
        """Replace an offer's buttons with what became of it."""
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": clipped(text)}]}]
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("chat.update of an offer failed: %s", slack_error(exc))


class SlackOutbox:
    """The sweeps' way to DM someone on Slack (rate limits are retried by the client)."""

    channel = CHANNEL

    def __init__(self, slack: SlackChannel) -> None:
        self.slack = slack

    async def send(self, address, reply: Reply) -> None:
        from schedules.outbox import DeliveryError

        await with_people(self.slack.core, [Outgoing(reply)])  # its people as real mentions
        try:
            with waiting_at_most(0.0):  # Slack failing: recorded as failed now, retried later
                await self.slack.dm_address(address, fallback_text(reply), render_blocks(reply))
        except NotInstalled as exc:  # kept in the ledger; no call reaches Slack
            raise DeliveryError(f"slack: {exc}") from exc
        except SlackApiError as exc:
            raise DeliveryError(f"slack: {slack_error(exc)}") from exc  # a 5xx page is no JSON
        except Exception as exc:  # a network failure after the client's own retries
            raise DeliveryError(f"slack: {type(exc).__name__}") from exc


def first_seen(seen: OrderedDict, key: tuple[str, str], limit: int = 10_000) -> bool:
    """True the first time `key` is seen; the oldest keys go beyond `limit`."""
    if key in seen:
        return False
    seen[key] = None
    while len(seen) > limit:
        seen.popitem(last=False)
    return True


def _failure(exc: BaseException) -> str:
    return slack_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__


PASSING_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}


def passing_failure(exc: BaseException) -> bool:
    """A failure worth trying again soon: Slack's 5xx or 429, or the network; not a refusal
    (a channel the app is not in, a user that is gone)."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 0) or 0
        return status == 429 or status >= 500 or slack_error(exc) in PASSING_ERRORS
    return isinstance(exc, aiohttp.ClientError | TimeoutError)


async def permalink(
    slack: SlackChannel, channel: str | None, ts: str | None, thread_ts: str | None = None
) -> str | None:
    """A message's permalink: made from the workspace's address as Slack makes it, with no
    Web API call, when auth.test gave one (one workspace); else asked (chat.getPermalink)."""
    if not ts or not channel:
        return None
    if slack.team_url and slack.installations is None and TS.match(ts):
        return derived_permalink(slack.team_url, channel, ts, thread_ts)
    try:
        return (await slack.client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
    except SlackApiError as exc:
        log.info("no permalink for %s/%s: %s", channel, ts, slack_error(exc))
        return None
