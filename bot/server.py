"""One aiohttp application: the chat channels' webhooks, health and metrics, on one port."""

from __future__ import annotations

from aiohttp import web

from bot.bootstrap import App

APP_KEY = web.AppKey("liaison_app", App)


async def healthz(request: web.Request) -> web.Response:
    app: App = request.app[APP_KEY]
    return web.json_response({"status": "ok", "channels": app.settings.channels()})


def build_web_app(app: App) -> web.Application:
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    return web_app
