"""Bolt listeners, one module per listener type, each with a `register(app, slack)` (as in
Bolt's starter template): where a command, a button or an event is handled is one file away.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.channels.slack.delivery import SlackChannel
from bot.channels.slack.listeners import (
    actions,
    commands,
    errors,
    events,
    joins,
    shortcuts,
    views,
)

LISTENERS = (events, joins, commands, actions, shortcuts, views, errors)


def register(app: AsyncApp, slack: SlackChannel) -> None:
    """Register every listener type on `app`."""
    for listener in LISTENERS:
        listener.register(app, slack)
