"""Shortcuts: on a message, "Plan it with IT" opens the intake form and "Track as commitment"
the commitment form, both filled in from the message; the global "Plan with IT" (the
shortcuts menu) opens an empty intake form. views.open goes first: a trigger_id lives three
seconds, so who pressed is checked beside it (modals.open_for_presser), not before it.
"""

from __future__ import annotations

import json

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.channels.interactions import intake_data, intake_for
from bot.channels.slack.delivery import SlackChannel
from bot.channels.slack.manifest import GLOBAL_SHORTCUTS, SHORTCUTS
from bot.channels.slack.modals import open_for_presser, open_form
from bot.channels.slack.text import readable_text
from handlers.messages import Form, Reply, Sender


def register(app: AsyncApp, slack: SlackChannel) -> None:
    @app.shortcut(SHORTCUTS[0])
    @slack.in_flight.tracked
    async def on_plan_shortcut(ack: AsyncAck, shortcut: dict) -> None:
        await ack()
        message = shortcut.get("message") or {}
        channel_id = (shortcut.get("channel") or {}).get("id")
        user_id = (shortcut.get("user") or {}).get("id") or ""
        mid = message.get("ts") or shortcut.get("action_ts")
        text = readable_text(message.get("text") or "")

        def decide(sender: Sender) -> Form | Reply:  # an outsider is refused: no form, no unit
            return intake_for(slack.core, sender, intake_data(slack.core, text, channel_id, mid))

        # The permalink is fetched when the form comes back: views.open goes first.
        await open_for_presser(slack, shortcut["trigger_id"], user_id, decide)  # a DM if it can't

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

        def decide(sender: Sender) -> Form | Reply:  # nothing to read: the form asks it all
            return intake_for(slack.core, sender, intake_data(slack.core, "", None, None))

        await open_for_presser(slack, shortcut["trigger_id"], user_id, decide)  # a DM if it can't
