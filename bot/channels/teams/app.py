"""Builds the Teams channel: the SDK's adapter behind the `TeamsHost` seam (botbuilder's
CloudAdapter, or the Agents SDK's with TEAMS_SDK=agents), the channel and its bot; Teams as the
channel registry sees it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from aiohttp import web
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)

from bot.channels.teams.bot import TeamsBot
from bot.channels.teams.delivery import CHANNEL, TeamsChannel, TeamsOutbox
from bot.channels.teams.host import AGENTS, BOTBUILDER, SDKS, BotbuilderHost, TeamsHost
from bot.channels.teams.transport import teams_route
from bot.channels.teams.turns import TeamsTurns
from bot.config import Settings
from bot.lifecycle import InFlight
from bot.retry import Breaker, Retrier
from handlers.core import Liaison


@dataclass(frozen=True)
class BotConfig:
    """The settings botbuilder's ConfigurationBotFrameworkAuthentication reads by name."""

    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""


def build_teams(
    core: Liaison,
    *,
    app_id: str | None,
    app_password: str | None,
    app_type: str | None = "MultiTenant",
    tenant_id: str | None = None,
    in_flight: InFlight | None = None,
    sdk: str = BOTBUILDER,
) -> TeamsChannel:
    """The SDK's adapter and the bot. An empty app id runs unauthenticated (local or emulator
    mode); with an app id, requests without a valid token are refused. `sdk` is TEAMS_SDK:
    "botbuilder" (the default) or "agents" (the Microsoft 365 Agents SDK, an optional extra)."""
    app_id = (app_id or "").strip()
    # msrest warns about every field Teams adds that the archived schema doesn't know (the
    # roster's teamsChannelId, an invoke's trigger...): noise, not news.
    logging.getLogger("msrest.serialization").setLevel(logging.ERROR)
    host = teams_host(sdk, app_id, app_password or "", app_type or "MultiTenant", tenant_id)
    in_flight = in_flight or InFlight()
    channel = TeamsChannel(core, host, app_id, tenant_id or None, in_flight=in_flight)
    channel.retrier.breaker = channel.breaker  # Teams back: the waiting retries go at once
    channel.bot = TeamsBot(TeamsTurns(channel))
    return channel


def teams_host(
    sdk: str, app_id: str, app_password: str, app_type: str, tenant_id: str | None
) -> TeamsHost:
    """The adapter of the chosen SDK; the Agents SDK is imported only when it is chosen."""
    if sdk not in SDKS:
        raise ValueError(f"TEAMS_SDK must be one of {', '.join(SDKS)}, not '{sdk}'.")
    if sdk == AGENTS:
        try:
            from bot.channels.teams.agents import AgentsHost
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("microsoft_agents"):
                raise
            raise RuntimeError(
                "TEAMS_SDK=agents needs the Microsoft 365 Agents SDK: "
                "pip install 'it-liaison-bot[teams-agents]'"
            ) from exc
        return AgentsHost(app_id, app_password, app_type, tenant_id)
    config = BotConfig(app_id, app_password, app_type, tenant_id or "") if app_id else BotConfig()
    return BotbuilderHost(CloudAdapter(ConfigurationBotFrameworkAuthentication(config)), app_id)


@dataclass
class TeamsEntry:
    """Teams as bootstrap and the server see it (the `Channel` protocol)."""

    adapter: TeamsChannel
    name: ClassVar[str] = CHANNEL

    @property
    def retrier(self) -> Retrier:
        return self.adapter.retrier

    @property
    def breaker(self) -> Breaker:
        return self.adapter.breaker

    def outbox(self) -> TeamsOutbox:
        return TeamsOutbox(self.adapter)

    def mount(self, web_app: web.Application) -> None:
        """POST /api/messages; at cleanup, work that outlived its request may finish."""
        web_app.router.add_post("/api/messages", teams_route(self.adapter))
        web_app.on_cleanup.append(self.adapter.close)


def teams_from_settings(
    core: Liaison, settings: Settings, in_flight: InFlight
) -> TeamsEntry | None:
    """Teams is served when it is configured (an app id: every request must carry a valid
    token) or when TEAMS_EMULATOR is on (no app id: only this machine is answered). Otherwise
    /api/messages does not exist, so a Slack-only deployment has no unauthenticated door."""
    if not settings.serves_teams:
        return None
    adapter = build_teams(
        core,
        app_id=settings.microsoft_app_id,
        app_password=settings.microsoft_app_password,
        app_type=settings.microsoft_app_type,
        tenant_id=settings.microsoft_app_tenant_id,
        in_flight=in_flight,
        sdk=settings.teams_sdk,
    )
    return TeamsEntry(adapter)
