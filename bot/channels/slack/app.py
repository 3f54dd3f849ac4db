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
from bot.channels.slack.listeners import events
from bot.channels.slack.retry_handlers import SharedBackoffClient
from bot.channels.slack.transport import slack_context, slack_route
from bot.config import Settings
from bot.lifecycle import InFlight
from bot.retry import Breaker, Retrier
from handlers.core import Liaison


def build_slack(
    core: Liaison,
    *,
    token: str,
    signing_secret: str | None,
    api_url: str,
    socket_mode: bool = False,
    in_flight: InFlight | None = None,
) -> SlackChannel:
    """The Bolt app with every listener registered, and its retrying Web API client."""
    client = SharedBackoffClient(token=token, base_url=api_url, breaker=Breaker(CHANNEL))
    app = AsyncApp(
        client=client,
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
    channel.retrier.breaker = client.breaker  # Slack back: the waiting retries go at once
    if signing_secret and not socket_mode:
        channel.verifier = SignatureVerifier(signing_secret)
    listeners.register(app, channel)
    return channel


@dataclass
class SlackEntry:
    """Slack as bootstrap and the server see it (the `Channel` protocol)."""

    adapter: SlackChannel
    app_token: str | None = None  # Socket Mode's app-level token
    name: ClassVar[str] = CHANNEL

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
        web_app.cleanup_ctx.append(slack_context(self.adapter, self.app_token))


def slack_from_settings(
    core: Liaison, settings: Settings, in_flight: InFlight
) -> SlackEntry | None:
    """Slack, when a bot token is configured: HTTP mode with a signing secret, else Socket Mode."""
    if not settings.has_slack:
        return None
    adapter = build_slack(
        core,
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret,
        api_url=settings.slack_api_url,
        socket_mode=bool(settings.slack_app_token and not settings.slack_signing_secret),
        in_flight=in_flight,
    )
    return SlackEntry(adapter, settings.slack_app_token)
