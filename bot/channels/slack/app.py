"""The Bolt app: its retrying Web API client and every listener registered; Slack as the
channel registry sees it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot.channels.slack import listeners
from bot.channels.slack.delivery import CHANNEL, SlackChannel, SlackOutbox
from bot.channels.slack.health import InstallationsHealth, SlackHealth
from bot.channels.slack.listeners import events
from bot.channels.slack.manifest import bot_scopes
from bot.channels.slack.named import NamedChannels, named_context, resolve_on_install
from bot.channels.slack.oauth import oauth_flow, oauth_routes, register_uninstalls
from bot.channels.slack.transport import slack_context, slack_route
from bot.channels.slack.workspaces import WorkspaceClient, remember_workspace
from bot.config import Settings
from bot.lifecycle import InFlight
from bot.retry import Breaker, Retrier
from handlers.core import Liaison


def build_slack(
    core: Liaison,
    *,
    token: str | None,
    signing_secret: str | None,
    api_url: str,
    socket_mode: bool = False,
    in_flight: InFlight | None = None,
    oauth: OAuthCredentials | None = None,
) -> SlackChannel:
    """The Bolt app with every listener registered, and its retrying Web API client: one
    workspace's token, or (with `oauth`) Bolt's install flow and the installations it keeps."""
    client = WorkspaceClient(token=token, base_url=api_url, breaker=Breaker(CHANNEL))
    flow = installations = None
    if oauth is not None:
        flow, installations = oauth_flow(
            client=client,
            client_id=oauth.client_id,
            client_secret=oauth.client_secret,
            scopes=oauth.scopes or bot_scopes(),
            engine=core.engine,
            redirect_uri=oauth.redirect_uri,
        )
    app = AsyncApp(
        client=client,
        oauth_flow=flow,
        signing_secret=signing_secret or "socket-mode-has-no-signing-secret",
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=logging.getLogger("liaison.slack.bolt"),
        # Built-in middleware this app has no use for, skipped on every request: the app's
        # own messages are dropped by `is_person_message`, and it uses neither the assistant
        # helpers (say, set_status...) nor workflow functions.
        ignoring_self_events_enabled=False,
        attaching_conversation_kwargs_enabled=False,
        attaching_function_token_enabled=False,
    )
    channel = SlackChannel(core, app, client, in_flight=in_flight or InFlight())
    channel.installations = installations
    channel.backlog.in_flight = channel.in_flight  # shutdown waits for the work queued
    channel.retrier.breaker = client.breaker  # Slack back: the waiting retries go at once
    if signing_secret and not socket_mode:
        channel.verifier = SignatureVerifier(signing_secret)
    if installations is not None:
        installations.named = NamedChannels(installations)
        resolve_on_install(flow, installations.named, client, core.org)
        app.use(remember_workspace)
        register_uninstalls(app, installations)
    listeners.register(app, channel)
    return channel


@dataclass(frozen=True)
class OAuthCredentials:
    """Multi-workspace mode: the app's OAuth credentials (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET)."""

    client_id: str
    client_secret: str
    scopes: list[str] | None = None  # default: what manifest.py says the app needs
    redirect_uri: str | None = None  # default: the one set in the app's settings


@dataclass
class SlackEntry:
    """Slack as bootstrap and the server see it (the `Channel` protocol)."""

    adapter: SlackChannel
    app_token: str | None = None  # Socket Mode's app-level token
    # The token (each installation's, with many workspaces) and Socket Mode.
    health: SlackHealth | InstallationsHealth | None = None
    name: ClassVar[str] = CHANNEL

    async def readiness(self) -> str:
        """For /readyz: "ok", or what is wrong (a refused token, Socket Mode down)."""
        return "ok" if self.health is None else await self.health.readiness()

    @property
    def retrier(self) -> Retrier:
        return self.adapter.retrier

    async def replay(self, record: dict) -> None:
        """Handle a spooled message event again (see bot/spool.py)."""
        await events.replay(self.adapter, record)

    @property
    def breaker(self) -> Breaker:
        """Slack's one back-off, shared by every Web API call of this process."""
        return self.adapter.client.breaker

    def outbox(self) -> SlackOutbox:
        return SlackOutbox(self.adapter)

    def mount(self, web_app: web.Application) -> None:
        """POST /slack/events in HTTP mode; the Web API session, and Socket Mode when an
        app-level token is set, for the server's lifetime."""
        if self.adapter.verifier is not None:
            web_app.router.add_post("/slack/events", slack_route(self.adapter))
        if self.adapter.app.oauth_flow is not None:
            oauth_routes(web_app, self.adapter.app.oauth_flow)
        web_app.cleanup_ctx.append(slack_context(self.adapter, self.app_token, self.health))
        if self.adapter.installations is not None:  # each workspace's #name channels
            web_app.cleanup_ctx.append(named_context(self.adapter))


def slack_from_settings(
    core: Liaison, settings: Settings, in_flight: InFlight
) -> SlackEntry | None:
    """Slack, when a bot token is configured: HTTP mode with a signing secret, else Socket Mode;
    or many workspaces, each installed through /slack/install, with SLACK_CLIENT_ID."""
    if not settings.has_slack:
        return None
    oauth = None
    if settings.slack_multi_workspace:
        scopes = settings.slack_scopes
        oauth = OAuthCredentials(
            settings.slack_client_id or "",
            settings.slack_client_secret or "",
            [s.strip() for s in scopes.split(",") if s.strip()] if scopes else None,
            f"{settings.public_url}/slack/oauth_redirect",
        )
    adapter = build_slack(
        core,
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret,
        api_url=settings.slack_api_url,
        socket_mode=bool(settings.slack_app_token and not settings.slack_signing_secret),
        in_flight=in_flight,
        oauth=oauth,
    )
    health: SlackHealth | InstallationsHealth = (
        SlackHealth(adapter.client)
        if oauth is None
        else InstallationsHealth(adapter.client, adapter.installations)
    )
    return SlackEntry(adapter, settings.slack_app_token, health)
