"""What every webhook does before it trusts a byte: read the body within a time limit, and
parse JSON without letting its depth crash the handler. Both channels' routes use it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

BODY_SECONDS = 10.0  # a platform sends its whole request at once; a trickle is not a platform


async def read_body(request: web.Request) -> bytes:
    """The request's body; a sender that has not finished within BODY_SECONDS gets a 408, so
    half-sent requests cannot hold connections (and the workers behind them) open."""
    try:
        return await asyncio.wait_for(request.read(), BODY_SECONDS)
    except TimeoutError:
        raise web.HTTPRequestTimeout(text="The request body did not arrive in time.") from None


def parse_json(text: str | bytes) -> Any:
    """json.loads, where a document nested too deeply is just invalid (ValueError), never a
    RecursionError that would reach the server as a 500."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
