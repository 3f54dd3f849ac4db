"""Who and what the Slack workspace names: this workspace's team (anyone of another team is
from another organisation), who a user is, the ids of the channels the config calls `#name`,
and Slack's error codes in a form a log line can carry."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack.workspaces import current_enterprise
from handlers.messages import Sender
from handlers.org import Organisation

log = logging.getLogger("liaison.slack")


async def workspace_identity(client: AsyncWebClient) -> tuple[str | None, str | None]:
    """This workspace's team id and its address ("https://<domain>.slack.com/"), from
    auth.test; (None, None) while Slack does not answer."""
    try:
        answer = await client.auth_test()
        return answer.get("team_id") or None, answer.get("url") or None
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        failure = slack_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
        log.warning("auth.test failed (%s): can't tell yet who is from outside", failure)
        return None, None


def slack_sender(
    channel: str, user_id: str, info: dict | None, own: str | None, team: str | None
) -> Sender:
    """A Slack user as the core knows them, from users.info (`info`, None when it failed):
    name, email, time zone, their team, and whether that team is another organisation's (a
    Slack Connect user: not `own`, this workspace; or a stranger, as Slack marks them).
    `team` is the user's team as an event said it (`user_team`)."""
    if info is None:
        return Sender(channel, user_id, external=bool(own and team and team != own))
    profile = info.get("profile") or {}
    home = info.get("team_id") or team
    # On Enterprise Grid, another workspace of the same organisation is not another org.
    org = (info.get("enterprise_user") or {}).get("enterprise_id")
    same_org = bool(org) and org == current_enterprise()
    return Sender(
        channel,
        user_id,
        name=info.get("name") or profile.get("display_name") or None,
        email=profile.get("email") or None,
        timezone=info.get("tz") or None,
        tenant=home or None,
        external=bool(own and home and home != own and not same_org)
        or bool(info.get("is_stranger")),
    )


async def find_channel_ids(
    client: AsyncWebClient,
    org: Organisation,
    *,
    workspace: str | None = None,
    warned: set[tuple[str | None, str, str]] | None = None,
) -> bool:
    """Slack events carry channel ids, never names: read each `#name` in the units' channel
    lists as its id (conversations.list, page by page), so the organisation's one matcher
    finds the unit. A name that no channel has is logged, one line per unit and name (and, in
    multi-workspace mode, per `workspace`, once: `warned` keeps what was said). False when
    Slack could not be asked."""
    wanted = org.channel_names_wanted()
    if not wanted:
        return True
    found: dict[str, str] = {}
    cursor = None
    where = f"workspace {workspace}: " if workspace else ""
    try:
        while True:
            page = await client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            for channel in page.get("channels") or []:
                name = str(channel.get("name") or "").lower()
                if name in wanted and channel.get("id"):
                    found.setdefault(name, str(channel["id"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor or len(found) == len(wanted):
                break
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        failure = slack_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
        log.warning(
            "%schannel names not resolved (%s): #names in the config won't match", where, failure
        )
        return False
    for name, units in wanted.items():
        for unit in units:
            if name in found:
                org.name_channel(found[name], name)
                log.info("%sunit %s: channel #%s is %s", where, unit, name, found[name])
            elif warned is None or (workspace, unit, name) not in warned:
                if warned is not None:
                    warned.add((workspace, unit, name))
                log.warning(
                    "%sunit %s: no Slack channel is named #%s; messages there won't be the "
                    "unit's (use the channel id, or fix the name)",
                    where,
                    unit,
                    name,
                )
    return True


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code, or the HTTP status when the answer was not JSON (a 5xx page)."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return f"http_{getattr(exc.response, 'status_code', '?')}"


def derived_permalink(team_url: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    """Slack's permalink of a message: the workspace's address, the channel, and the ts
    without its dot; a reply in a thread also names its thread (as chat.getPermalink does)."""
    link = f"{team_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link
