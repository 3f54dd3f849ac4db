"""A fake OpenAI-compatible chat completions endpoint, served over real HTTP on 127.0.0.1.

Point the official ``openai`` client at ``FakeOpenAI.base_url`` and assert on
``FakeOpenAI.requests``: every request is recorded with its JSON body and headers. The fake
answers like the real service (and like Ollama's and vLLM's compatible servers): a
``chat.completion`` object whose first choice carries ``content``; errors are JSON objects
``{"error": {"message", "type", "code"}}`` with their HTTP status (429 with
``Retry-After``, 500...). Tell it what to say with ``answer`` (an object is sent as its JSON
text, a string as is), ``fail_with`` (a status) and ``delay`` (seconds before answering).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CREATED = 1_700_000_000  # a fixed "created" stamp: the client only reads it


@dataclass
class Request:
    """One request the fake received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]  # names lower-cased

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    def said_by(self, role: str) -> str:
        """The content of the messages of one role, joined."""
        return "\n".join(str(m.get("content")) for m in self.messages if m.get("role") == role)


@dataclass
class FakeOpenAI:
    """A chat completions server; ``async with FakeOpenAI() as fake:`` starts and stops it."""

    answer: Any = field(
        default_factory=lambda: {"signal": False, "kinds": [], "title": "", "date": None}
    )
    fail_with: int | None = None  # answer every request with this HTTP status instead
    delay: float = 0.0  # seconds to wait before answering
    requests: list[Request] = field(default_factory=list)
    base_url: str = ""
    _runner: web.AppRunner | None = None
    _ids: itertools.count = field(default_factory=itertools.count)

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _chat_completions(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_request_error", "The body is not valid JSON.")
        self.requests.append(
            Request(request.path, body, {k.lower(): v for k, v in request.headers.items()})
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            return _error(self.fail_with, _ERROR_TYPES.get(self.fail_with, "server_error"))
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            return _error(400, "invalid_request_error", "model and messages are required.")
        content = self.answer if isinstance(self.answer, str) else json.dumps(self.answer)
        return web.json_response(
            {
                "id": f"chatcmpl-fake{next(self._ids)}",
                "object": "chat.completion",
                "created": CREATED,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        )


_ERROR_TYPES = {
    401: "invalid_api_key",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}


def _error(status: int, kind: str, message: str = "The fake was told to fail.") -> web.Response:
    headers = {"Retry-After": "20"} if status == 429 else None
    return web.json_response(
        {"error": {"message": message, "type": kind, "param": None, "code": kind}},
        status=status,
        headers=headers,
    )
