"""One aiohttp application: the chat channels' webhooks, health and metrics, on one port."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.bootstrap import App

APP_KEY = web.AppKey("liaison_app", App)
SLACK_KEY = web.AppKey("liaison_slack", object)
log = logging.getLogger("liaison.server")


async def healthz(request: web.Request) -> web.Response:
    app: App = request.app[APP_KEY]
    return web.json_response({"status": "ok", "channels": app.settings.channels()})


def build_web_app(app: App) -> web.Application:
    """Routes for every configured channel; Socket Mode starts with the app when configured."""
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    settings = app.settings
    if settings.has_slack:
        from bot.channels.slack import build_slack, slack_route

        slack = build_slack(
            app.liaison,
            token=settings.slack_bot_token,
            signing_secret=settings.slack_signing_secret,
            api_url=settings.slack_api_url,
            socket_mode=bool(settings.slack_app_token and not settings.slack_signing_secret),
        )
        web_app[SLACK_KEY] = slack
        if settings.slack_signing_secret:
            web_app.router.add_post("/slack/events", slack_route(slack))
        if settings.slack_app_token:
            web_app.cleanup_ctx.append(_socket_mode(slack, settings.slack_app_token))
    return web_app


def _socket_mode(slack, app_token: str):
    """Run Slack Socket Mode on the server's own event loop for the app's lifetime."""

    async def context(_web_app: web.Application):
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(slack.app, app_token)
        await handler.connect_async()
        log.info("slack socket mode connected")
        yield
        await handler.close_async()

    return context
