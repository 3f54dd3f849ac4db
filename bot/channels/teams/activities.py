"""Reading activities: mentions, the conversation's key, a message's link, submitted form
values, tenants and conversation references, and what went wrong in a connector call.
"""

from __future__ import annotations

import html
import json
import re
import zoneinfo
from typing import Any
from urllib.parse import quote, urlencode

from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationReference,
    ErrorResponseException,
)

from bot.retry import retry_after_seconds
from handlers.messages import Sender

TEAMS_TEXT_LIMIT = 28 * 1024  # bytes: the largest message Teams sends; nothing longer is real


def within_teams_limit(text: str) -> str:
    """`text` cut to Teams' message limit (28 KB of UTF-8) before anything else reads it, so
    hostile input costs its sender, not everyone else."""
    if len(text) * 4 <= TEAMS_TEXT_LIMIT:
        return text  # short enough whatever its characters
    return text.encode("utf-8")[:TEAMS_TEXT_LIMIT].decode("utf-8", errors="ignore")


def strip_bot_mention(activity: Activity) -> tuple[str, bool]:
    """The message without the bot's own @mention, and whether the bot was mentioned. Other
    people's mentions stay, so that "ask <at>Pat</at> ..." still names Pat."""
    text = within_teams_limit(activity.text or "")
    bot = activity.recipient
    mentioned = False
    for entity in activity.entities or []:
        if (getattr(entity, "type", None) or "").lower() != "mention":
            continue
        props = getattr(entity, "additional_properties", None) or {}
        who = props.get("mentioned")
        if isinstance(who, dict) and bot is not None and who.get("id") == bot.id:
            mentioned = True
            markup = props.get("text")
            if isinstance(markup, str) and markup:
                text = text.replace(markup, " ")
    if bot is not None and bot.name:
        pattern = rf"<at(?:\s[^<>]*)?>\s*{re.escape(bot.name)}\s*</at>"  # linear: no "<" inside
        text, found = re.subn(pattern, " ", text, flags=re.IGNORECASE)
        mentioned = mentioned or bool(found)
    text = re.sub(r"</?(?!at\b)[a-z][a-z0-9]*(?:\s[^<>]*)?/?>", " ", text, flags=re.IGNORECASE)
    text = html.unescape(text)
    return " ".join(text.split()), mentioned


def mentioned_people(activity: Activity) -> list[tuple[ChannelAccount, str]]:
    """The people (not the bot) a message @mentions, with their mention markup."""
    bot_id = activity.recipient.id if activity.recipient else None
    found: dict[str, tuple[ChannelAccount, str]] = {}
    for entity in activity.entities or []:
        if (getattr(entity, "type", None) or "").lower() != "mention":
            continue
        props = getattr(entity, "additional_properties", None) or {}
        who = props.get("mentioned")
        if not isinstance(who, dict) or not isinstance(who.get("id"), str) or who["id"] == bot_id:
            continue
        name = who.get("name") if isinstance(who.get("name"), str) else None
        markup = props.get("text") if isinstance(props.get("text"), str) else f"<at>{name}</at>"
        found.setdefault(who["id"], (ChannelAccount(id=who["id"], name=name), markup))
    return list(found.values())[:10]


def conversation_key(activity: Activity) -> str:
    """The conversation as units and intakes know it: a channel's id (without the thread), or
    the chat's id."""
    channel = _channel_data(activity).get("channel")
    if isinstance(channel, dict) and isinstance(channel.get("id"), str) and channel["id"]:
        return channel["id"]
    return (activity.conversation.id or "").split(";", 1)[0]


def message_link(activity: Activity) -> str | None:
    """A deep link to a channel message, kept with an initiative as its source."""
    channel = _channel_data(activity).get("channel")
    if not isinstance(channel, dict) or not channel.get("id") or not activity.id:
        return None
    conversation_id = activity.conversation.id or ""
    parent = conversation_id.split(";messageid=", 1)[1] if ";messageid=" in conversation_id else ""
    return teams_message_link(str(channel["id"]), activity.id, tenant_of(activity), parent)


def teams_message_link(
    conversation: str, message_id: str, tenant: str | None, parent: str | None = None
) -> str:
    """A Teams deep link to one message of a channel or chat, built from its ids."""
    query = {"tenantId": tenant, "parentMessageId": parent or message_id}
    query = {k: v for k, v in query.items() if v}
    return (
        f"https://teams.microsoft.com/l/message/{quote(conversation, safe='')}/"
        f"{quote(message_id, safe='')}?{urlencode(query)}"
    )


def form_values(data: dict) -> dict[str, Any]:
    """The inputs of a submitted form card, by field key; multi-selects as lists."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(key, str) and key.startswith("f:"):
            values[key[2:]] = value if isinstance(value, str) else json.dumps(value)
    multi = data.get("multi") if isinstance(data.get("multi"), list) else []
    for key in multi:
        if isinstance(key, str):
            picked = values.get(key) or ""
            values[key] = [v.strip() for v in picked.split(",") if v.strip()]
    return values


def _channel_data(activity: Activity) -> dict:
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


def tenant_of(activity: Activity) -> str | None:
    if activity.conversation is not None and activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    tenant = _channel_data(activity).get("tenant")
    return tenant.get("id") if isinstance(tenant, dict) else None


OUTSIDE_ROLES = frozenset({"guest", "anonymous"})  # Teams' user roles for people from outside


def is_from_outside(
    activity: Activity, role: str | None, home_tenant: str | None, *, writer: bool = True
) -> bool:
    """Whether a person is from another organisation: a guest or anonymous user (their roster
    `role`, or, for the activity's writer, the activity's own role and channelData userRole), or
    an account whose `home_tenant` is not the conversation's tenant (an external user)."""
    roles = {(role or "").lower()}
    if writer:
        roles.add(str(getattr(activity.from_property, "role", None) or "").lower())
        roles.add(str(_channel_data(activity).get("userRole") or "").lower())
    if roles & OUTSIDE_ROLES:
        return True
    tenant = tenant_of(activity)
    return bool(home_tenant and tenant and home_tenant != tenant)


def teams_sender(
    channel: str, activity: Activity, user: ChannelAccount, member: Any, *, writer: bool
) -> Sender:
    """A Teams account as the core knows them: the activity's writer (`writer`) or someone
    they mentioned, with what the roster said (`member`, None when it had no entry): name,
    email (never a guest's #EXT# address), time zone, tenant, and whether they are from
    another organisation (`is_from_outside`)."""
    name, email, aad = user.name, None, user.aad_object_id
    role = home = None
    if member is not None:
        upn = member.user_principal_name or ""
        email = member.email or (upn if "@" in upn and "#EXT#" not in upn else None)
        name = name or member.name
        aad = aad or member.aad_object_id
        role, home = getattr(member, "user_role", None), getattr(member, "tenant_id", None)
    return Sender(
        channel,
        aad or user.id,
        name=name or None,
        email=email.lower() if email else None,
        timezone=zone_or_none(activity.local_timezone) if writer else None,
        tenant=tenant_of(activity),
        external=is_from_outside(activity, role, home, writer=writer),
    )


def team_id_of(activity: Activity) -> str | None:
    team = _channel_data(activity).get("team")
    return team.get("id") if isinstance(team, dict) else None


def is_personal_activity(activity: Activity) -> bool:
    conversation = activity.conversation
    if conversation is None:
        return False
    kind = conversation.conversation_type
    return kind == "personal" or (not kind and not conversation.is_group)


def is_personal_reference(reference: ConversationReference) -> bool:
    conversation = reference.conversation
    return bool(conversation and conversation.id and conversation.conversation_type == "personal")


def read_reference(text: str) -> ConversationReference | None:
    try:
        return ConversationReference().deserialize(json.loads(text))
    except Exception:
        return None


def reference_tenant(reference: ConversationReference) -> str | None:
    return reference.conversation.tenant_id if reference.conversation else None


def zone_or_none(name: str | None) -> str | None:
    if not name:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None
    return name


# Tags never contain "<" or ">", so each scan stops at the next bracket: one linear pass however
# many tags are left unclosed (Python's HTMLParser takes seconds on 28 KB of "<at ").
_LINE_TAG = re.compile(r"<(?:br|p|div|li)\b[^<>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"</?[a-z!][^<>]*>", re.IGNORECASE)


def html_text(content: str) -> str:
    """The words of a message's HTML: a line break for each paragraph, line or list item,
    no tags, entities unescaped once."""
    return html.unescape(_ANY_TAG.sub("", _LINE_TAG.sub("\n", content)))


def message_payload_text(payload: dict) -> str:
    """The text of the message a message action was used on (Teams sends its HTML)."""
    body = payload.get("body") if isinstance(payload.get("body"), dict) else {}
    content = within_teams_limit(
        body.get("content") if isinstance(body.get("content"), str) else ""
    )
    if str(body.get("contentType") or "html").lower() == "html":
        content = html_text(content)
    return re.sub(r"[ \t]*\n[ \t\n]*", "\n", content).strip()


def status_of(exc: ErrorResponseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) or getattr(response, "status", None)


def retry_after_of(exc: ErrorResponseException) -> float | None:
    return retry_after_seconds(getattr(getattr(exc, "response", None), "headers", None))


def describe(exc: BaseException) -> str:
    status = status_of(exc) if isinstance(exc, ErrorResponseException) else None
    return f"HTTP {status}" if status else f"{type(exc).__name__}: {exc}"
