"""POST /api/messages: check the activity, authenticate it (or, with no app id, accept only
this machine), run the turn, and answer within Teams' budget.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import (
    serializer_helper,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
)

from bot.channels.http import parse_json, read_body
from bot.channels.teams.cards import WORKING, invoke_body, note_card
from bot.channels.teams.delivery import TeamsChannel

log = logging.getLogger("liaison.teams")
BEARER_JWT = re.compile(r"^Bearer [\w-]{1,4000}\.[\w-]{1,8000}\.[\w-]{0,4000}$")


def teams_route(channel: TeamsChannel) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for POST /api/messages."""
    if not channel.app_id:
        log.warning(
            "TEAMS_EMULATOR is on: Teams runs WITHOUT authentication (no app id) and answers "
            "only this machine, for local testing and the Bot Framework Emulator. Never run it "
            "so in production."
        )

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _refuse(415, "Send the activity as application/json.")
        auth_header = request.headers.get("Authorization", "")
        if channel.app_id and not BEARER_JWT.match(auth_header):
            # Authenticated mode: a request without a bearer token of a JWT's shape is refused
            # before its body is read or parsed; the token itself is checked once it is parsed.
            return _refuse(401, "Unauthorized.")
        try:
            body = parse_json(await read_body(request))
        except (ValueError, UnicodeDecodeError):
            return _refuse(400, "The body is not JSON.")
        problem = check_activity(body)
        if problem:
            return _refuse(400, problem)
        try:
            activity = Activity().deserialize(body)
        except Exception:  # msrest raises several kinds for badly typed fields
            return _refuse(400, "The body is not a valid activity.")
        if not channel.app_id and not (
            _loopback(f"http://{request.remote}/") and _loopback(activity.service_url)
        ):
            # Unauthenticated local mode: only a caller and a connector on this machine (the
            # Emulator, the tests). The caller is the TCP peer, which a body cannot fake.
            return _refuse(
                403,
                "Without MICROSOFT_APP_ID the bot runs in local mode and only answers "
                "requests from this machine, with a serviceUrl on localhost.",
            )
        try:
            auth = await channel.host.authenticate(activity, auth_header)
        except PermissionError:
            return _refuse(401, "Unauthorized.")
        except Exception as exc:  # a malformed token, or the signing keys could not be read
            log.warning("teams: request refused, token not accepted: %s", type(exc).__name__)
            return _refuse(401, "Unauthorized.")
        if channel.tenant_id and tenant_of(body) != channel.tenant_id:
            # Single tenant: an activity from any other tenant is refused before the bot reads
            # it, so nobody outside the organisation is ever linked to a person.
            return _refuse(403, "This bot serves one Microsoft 365 tenant only.")
        turn = asyncio.ensure_future(channel.host.process(auth, activity, channel.bot.on_turn))
        try:
            invoke_response = await asyncio.wait_for(asyncio.shield(turn), channel.turn_budget)
        except TimeoutError:
            channel.keep(turn)  # acknowledged now; the turn finishes and reports on its own
            if activity.type == ActivityTypes.invoke:
                return web.json_response(invoke_body(note_card(WORKING)))
            return web.Response(status=202)
        except Exception:
            log.exception("teams: the %s activity failed", activity.type)
            return _refuse(500, "The bot could not handle this activity.")
        if invoke_response:
            body = invoke_response.body
            if hasattr(body, "serialize"):
                body = serializer_helper(body)
            return web.json_response(body, status=invoke_response.status)
        return web.Response(status=201)

    return handle


def tenant_of(body: dict[str, Any]) -> str | None:
    """The tenant an activity comes from: channelData.tenant.id, else conversation.tenantId."""
    data = body.get("channelData") or {}
    tenant = data.get("tenant") if isinstance(data, dict) else None
    if isinstance(tenant, dict) and isinstance(tenant.get("id"), str):
        return tenant["id"]
    conversation = body.get("conversation") or {}
    found = conversation.get("tenantId") if isinstance(conversation, dict) else None
    return found if isinstance(found, str) else None


def _loopback(url: str | None) -> bool:
    """Is this service URL on this machine (localhost, 127.0.0.0/8 or ::1)?"""
    host = urllib.parse.urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_activity(body: Any) -> str | None:
    """Why a request body is not an activity we can answer, or None when it is."""
    if not isinstance(body, dict):
        return "The body must be a JSON object (an activity)."
    if not isinstance(body.get("type"), str) or not body["type"].strip():
        return "The activity has no type."
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not re.match(r"^https?://\S+$", service_url):
        return "The activity has no serviceUrl."
    if not isinstance(body.get("channelId"), str) or not body["channelId"]:
        return "The activity has no channelId."
    for key in ("conversation", "from", "recipient"):
        part = body.get(key)
        if not isinstance(part, dict) or not isinstance(part.get("id"), str) or not part["id"]:
            return f"The activity has no {key}.id."
    for key in ("entities", "membersAdded", "membersRemoved", "attachments"):
        if key in body and body[key] is not None and not isinstance(body[key], list):
            return f"The activity's {key} must be a list."
    if body.get("channelData") is not None and not isinstance(body["channelData"], dict):
        return "The activity's channelData must be an object."
    if body.get("text") is not None and not isinstance(body["text"], str):
        return "The activity's text must be a string."
    return None


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
