"""The /commitments slash command: answered to the asker only."""

from __future__ import annotations

from dataclasses import replace

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.channels.interactions import answer_now
from bot.channels.slack.backlog import BUSY, shed
from bot.channels.slack.delivery import SlackChannel
from bot.channels.slack.listeners.errors import failure_reporter
from bot.channels.slack.manifest import COMMAND
from bot.channels.slack.text import readable_text
from handlers.messages import (
    Inbound,
    Outgoing,
    Reply,
)


def register(app: AsyncApp, slack: SlackChannel) -> None:
    """The /commitments command: acknowledged at once, answered to the asker only."""

    @app.command(COMMAND)
    @slack.in_flight.tracked  # shutdown waits for what runs after the ack
    async def on_commitments(ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        await ack()
        user_id = command["user_id"]
        text = readable_text(command.get("text") or "")

        async def work() -> list[Outgoing]:
            await slack.know_mentioned(text)
            sender = await slack.sender(user_id)
            inbound = Inbound(
                sender,
                command.get("channel_id", ""),
                text=f"commitments {text}",
                is_direct=True,
                delivery_id=command.get("trigger_id") or None,  # one per invocation
            )
            return await slack.answer(inbound)

        async def answer() -> None:
            replies = await answer_now(f"slack command from {user_id}", work)
            await deliver(replies)

        async def deliver(replies: list[Outgoing]) -> None:
            await slack.deliver(
                [_private(r) for r in replies], channel=None, user_id=user_id, respond=respond
            )

        async def overflow() -> None:  # too much work waiting: the asker tries again
            shed(slack.retrier, f"slack command from {user_id}")
            await deliver([Outgoing(Reply(BUSY, private=True))])

        slack.backlog.submit(answer, overflow=overflow, failed=failure_reporter(slack, command))


def _private(out: Outgoing) -> Outgoing:
    """Slash command answers are for the asker only; DMs to others stay DMs."""
    if out.to_person is not None:
        return out
    return Outgoing(replace(out.reply, private=True), None, out.meta)
