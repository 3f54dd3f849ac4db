"""The check of a token the Bot Connector sends with each activity, for the Agents SDK host.

botbuilder's CloudAdapter checks these itself; the Agents SDK's validator is looser (it does
not bind a token to the activity's serviceUrl, checks the issuer only when asked, and finds
its keys from the issuer alone). So the Agents host checks what botbuilder checks: a bearer
token signed (RS256/384/512) by a key from the Bot Framework's OpenID metadata that endorses
the activity's channel, issued by the Bot Framework, for this bot's app id, not expired (five
minutes' clock skew, as botbuilder allows), and for the connector the activity names.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import jwt
from aiohttp import ClientSession, ClientTimeout

OPENID_METADATA = "https://login.botframework.com/v1/.well-known/openidconfiguration"
ISSUER = "https://api.botframework.com"
CLOCK_SKEW = 300  # seconds
ALGORITHMS = ("RS256", "RS384", "RS512")
KEYS_FOR = 24 * 3600.0  # seconds the signing keys are kept
REFRESH_AFTER = 300.0  # seconds: an unknown key id fetches the keys again, at most this often
BEARER = re.compile(r"^Bearer ([\w-]+\.[\w-]+\.[\w-]*)$")


class ChannelTokens:
    """Checks the Bot Connector's tokens for one app id; raises PermissionError when refused."""

    def __init__(
        self, app_id: str, openid_metadata: str = OPENID_METADATA, issuer: str = ISSUER
    ) -> None:
        self.app_id = app_id
        self.openid_metadata = openid_metadata
        self.issuer = issuer
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched: float | None = None
        self._lock = asyncio.Lock()

    async def check(
        self, auth_header: str, service_url: str | None, channel_id: str | None
    ) -> dict[str, Any]:
        """The token's claims, once every check has passed."""
        match = BEARER.match(auth_header or "")
        if not self.app_id or not match:
            raise PermissionError("no bearer token")
        token = match.group(1)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise PermissionError("not a token") from exc
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS or not isinstance(kid, str):
            raise PermissionError("unexpected signing algorithm or no key id")
        found = await self._key(kid)
        if found is None:
            raise PermissionError("signed with an unknown key")
        if channel_id and channel_id not in (found.get("endorsements") or []):
            raise PermissionError(f"the signing key does not endorse channel {channel_id}")
        try:
            claims = jwt.decode(
                token,
                jwt.PyJWK(found).key,
                algorithms=[algorithm],
                audience=self.app_id,
                issuer=self.issuer,
                leeway=CLOCK_SKEW,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise PermissionError(f"token refused: {type(exc).__name__}") from exc
        if claims.get("serviceurl") != service_url:
            raise PermissionError("the token is for another connector")
        return claims

    async def _key(self, kid: str) -> dict[str, Any] | None:
        async with self._lock:
            age = None if self._fetched is None else time.monotonic() - self._fetched
            if age is None or age > KEYS_FOR or (kid not in self._keys and age > REFRESH_AFTER):
                self._keys = await self._fetch_keys()
                self._fetched = time.monotonic()
            return self._keys.get(kid)

    async def _fetch_keys(self) -> dict[str, dict[str, Any]]:
        async with ClientSession(timeout=ClientTimeout(total=10)) as http:
            async with http.get(self.openid_metadata) as response:
                response.raise_for_status()
                metadata = await response.json(content_type=None)
            async with http.get(metadata["jwks_uri"]) as response:
                response.raise_for_status()
                keys = (await response.json(content_type=None)).get("keys") or []
        return {k["kid"]: k for k in keys if isinstance(k, dict) and isinstance(k.get("kid"), str)}

    async def close(self) -> None:
        return None
