"""Shortcuts: on a message, "Plan it with IT" opens the intake form and "Track as commitment"
the commitment form, both filled in from the message; the global "Plan with IT" (the
shortcuts menu) opens an empty intake form. views.open goes first: a trigger_id lives three
seconds.
"""

from __future__ import annotations

import json

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.channels.interactions import intake_data, intake_for
from bot.channels.slack.delivery import SlackChannel
from bot.channels.slack.manifest import GLOBAL_SHORTCUTS, SHORTCUTS
from bot.channels.slack.modals import open_form
from bot.channels.slack.text import readable_text
from handlers.messages import Outgoing, Reply


def register(app: AsyncApp, slack: SlackChannel) -> None:
    @app.shortcut(SHORTCUTS[0])
    @slack.in_flight.tracked
    async def on_plan_shortcut(ack: AsyncAck, shortcut: dict) -> None:
        await ack()
        message = shortcut.get("message") or {}
        channel_id = (shortcut.get("channel") or {}).get("id")
        user_id = (shortcut.get("user") or {}).get("id") or ""
        mid = message.get("ts") or shortcut.get("action_ts")
        data = intake_data(slack.core, readable_text(message.get("text") or ""), channel_id, mid)
        # The permalink is fetched when the form comes back: views.open goes first.
        form = intake_for(slack.core, await slack.sender(user_id), data)
        if isinstance(form, Reply):  # someone from another organisation plans nothing here
            await slack.deliver([Outgoing(form)], channel=None, user_id=user_id)
            return
        await open_form(slack, shortcut["trigger_id"], form, user_id=user_id)  # a DM if it can't

    @app.shortcut(SHORTCUTS[1])
    @slack.in_flight.tracked
    async def on_track_shortcut(ack: AsyncAck, shortcut: dict) -> None:
        await ack()
        message = shortcut.get("message") or {}
        channel_id = (shortcut.get("channel") or {}).get("id")
        user_id = (shortcut.get("user") or {}).get("id") or ""
        state = json.dumps({"conv": channel_id, "mid": message.get("ts")})
        form = slack.core.commitment_form(readable_text(message.get("text") or ""), state=state)
        await open_form(slack, shortcut["trigger_id"], form, user_id=user_id)  # a DM if it can't

    @app.shortcut(GLOBAL_SHORTCUTS[0])
    @slack.in_flight.tracked
    async def on_global_plan(ack: AsyncAck, shortcut: dict) -> None:
        await ack()
        user_id = (shortcut.get("user") or {}).get("id") or ""
        data = intake_data(slack.core, "", None, None)  # nothing to read: the form asks it all
        form = intake_for(slack.core, await slack.sender(user_id), data)
        if isinstance(form, Reply):  # someone from another organisation plans nothing here
            await slack.deliver([Outgoing(form)], channel=None, user_id=user_id)
            return
        await open_form(slack, shortcut["trigger_id"], form, user_id=user_id)  # a DM if it can't
