"""The port the sweeps send through. Each channel (Slack, Teams, the shell) provides one."""

from __future__ import annotations

from typing import Protocol

from handlers.messages import Reply
from storage.models import Address


class DeliveryError(Exception):
    """A send that failed; the ledger keeps it and the next tick retries it."""


class Outbox(Protocol):
    channel: str

    async def send(self, address: Address, reply: Reply) -> None:
        """Deliver a reply to one person at one address, or raise DeliveryError."""
