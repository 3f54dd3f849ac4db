"""Client state, sealed.

A button's value and a form's state go out to Slack or Teams and come back with the press or
the submission. Whoever controls a client can change them on the way, so each is sealed with
an HMAC-SHA256 under a server key, bound to the button or form it was made for, and refused
when it comes back changed, unsigned or made for something else. One rule for every channel;
`bot.channels.interactions` re-exports it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

_SEAL_PREFIX = "s1."
_SEAL_CONTEXT = b"it-liaison-bot client state v1"
_PROCESS_KEY = secrets.token_bytes(32)  # no secret configured: state lives as long as the process
_state_key = _PROCESS_KEY


def use_state_secret(secret: str | None) -> None:
    """Sign client state with a key derived from `secret` (the same on every replica and
    across restarts), or with a key made for this process when there is none."""
    global _state_key
    if not secret:
        _state_key = _PROCESS_KEY
        return
    _state_key = hmac.new(secret.encode("utf-8"), _SEAL_CONTEXT, hashlib.sha256).digest()


def _mac(text: str, purpose: str) -> str:
    message = f"{purpose}\n{text}".encode("utf-8", "surrogatepass")
    digest = hmac.new(_state_key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")  # 144 bits, 24 characters


def seal(text: str, purpose: str) -> str:
    """`text` (a button's value, a form's state) as it is sent to a client: signed, and bound
    to `purpose` (the button's action id, or the form's id)."""
    return f"{_SEAL_PREFIX}{_mac(text, purpose)}.{text}"


def unseal(sealed: Any, purpose: str) -> str | None:
    """The text `seal` was given, when `sealed` came back unchanged for the same `purpose`;
    None for anything else (changed, unsigned, from another button, signed by another key)."""
    if not isinstance(sealed, str) or not sealed.startswith(_SEAL_PREFIX):
        return None
    mac, dot, text = sealed[len(_SEAL_PREFIX) :].partition(".")
    if not dot or not hmac.compare_digest(
        mac.encode("ascii", "replace"), _mac(text, purpose).encode()
    ):
        return None
    return text
