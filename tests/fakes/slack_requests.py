"""Inbound Slack requests for the bot's POST /slack/events, really signed.

Bodies have the shapes Slack sends: Events API callbacks are JSON; slash commands are
form-encoded fields; interactivity (block actions, view submissions, shortcuts) is form-encoded
``payload=<json>``. Sign the exact body string you send::

    body = event_body(message_event("Kickoff is on Friday"))
    await session.post(url, data=body, headers=headers(SECRET, body))

The ``*_payload`` helpers return dicts, so the same payload can also be pushed over Socket Mode
(``FakeSlack.push(payload, type="interactive")``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0TEST"
PARTNER_TEAM_ID = "T0PARTNER"  # another organisation's workspace, sharing a Slack Connect channel
TEAM_DOMAIN = "fake-workspace"
API_APP_ID = "A0TEST"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
VERIFICATION_TOKEN = "fake-verification-token"  # the legacy token Slack still puts in bodies

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# Port 9 (discard) refuses connections, so a forgotten response_url fails at once instead of
# reaching the internet. Pass FakeSlack.response_url() to record what the bot responds.
UNSET_RESPONSE_URL = "http://127.0.0.1:9/response-url/unset"

_counter = itertools.count(1)
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|<#(C[A-Z0-9]+)(?:\|([^>]*))?>")
# Markup a Slack client writes itself (people, channels, special mentions, links); a test writes
# it as Slack would send it, and everything else in its text is what a person typed.
_MARKUP = re.compile(r"<(?:@[UW][A-Z0-9]+|#[CG][A-Z0-9]+|![a-z]|https?://|mailto:)[^<>]*>")


def slack_escaped(text: str) -> str:
    """`text` as Slack sends what a person typed: `&`, `<` and `>` as `&amp;`, `&lt;` and
    `&gt;`, except in the markup the client wrote (a mention, a channel, a link)."""

    def escape(part: str) -> str:
        return part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    out, pos = [], 0
    for match in _MARKUP.finditer(text):
        out += [escape(text[pos : match.start()]), match[0]]
        pos = match.end()
    return "".join([*out, escape(text[pos:])])


# ---------------------------------------------------------------------- ids


def new_ts() -> str:
    """A unique, increasing message ts for "now", like "1764000000.000042"."""
    return f"{int(time.time())}.{next(_counter) % 1_000_000:06d}"


def new_trigger_id(issued: float | None = None) -> str:
    """A trigger_id shaped like Slack's ("<n>.<n>.<hex>"), issued now (or at `issued`, a
    time.time()): its middle number is when, in milliseconds, so that a FakeSlack with a
    `trigger_ttl` refuses it once it is too old, as Slack does after 3 seconds."""
    when = time.time() if issued is None else issued
    return f"{next(_counter)}.{int(when * 1000)}.{uuid.uuid4().hex[:24]}"


def trigger_issued(trigger_id: str) -> float | None:
    """When `new_trigger_id` issued a trigger_id (a time.time()), or None for another shape."""
    parts = trigger_id.split(".") if isinstance(trigger_id, str) else []
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1]) / 1000


def _block_id() -> str:
    return uuid.uuid4().hex[:5]


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return channel_id.lower()


def _user(user_id: str) -> dict[str, Any]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def _team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


# ---------------------------------------------------------------------- signing and headers


def sign(secret: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature over ``v0:{timestamp}:{body}`` (HMAC-SHA256)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    digest = hmac.new(
        secret.encode("utf-8"), f"v0:{ts}:{text}".encode(), hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def headers(
    secret: str,
    body: str | bytes,
    *,
    content_type: str | None = None,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """Content-Type plus signature headers for ``body``; Slack's retry headers when
    ``retry_num`` is given. Without ``content_type``, JSON bodies get application/json and
    everything else is form-encoded."""
    if content_type is None:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        content_type = JSON if text.lstrip().startswith("{") else FORM
    result = {"Content-Type": content_type, **sign(secret, body, timestamp)}
    if retry_num is not None:
        result["X-Slack-Retry-Num"] = str(retry_num)
        result["X-Slack-Retry-Reason"] = retry_reason
    return result


# ---------------------------------------------------------------------- Events API


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack attaches to a user's message, with mentions as elements."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for match in _MENTION.finditer(text):
        if match.start() > pos:
            elements.append({"type": "text", "text": text[pos : match.start()]})
        if match.group(1):
            elements.append({"type": "user", "user_id": match.group(1)})
        else:
            elements.append({"type": "channel", "channel_id": match.group(2)})
        pos = match.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    return [
        {
            "type": "rich_text",
            "block_id": _block_id(),
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def event_payload(
    event: dict,
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
) -> dict[str, Any]:
    """An ``event_callback`` envelope around ``event`` (also the Socket Mode events_api payload)."""
    event_ts = event.get("event_ts") or event.get("ts")
    try:
        event_time = int(float(event_ts)) if event_ts else int(time.time())
    except ValueError:
        event_time = int(time.time())
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def event_body(
    event: dict,
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
) -> str:
    """The JSON body Slack posts for an Events API callback."""
    return json.dumps(
        event_payload(event, event_id=event_id, team_id=team_id, api_app_id=api_app_id)
    )


def message_event(
    text: str,
    *,
    user: str = "U0PAT",
    channel: str = "C0FINANCE1",
    ts: str | None = None,
    channel_type: str = "channel",
    user_team: str = TEAM_ID,
    **extra: Any,
) -> dict[str, Any]:
    """A user's ``message`` event. ``extra`` adds or overrides fields (thread_ts, subtype...).
    channel_type is "channel", "group", "im" or "mpim". ``user_team`` is the writer's own
    workspace: another one (``PARTNER_TEAM_ID``) for a Slack Connect user, as Slack sends it."""
    ts = ts or new_ts()
    text = slack_escaped(text)
    event: dict[str, Any] = {
        "client_msg_id": str(uuid.uuid4()),
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "blocks": rich_text_blocks(text),
        "team": user_team,
        "user_team": user_team,
        "source_team": user_team,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    event.update(extra)
    return event


def app_mention_event(
    text: str,
    *,
    user: str = "U0PAT",
    channel: str = "C0FINANCE1",
    ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An ``app_mention`` event; ``text`` should contain ``<@UBOT>`` like Slack's does."""
    event = message_event(text, user=user, channel=channel, ts=ts, **extra)
    event["type"] = "app_mention"
    event.pop("channel_type", None)
    return event


def url_verification_body(challenge: str) -> str:
    """The JSON body Slack posts when the Request URL is saved."""
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    )


# ---------------------------------------------------------------------- slash commands


def slash_payload(
    command: str,
    text: str,
    *,
    user_id: str = "U0PAT",
    channel_id: str = "C0FINANCE1",
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> dict[str, str]:
    """The fields of a slash command (the Socket Mode slash_commands payload)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": slack_escaped(text),
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or UNSET_RESPONSE_URL,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def slash_body(
    command: str,
    text: str,
    *,
    user_id: str = "U0PAT",
    channel_id: str = "C0FINANCE1",
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> str:
    """The form-encoded body Slack posts for a slash command."""
    return urlencode(
        slash_payload(
            command,
            text,
            user_id=user_id,
            channel_id=channel_id,
            trigger_id=trigger_id,
            response_url=response_url,
        )
    )


# ---------------------------------------------------------------------- interactivity


def interaction_body(payload: dict) -> str:
    """The form-encoded body Slack posts for interactivity: ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)})


def block_action_payload(
    action_id: str,
    value: str | None,
    *,
    user_id: str = "U0PAT",
    channel_id: str = "C0FINANCE1",
    message_ts: str | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
    block_id: str | None = None,
    action_type: str = "button",
    message: dict | None = None,
    view: dict | None = None,
    **action_fields: Any,
) -> dict[str, Any]:
    """A ``block_actions`` payload for one action.

    By default the action comes from a button in a message in ``channel_id``; pass ``view``
    (a modal or App Home view, with its "id") for an action inside a view instead. For selects,
    pass ``action_type`` and the selection, e.g. ``value=None, action_type="static_select",
    selected_option=option_value("high")["selected_option"]``.
    """
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or _block_id(),
        "type": action_type,
        "action_ts": new_ts(),
    }
    if value is not None:
        action["value"] = value
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": value or action_id, "emoji": True}
    action.update(action_fields)

    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        full_view = _view(view)
        payload["container"] = {"type": "view", "view_id": full_view["id"]}
        payload["view"] = full_view
    else:
        msg = dict(message or {})
        ts = message_ts or msg.get("ts") or new_ts()
        msg = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "team": TEAM_ID,
            "text": "",
            **msg,
            "ts": ts,
        }
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id)}
        payload["message"] = msg
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url or UNSET_RESPONSE_URL
    payload["actions"] = [action]
    return payload


# State values of input elements, for view_submission_payload(values=...).


def text_value(value: str | None, *, type: str = "plain_text_input") -> dict[str, Any]:
    return {"type": type, "value": value}


def date_value(selected_date: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": selected_date}


def user_value(selected_user: str | None) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": selected_user}


def users_value(selected_users: list[str]) -> dict[str, Any]:
    return {"type": "multi_users_select", "selected_users": list(selected_users)}


def _option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


def option_value(value: str | None, text: str | None = None) -> dict[str, Any]:
    selected = None if value is None else _option(value, text)
    return {"type": "static_select", "selected_option": selected}


def options_value(values: list[str], *, type: str = "multi_static_select") -> dict[str, Any]:
    return {"type": type, "selected_options": [_option(v) for v in values]}


def _view(view: dict) -> dict[str, Any]:
    view_id = view.get("id") or f"V{uuid.uuid4().hex[:10].upper()}"
    full: dict[str, Any] = {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "title": {"type": "plain_text", "text": "IT Liaison"},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": API_APP_ID,
        "external_id": "",
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    }
    full.update(view)
    return full


def view_submission_payload(
    callback_id: str,
    values: dict,
    *,
    private_metadata: str = "",
    user_id: str = "U0PAT",
    view_id: str | None = None,
    blocks: list[dict] | None = None,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A ``view_submission`` payload.

    ``values`` is ``view.state.values``: ``{block_id: {action_id: state}}``, where each state is
    e.g. ``text_value("..")``, ``date_value("2026-12-01")``, ``user_value("U1")``,
    ``option_value("high")`` or ``options_value([...])``; a bare string is taken as a
    plain_text_input value.
    """
    state = {
        block_id: {
            action_id: text_value(v) if isinstance(v, str) or v is None else v
            for action_id, v in actions.items()
        }
        for block_id, actions in values.items()
    }
    view = _view(
        {
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": state},
            "blocks": blocks or [],
            "submit": {"type": "plain_text", "text": "Submit"},
            "close": {"type": "plain_text", "text": "Cancel"},
            **({"id": view_id} if view_id else {}),
        }
    )
    return {
        "type": "view_submission",
        "team": _team(),
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": view,
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }


def shortcut_payload(
    callback_id: str,
    *,
    message: dict | None = None,
    user_id: str = "U0PAT",
    channel_id: str = "C0FINANCE1",
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A global ``shortcut``, or a ``message_action`` (message shortcut) when ``message`` is
    given (missing message fields such as ts are filled in)."""
    payload: dict[str, Any] = {
        "type": "shortcut",
        "token": VERIFICATION_TOKEN,
        "action_ts": new_ts(),
        "team": _team(),
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    if message is None:
        return payload
    text = slack_escaped(message.get("text", ""))
    msg = {
        "type": "message",
        "user": "U0PAT",
        "blocks": rich_text_blocks(text),
        "team": TEAM_ID,
        **message,
        "text": text,
    }
    msg.setdefault("ts", new_ts())
    payload.update(
        {
            "type": "message_action",
            "user": {"id": user_id, "name": user_id.lower(), "team_id": TEAM_ID},
            "channel": {"id": channel_id, "name": _channel_name(channel_id)},
            "message_ts": msg["ts"],
            "message": msg,
            "response_url": response_url or UNSET_RESPONSE_URL,
        }
    )
    return payload
