"""Multi-workspace mode: Bolt's own OAuth install flow, installations in the project's database.

`GET /slack/install` and `GET /slack/oauth_redirect` are Bolt's (`AsyncOAuthFlow`); the state
of an install in progress lives ten minutes. Installations and states are kept by slack_sdk's
SQLAlchemy stores in tables the project's migrations create (storage/slack_installations.py).
slack_sdk's async stores want an asyncio engine (aiosqlite, an async driver) of their own;
the sync stores run on the project's engine in a worker thread instead, so the bot keeps one
engine, one pool and one migration path on SQLite and PostgreSQL alike.

`app_uninstalled` and `tokens_revoked` remove the workspace's installation: no request from it
is authorised again, and sends to its people stop (`Installations.workspace_of` says so) until
it installs the app again. Token rotation, when turned on in the app's settings, is Bolt's: an
expiring token is refreshed before use, for events and for the sweeps' sends alike.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot.channels.slack.workspaces import Workspace

log = logging.getLogger("liaison.slack")

STATE_SECONDS = 600  # an install started must finish within ten minutes
ROTATE_MINUTES = 120  # refresh a rotating token this long before it expires (Bolt's default)


class ThreadedInstallations(AsyncInstallationStore):
    """slack_sdk's SQLAlchemy installation store on the project's engine, run off the loop."""

    def __init__(self, client_id: str, engine: Engine) -> None:
        self.sync = SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=log)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.sync.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.sync.save_bot, bot)

    async def async_find_bot(self, **kwargs: Any) -> Bot | None:
        return await asyncio.to_thread(partial(self.sync.find_bot, **kwargs))

    async def async_find_installation(self, **kwargs: Any) -> Installation | None:
        return await asyncio.to_thread(partial(self.sync.find_installation, **kwargs))

    async def async_delete_bot(self, **kwargs: Any) -> None:
        await asyncio.to_thread(partial(self.sync.delete_bot, **kwargs))

    async def async_delete_installation(self, **kwargs: Any) -> None:
        await asyncio.to_thread(partial(self.sync.delete_installation, **kwargs))

    async def async_delete_all(self, **kwargs: Any) -> None:
        await asyncio.to_thread(partial(self.sync.delete_all, **kwargs))


class ThreadedStates(AsyncOAuthStateStore):
    """slack_sdk's SQLAlchemy state store on the project's engine: a state is used once, and
    only within STATE_SECONDS of the install page being opened."""

    def __init__(self, engine: Engine, seconds: int = STATE_SECONDS) -> None:
        self.sync = SQLAlchemyOAuthStateStore(expiration_seconds=seconds, engine=engine, logger=log)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.sync.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.sync.consume, state)


class Installations:
    """The installations this deployment holds: the token to act for a workspace, refreshed
    first when it rotates, and their removal when a workspace uninstalls the app."""

    def __init__(self, store: ThreadedInstallations, rotator: AsyncTokenRotator) -> None:
        self.store = store
        self.rotator = rotator
        self.named: Any = None  # named.NamedChannels: each workspace's `#name` channels

    async def workspace_of(
        self, team_id: str | None, enterprise_id: str | None
    ) -> Workspace | None:
        """The installation that reaches a workspace (or, on Enterprise Grid, its org-wide
        install); None when none does any more."""
        found = await self.store.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id
        )
        if (found is None or not found.bot_token) and enterprise_id:
            found = await self.store.async_find_installation(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
        if found is None or not found.bot_token:
            return None
        if found.bot_refresh_token:
            refreshed = await self.rotator.perform_token_rotation(
                installation=found, minutes_before_expiration=ROTATE_MINUTES
            )
            if refreshed is not None:
                await self.store.async_save(refreshed)
                found = refreshed
        return Workspace(found.bot_token, team_id, enterprise_id, found.bot_user_id)

    async def remove(self, context: AsyncBoltContext) -> None:
        """A workspace (or a Grid org) removed the app or revoked its tokens: forget it."""
        org_wide = bool(context.is_enterprise_install)
        team_id = None if org_wide else context.team_id
        await self.store.async_delete_all(enterprise_id=context.enterprise_id, team_id=team_id)
        log.warning(
            "slack installation removed",
            extra={"team": context.team_id, "enterprise": context.enterprise_id},
        )


def authorize_url(api_url: str) -> str:
    """Slack's authorize page on the same host as the Web API: slack.com, or slack-gov.com for
    GovSlack (and the fake Slack in tests)."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/oauth/v2/authorize"


def oauth_flow(
    *,
    client: AsyncWebClient,
    client_id: str,
    client_secret: str,
    scopes: list[str],
    engine: Engine,
    redirect_uri: str | None,
) -> tuple[AsyncOAuthFlow, Installations]:
    """Bolt's OAuth flow on the database, and the installations behind it. Authorisation
    results are cached per token (no auth.test per event); a removed installation is never
    found, so nothing is cached for it."""
    store = ThreadedInstallations(client_id, engine)
    bolt_log = logging.getLogger("liaison.slack.bolt")
    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=scopes,
        redirect_uri=redirect_uri,
        authorization_url=authorize_url(str(client.base_url)),
        installation_store=store,
        state_store=ThreadedStates(engine),
        state_expiration_seconds=STATE_SECONDS,
        token_rotation_expiration_minutes=ROTATE_MINUTES,
        logger=bolt_log,
    )
    settings.authorize = AsyncInstallationStoreAuthorize(
        logger=bolt_log,
        installation_store=store,
        client_id=client_id,
        client_secret=client_secret,
        token_rotation_expiration_minutes=ROTATE_MINUTES,
        cache_enabled=True,
        client=client,
    )
    rotator = AsyncTokenRotator(client_id=client_id, client_secret=client_secret, client=client)
    return AsyncOAuthFlow(client=client, settings=settings), Installations(store, rotator)


def register_uninstalls(app: AsyncApp, installations: Installations) -> None:
    """`app_uninstalled` and `tokens_revoked`: the installation goes, at once."""

    @app.event("app_uninstalled")
    async def on_uninstalled(context: AsyncBoltContext) -> None:
        await installations.remove(context)

    @app.event("tokens_revoked")
    async def on_tokens_revoked(event: dict, context: AsyncBoltContext) -> None:
        if (event.get("tokens") or {}).get("bot"):  # the bot token is what the bot runs on
            await installations.remove(context)


def oauth_routes(web_app: web.Application, flow: AsyncOAuthFlow) -> None:
    """GET /slack/install (the "Add to Slack" page) and GET /slack/oauth_redirect."""

    async def install(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def redirect(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    web_app.router.add_get(flow.install_path, install)
    web_app.router.add_get(flow.redirect_uri_path, redirect)
