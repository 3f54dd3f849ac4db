"""POST /slack/events on the shared aiohttp server, with a fast path for everyday chat, and
the Socket Mode connection for the server's lifetime.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.channels.http import parse_json, read_body
from bot.channels.interactions import LONG_TEXT
from bot.channels.slack.delivery import SlackChannel
from bot.channels.slack.health import InstallationsHealth, SlackHealth
from bot.channels.slack.text import readable_text
from bot.channels.slack.workspaces import CURRENT

log = logging.getLogger("liaison.slack")


def slack_route(channel: SlackChannel) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for POST /slack/events (events, interactivity and commands)."""
    app = channel.app

    async def handle(request: web.Request) -> web.Response:
        channel.backlog.arrived()  # the work after acknowledgements waits for a quiet moment
        # Refuse what cannot be a signed Slack request before anything parses it: the signature
        # is checked on the raw body first, so a forged request costs one HMAC, not a parse.
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not stamp.isdigit() or not signature.isascii():
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            body = (await read_body(request)).decode("utf-8")
        except UnicodeDecodeError:
            return web.json_response({"error": "the body is not UTF-8"}, status=400)
        if channel.verifier is not None and not channel.verifier.is_valid(body, stamp, signature):
            return web.json_response({"error": "invalid request"}, status=401)
        text = _chatter_text(body) if channel.verifier is not None else None
        if text is not None and not channel.backlog.full():
            # A plain message in a channel (most are everyday chat): acknowledged here, then
            # read in the backlog; only one the bot may answer goes through Bolt's chain.
            query, headers = request.query_string, dict(request.headers)

            async def read() -> None:
                if await _may_answer(text, channel):
                    await dispatch(app, body, query, headers)

            channel.backlog.submit(read, overflow=_nothing, failed=_log_failure)
            return web.Response(status=200)
        if text is not None and not await _may_answer(text, channel):
            # Everyday chat, with too much work waiting: read before the acknowledgement.
            return web.Response(status=200)
        try:
            bolt_response = await dispatch(app, body, request.query_string, request.headers)
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
            log.info("slack request refused: %s", type(exc).__name__)  # an unparsable body
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(bolt_response)

    return handle


async def dispatch(app, body: str, query: str, headers) -> BoltResponse:
    """A request through Bolt's middleware and listeners."""
    workspace = CURRENT.set(None)  # Bolt's authorisation says which, for this request only
    try:
        return await app.async_dispatch(AsyncBoltRequest(body=body, query=query, headers=headers))
    finally:
        CURRENT.reset(workspace)


async def _nothing() -> None:
    return None


async def _log_failure(error: BaseException) -> None:
    log.error("slack: reading a channel message failed", exc_info=error)


async def _may_answer(text: str, channel: SlackChannel) -> bool:
    """`Liaison.may_answer`, with a long text read in a worker thread (the reading is kept for
    the listener and the core: see `Liaison.detect`)."""
    if len(text) > LONG_TEXT:
        return await asyncio.to_thread(channel.core.may_answer, readable_text(text))
    return channel.core.may_answer(readable_text(text))


def is_chatter(body: str, channel: SlackChannel) -> bool:
    """A channel message event the bot would ignore: no DM, no subtype, no mention of anyone,
    and no signal in its text. Anything else goes through Bolt as usual."""
    text = _chatter_text(body)
    return text is not None and not channel.core.may_answer(readable_text(text))


def _chatter_text(body: str) -> str | None:
    """The text of a channel message event that may be chatter, else None."""
    if not body.startswith("{") or '"event_callback"' not in body:
        return None
    try:
        payload = parse_json(body)
    except ValueError:
        return None
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict) or event.get("type") != "message":
        return None
    text = event.get("text")
    if event.get("subtype") or event.get("channel_type") == "im" or not isinstance(text, str):
        return None
    if "<@" in text or event.get("bot_id"):
        return None
    return text


def slack_context(
    channel: SlackChannel,
    app_token: str | None = None,
    health: SlackHealth | InstallationsHealth | None = None,
):
    """An aiohttp cleanup context: the shared HTTP session and, with an app-level token,
    Socket Mode on the server's own event loop, for the server's lifetime. With one token,
    the token is checked first (`health`), and what is wrong with it logged plainly."""

    async def context(_web_app: web.Application) -> AsyncIterator[None]:
        if health is not None:
            await health.check_token()
            channel.team_id = channel.team_id or health.team_id  # auth.test asked once
            channel.team_url = channel.team_url or health.team_url
        await channel.start()
        handler = None
        try:
            if app_token:
                from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

                handler = AsyncSocketModeHandler(channel.app, app_token)
                if health is not None:
                    health.socket = handler
                await handler.connect_async()
                log.info("slack socket mode connected")
            yield
        finally:
            if handler is not None:
                await handler.close_async()
            await channel.close()

    return context
