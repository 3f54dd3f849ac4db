"""A fake Bot Framework connector (the Teams service side), served over real HTTP on 127.0.0.1.

Put ``FakeConnector.service_url`` in an activity's ``serviceUrl`` and the bot sends its replies
here, exactly as it would to Teams. Every request is recorded (``calls``) with its JSON body:

- replies:   ``POST /v3/conversations/{id}/activities/{replyToId}``  (kind "reply")
- sends:     ``POST /v3/conversations/{id}/activities``              (kind "send")
- 1:1 chats: ``POST /v3/conversations``                              (kind "create")
- members:   ``GET /v3/conversations/{id}/members/{userId}``         (kind "member")
- updates:   ``PUT /v3/conversations/{id}/activities/{activityId}``  (kind "update")

Members come from a directory (user id -> roster entry with email and userPrincipalName); a 1:1
chat is opened with a member's id or Azure AD object id, and needs the tenant, as in Teams.
``fail_next()`` makes the next N calls answer 429 (with Retry-After), 412, 502 or 504, the way
Teams throttles. As the real connector does, it refuses an activity over ``size_limit`` (28 KB
of JSON) with 413, answers 403 for a person who removed the app (``uninstall``) and 404 for one
who left the organisation (``remove_user``). The module also builds the activities Teams would
post to the bot.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TENANT = "tenant-riverton"
BOT = {"id": "28:it-liaison-bot", "name": "IT Liaison"}
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
TEAM_ID = "19:riverton-team@thread.tacv2"
CHANNEL_ID = "19:finance-general@thread.tacv2"
SIZE_LIMIT = 28 * 1024  # bytes of activity JSON Teams takes in one message
ERROR_CODES = {
    403: "Forbidden",
    404: "NotFound",
    413: "MessageSizeTooBig",
    412: "PreconditionFailed",
    429: "Throttled",
    502: "BadGateway",
    504: "GatewayTimeout",
}


@dataclass(frozen=True)
class TeamsUser:
    """A Teams user: their Bot Framework id (29:...), Azure AD object id, name and email."""

    id: str
    aad: str
    name: str
    email: str | None = None
    role: str = "user"  # "guest" for a guest of this tenant
    tenant: str = TENANT  # another tenant's for an external (federated) user

    def account(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad}

    def roster(self) -> dict[str, Any]:
        """The member record GET .../members/{userId} answers with."""
        given, _, surname = self.name.partition(" ")
        return {
            "id": self.id,
            "name": self.name,
            "aadObjectId": self.aad,
            "givenName": given,
            "surname": surname,
            "email": self.email,
            "userPrincipalName": self.email,
            "tenantId": self.tenant,
            "userRole": self.role,
        }


PAT = TeamsUser("29:pat-lee", "aad-pat", "Pat Lee", "pat.lee@riverton.example")
SAM = TeamsUser("29:sam-rivera", "aad-sam", "Sam Rivera", "sam.rivera@riverton.example")
KIM = TeamsUser("29:kim-nguyen", "aad-kim", "Kim Nguyen", "kim.nguyen@riverton.example")
ALEX = TeamsUser("29:alex-new", "aad-alex", "Alex Newcomer", "alex@riverton.example")
# People from other organisations, whose emails happen to match a colleague's: a guest invited
# into this tenant, and an external user of a partner's tenant.
GUEST = TeamsUser("29:gus-guest", "aad-gus", "Gus Guest", "pat.lee@riverton.example", "guest")
EXTERNAL = TeamsUser(
    "29:eve-partner",
    "aad-eve",
    "Eve Partner",
    "sam.rivera@riverton.example",
    tenant="tenant-partner",
)


@dataclass
class Call:
    """One request the fake received."""

    kind: str  # reply, send, create, member, update, unknown
    method: str
    path: str
    conversation_id: str | None
    activity_id: str | None  # the replyToId for replies, the updated id for updates
    user_id: str | None
    body: Any
    headers: dict[str, str]
    status: int = 200
    response: Any = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def card(self) -> dict | None:
        """The Adaptive Card this activity carries, if any."""
        for attachment in (self.body or {}).get("attachments") or []:
            if attachment.get("contentType") == CARD_TYPE:
                return attachment.get("content")
        return None

    @property
    def mentions(self) -> dict[str, str]:
        """The people this activity mentions (the message's entities and its card's), by id,
        with the markup Teams highlights; a mention Teams would show must appear in the text."""
        entities = list((self.body or {}).get("entities") or [])
        entities += ((self.card or {}).get("msteams") or {}).get("entities") or []
        found = {}
        for entity in entities:
            if entity.get("type") == "mention" and entity.get("text") in self.text:
                found[entity["mentioned"]["id"]] = entity["text"]
        return found

    @property
    def text(self) -> str:
        """Everything a person would read: the message text and the card's text."""
        parts = [(self.body or {}).get("text") or ""]
        if self.card:
            parts.append(card_text(self.card))
        return "\n".join(p for p in parts if p)


@dataclass
class _Failure:
    status: int
    retry_after: int | str | None  # seconds, or an HTTP date
    remaining: int
    kinds: frozenset[str]
    after: int = 0  # calls of these kinds answered as usual first


class FakeConnector:
    """The Bot Framework connector for tests. Use as ``async with FakeConnector() as c:``."""

    def __init__(self, users: Iterable[TeamsUser] = (PAT, SAM, KIM, ALEX)) -> None:
        self.directory: dict[str, dict[str, Any]] = {u.id: u.roster() for u in users}
        self.calls: list[Call] = []
        self.activities: dict[str, dict[str, Any]] = {}  # activity id -> latest body
        self.created: list[str] = []  # conversation ids opened with POST /v3/conversations
        self.size_limit = SIZE_LIMIT
        self.uninstalled: set[str] = set()  # user ids (and AAD ids) who removed the app
        self.gone: set[str] = set()  # user ids (and AAD ids) no longer in the organisation
        self.closed: set[str] = set()  # conversations the app was removed from
        self._owners: dict[str, str] = {}  # 1:1 conversation id -> its user's id
        self.service_url = ""
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeConnector:
        app = web.Application()
        app.add_routes(
            [
                web.post("/v3/conversations", self._create),
                web.post("/v3/conversations/{conv}/activities", self._send),
                web.post("/v3/conversations/{conv}/activities/{aid}", self._reply),
                web.put("/v3/conversations/{conv}/activities/{aid}", self._update),
                web.get("/v3/conversations/{conv}/members/{uid}", self._member),
                web.route("*", "/{tail:.*}", self._unknown),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.service_url = f"http://127.0.0.1:{port}/"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeConnector:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # Test API

    def fail_next(
        self,
        count: int,
        status: int = 429,
        *,
        retry_after: int | str | None = None,
        kinds: Iterable[str] = ("reply", "send", "create", "update"),
        after: int = 0,
    ) -> None:
        """Answer the next `count` calls of these kinds with `status` (429, 412, 502, 504),
        once `after` more of them were answered as usual (a later part of a message fails)."""
        self._failures.append(_Failure(status, retry_after, count, frozenset(kinds), after))

    def uninstall(self, user: TeamsUser) -> None:
        """The person removed the app: their 1:1 chat answers 403, as does opening a new one."""
        self.uninstalled |= {user.id, user.aad}

    def remove_user(self, user: TeamsUser) -> None:
        """The person left the organisation: their chats answer 404, and so does the roster."""
        self.gone |= {user.id, user.aad}
        self.directory.pop(user.id, None)

    def close_conversation(self, conversation_id: str) -> None:
        """The app was removed from a team or group chat: sending there answers 403."""
        self.closed.add(conversation_id.split(";", 1)[0])

    def clear_failures(self) -> None:
        """Forget the failures not yet served."""
        self._failures.clear()

    def of(self, *kinds: str, ok: bool | None = True) -> list[Call]:
        """Recorded calls of these kinds (successful ones unless ok is None or False)."""
        return [c for c in self.calls if c.kind in kinds and (ok is None or c.ok == ok)]

    def messages(self, conversation_id: str | None = None) -> list[Call]:
        """Successful replies and sends, optionally to one conversation."""
        return [
            c
            for c in self.of("reply", "send")
            if conversation_id is None or c.conversation_id == conversation_id
        ]

    async def wait_for(
        self, predicate: Callable[[FakeConnector], Any], timeout: float = 5.0
    ) -> Any:
        """Wait until predicate(self) is truthy (work the bot does after acknowledging)."""

        async def wait() -> Any:
            async with self._changed:
                while not (result := predicate(self)):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(wait(), timeout)

    async def wait_for_messages(
        self, count: int = 1, conversation_id: str | None = None, timeout: float = 5.0
    ) -> list[Call]:
        def enough(fake: FakeConnector) -> list[Call] | None:
            found = fake.messages(conversation_id)
            return found if len(found) >= count else None

        return await self.wait_for(enough, timeout)

    # Handlers

    async def _create(self, request: web.Request) -> web.Response:
        body = await _body(request)
        failed = await self._failed("create", request, body)
        if failed:
            return failed
        members = (body or {}).get("members") or []
        if not members or not isinstance(members[0], dict) or not members[0].get("id"):
            return await self._answer("create", request, body, 400, _error(400, "No members"))
        if not _tenant_in(body):
            error = _error(400, "Tenant id is required to create a conversation in Teams")
            return await self._answer("create", request, body, 400, error)
        member = self._user_id(members[0]["id"])
        if member in self.gone:
            error = _error(404, "User not found in the tenant")
            return await self._answer("create", request, body, 404, error)
        if member in self.uninstalled:
            error = {"error": {"code": "BotNotInConversationRoster", "message": "Forbidden"}}
            return await self._answer("create", request, body, 403, error)
        conversation_id = f"a:1on1-{member.split(':')[-1]}-{next(self._ids)}"
        self.created.append(conversation_id)
        self._owners[conversation_id] = member
        answer = {"id": conversation_id, "serviceUrl": self.service_url}
        return await self._answer("create", request, body, 201, answer, conv=conversation_id)

    async def _send(self, request: web.Request) -> web.Response:
        return await self._post_activity("send", request)

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._post_activity("reply", request)

    async def _post_activity(self, kind: str, request: web.Request) -> web.Response:
        body = await _body(request)
        conv = request.match_info["conv"]
        aid = request.match_info.get("aid")
        failed = await self._failed(kind, request, body, conv=conv, aid=aid)
        if failed:
            return failed
        refused = await self._refused(kind, request, body, conv=conv, aid=aid)
        if refused:
            return refused
        if not isinstance(body, dict) or body.get("type") not in ("message", "typing"):
            error = _error(400, "Not an activity")
            return await self._answer(kind, request, body, 400, error, conv=conv, aid=aid)
        new_id = f"1:{next(self._ids)}"
        self.activities[new_id] = body
        return await self._answer(kind, request, body, 201, {"id": new_id}, conv=conv, aid=aid)

    async def _update(self, request: web.Request) -> web.Response:
        body = await _body(request)
        conv, aid = request.match_info["conv"], request.match_info["aid"]
        failed = await self._failed("update", request, body, conv=conv, aid=aid)
        if failed:
            return failed
        refused = await self._refused("update", request, body, conv=conv, aid=aid)
        if refused:
            return refused
        if aid not in self.activities:
            error = _error(404, f"Activity {aid} not found")
            return await self._answer("update", request, body, 404, error, conv=conv, aid=aid)
        self.activities[aid] = body
        return await self._answer("update", request, body, 200, {"id": aid}, conv=conv, aid=aid)

    async def _member(self, request: web.Request) -> web.Response:
        conv, uid = request.match_info["conv"], request.match_info["uid"]
        member = self.directory.get(uid)
        if member is None:
            error = {"error": {"code": "MemberNotFoundInConversation", "message": "Not found"}}
            return await self._answer("member", request, None, 404, error, conv=conv, uid=uid)
        return await self._answer("member", request, None, 200, member, conv=conv, uid=uid)

    async def _unknown(self, request: web.Request) -> web.Response:
        body = await _body(request)
        return await self._answer("unknown", request, body, 404, _error(404, "No such route"))

    # Plumbing

    def _user_id(self, member_id: str) -> str:
        """A member's Bot Framework id, given that id or their Azure AD object id."""
        for entry in self.directory.values():
            if member_id in (entry["id"], entry["aadObjectId"]):
                return entry["id"]
        return member_id

    def _owner(self, conversation_id: str) -> set[str]:
        """Whose 1:1 chat this is (their ids), or nobody's."""
        owner = self._owners.get(conversation_id)
        if owner is None and conversation_id.startswith("a:personal-"):
            owner = conversation_id.removeprefix("a:personal-")
        if owner is None:
            return set()
        return {owner, self._user_id(owner)}

    async def _refused(
        self, kind: str, request: web.Request, body: Any, *, conv: str, aid: str | None
    ) -> web.Response | None:
        """What the real connector refuses: an activity over the size limit (413), a chat
        whose person removed the app or the app removed from it (403), a person gone (404)."""
        size = len(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        owner = self._owner(conv)
        status, code = None, ""
        if owner & self.gone:
            status, code = 404, "ConversationNotFound"
        elif owner & self.uninstalled or conv.split(";", 1)[0] in self.closed:
            status, code = 403, "BotNotInConversationRoster"
        elif size > self.size_limit:
            status, code = 413, "MessageSizeTooBig"
        if status is None:
            return None
        error = {"error": {"code": code, "message": f"Refused ({size} bytes)"}}
        return await self._answer(kind, request, body, status, error, conv=conv, aid=aid)

    async def _failed(
        self, kind: str, request: web.Request, body: Any, *, conv=None, aid=None
    ) -> web.Response | None:
        for failure in self._failures:
            if failure.remaining > 0 and kind in failure.kinds and failure.after > 0:
                failure.after -= 1
                continue
            if failure.remaining > 0 and kind in failure.kinds:
                failure.remaining -= 1
                headers = {}
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
                return await self._answer(
                    kind,
                    request,
                    body,
                    failure.status,
                    _error(failure.status, "Injected failure"),
                    conv=conv,
                    aid=aid,
                    headers=headers,
                )
        return None

    async def _answer(
        self,
        kind: str,
        request: web.Request,
        body: Any,
        status: int,
        answer: Any,
        *,
        conv: str | None = None,
        aid: str | None = None,
        uid: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        call = Call(
            kind=kind,
            method=request.method,
            path=request.path,
            conversation_id=conv,
            activity_id=aid,
            user_id=uid,
            body=body,
            headers={k.lower(): v for k, v in request.headers.items()},
            status=status,
            response=answer,
        )
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()
        return web.json_response(answer, status=status, headers=headers)


async def _body(request: web.Request) -> Any:
    text = await request.text()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _tenant_in(body: Any) -> str | None:
    """The tenant a create-conversation request names (tenantId or channelData.tenant.id)."""
    if not isinstance(body, dict):
        return None
    data = body.get("channelData") if isinstance(body.get("channelData"), dict) else {}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else {}
    return body.get("tenantId") or tenant.get("id")


def _error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": ERROR_CODES.get(status, "BadRequest"), "message": message}}


# Reading cards


def card_text(card: dict) -> str:
    """Every TextBlock and fact of a card, one per line, in order."""
    lines: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                lines.append(str(node.get("text", "")))
            if node.get("type") == "RichTextBlock":
                lines.append("".join(str(r.get("text", "")) for r in node.get("inlines", [])))
            if node.get("type") == "FactSet":
                lines.extend(f"{f.get('title')}: {f.get('value')}" for f in node.get("facts", []))
            for key in ("body", "items", "columns"):
                walk(node.get(key))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return "\n".join(lines)


def card_actions(card: dict) -> list[dict]:
    """Every action of a card: its own and those inside ActionSets, in order."""
    found: list[dict] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type", "").startswith("Action."):
                found.append(node)
            for key in ("body", "items", "columns", "actions"):
                walk(node.get(key))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return found


def card_inputs(card: dict) -> dict[str, dict]:
    """The card's inputs by id."""
    found: dict[str, dict] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type", "").startswith("Input.") and "id" in node:
                found[node["id"]] = node
            for key in ("body", "items", "columns"):
                walk(node.get(key))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return found


def find_action(card: dict, title: str) -> dict:
    for action in card_actions(card):
        if action.get("title") == title:
            return action
    titles = [a.get("title") for a in card_actions(card)]
    raise AssertionError(f"no action {title!r} on the card; it has {titles}")


def click(card: dict, title: str, inputs: dict[str, str] | None = None) -> tuple[str, dict]:
    """What Teams sends when someone presses a button: the verb, and the action's data merged
    with the card's inputs (their current values, overridden by `inputs`)."""
    action = find_action(card, title)
    data = dict(action.get("data") or {})
    if action.get("associatedInputs") != "none":
        for input_id, element in card_inputs(card).items():
            value = element.get("value")
            if value is not None:
                data[input_id] = value
        data.update(inputs or {})
    return action.get("verb", ""), data


# Building activities


def new_id() -> str:
    return f"1:{uuid.uuid4().hex[:12]}"


def personal_conversation(user: TeamsUser) -> str:
    return f"a:personal-{user.aad}"


def _base(
    service_url: str,
    kind: str,
    user: TeamsUser | None,
    conversation: dict[str, Any],
    channel_data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    activity: dict[str, Any] = {
        "type": kind,
        "id": new_id(),
        "timestamp": "2026-11-23T15:00:00.000Z",
        "localTimestamp": "2026-11-23T09:00:00.000-06:00",
        "localTimezone": "America/Chicago",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": user.account() if user else {"id": "29:unknown"},
        "conversation": conversation,
        "recipient": dict(BOT),
        "locale": "en-US",
        "channelData": channel_data or {"tenant": {"id": TENANT}},
    }
    return activity


def _personal(user: TeamsUser) -> dict[str, Any]:
    return {
        "id": personal_conversation(user),
        "conversationType": "personal",
        "tenantId": TENANT,
    }


def _channel_data(channel_id: str, team_id: str) -> dict[str, Any]:
    return {
        "teamsChannelId": channel_id,
        "teamsTeamId": team_id,
        "channel": {"id": channel_id},
        "team": {"id": team_id},
        "tenant": {"id": TENANT},
    }


def personal_message(service_url: str, user: TeamsUser, text: str) -> dict[str, Any]:
    """A message in the user's 1:1 chat with the bot."""
    activity = _base(service_url, "message", user, _personal(user))
    activity.update(text=text, textFormat="plain")
    return activity


def channel_message(
    service_url: str,
    user: TeamsUser,
    text: str,
    *,
    mention_bot: bool = True,
    mentions: Iterable[TeamsUser] = (),
    channel_id: str = CHANNEL_ID,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A new post in a team channel; with mention_bot, it starts with <at>IT Liaison</at>.
    People in `mentions` get mention entities; write "<at>Their Name</at>" in the text."""
    activity = _base(service_url, "message", user, {}, _channel_data(channel_id, team_id))
    activity["conversation"] = {
        "id": f"{channel_id};messageid={activity['id']}",
        "conversationType": "channel",
        "isGroup": True,
        "tenantId": TENANT,
    }
    entities: list[dict[str, Any]] = []
    if mention_bot:
        markup = f"<at>{BOT['name']}</at>"
        text = f"{markup} {text}"
        entities.append({"type": "mention", "text": markup, "mentioned": dict(BOT)})
    for user in mentions:
        entities.append(
            {
                "type": "mention",
                "text": f"<at>{user.name}</at>",
                "mentioned": {"id": user.id, "name": user.name},
            }
        )
    activity.update(text=text, textFormat="plain", entities=entities)
    return activity


def members_added(
    service_url: str,
    user: TeamsUser,
    members: list[dict[str, Any]] | None = None,
    *,
    scope: str = "personal",
) -> dict[str, Any]:
    """conversationUpdate: the bot installed (personal chat, or a team when scope='team')."""
    members = members if members is not None else [dict(BOT)]
    if scope == "personal":
        activity = _base(service_url, "conversationUpdate", user, _personal(user))
    else:
        data = _channel_data(CHANNEL_ID, TEAM_ID)
        data["eventType"] = "teamMemberAdded"
        conversation = {
            "id": CHANNEL_ID,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": TENANT,
        }
        activity = _base(service_url, "conversationUpdate", user, conversation, data)
    activity["membersAdded"] = members
    return activity


def installation_update(
    service_url: str, user: TeamsUser, action: str = "remove", *, scope: str = "personal"
) -> dict[str, Any]:
    """installationUpdate: the app added ("add") or removed ("remove") by `user`, for
    themselves (scope "personal") or for a team (scope "team")."""
    if scope == "personal":
        activity = _base(service_url, "installationUpdate", user, _personal(user))
    else:
        conversation = {
            "id": CHANNEL_ID,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": TENANT,
        }
        data = _channel_data(CHANNEL_ID, TEAM_ID)
        activity = _base(service_url, "installationUpdate", user, conversation, data)
    activity["action"] = action
    return activity


def submit_message(
    service_url: str,
    user: TeamsUser,
    value: dict[str, Any],
    *,
    reply_to_id: str | None,
    conversation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An Action.Submit: a message with no text whose value is the action's data and inputs."""
    activity = _base(service_url, "message", user, conversation or _personal(user))
    activity["value"] = value
    if reply_to_id:
        activity["replyToId"] = reply_to_id
    return activity


def card_invoke(
    service_url: str,
    user: TeamsUser,
    verb: str,
    data: dict[str, Any],
    *,
    reply_to_id: str | None,
    conversation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An Action.Execute: the adaptiveCard/action invoke."""
    activity = _base(service_url, "invoke", user, conversation or _personal(user))
    activity["name"] = "adaptiveCard/action"
    activity["value"] = {
        "action": {"type": "Action.Execute", "verb": verb, "data": data},
        "trigger": "manual",
    }
    if reply_to_id:
        activity["replyToId"] = reply_to_id
    return activity


def _message_action(
    service_url: str, user: TeamsUser, name: str, command: str, payload: dict[str, Any]
) -> dict[str, Any]:
    activity = _base(service_url, "invoke", user, {}, _channel_data(CHANNEL_ID, TEAM_ID))
    activity["conversation"] = {
        "id": CHANNEL_ID,
        "conversationType": "channel",
        "isGroup": True,
        "tenantId": TENANT,
    }
    activity["name"] = name
    activity["value"] = {"commandId": command, "commandContext": "message", **payload}
    return activity


def message_action_fetch(
    service_url: str, user: TeamsUser, command: str, html: str, *, author: TeamsUser | None = None
) -> dict[str, Any]:
    """A message's "..." > More actions > (our action) in a channel: composeExtension/fetchTask
    with the message, whose body Teams sends as HTML."""
    message_id = new_id()
    payload = {
        "messagePayload": {
            "id": message_id,
            "messageType": "message",
            "body": {"contentType": "html", "content": html},
            "from": {"user": {"id": (author or user).aad, "displayName": (author or user).name}},
            "linkToMessage": f"https://teams.microsoft.com/l/message/{CHANNEL_ID}/{message_id}",
        }
    }
    return _message_action(service_url, user, "composeExtension/fetchTask", command, payload)


def message_action_submit(
    service_url: str, user: TeamsUser, command: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The dialog's form sent back: composeExtension/submitAction with the inputs and the
    Action.Submit's data merged, as Teams sends them."""
    return _message_action(
        service_url, user, "composeExtension/submitAction", command, {"data": data}
    )


def task_card(answer: dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card inside a task module answer ({"task": {"type": "continue", ...}})."""
    assert answer["task"]["type"] == "continue", answer
    attachment = answer["task"]["value"]["card"]
    assert attachment["contentType"] == CARD_TYPE
    return attachment["content"]
