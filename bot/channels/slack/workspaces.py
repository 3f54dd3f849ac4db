"""Which workspace the bot is acting for: one token (SLACK_BOT_TOKEN), or many installations.

In multi-workspace mode each request is authorised by Bolt from the installation store, and a
global middleware records that workspace (its bot token, team and Enterprise Grid ids) in a
context variable. The channel's one Web API client reads its token from there, so every call
a listener makes, and every retry it schedules, uses the token of the workspace the event
came from. A send that starts elsewhere (the sweeps, a DM to someone of another workspace)
looks up the installation of the person's address and acts for it (`acting_for`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from bot.channels.slack.retry_handlers import SharedBackoffClient
from handlers.messages import Sender

log = logging.getLogger("liaison.slack")


@dataclass(frozen=True)
class Workspace:
    """An installation the bot acts for: its bot token, its team and its Grid organisation."""

    token: str
    team_id: str | None = None
    enterprise_id: str | None = None
    bot_user_id: str | None = None


CURRENT: ContextVar[Workspace | None] = ContextVar("liaison_slack_workspace", default=None)


class NotInstalled(Exception):
    """No installation reaches that workspace any more (uninstalled, or its tokens revoked)."""


class WorkspaceClient(SharedBackoffClient):
    """The Web API client whose token is the current workspace's, or its own (one workspace)."""

    @property  # type: ignore[override]
    def token(self) -> str | None:
        current = CURRENT.get()
        return current.token if current is not None else self._own_token

    @token.setter
    def token(self, value: str | None) -> None:
        self._own_token = value


@contextlib.contextmanager
def acting_for(workspace: Workspace | None) -> Iterator[None]:
    """Web API calls inside use this workspace's token (None: leave things as they are)."""
    if workspace is None:
        yield
        return
    reset = CURRENT.set(workspace)
    try:
        yield
    finally:
        CURRENT.reset(reset)


def current_team() -> str | None:
    current = CURRENT.get()
    return current.team_id if current is not None else None


def current_enterprise() -> str | None:
    current = CURRENT.get()
    return current.enterprise_id if current is not None else None


def in_workspace(sender: Sender) -> Sender:
    """A sender with the installation the current request came through (kept with their
    address, so that sends to them use its token); as it is with one token."""
    current = CURRENT.get()
    if current is None:
        return sender
    return replace(sender, workspace=current.team_id, enterprise=current.enterprise_id)


async def remember_workspace(context: Any, next: Callable[[], Awaitable[Any]]) -> Any:
    """Bolt global middleware (after authorisation): the rest of this request, and the
    listener tasks it starts, act for the workspace Bolt authorised."""
    token = context.get("bot_token") or context.get("token")
    if token:
        CURRENT.set(
            Workspace(
                token=token,
                team_id=context.get("team_id"),
                enterprise_id=context.get("enterprise_id"),
                bot_user_id=context.get("bot_user_id"),
            )
        )
    return await next()


@contextlib.asynccontextmanager
async def reaching(installations: Any, address: Any) -> AsyncIterator[None]:
    """Act for the installation that reaches an address (its own workspace's token, whichever
    workspace the current request came from); NotInstalled when none does any more. With one
    token (`installations` None) nothing changes."""
    if installations is None:
        yield
        return
    workspace = await installations.workspace_of(address.workspace, address.enterprise)
    if workspace is None:
        raise NotInstalled(f"no installation reaches {address.workspace or address.enterprise}")
    with acting_for(workspace):
        yield
