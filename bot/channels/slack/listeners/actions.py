"""Buttons: open the form a button stands for (see bot/channels/interactions), or let the
core act on it and report where it was pressed.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.channels.interactions import (
    OUT_OF_DATE,
    answer_now,
    form_for_button,
    intake_for,
    read_json,
    unseal,
)
from bot.channels.slack.backlog import BUSY, shed
from bot.channels.slack.blockkit import info_modal, render_blocks, section
from bot.channels.slack.delivery import SlackChannel
from bot.channels.slack.listeners.errors import failure_reporter
from bot.channels.slack.modals import open_for_presser, open_form, open_view
from handlers.messages import (
    Action,
    Form,
    Inbound,
    Outgoing,
    Reply,
    ReplyKind,
    Sender,
)

log = logging.getLogger("liaison.slack")


def register(app: AsyncApp, slack: SlackChannel) -> None:
    """Every button: acknowledged at once, then `on_action`."""

    @app.action(re.compile(r".+"))
    @slack.in_flight.tracked  # shutdown waits for what runs after the ack
    async def on_button(ack: AsyncAck, body: dict, action: dict) -> None:
        await ack()
        await on_action(slack, body, action)


async def on_action(slack: SlackChannel, body: dict, action: dict) -> None:
    """A button: open the modal it stands for, or let the core act on it."""
    action_id = (action.get("action_id") or "").split("#", 1)[0]
    user_id = body["user"]["id"]
    container = body.get("container") or {}
    channel_id = (body.get("channel") or {}).get("id") or container.get("channel_id")
    value = unseal(action.get("value"), action_id)
    if value is None:  # changed on the way, or from before the key changed: nothing happens
        log.warning("slack: refused a button %s whose value is not ours", action_id[:80])
        refusal = Outgoing(Reply(OUT_OF_DATE, private=True))
        await slack.deliver([refusal], channel=channel_id or user_id, user_id=user_id)
        return
    data = read_json(value)
    message = body.get("message") or {}
    trigger = body.get("trigger_id") or ""
    if action_id == "offer.plan":
        if not data.get("conv"):
            data["conv"] = channel_id
        data.setdefault("mid", message.get("thread_ts") or message.get("ts"))
        if channel_id and message.get("ts"):
            data["offer"] = message["ts"]
    where = _where(body, action)
    if action_id == "offer.plan":  # who pressed is checked beside views.open, not before it

        def decide(sender: Sender) -> Form | Reply:
            return intake_for(slack.core, sender, data)

        await open_for_presser(slack, trigger, user_id, decide, channel=channel_id)
        return
    opens = form_for_button(slack.core, action_id, data, where)
    if isinstance(opens, Reply):
        await slack.deliver([Outgoing(opens)], channel=channel_id or user_id, user_id=user_id)
        return
    if opens is not None:
        await open_form(slack, trigger, opens, user_id=user_id, channel=channel_id)
        return
    if action_id == "home.initiative":
        await show_details(slack, trigger, user_id, action_id, value)
        return
    pressed = f"{action.get('action_ts') or trigger}:{action_id}"  # one per press

    async def work() -> list[Outgoing]:
        inbound = Inbound(
            await slack.sender(user_id),
            channel_id or "",
            action=Action(action_id, value),
            is_direct=True,
            delivery_id=pressed if (action.get("action_ts") or trigger) else None,
        )
        return await slack.answer(inbound)

    async def act() -> None:
        replies = await answer_now(f"slack button {action_id}", work)
        dismissed = any(r.reply.kind == ReplyKind.DISMISSED for r in replies)
        if dismissed and channel_id and message.get("ts"):
            await slack.update_offer(
                channel_id, message["ts"], f"<@{user_id}> said IT isn't needed for this one."
            )
        await slack.report(where, user_id, replies, message)

    async def overflow() -> None:  # too much work waiting: the presser tries again
        shed(slack.retrier, f"slack button {action_id}")
        await slack.report(where, user_id, [Outgoing(Reply(BUSY, private=True))], message)

    # The core's act after the acknowledgements waiting (a form opened above, at once).
    slack.backlog.submit(act, overflow=overflow, failed=failure_reporter(slack, body))


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
    loading = info_modal("Details", [section("Loading…")])
    opened = await open_view(slack, trigger, loading, user_id=user_id)
    if opened is None:
        return
    sender = await slack.sender(user_id)
    replies = await slack.answer(Inbound(sender, "home", action=Action(action_id, value)))
    blocks = [b for r in replies if r.to_person is None for b in render_blocks(r.reply)]
    await slack.client.views_update(view_id=opened["id"], view=info_modal("Details", blocks))
