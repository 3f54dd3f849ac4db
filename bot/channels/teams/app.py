"""Builds the Teams channel: the Bot Framework adapter (CloudAdapter), the channel and its bot."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)

from bot.channels.teams.bot import TeamsBot
from bot.channels.teams.delivery import TeamsChannel
from bot.channels.teams.turns import TeamsTurns
from bot.lifecycle import InFlight
from handlers.core import Liaison


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
    in_flight = in_flight or InFlight()
    channel = TeamsChannel(liaison, adapter, app_id, tenant_id or None, in_flight=in_flight)
    channel.bot = TeamsBot(TeamsTurns(channel))
    return channel
