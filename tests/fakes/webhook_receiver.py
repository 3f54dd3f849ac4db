"""A webhook receiver on 127.0.0.1, as Jira or Power Automate would run one: it checks the
signature of the raw body the way docs/webhooks.md tells a receiver to, and answers with the
statuses a test scripts (then 200), each with the headers it scripts (a Retry-After)."""

from __future__ import annotations

import hashlib
import hmac
import json

from aiohttp import web


class WebhookReceiver:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        # statuses to answer with, in order, each maybe with headers: 503 or (503, {...}); then 200
        self.answers: list[int | tuple[int, dict[str, str]]] = []
        self.received: list[dict] = []  # bodies whose signature checked out, answered 2xx
        self.attempts = 0
        self.bad_signatures = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _hook(self, request: web.Request) -> web.Response:
        self.attempts += 1
        raw = await request.read()
        expected = "sha256=" + hmac.new(self.secret, raw, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Liaison-Signature", "")
        if (
            not hmac.compare_digest(expected, given)
            or not request.headers.get("X-Liaison-Timestamp", "").isdigit()
        ):
            self.bad_signatures += 1
            return web.Response(status=401)
        answer = self.answers.pop(0) if self.answers else 200
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        if status < 300:
            body = json.loads(raw)
            assert body["id"] == request.headers["X-Liaison-Delivery"]
            self.received.append(body)
        return web.Response(status=status, headers=headers)

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()
