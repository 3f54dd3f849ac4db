"""Sign in with Slack for the dashboard, where the bot is a Slack app with a client id and
secret (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET): the same session cookie as the signed link.

`/dashboard/slack` sends the browser to Slack with a signed state that expires
(STATE_MINUTES) and is also kept in a cookie of this browser, so a callback is taken only from
the browser that started it, and only once it comes back within those minutes.
`/dashboard/slack/callback` has Slack confirm who it is (bot.channels.slack.signin) and looks
the person up by their Slack user id *in that workspace*: someone of another workspace, or
whom the bot has not met there, is refused, and who may see what is decided as for a link.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from typing import TYPE_CHECKING

from aiohttp import web
from sqlmodel import select

from bot.channels.slack import signin as slack_signin
from handlers import signin
from storage.db import session_scope
from storage.models import Address, Person

if TYPE_CHECKING:
    from bot.bootstrap import App

START = "/dashboard/slack"
CALLBACK = "/dashboard/slack/callback"
STATE_COOKIE = "liaison_slack_state"
STATE_MINUTES = 10
TRY_AGAIN = f"Sign in again at {START}, or type 'commitments dashboard' to the bot for a link."


def configured(app: App) -> bool:
    return bool(app.settings.slack_client_id and app.settings.slack_client_secret)


def mount(web_app: web.Application, app: App) -> None:
    web_app.router.add_get(START, _start(app))
    web_app.router.add_get(CALLBACK, _callback(app))


def _redirect_uri(app: App) -> str:
    return f"{app.liaison.public_url.rstrip('/')}{CALLBACK}"


def _start(app: App):
    async def start(request: web.Request) -> web.Response:
        from bot.dashboard import HEADERS, _secure

        now = app.liaison.clock()
        expires = now + dt.timedelta(minutes=STATE_MINUTES)
        state = signin.sign(app.liaison.dashboard_secret, "state", secrets.randbits(62), expires)
        settings = app.settings
        url = slack_signin.authorize_url(
            settings.slack_api_url, settings.slack_client_id, state, _redirect_uri(app)
        )
        response = web.Response(status=303, headers={**HEADERS, "Location": url})
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=STATE_MINUTES * 60,
            path=START,
            httponly=True,
            samesite="Lax",  # sent on Slack's redirect back (a top-level GET)
            secure=_secure(request, app),
        )
        return response

    return start


def _callback(app: App):
    async def callback(request: web.Request) -> web.Response:
        from bot.dashboard import message, start_session

        now = app.liaison.clock()
        state = request.query.get("state", "")
        kept = request.cookies.get(STATE_COOKIE, "")
        genuine = signin.verify(app.liaison.dashboard_secret, state, "state", now) is not None
        if not state or state != kept or not genuine:
            return message("Sign-in expired", f"This sign-in is not valid. {TRY_AGAIN}", 403)
        settings = app.settings
        try:
            team, user = await slack_signin.who_signed_in(
                settings.slack_api_url,
                settings.slack_client_id,
                settings.slack_client_secret,
                request.query.get("code", ""),
                _redirect_uri(app),
            )
        except slack_signin.SignInRefused:
            return message(
                "Sign-in refused", f"Slack did not confirm who you are. {TRY_AGAIN}", 403
            )
        person_id, allowed = await asyncio.to_thread(_person, app, team, user)
        if person_id is None:
            return message(
                "Not known here",
                "The bot does not know your Slack account in this workspace. Talk to it in "
                "Slack once, or ask for a link with 'commitments dashboard'.",
                403,
            )
        if not allowed:
            return message("Not for you", "The dashboard is for liaisons and admins.", 403)
        response = start_session(request, app, person_id, now)
        response.del_cookie(STATE_COOKIE, path=START)
        return response

    return callback


def _person(app: App, team: str, user: str) -> tuple[int | None, bool]:
    """The person with this Slack user id in this workspace, and whether they may use the
    dashboard (as for a link: liaisons and admins)."""
    with session_scope(app.engine) as session:
        address = session.exec(
            select(Address).where(
                Address.channel == "slack",
                Address.external_id == user,
                Address.workspace == team,
            )
        ).first()
        person = session.get(Person, address.person_id) if address else None
        if person is None:
            return None, False
        return person.id, signin.may_use_dashboard(app.org, person)
