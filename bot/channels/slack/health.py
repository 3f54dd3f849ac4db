"""Whether Slack can be reached as configured: the bot token works (auth.test, checked at
start and then at most once a minute, as /readyz asks) and, in Socket Mode, the connection is
up. What is wrong is said in a sentence an admin can act on, at start and in /readyz.

In multi-workspace mode (`InstallationsHealth`) each installation's token is checked the same
way, cached per installation: a workspace that uninstalled the app (its installation removed)
is not checked at all, but a token Slack refuses while its installation is still kept makes
the app unready, naming the workspace (never the token).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack.directory import slack_error
from bot.channels.slack.workspaces import acting_for
from storage.slack_installations import installed_workspaces

log = logging.getLogger("liaison.slack")

TOKEN_SECONDS = 60.0  # how long an auth.test answer is trusted

REINSTALL = "Copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page"
TOKEN_PROBLEMS = {
    "invalid_auth": f"Slack does not accept SLACK_BOT_TOKEN (invalid_auth). {REINSTALL}.",
    "not_authed": f"SLACK_BOT_TOKEN is empty or was not sent (not_authed). {REINSTALL}.",
    "token_revoked": (
        "SLACK_BOT_TOKEN was revoked (token_revoked): the app was removed from the workspace or "
        f"reinstalled. Reinstall it, then: {REINSTALL}."
    ),
    "token_expired": (
        "SLACK_BOT_TOKEN has expired (token_expired): token rotation is on for this app, which "
        "needs multi-workspace mode (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) to refresh it."
    ),
    "account_inactive": (
        "SLACK_BOT_TOKEN belongs to a deactivated app or workspace (account_inactive). "
        f"Reinstall the app, then: {REINSTALL}."
    ),
    "not_allowed_token_type": (
        "SLACK_BOT_TOKEN is not a bot token (not_allowed_token_type): use the token that starts "
        "with xoxb-, not the app-level (xapp-) or a user (xoxp-) token."
    ),
}


def token_problem(error: str) -> str:
    return TOKEN_PROBLEMS.get(error) or f"Slack refused SLACK_BOT_TOKEN ({error}). {REINSTALL}."


@dataclass
class SlackHealth:
    """The last word on the token (cached), and the Socket Mode handler when there is one."""

    client: AsyncWebClient
    seconds: float = TOKEN_SECONDS
    clock: Callable[[], float] = time.monotonic
    token: str = "not checked yet"  # "ok", or what is wrong
    team_id: str | None = None
    team_url: str | None = None  # "https://<domain>.slack.com/", for permalinks
    socket: Any = None  # the AsyncSocketModeHandler while the server runs in Socket Mode
    _checked: float = field(default=float("-inf"))

    async def check_token(self) -> str:
        """Ask Slack (auth.test) whether the token works; say plainly what is wrong, once per
        change, in the log."""
        before = self.token
        try:
            answer = await self.client.auth_test()
            self.token, self.team_id = "ok", answer.get("team_id") or None
            self.team_url = answer.get("url") or self.team_url
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", 0) or 0
            error = slack_error(exc)
            self.token = (
                f"Slack did not answer auth.test ({error})"
                if status >= 500
                else token_problem(error)
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.token = f"Slack could not be reached ({type(exc).__name__})"
        self._checked = self.clock()
        if self.token != "ok" and self.token != before:
            log.error("slack: %s", self.token)
        elif self.token == "ok" and before not in ("ok", "not checked yet"):
            log.warning("slack: the bot token works again")
        return self.token

    async def readiness(self) -> str:
        """ "ok", or why Slack is not usable now: the token (re-checked once it is older than
        `seconds`), then the Socket Mode connection."""
        if self.clock() - self._checked >= self.seconds:
            await self.check_token()
        if self.token != "ok":
            return self.token
        if self.socket is not None and not await self.socket.client.is_connected():
            return "Socket Mode is disconnected (reconnecting)"
        return "ok"


REINSTALL_THERE = "reinstall the app in that workspace (/slack/install), or remove it there"
INSTALL_PROBLEMS = {
    "invalid_auth": f"Slack does not accept its bot token (invalid_auth): {REINSTALL_THERE}",
    "token_revoked": (
        "its bot token was revoked (token_revoked) but no uninstall was heard, so the "
        f"installation is still kept: {REINSTALL_THERE}"
    ),
    "token_expired": (
        f"its rotating token expired and could not be refreshed (token_expired): {REINSTALL_THERE}"
    ),
    "account_inactive": (
        f"the workspace or the app was deactivated (account_inactive): {REINSTALL_THERE}"
    ),
}
CHECKS_AT_ONCE = 8  # auth.test calls in flight at once across installations


@dataclass
class InstallationsHealth:
    """Each installation's token (auth.test, cached per installation for `seconds`), and the
    Socket Mode connection when there is one; for /readyz in multi-workspace mode."""

    client: AsyncWebClient
    installations: Any  # oauth.Installations
    seconds: float = TOKEN_SECONDS
    clock: Callable[[], float] = time.monotonic
    socket: Any = None
    team_id: str | None = None  # no one team: the current request's (see SlackChannel)
    team_url: str | None = None  # nor one address: permalinks are asked of Slack
    answers: dict[str, tuple[float, str]] = field(default_factory=dict)  # workspace -> answer

    async def check_token(self) -> str:
        """At start: every installation checked, and what is wrong logged."""
        self.answers.clear()
        return await self.readiness()

    async def readiness(self) -> str:
        sync = self.installations.store.sync
        found = await asyncio.to_thread(installed_workspaces, sync.engine, sync.client_id)
        gate = asyncio.Semaphore(CHECKS_AT_ONCE)

        async def answer(enterprise_id: str | None, team_id: str | None) -> str:
            key = team_id or enterprise_id or "?"
            cached = self.answers.get(key)
            if cached is None or self.clock() - cached[0] >= self.seconds:
                async with gate:
                    said = await self._check(team_id, enterprise_id)
                if said != "ok" and (cached is None or cached[1] != said):
                    log.error("slack: workspace %s: %s", key, said)
                self.answers[key] = cached = (self.clock(), said)
            return "ok" if cached[1] == "ok" else f"workspace {key}: {cached[1]}"

        said = await asyncio.gather(
            *(answer(e, None if org_wide else t) for e, t, org_wide in found)
        )
        installed = {t if t and not o else e or "?" for e, t, o in found}
        for gone in set(self.answers) - installed:  # uninstalled: no longer anyone's concern
            del self.answers[gone]
        problems = [s for s in said if s != "ok"]
        if problems:
            return "; ".join(problems)
        if self.socket is not None and not await self.socket.client.is_connected():
            return "Socket Mode is disconnected (reconnecting)"
        return "ok"

    async def _check(self, team_id: str | None, enterprise_id: str | None) -> str:
        try:
            workspace = await self.installations.workspace_of(team_id, enterprise_id)
            if workspace is None:  # removed meanwhile
                return "ok"
            with acting_for(workspace):
                await self.client.auth_test()
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", 0) or 0
            error = slack_error(exc)
            if status >= 500:
                return f"Slack did not answer auth.test ({error})"
            return INSTALL_PROBLEMS.get(error) or (
                f"Slack refused its bot token ({error}): {REINSTALL_THERE}"
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Slack could not be reached ({type(exc).__name__})"
        return "ok"
