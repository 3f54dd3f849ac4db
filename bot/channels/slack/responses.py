"""Answers on a response_url (a command's or a button's, ephemeral), through the pooled HTTP
session of the Web API client."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncRespond
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.channels.slack.blockkit import fallback_text, render_blocks
from handlers.messages import Outgoing

log = logging.getLogger("liaison.slack")


async def respond_to(
    session: aiohttp.ClientSession | None, response_url: str, replies: list[Outgoing]
) -> bool:
    """Answer through a response_url (ephemeral); False when Slack no longer takes it
    (they last 30 minutes and 5 uses)."""
    webhook = AsyncWebhookClient(response_url, session=session)
    for out in replies:
        try:
            response = await webhook.send(
                text=fallback_text(out.reply),
                blocks=render_blocks(out.reply),
                response_type="ephemeral",
                replace_original=False,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url failed: %s", exc)
            return False
        if response.status_code != 200:  # 404 expired_url / used_url
            log.warning("response_url answered %s %s", response.status_code, response.body)
            return False
    return True


async def respond_once(
    session: aiohttp.ClientSession | None, respond: AsyncRespond, message: dict
) -> Any:
    """Answer on a command's response_url through the pooled session (Bolt's `respond`
    opens a session, and a connection, per answer)."""
    url = getattr(respond, "response_url", None)
    if not url or session is None or session.closed:
        return await respond(**message)
    return await AsyncWebhookClient(url, session=session).send_dict(message)
