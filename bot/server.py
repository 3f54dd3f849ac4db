"""One aiohttp application: the chat channels' webhooks, health and metrics, on one port."""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging

from aiohttp import web

from bot import dashboard
from bot.bootstrap import App
from bot.lifecycle import drain_on_shutdown
from bot.observability import METRICS_KEY, metrics_view, readiness, request_middleware

APP_KEY = web.AppKey("liaison_app", App)
log = logging.getLogger("liaison.server")
SHUTDOWN_SECONDS = 20  # how long SIGTERM waits for in-flight work (Kubernetes gives 30 by default)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    app: App = request.app[APP_KEY]
    return web.json_response({"status": "ok", "channels": app.settings.channels()})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers and the channels are configured."""
    app: App = request.app[APP_KEY]
    checks = await asyncio.to_thread(readiness, app.engine, app.settings)
    for name, channel in app.channels.items():
        probe = getattr(channel, "readiness", None)  # a channel that can tell more than its config
        if probe is not None and checks.get(name) == "ok":
            checks[name] = await probe()
    ready = checks["database"] == "ok" and all(
        value == "ok" or key == "teams" for key, value in checks.items()
    )
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


async def calendar_feed(request: web.Request) -> web.Response:
    """A person's private ICS feed; every unknown token gets the same 404."""
    app: App = request.app[APP_KEY]
    body = await asyncio.to_thread(app.liaison.calendar_feed, request.match_info["token"])
    if body is None:
        return web.Response(status=404, text="No calendar here.")
    headers = {"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"}
    return web.Response(body=body, content_type="text/calendar", charset="utf-8", headers=headers)


def build_web_app(app: App, *, scheduler: bool = True) -> web.Application:
    """Routes for every configured channel; Socket Mode and the scheduler run with the app."""
    web_app = web.Application(
        client_max_size=1024 * 1024, middlewares=[request_middleware(app.metrics)]
    )
    web_app[APP_KEY] = app
    web_app[METRICS_KEY] = app.metrics
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/calendar/{token}.ics", calendar_feed)
    dashboard.mount(web_app, app)
    if app.settings.admin_port is None:
        _add_admin_routes(web_app, app.settings.admin_token)
        if not app.settings.admin_token:
            log.warning(
                "/metrics and /readyz are open on the public port and name units: set "
                "ADMIN_PORT (a port of their own) or ADMIN_TOKEN (a bearer token) to close them"
            )
    else:
        web_app.cleanup_ctx.append(_admin_listener(app))
    for channel in app.channels.values():
        channel.mount(web_app)  # its webhook route, and what it starts and stops with the server
    if scheduler and app.org.schedule.enabled:
        start, pause, stop = _scheduler(app)
        web_app.on_startup.append(start)
        web_app.on_shutdown.append(pause)
        web_app.on_cleanup.append(stop)
    web_app.on_startup.append(_freeze_startup_objects)
    for channel in app.channels.values():
        web_app.on_shutdown.append(_stop_retries(channel.retrier))
    web_app.on_shutdown.append(drain_on_shutdown(app.in_flight, SHUTDOWN_SECONDS))
    return web_app


def _add_admin_routes(web_app: web.Application, token: str | None) -> None:
    """/readyz and /metrics: they name units, so with ADMIN_TOKEN set each request must carry
    "Authorization: Bearer <token>" (compared in constant time)."""
    for path, view in (("/readyz", readyz), ("/metrics", metrics_view)):
        web_app.router.add_get(path, _guarded(view, token) if token else view)


def _guarded(view, token: str):
    expected = f"Bearer {token}".encode()

    async def guarded(request: web.Request) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return web.json_response({"error": "unauthorized"}, status=401)
        return await view(request)

    return guarded


def _admin_listener(app: App):
    """With ADMIN_PORT: /readyz and /metrics on a listener of their own (same host, that port),
    for the cluster's probes and Prometheus, and not on the public port at all."""

    async def context(web_app: web.Application):
        admin = web.Application()
        admin[APP_KEY], admin[METRICS_KEY] = app, app.metrics
        _add_admin_routes(admin, app.settings.admin_token)
        runner = web.AppRunner(admin, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, app.settings.host, app.settings.admin_port).start()
        log.info("admin endpoints on port %s", app.settings.admin_port)
        try:
            yield
        finally:
            await runner.cleanup()

    return context


def _stop_retries(retrier):
    """Before waiting for in-flight work: retries waiting out a pause try once more and fall
    back now (a reply kept for the sweeps), rather than hold the shutdown up."""

    async def stop(_web_app: web.Application) -> None:
        await retrier.stop(timeout=SHUTDOWN_SECONDS / 2)

    return stop


async def _freeze_startup_objects(_web_app: web.Application) -> None:
    """Everything is loaded by now (ORM, playbooks, Bolt, botbuilder): move those long-lived
    objects out of the garbage collector's sight. A full collection then takes microseconds
    instead of tens of milliseconds, a pause every acknowledgement would otherwise wait for."""
    gc.collect()
    gc.freeze()


class _TrackedSweeper:
    """The app's sweeper, as the scheduler's job runs it: each sweep registers its task, so a
    shutdown waits for the sweep in progress (and the messages it is sending)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def run(self, now=None):
        self.app.in_flight.add_current()
        return await self.app.sweeper.run(now)


def _scheduler(app: App):
    """The sweeps, ticking in-process: started with the server, paused when SIGTERM arrives
    (so no new sweep begins while in-flight work drains), shut down at cleanup."""
    from schedules.scheduler import build_scheduler

    sweeper = _TrackedSweeper(app)
    scheduler = build_scheduler(sweeper, every_minutes=app.org.schedule.sweep_minutes)  # type: ignore[arg-type]

    async def start(_web_app: web.Application) -> None:
        scheduler.start()
        log.info("scheduler started: a sweep every %s minutes", app.org.schedule.sweep_minutes)

    async def pause(_web_app: web.Application) -> None:
        if scheduler.running:
            scheduler.pause()

    async def stop(_web_app: web.Application) -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)

    return start, pause, stop
