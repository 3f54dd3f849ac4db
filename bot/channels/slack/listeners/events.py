"""Events: messages, mentions and the App Home. Most channel messages are not signals and
are dropped here with no Web API call and no database access.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp

from bot.channels.interactions import LONG_TEXT
from bot.channels.slack.delivery import SlackChannel, permalink
from bot.channels.slack.listeners.errors import failure_reporter
from bot.channels.slack.listeners.joins import first_dm, with_welcome
from bot.channels.slack.named import channels_named_here
from bot.channels.slack.text import readable_text
from bot.retry import once_the_database_answers
from bot.spool import inbound_from_record, inbound_record
from handlers.messages import (
    Inbound,
)

log = logging.getLogger("liaison.slack")


# Message subtypes a person writes; everything else (edits, deletions, joins, topics, bots,
# thread-reply notices...) is ignored.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


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


def register(app: AsyncApp, slack: SlackChannel) -> None:
    """Messages, mentions and the App Home being opened."""
    track = slack.in_flight.tracked  # shutdown waits for what runs after the ack

    def _read(text: str) -> tuple[bool, bool]:
        """Whether it holds a signal, and whether the bot may answer it (a signal or a
        promise); the core finds the same reading again (`Liaison.detect`)."""
        signal = slack.core.worth_reading(text)
        return signal, signal or slack.core.finds_promise(text)

    @app.event("message")
    @track
    async def on_message(event: dict, context: dict, body: dict) -> None:
        bot_user_id = context.get("bot_user_id")
        if not is_person_message(event, bot_user_id):
            return
        event_id = body.get("event_id")
        if event.get("channel_type") == "im":
            later(slack, body, event, direct=True, event_id=event_id, dm=True)
            return
        text = readable_text(event.get("text") or "")
        if bot_user_id and f"<@{bot_user_id}>" in text:
            return  # the app_mention event handles it
        long = len(text) > LONG_TEXT  # read off the loop that acknowledges events
        signal, promise = await asyncio.to_thread(_read, text) if long else _read(text)
        if not promise:
            return  # everyday chat: nothing stored, nothing said, no API call
        # A signal is offered for planning; a promise, to its author only, for tracking.
        later(slack, body, event, direct=False, signal=signal, event_id=event_id)

    @app.event("app_mention")
    @track
    async def on_mention(event: dict, context: dict, body: dict) -> None:
        if is_person_message(event, context.get("bot_user_id")):
            signal = slack.core.worth_reading(readable_text(event.get("text") or ""))
            later(slack, body, event, direct=True, signal=signal, event_id=body.get("event_id"))

    @app.event("app_home_opened")
    @track
    async def on_home(event: dict) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            await slack.publish_home(event["user"])


def later(
    slack: SlackChannel,
    body: dict,
    event: dict,
    *,
    direct: bool,
    signal: bool = False,
    event_id: str | None = None,
    dm: bool = False,
) -> None:
    """`on_person_message`, after the acknowledgements waiting (`SlackChannel.backlog`); with
    the backlog full, the event is kept in the spool and handled again a few seconds later."""
    if not slack.first_delivery((event.get("channel", ""), event.get("ts") or "")):
        return  # Slack delivered it again (a retry); the core's ledger guards other replicas

    async def work() -> None:
        welcome = await first_dm(slack, event["user"]) if dm else False
        await on_person_message(
            slack, event, direct=direct, signal=signal, event_id=event_id, welcome=welcome
        )

    async def overflow() -> None:
        inbound, thread = await inbound_of(slack, event, signal=signal, direct=direct)
        record = {"inbound": inbound_record(inbound), "thread": thread, "user": event["user"]}
        what = f"slack event {event_id or event.get('ts')} (too much work waiting)"
        if slack.retrier.spool is not None:
            slack.retrier.spool.keep("slack", record, what)  # logged and counted
        else:
            log.error("%s dropped: no spool is set", what)

    slack.backlog.submit(work, overflow=overflow, failed=failure_reporter(slack, body))


async def inbound_of(
    slack: SlackChannel, event: dict, *, signal: bool, direct: bool
) -> tuple[Inbound, str | None]:
    """A message event as the core reads it (who wrote it, the link of a signal), and the
    thread its answer goes in."""
    channel_id, ts, user = event.get("channel", ""), event.get("ts") or "", event["user"]
    in_im = event.get("channel_type") == "im"
    want_link = signal and not in_im and bool(ts)
    sender, link, _ = await asyncio.gather(
        slack.sender(user, event.get("user_team")),
        permalink(slack, channel_id, ts, event.get("thread_ts")) if want_link else _none(),
        channels_named_here(slack),  # many workspaces: this one's #names, the first time
    )
    thread = event.get("thread_ts") or (None if in_im else ts or None)
    inbound = Inbound(
        sender=sender,
        conversation=channel_id,
        text=readable_text(event.get("text") or ""),
        message_id=ts or None,
        link=link,
        is_direct=direct,
        confirms_delivery=True,  # slack.deliver confirms an offer's claim once posted
        thread_id=thread,
    )
    return inbound, thread


async def on_person_message(
    slack: SlackChannel,
    event: dict,
    *,
    direct: bool,
    signal: bool = False,
    event_id: str | None = None,
    welcome: bool = False,
) -> None:
    """A DM, a mention or a channel message with a signal: ask the core, answer in place."""
    channel_id, ts, user = event.get("channel", ""), event.get("ts") or "", event["user"]
    inbound, thread = await inbound_of(slack, event, signal=signal, direct=direct)

    async def answer() -> None:
        replies = await slack.answer(inbound)
        if welcome:
            replies = with_welcome(replies)
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

    def record() -> tuple[str, dict]:
        """What handling it again needs, should it outlast the retrier (bot/spool.py)."""
        return "slack", {"inbound": inbound_record(inbound), "thread": thread, "user": user}

    await once_the_database_answers(slack.retrier, f"slack event {event_id or ts}", answer, record)


async def replay(slack: SlackChannel, record: dict) -> None:
    """Handle a spooled message event again (the database was away when it came)."""
    inbound = inbound_from_record(record["inbound"])
    replies = await slack.answer(inbound)
    await slack.deliver(
        replies,
        channel=inbound.conversation,
        thread_ts=record.get("thread"),
        user_id=record["user"],
    )


async def _none() -> None:
    return None
