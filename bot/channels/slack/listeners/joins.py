"""Arrivals: the bot added to a channel says once what it listens for and what it keeps; a
person writing to it for the first time gets a short welcome at the top of its answer."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.channels.interactions import TTLCache
from bot.channels.slack.delivery import SlackChannel, slack_error
from handlers.messages import Outgoing
from storage.db import session_scope
from storage.models import Address

log = logging.getLogger("liaison.slack")

CHANNEL_NOTICE = (
    "Hi everyone, I'm the IT Liaison Bot. I read this channel's messages only to spot plans with "
    "an IT side (a purchase, a move, new staff, an event, a data project) and promises "
    '("I\'ll send it by Friday"), and offer to plan or track them. Ordinary chat is not '
    "stored. What I keep is what you accept: a plan (with a 280-character excerpt and a link to "
    "the message), commitments, and your answers to my offers. Mention me or DM me *help* to "
    "see what I can do. Details: the *Privacy* section of my README."
)

WELCOME = (
    "Hi, I'm the IT Liaison Bot. Tell me what's coming up and I'll offer to plan its IT side; "
    "type *help* for what I understand, or *commitments* for what you owe and are owed."
)


def register(app: AsyncApp, slack: SlackChannel) -> None:
    @app.event("member_joined_channel")
    @slack.in_flight.tracked
    async def on_member_joined(event: dict, context: dict) -> None:
        if event.get("user") != context.get("bot_user_id") or not event.get("channel"):
            return  # a person joined: nothing to say
        channel = event["channel"]
        if not await asyncio.to_thread(slack.core.first_time, f"greet:slack:channel:{channel}"):
            return  # added again (or the event delivered twice): said once already
        try:
            await slack.client.chat_postMessage(channel=channel, text=CHANNEL_NOTICE)
        except SlackApiError as exc:  # e.g. removed again at once
            log.info("channel notice not posted in %s: %s", channel, slack_error(exc))


# Users greeted (or found known) lately, per process and database: most DMs cost no trip.
GREETED: TTLCache[tuple[str, str], bool] = TTLCache(ttl=86400.0, size=20000)


async def first_dm(slack: SlackChannel, user_id: str) -> bool:
    """Whether a DM comes from someone the bot does not know yet (no Slack address). Only
    read, never written: everyday chat in a DM stores nothing, so someone who only ever chats
    may be welcomed again after a day or a restart, never twice in a row."""
    key = (str(slack.core.engine.url), user_id)
    if GREETED.get(key):
        return False
    GREETED.put(key, True)
    return not await asyncio.to_thread(known_on_slack, slack.core.engine, user_id)


def known_on_slack(engine, user_id: str) -> bool:
    with session_scope(engine) as session:
        query = select(Address.id).where(Address.channel == "slack", Address.external_id == user_id)
        return session.execute(query.limit(1)).first() is not None


def with_welcome(replies: list[Outgoing]) -> list[Outgoing]:
    """The answer to a first DM, opened by the welcome (one message, not two)."""
    for i, out in enumerate(replies):
        if out.to_person is None:
            text = f"{WELCOME}\n\n{out.reply.text}"
            return [
                *replies[:i],
                replace(out, reply=replace(out.reply, text=text)),
                *replies[i + 1 :],
            ]
    return replies
