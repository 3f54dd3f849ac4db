"""The Bolt app: its retrying Web API client and every listener registered."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack import listeners
from bot.channels.slack.delivery import SlackChannel
from bot.channels.slack.retry_handlers import retry_handlers
from bot.lifecycle import InFlight
from handlers.core import Liaison


def build_slack(
    liaison: Liaison,
    *,
    token: str,
    signing_secret: str | None,
    api_url: str,
    socket_mode: bool = False,
    in_flight: InFlight | None = None,
) -> SlackChannel:
    """The Bolt app with every listener registered, and its retrying Web API client."""
    client = AsyncWebClient(token=token, base_url=api_url, retry_handlers=retry_handlers())
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
    channel = SlackChannel(liaison, app, client, in_flight=in_flight or InFlight())
    if signing_secret and not socket_mode:
        channel.verifier = SignatureVerifier(signing_secret)
    listeners.register(app, channel)
    return channel
