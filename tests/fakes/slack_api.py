"""A fake Slack: the Web API and Socket Mode, served over real HTTP on 127.0.0.1.

Point slack_sdk clients at ``FakeSlack.base_url`` (``AsyncWebClient(base_url=...)``) and assert on
``FakeSlack.calls``. Every request is recorded with its full payload: query string, form and JSON
bodies are merged, and JSON-encoded string fields (``blocks``, ``view``, ``attachments``...) are
decoded, so a test sees the same objects whichever encoding the client chose.

Answers follow Slack's conventions: HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false,
"error": ...}``; rate limits are HTTP 429 with a ``Retry-After`` header; server errors are 5xx with
a plain-text body. ``apps.connections.open`` hands out a ``ws://`` URL served by this fake, which
greets the client with ``hello`` and pushes envelopes with ``push()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSCloseCode, WSMsgType, web

from tests.fakes.slack_requests import trigger_issued

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
DEFAULT_SCOPES = (
    "app_mentions:read,channels:history,channels:read,chat:write,commands,groups:history,"
    "groups:read,im:history,im:write,users:read,users:read.email"
)
# What the bot calls once at start (who it is, which ids the config's #names have), not in
# answer to anything: tests that prove a request reached no Web API leave these out.
STARTUP_METHODS = frozenset({"auth.test", "conversations.list"})
# The workspace's channels, id -> name, that conversations.list pages through.
DEFAULT_CHANNELS = {
    "C0FINANCE1": "finance",
    "C0PARKS1": "parks",
    "C0GENERAL1": "general",
    "C0RANDOM1": "random",
}
PERMALINK_HOST = "https://fake.slack.test"

# Fields Slack accepts as JSON-encoded strings in form bodies (and that some clients send that way
# even in JSON bodies). They are decoded before recording, so tests always see objects.
JSON_ENCODED_FIELDS = frozenset(
    {"attachments", "blocks", "metadata", "unfurls", "user_auth_blocks", "view"}
)
# Methods that take an app-level token (xapp-) instead of the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})

_FIRST_TS_SECONDS = 1_700_000_000
_TS_STEP_MICROS = 100


@dataclass
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage", or "response_url" for POST /response-url/<key>
    payload: dict[str, Any]  # merged query/form/JSON params, JSON-encoded fields decoded
    headers: dict[str, str]  # header names lower-cased
    at: float  # time.monotonic() when the request arrived
    status: int = 200  # HTTP status the fake answered
    response: Any = None  # the body the fake answered (a dict, or text for 5xx)
    path: str = ""  # request path, e.g. "/api/chat.postMessage" or "/response-url/r1"

    @property
    def ok(self) -> bool:
        """True when Slack would call this a success: HTTP 200 and ``"ok": true``."""
        return (
            self.status == 200
            and isinstance(self.response, dict)
            and self.response.get("ok") is True
        )


@dataclass
class _Failure:
    method: str
    status: int
    retry_after: int | None
    remaining: int


class _InvalidJSON(Exception):
    def __init__(self, raw: str) -> None:
        super().__init__("invalid_json")
        self.raw = raw


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"1", "true"})


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


class FakeSlack:
    """A Slack Web API and Socket Mode server for tests. Use as ``async with FakeSlack() as s:``."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        users: dict[str, dict] | None = None,
        team_id: str = "T0TEST",
        team_name: str = "Fake Workspace",
        app_id: str = "A0TEST",
        scopes: str = DEFAULT_SCOPES,
        channels: dict[str, str] | None = None,
    ) -> None:
        self.bot_token = bot_token
        # Seconds a trigger_id may open a view (Slack: 3); None accepts any trigger_id.
        self.trigger_ttl: float | None = None
        # Seconds a method takes to answer (a slow users.info on a cold cache, say).
        self.latency: dict[str, float] = {}
        self._expired_urls: dict[str, str] = {}  # response_url key -> Slack's error
        self.channels: dict[str, str] = dict(DEFAULT_CHANNELS if channels is None else channels)
        self.users: dict[str, dict] = {uid: copy.deepcopy(u) for uid, u in (users or {}).items()}
        self.team_id = team_id
        self.team_name = team_name
        self.app_id = app_id
        self.scopes = scopes
        self.bot_user_id = BOT_USER_ID
        self.bot_id = BOT_ID

        self.calls: list[Call] = []
        self.acks: list[dict] = []  # Socket Mode acknowledgements received, in order
        # view id -> latest view, from views.open/push/update/publish
        self.views: dict[str, dict] = {}
        self.base_url = ""
        self.port = 0
        self.connections_accepted = 0  # Socket Mode connections accepted since start

        self._failures: list[_Failure] = []
        self._ts_counter = itertools.count(1)
        self._view_counter = itertools.count(1)
        self._opened_dms: set[str] = set()
        self._home_view_ids: dict[str, str] = {}  # user id -> their App Home view id
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._pending_acks: dict[str, asyncio.Future[dict]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._started_at = time.monotonic()
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.list": self._conversations_list,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "apps.connections.open": self._apps_connections_open,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeSlack:
        """Bind 127.0.0.1 on an ephemeral port and start answering."""
        app = web.Application()
        app.add_routes(
            [
                web.route("*", "/api/{method}", self._handle_api),
                web.post("/response-url/{key:.*}", self._handle_response_url),
                web.get("/socket-mode", self._handle_socket),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{self.port}/api/"
        self._started_at = time.monotonic()
        return self

    async def stop(self) -> None:
        """Close Socket Mode connections and stop the server. Close clients first, or their
        auto-reconnect will keep knocking on a closed port."""
        for fut in self._pending_acks.values():
            if not fut.done():
                fut.cancel()
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake slack stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test API

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call to ``method``, failed ones included."""
        return [c for c in self.calls if c.method == method]

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` ("*" = any method) with ``status``.

        429 comes with ``{"ok": false, "error": "ratelimited"}`` and, unless ``retry_after`` is
        None, a ``Retry-After`` header; other statuses come with a plain-text body. Failed calls
        are recorded, with a ``"_status"`` key added to their payload.
        """
        self._failures.append(_Failure(method, status, retry_after, times))

    def expire_response_url(self, key: str, error: str = "expired_url") -> None:
        """From now on, posts to ``response_url(key)`` answer 404 with ``error`` as Slack's do
        once a response_url is past its 30 minutes ("expired_url") or its 5 uses ("used_url").
        They are recorded as "response_url" calls with their status."""
        self._expired_urls[key] = error

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least ``count`` successful calls to ``method`` were recorded; return them.

        Successful means answered HTTP 200 with ``"ok": true``. Raises AssertionError with a
        summary of every call seen when the timeout expires.
        """

        def successes() -> list[Call]:
            return [c for c in self.calls_to(method) if c.ok]

        try:
            await self._wait_until(lambda: len(successes()) >= count, timeout)
        except TimeoutError:
            raise AssertionError(
                f"expected {count} successful {method} call(s) within {timeout}s, "
                f"got {len(successes())}. Calls seen:\n{self.summary()}"
            ) from None
        return successes()

    def reset(self) -> None:
        """Forget recorded calls, acks, views and pending failures (message ts keep increasing)."""
        self.calls.clear()
        self.acks.clear()
        self.views.clear()
        self._failures.clear()

    def response_url(self, key: str = "r1") -> str:
        """A ``response_url`` served by this fake; posts to it are recorded as "response_url"."""
        return f"http://127.0.0.1:{self.port}/response-url/{key}"

    def dm_channel(self, *user_ids: str) -> str:
        """The stable DM channel id that conversations.open returns for these user(s)."""
        ids = sorted(set(user_ids))
        if len(ids) == 1:
            return "D" + ids[0][1:]
        digest = hashlib.sha1(",".join(ids).encode()).hexdigest()[:10].upper()
        return "D" + digest

    def summary(self) -> str:
        """One line per recorded call, for assertion messages."""
        if not self.calls:
            return "  (no calls)"
        lines = []
        for c in self.calls:
            if c.ok:
                outcome = "ok"
            elif isinstance(c.response, dict):
                outcome = str(c.response.get("error", "not ok"))
            else:
                outcome = "failed"
            payload = json.dumps(c.payload, default=str)
            if len(payload) > 160:
                payload = payload[:157] + "..."
            lines.append(
                f"  +{c.at - self._started_at:.3f}s {c.method} {c.status} {outcome} {payload}"
            )
        return "\n".join(lines)

    # ------------------------------------------------------------------ Socket Mode

    @property
    def socket_count(self) -> int:
        """Open Socket Mode connections."""
        return sum(1 for ws in self._sockets if not ws.closed)

    async def wait_for_socket(self, timeout: float = 5.0, *, connections: int = 1) -> None:
        """Wait until a Socket Mode client is connected and has been sent ``hello``.

        ``connections`` counts every connection accepted since start; wait for 2 to see a
        client reconnect (after ``disconnect_socket()``, say).
        """
        try:
            await self._wait_until(
                lambda: self.connections_accepted >= connections and self.socket_count > 0,
                timeout,
            )
        except TimeoutError:
            opens = len(self.calls_to("apps.connections.open"))
            raise AssertionError(
                f"expected Socket Mode connection #{connections} within {timeout}s; "
                f"{self.connections_accepted} accepted, {self.socket_count} open, "
                f"{opens} apps.connections.open call(s). Calls seen:\n{self.summary()}"
            ) from None

    async def push(
        self,
        payload: dict,
        *,
        type: str = "events_api",
        timeout: float = 5.0,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        expect_ack: bool = True,
    ) -> dict:
        """Send ``payload`` in a Socket Mode envelope to the newest connection; return its ack.

        ``type`` is "events_api", "slash_commands" or "interactive". The ack is the client's
        message carrying the envelope_id (plus a "payload" when it answered with one). With
        ``expect_ack=False`` the envelope is sent and ``{}`` returned without waiting.
        Raises AssertionError when no client is connected or no ack arrives in time.
        """
        await self.wait_for_socket(timeout)
        ws = [s for s in self._sockets if not s.closed][-1]
        envelope_id = str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or (
                type == "interactive"
                and payload.get("type") in {"view_submission", "block_suggestion"}
            )
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":  # Slack sends retry fields only with Events API envelopes
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        if not expect_ack:
            await ws.send_json(envelope)
            return {}
        fut: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        self._pending_acks[envelope_id] = fut
        try:
            await ws.send_json(envelope)
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise AssertionError(
                f"no ack for {type} envelope {envelope_id} within {timeout}s"
            ) from None
        finally:
            self._pending_acks.pop(envelope_id, None)

    async def disconnect_socket(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect`` message to every connection; clients should reconnect."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-applink"}}
        for ws in [s for s in self._sockets if not s.closed]:
            await ws.send_json(message)

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        headers = {k.lower(): v for k, v in request.headers.items()}
        at = time.monotonic()
        try:
            payload = await self._read_payload(request)
        except _InvalidJSON as exc:
            body = _error("invalid_json")
            await self._record(
                Call(method, {"_raw": exc.raw}, headers, at, 200, body, request.path)
            )
            return web.json_response(body)
        if self.latency.get(method):
            await asyncio.sleep(self.latency[method])

        failure = self._take_failure(method)
        if failure is not None:
            return await self._failed(method, payload, headers, at, request.path, failure)

        auth_error = self._auth_error(method, self._token(headers, payload))
        body = _error(auth_error) if auth_error else self._dispatch(method, payload)
        await self._record(Call(method, payload, headers, at, 200, body, request.path))
        return web.json_response(body, headers={"x-oauth-scopes": self.scopes})

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        at = time.monotonic()
        try:
            payload = await self._read_payload(request)
        except _InvalidJSON as exc:
            payload = {"_raw": exc.raw}
        failure = self._take_failure("response_url")
        if failure is not None:
            return await self._failed("response_url", payload, headers, at, request.path, failure)
        expired = self._expired_urls.get(request.match_info["key"])
        if expired is not None:
            await self._record(
                Call("response_url", payload, headers, at, 404, expired, request.path)
            )
            return web.Response(status=404, text=expired, content_type="text/plain")
        await self._record(
            Call("response_url", payload, headers, at, 200, {"ok": True}, request.path)
        )
        return web.Response(text="ok", content_type="text/plain")

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid or missing ticket")
        # autoping answers the client's ping frames ("sdk-ping-pong:<time>") with matching pongs.
        ws = web.WebSocketResponse(autoping=True, timeout=2.0)
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": self.socket_count + 1,
                "debug_info": {
                    "host": "fake-applink",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        self._sockets.append(ws)
        self.connections_accepted += 1
        await self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_socket_text(msg.data)
        finally:
            self._sockets.remove(ws)
            await self._notify()
        return ws

    async def _on_socket_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or "envelope_id" not in message:
            return
        self.acks.append(message)
        fut = self._pending_acks.get(message["envelope_id"])
        if fut is not None and not fut.done():
            fut.set_result(message)
        await self._notify()

    # ------------------------------------------------------------------ plumbing

    async def _read_payload(self, request: web.Request) -> dict[str, Any]:
        payload: dict[str, Any] = dict(request.query)
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            for key, value in form.items():
                payload[key] = value if isinstance(value, str) else getattr(value, "filename", "")
        else:
            raw = (await request.read()).decode("utf-8", "replace")
            if raw.strip():
                if request.content_type == "application/json" or raw.lstrip().startswith("{"):
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        raise _InvalidJSON(raw) from None
                    if not isinstance(body, dict):
                        raise _InvalidJSON(raw)
                    payload.update(body)
                else:
                    payload.update(parse_qsl(raw, keep_blank_values=True))
        for key in JSON_ENCODED_FIELDS & payload.keys():
            value = payload[key]
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    payload[key] = json.loads(value)
        return payload

    @staticmethod
    def _token(headers: dict[str, str], payload: dict[str, Any]) -> str:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[len("bearer ") :].strip()
        token = payload.get("token")
        return token if isinstance(token, str) else ""

    def _auth_error(self, method: str, token: str) -> str | None:
        if not token:
            return "not_authed"
        if method in APP_TOKEN_METHODS:
            if token.startswith("xapp-"):
                return None
            return "not_allowed_token_type" if token == self.bot_token else "invalid_auth"
        if token == self.bot_token:
            return None
        return "not_allowed_token_type" if token.startswith("xapp-") else "invalid_auth"

    def _take_failure(self, method: str) -> _Failure | None:
        for failure in self._failures:
            if failure.remaining > 0 and failure.method in (method, "*"):
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
                return failure
        return None

    async def _failed(
        self,
        method: str,
        payload: dict[str, Any],
        headers: dict[str, str],
        at: float,
        path: str,
        failure: _Failure,
    ) -> web.StreamResponse:
        recorded = {**payload, "_status": failure.status}
        if failure.status == 429:
            body: Any = _error("ratelimited")
            extra = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            response: web.StreamResponse = web.json_response(body, status=429, headers=extra)
        else:
            try:
                reason = HTTPStatus(failure.status).phrase
            except ValueError:
                reason = "Error"
            body = f"{failure.status} {reason}"
            response = web.Response(status=failure.status, text=body, content_type="text/plain")
        await self._record(Call(method, recorded, headers, at, failure.status, body, path))
        return response

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(wait(), timeout)

    def _dispatch(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        handler = self._handlers.get(method)
        return handler(payload) if handler else {"ok": True}

    def _next_ts(self) -> str:
        micros = next(self._ts_counter) * _TS_STEP_MICROS
        return f"{_FIRST_TS_SECONDS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _resolve_channel(self, channel: Any) -> str:
        """Posting to a user id posts in the app's DM with them, as on Slack."""
        channel = channel if isinstance(channel, str) else ""
        if channel[:1] in ("U", "W"):
            return self.dm_channel(channel)
        return channel

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"{PERMALINK_HOST}/",
            "team": self.team_name,
            "user": "liaison-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _message(self, p: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "text": p.get("text") or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if p.get(key):
                message[key] = p[key]
        return message

    @staticmethod
    def _has_content(p: dict[str, Any]) -> bool:
        return any(p.get(k) for k in ("text", "blocks", "attachments"))

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"))
        if not channel:
            return _error("channel_not_found")
        if not self._has_content(p):
            return _error("no_text")
        ts = self._next_ts()
        return {"ok": True, "channel": channel, "ts": ts, "message": self._message(p, ts)}

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        if not self._resolve_channel(p.get("channel")):
            return _error("channel_not_found")
        if not p.get("user"):
            return _error("user_not_in_channel")
        if not self._has_content(p):
            return _error("no_text")
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = p.get("channel")
        if not channel:
            return _error("channel_not_found")
        if not p.get("ts"):
            return _error("message_not_found")
        ts = p["ts"]
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": p.get("text") or "",
            "message": self._message(p, ts),
        }

    def _chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = p.get("channel"), p.get("message_ts")
        if not channel:
            return _error("channel_not_found")
        if not ts:
            return _error("message_not_found")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"{PERMALINK_HOST}/archives/{channel}/p{str(ts).replace('.', '')}",
        }

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = p.get("users")
        if isinstance(users, str):
            ids = [u.strip() for u in users.split(",") if u.strip()]
        elif isinstance(users, list):
            ids = [str(u) for u in users]
        else:
            ids = []
        if p.get("channel"):
            channel_id = str(p["channel"])
        elif ids:
            channel_id = self.dm_channel(*ids)
        else:
            return _error("users_list_not_supplied")
        body: dict[str, Any] = {"ok": True, "channel": {"id": channel_id}}
        if channel_id in self._opened_dms:
            body["no_op"] = True
            body["already_open"] = True
        self._opened_dms.add(channel_id)
        if _truthy(p.get("return_im")):
            body["channel"].update(
                {"is_im": len(ids) == 1, "is_mpim": len(ids) > 1, "is_open": True}
            )
            if len(ids) == 1:
                body["channel"]["user"] = ids[0]
        return body

    def _conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        """The workspace's channels, a page at a time (`limit`, default 100, and `cursor`)."""
        try:
            limit = max(1, min(int(p.get("limit") or 100), 1000))
            start = int(p.get("cursor") or 0)
        except (TypeError, ValueError):
            return _error("invalid_cursor")
        ids = list(self.channels)
        page = [
            {"id": cid, "name": self.channels[cid], "is_channel": True, "is_archived": False}
            for cid in ids[start : start + limit]
        ]
        after = start + limit
        cursor = str(after) if after < len(ids) else ""
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}

    def _user_record(self, user_id: str) -> dict[str, Any]:
        user = copy.deepcopy(self.users[user_id])
        record: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "deleted": False,
            "is_bot": False,
            **user,
        }
        record.setdefault("profile", {})
        return record

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user_id = p.get("user")
        if not isinstance(user_id, str) or user_id not in self.users:
            return _error("user_not_found")
        return {"ok": True, "user": self._user_record(user_id)}

    def _users_lookup_by_email(self, p: dict[str, Any]) -> dict[str, Any]:
        email = str(p.get("email") or "").lower()
        for user_id, user in self.users.items():
            if email and str(user.get("profile", {}).get("email", "")).lower() == email:
                return {"ok": True, "user": self._user_record(user_id)}
        return _error("users_not_found")

    def _view_record(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._view_counter):010d}"
        record: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        record.update(copy.deepcopy(view))
        record["id"] = view_id
        self.views[view_id] = record
        return record

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        view = p.get("view")
        if not isinstance(view, dict):
            return _error("invalid_arguments")
        if not (p.get("trigger_id") or p.get("interactivity_pointer")):
            return _error("invalid_arguments")
        if self.trigger_ttl is not None and p.get("trigger_id"):
            issued = trigger_issued(str(p["trigger_id"]))
            if issued is None:
                return _error("invalid_trigger_id")
            if time.time() - issued > self.trigger_ttl:
                return _error("expired_trigger_id")
        return {"ok": True, "view": self._view_record(view)}

    def _views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view = p.get("view")
        if not isinstance(view, dict):
            return _error("invalid_arguments")
        view_id = p.get("view_id")
        external_id = p.get("external_id")
        if not view_id and external_id:
            view_id = next(
                (vid for vid, v in self.views.items() if v.get("external_id") == external_id), None
            )
            if view_id is None:
                return _error("not_found")
        if not view_id:
            return _error("invalid_arguments")
        return {"ok": True, "view": self._view_record(view, str(view_id))}

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        view = p.get("view")
        if not isinstance(view, dict) or not p.get("user_id"):
            return _error("invalid_arguments")
        user_id = str(p["user_id"])
        record = self._view_record({"type": "home", **view}, self._home_view_ids.get(user_id))
        self._home_view_ids[user_id] = record["id"]
        return {"ok": True, "view": record}

    def _apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        url = f"ws://127.0.0.1:{self.port}/socket-mode?ticket={ticket}&app_id={self.app_id}"
        return {"ok": True, "url": url}
