"""A fake Slack with many workspaces: the OAuth install (`oauth.v2.access`), a token per
workspace, Enterprise Grid org-wide installs, token rotation, uninstalls, and channels the bot
is not in (`not_in_channel`).

It is `FakeSlack` plus what an app distributed to several workspaces meets. Each workspace
sees only its own users and channels, as on Slack: a call made with workspace A's token about
one of B's users answers `user_not_found`, and a post to one of B's channels answers
`channel_not_found`, so a token used for the wrong workspace shows up as an error, not as a
call that happens to work.

    fake = FakeSlackWorkspaces(client_id=..., client_secret=...)
    code = fake.grant(Workspace("T0ALPHA", "Alpha", users={"U0ANN": {...}}, channels={...}))
    # the bot's /slack/oauth_redirect?code=<code>&state=... exchanges it for A's bot token
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.slack_api import Call, FakeSlack, _error
from tests.fakes.slack_requests import API_APP_ID, VERIFICATION_TOKEN, event_payload


@dataclass
class Workspace:
    """A workspace (or, with `org_wide`, a Grid organisation's install) the app is added to."""

    team_id: str
    name: str
    users: dict[str, dict] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)  # id -> name
    enterprise_id: str | None = None
    org_wide: bool = False  # an Enterprise Grid org-wide install: one token for the org
    bot_user_id: str = "UBOT"
    members_of: set[str] | None = None  # channels the bot is in (None: all of them)


@dataclass
class _Token:
    workspace: Workspace
    expires_at: float | None = None  # rotating tokens expire
    revoked: bool = False


class FakeSlackWorkspaces(FakeSlack):
    """FakeSlack for an app installed in several workspaces through OAuth."""

    def __init__(
        self, *, client_id: str = "1234.5678", client_secret: str = "fake-client-secret", **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, Workspace] = {}
        self._codes: dict[str, tuple[Workspace, bool]] = {}
        self._serial = itertools.count(1)
        self._caller: _Token | None = None  # the token of the request being answered
        self._oidc_caller: tuple[str, str] = ("", "")  # team, user of a userInfo request
        self._basic: tuple[str, str] | None = None  # client credentials sent as Basic auth
        self._bot_token_revoked = False
        self.not_a_member_of: set[str] = set()  # channels the single-token bot is not in
        self.rotation_seconds = 43200  # how long a rotating token lives (Slack: 12 hours)
        self._handlers["oauth.v2.access"] = self._oauth_v2_access
        # Sign in with Slack (OpenID Connect): a code per consent, a user token per exchange.
        self._sign_in_codes: dict[str, tuple[str, str, str]] = {}  # code -> team, user, redirect
        self.user_tokens: dict[str, tuple[str, str]] = {}  # token -> team, user
        self._handlers["openid.connect.token"] = self._openid_token
        self._handlers["openid.connect.userInfo"] = self._openid_user_info

    # ------------------------------------------------------------------ test API

    def grant(self, workspace: Workspace, *, rotating: bool = False) -> str:
        """An admin of `workspace` approved the install: the code Slack sends to the redirect."""
        code = f"code-{uuid.uuid4().hex[:12]}"
        self._codes[code] = (workspace, rotating)
        return code

    def sign_in(self, team_id: str, user_id: str, redirect_uri: str) -> str:
        """A person of `team_id` agreed on Slack's "Sign in with Slack" page: the code Slack
        sends back to `redirect_uri`."""
        code = f"oidc-{uuid.uuid4().hex[:12]}"
        self._sign_in_codes[code] = (team_id, user_id, redirect_uri)
        return code

    def token_of(self, team_or_enterprise: str) -> str:
        """The newest live bot token of a workspace (or of an org-wide install)."""
        live = [
            token
            for token, t in self.tokens.items()
            if not t.revoked
            and team_or_enterprise in (t.workspace.team_id, t.workspace.enterprise_id)
        ]
        assert live, f"no live token for {team_or_enterprise}"
        return live[-1]

    def uninstall(self, team_or_enterprise: str) -> None:
        """The app was removed: every token of that workspace stops working."""
        for t in self.tokens.values():
            if team_or_enterprise in (t.workspace.team_id, t.workspace.enterprise_id):
                t.revoked = True

    def revoke_bot_token(self) -> None:
        """The single-workspace bot token (``bot_token``) is revoked: ``token_revoked``."""
        self._bot_token_revoked = True

    async def drop_sockets(self) -> None:
        """Close every Socket Mode connection (a network cut); pair with ``fail`` on
        ``apps.connections.open`` to keep the client out."""
        for ws in [s for s in self._sockets if not s.closed]:
            await ws.close()

    def expire(self, token: str) -> None:
        """A rotating token's time is up (Slack answers `token_expired` from now on)."""
        self.tokens[token].expires_at = time.time() - 1

    def calls_by(self, token: str) -> list[Call]:
        """Every call made with this bearer token."""
        return [c for c in self.calls if c.headers.get("authorization") == f"Bearer {token}"]

    # ------------------------------------------------------------------ OAuth

    def _oauth_v2_access(self, p: dict[str, Any]) -> dict[str, Any]:
        client_id, secret = p.get("client_id"), p.get("client_secret")
        if self._basic is not None:
            client_id, secret = self._basic
        if (client_id, secret) != (self.client_id, self.client_secret):
            return _error(
                "invalid_client_id" if client_id != self.client_id else "bad_client_secret"
            )
        if p.get("grant_type") == "refresh_token":
            workspace = self.refresh_tokens.pop(str(p.get("refresh_token")), None)
            if workspace is None:
                return _error("invalid_refresh_token")
            return self._issue(workspace, rotating=True)
        found = self._codes.pop(str(p.get("code")), None)  # a code is used once
        if found is None:
            return _error("invalid_code")
        return self._issue(*found)

    def _openid_token(self, p: dict[str, Any]) -> dict[str, Any]:
        """openid.connect.token: a sign-in code (used once, for the redirect it was sent to)
        for a user token and an id_token (a JWT; its signature is not checked by the bot,
        which has it straight from Slack)."""
        client_id, secret = p.get("client_id"), p.get("client_secret")
        if self._basic is not None:
            client_id, secret = self._basic
        if (client_id, secret) != (self.client_id, self.client_secret):
            return _error(
                "invalid_client_id" if client_id != self.client_id else "bad_client_secret"
            )
        found = self._sign_in_codes.pop(str(p.get("code")), None)
        if found is None:
            return _error("invalid_code")
        team, user, redirect = found
        if p.get("redirect_uri") != redirect:
            return _error("bad_redirect_uri")
        token = f"xoxp-{team}-{user}-{next(self._serial)}"
        self.user_tokens[token] = (team, user)
        claims = {
            "iss": "https://slack.com",
            "sub": user,
            "aud": self.client_id,
            **_claims(team, user),
        }
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return {
            "ok": True,
            "access_token": token,
            "token_type": "Bearer",
            "id_token": f"eyJhbGciOiJSUzI1NiJ9.{payload}.fake-signature",
        }

    def _openid_user_info(self, p: dict[str, Any]) -> dict[str, Any]:
        team, user = self._oidc_caller
        return {"ok": True, "sub": user, **_claims(team, user)}

    def _issue(self, workspace: Workspace, rotating: bool) -> dict[str, Any]:
        prefix = "xoxe.xoxb" if rotating else "xoxb"
        token = f"{prefix}-{workspace.team_id}-{next(self._serial)}"
        lifetime = self.rotation_seconds
        self.tokens[token] = _Token(workspace, time.time() + lifetime if rotating else None)
        body: dict[str, Any] = {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": self.scopes,
            "bot_user_id": workspace.bot_user_id,
            "app_id": self.app_id,
            "team": None
            if workspace.org_wide
            else {"id": workspace.team_id, "name": workspace.name},
            "enterprise": (
                {"id": workspace.enterprise_id, "name": f"{workspace.name} org"}
                if workspace.enterprise_id
                else None
            ),
            "is_enterprise_install": workspace.org_wide,
            "authed_user": {"id": next(iter(workspace.users), "U0ADMIN")},
        }
        if rotating:
            refresh = f"xoxe-1-refresh-{uuid.uuid4().hex[:12]}"
            self.refresh_tokens[refresh] = workspace
            body.update(refresh_token=refresh, expires_in=lifetime)
        return body

    # ------------------------------------------------------------------ who is calling

    def _token(self, headers: dict[str, str], payload: dict[str, Any]) -> str:  # type: ignore[override]
        """The bearer token, or the client credentials of HTTP Basic auth (oauth.v2.access)."""
        self._basic = None
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            self._basic = (client_id, secret)
            return "basic"
        return FakeSlack._token(headers, payload)

    def _auth_error(self, method: str, token: str) -> str | None:
        self._caller = None
        if token and token == self.bot_token and self._bot_token_revoked:
            return "token_revoked"
        if method in ("oauth.v2.access", "openid.connect.token"):
            return None  # client credentials, checked by the method itself
        if method == "openid.connect.userInfo":
            if token not in self.user_tokens:
                return "invalid_auth"
            self._oidc_caller = self.user_tokens[token]
            return None
        known = self.tokens.get(token)
        if known is None:
            return super()._auth_error(method, token)
        if known.revoked:
            return "token_revoked"
        if known.expires_at is not None and known.expires_at < time.time():
            return "token_expired"
        self._caller = known
        return None

    def _dispatch(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "openid.connect.userInfo":
            return self._openid_user_info(payload)
        caller = self._caller
        if caller is None:
            channel = str(payload.get("channel") or "")
            posting = method in ("chat.postMessage", "chat.postEphemeral")
            if posting and channel in self.not_a_member_of:
                return _error("not_in_channel")
            return super()._dispatch(method, payload)
        refused = self._outside(caller.workspace, method, payload)
        return _error(refused) if refused else self._as(caller.workspace, method, payload)

    def _outside(self, ws: Workspace, method: str, p: dict[str, Any]) -> str | None:
        """What a workspace's token may not see: another workspace's users and channels, and
        posts to a channel the bot is not in."""
        user = p.get("user") if method == "users.info" else None
        if user is not None and user not in ws.users:
            return "user_not_found"
        channel = str(p.get("channel") or "")
        if method in ("chat.postMessage", "chat.postEphemeral") and channel[:1] in ("C", "G"):
            if channel not in ws.channels:
                return "channel_not_found"
            if ws.members_of is not None and channel not in ws.members_of:
                return "not_in_channel"
        return None

    def _as(self, ws: Workspace, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Answer as the workspace the token belongs to."""
        saved = (self.team_id, self.team_name, self.users, self.channels, self.bot_user_id)
        self.team_id, self.team_name = ws.team_id, ws.name
        self.users, self.channels, self.bot_user_id = ws.users, ws.channels, ws.bot_user_id
        try:
            body = super()._dispatch(method, payload)
            if method == "auth.test":
                body.update(
                    enterprise_id=ws.enterprise_id,
                    is_enterprise_install=ws.org_wide,
                    team_id=None if ws.org_wide else ws.team_id,
                )
            return copy.deepcopy(body)
        finally:
            self.team_id, self.team_name, self.users, self.channels, self.bot_user_id = saved


def _claims(team: str, user: str) -> dict[str, Any]:
    """What Slack tells about who signed in: the user and their workspace."""
    return {
        "https://slack.com/user_id": user,
        "https://slack.com/team_id": team,
        "name": user,
    }


def workspace_event(
    event: dict, ws: Workspace, *, team_id: str | None = None, event_id: str | None = None
) -> dict[str, Any]:
    """An event_callback from a workspace (for an org-wide install, from `team_id`, one of
    the org's workspaces), with the authorizations Slack sends for that install."""
    team = team_id or ws.team_id
    payload = event_payload(event, event_id=event_id, team_id=team, api_app_id=API_APP_ID)
    payload["token"] = VERIFICATION_TOKEN
    payload["enterprise_id"] = ws.enterprise_id
    payload["authorizations"] = [
        {
            "enterprise_id": ws.enterprise_id,
            "team_id": None if ws.org_wide else team,
            "user_id": ws.bot_user_id,
            "is_bot": True,
            "is_enterprise_install": ws.org_wide,
        }
    ]
    payload["is_ext_shared_channel"] = False
    return payload
