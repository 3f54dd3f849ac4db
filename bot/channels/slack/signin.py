"""Sign in with Slack (OpenID Connect) for the dashboard: Slack's side of it.

The browser is sent to Slack's authorize page; Slack sends it back with a code, which is
exchanged for a user token (`openid.connect.token`, with the app's client id and secret), and
`openid.connect.userInfo` says who signed in: their user id and workspace. The bot has these
straight from Slack over its own connection, so it does not need to check the id_token's
signature. The dashboard (bot.dashboard.slack) decides what that person may see.
"""

from __future__ import annotations

from urllib.parse import urlencode

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

SCOPES = "openid profile"
USER_CLAIM = "https://slack.com/user_id"
TEAM_CLAIM = "https://slack.com/team_id"


class SignInRefused(Exception):
    """Slack did not confirm who signed in (a code used twice, expired, or for elsewhere)."""


def authorize_url(api_url: str, client_id: str, state: str, redirect_uri: str) -> str:
    """Slack's "Sign in with Slack" page, on the host the Web API is served from."""
    root = api_url.removesuffix("/").removesuffix("/api") + "/"
    query = urlencode(
        {
            "response_type": "code",
            "scope": SCOPES,
            "client_id": client_id,
            "state": state,
            "redirect_uri": redirect_uri,
        }
    )
    return f"{root}openid/connect/authorize?{query}"


async def who_signed_in(
    api_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> tuple[str, str]:
    """(workspace id, user id) of the person Slack sent back with `code`."""
    client = AsyncWebClient(base_url=api_url)
    try:
        tokens = await client.openid_connect_token(
            client_id=client_id, client_secret=client_secret, code=code, redirect_uri=redirect_uri
        )
        info = await client.openid_connect_userInfo(token=tokens["access_token"])
    except SlackApiError as exc:
        raise SignInRefused(str(exc.response.get("error", "refused"))) from exc
    team, user = info.get(TEAM_CLAIM), info.get(USER_CLAIM)
    if not team or not user:
        raise SignInRefused("no user or workspace in Slack's answer")
    return str(team), str(user)
