"""The liaisons' dashboard: `/dashboard` on the bot's own server, rendered with Jinja2, its
charts drawn as SVG on the server (bot.dashboard.charts), its one stylesheet served from
this package.

Sign-in: `commitments dashboard` DMs a short-lived signed link (handlers.signin);
`/dashboard/signin?token=...` checks it and sets a signed session cookie (HttpOnly,
SameSite=Lax, Secure when the bot is reached over HTTPS), then sends the browser on to
`/dashboard`. Where the bot is a Slack app with a client id and secret, "Sign in with Slack"
(OpenID Connect, bot.dashboard.slack) sets the same cookie. Who sees which units follows the
chat commands (handlers.signin).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from bot.dashboard import charts, slack
from handlers import dashboard, signin
from storage.db import session_scope
from storage.models import Person

if TYPE_CHECKING:
    from bot.bootstrap import App

HERE = Path(__file__).resolve().parent
COOKIE = "liaison_dashboard"
STATIC = {"dashboard.css": "text/css"}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the sign-in token is in a URL: never pass it on
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'",
}
ASK_FOR_LINK = "Type 'commitments dashboard' to the bot for a new sign-in link."


@functools.cache
def _templates():
    """Jinja2 and the templates, loaded by the first page asked for, not at start."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(("html",))
    )


def mount(web_app: web.Application, app: App) -> None:
    """The dashboard's routes on the bot's server."""
    web_app.router.add_get("/dashboard", _page(app))
    web_app.router.add_get("/dashboard/signin", _signin(app))
    web_app.router.add_get("/dashboard/static/{name}", static)
    if slack.configured(app):
        slack.mount(web_app, app)


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", headers=HEADERS)


def message(title: str, text: str, status: int) -> web.Response:
    page = _templates().get_template("message.html").render(title=title, message=text)
    return _html(page, status)


def _secure(request: web.Request, app: App) -> bool:
    forwarded = request.headers.get("X-Forwarded-Proto", "").lower()
    return request.secure or forwarded == "https" or app.liaison.public_url.startswith("https:")


def _signin(app: App):
    async def signin_view(request: web.Request) -> web.Response:
        now = app.liaison.clock()
        secret = app.liaison.dashboard_secret
        person_id = signin.verify(secret, request.query.get("token", ""), "link", now)
        if person_id is None:
            return message(
                "Sign-in link not valid",
                f"This link is not valid or has expired. {ASK_FOR_LINK}",
                403,
            )
        return start_session(request, app, person_id, now)

    return signin_view


def start_session(request: web.Request, app: App, person_id: int, now: dt.datetime):
    """The session cookie, however the person signed in, and on to the dashboard."""
    expires = now + dt.timedelta(hours=signin.SESSION_HOURS)
    response = web.Response(status=303, headers={**HEADERS, "Location": "/dashboard"})
    response.set_cookie(
        COOKIE,
        signin.sign(app.liaison.dashboard_secret, "session", person_id, expires),
        max_age=signin.SESSION_HOURS * 3600,
        path="/dashboard",
        httponly=True,
        samesite="Lax",
        secure=_secure(request, app),
    )
    return response


def _page(app: App):
    async def page(request: web.Request) -> web.Response:
        now = app.liaison.clock()
        token = request.cookies.get(COOKIE, "")
        person_id = signin.verify(app.liaison.dashboard_secret, token, "session", now)
        if person_id is None:
            also = f" Or sign in with Slack: {slack.START}" if slack.configured(app) else ""
            return message(
                "Please sign in", f"The dashboard needs a sign-in link. {ASK_FOR_LINK}{also}", 401
            )
        body = await asyncio.to_thread(render, app, person_id, now)
        if body is None:
            return message("Not for you", "The dashboard is for liaisons and admins.", 403)
        return _html(body)

    return page


def render(app: App, person_id: int, now: dt.datetime) -> str | None:
    """The page for this person, or None when they may not see a dashboard."""
    with session_scope(app.engine) as session:
        person = session.get(Person, person_id)
        if person is None or not signin.may_use_dashboard(app.org, person):
            return None
        board = dashboard.board(session, app.org, person, now)
    drawn = [(label, charts.on_time_bars(label, months)) for label, months in board.months]
    return (
        _templates()
        .get_template("dashboard.html")
        .render(board=board, charts=drawn, timeline=charts.timeline(board.timeline, board.today))
    )


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    body = (HERE / "static" / name).read_bytes()
    return web.Response(
        body=body, content_type=STATIC[name], headers={"Cache-Control": "max-age=3600"}
    )
