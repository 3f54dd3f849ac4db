"""The port the sweeps send through. Each channel (Slack, Teams, the shell) provides one."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol

from handlers.messages import Reply
from storage.models import Address

# The ledger key of the message a sweep is sending now (None elsewhere): an outbox that sends
# a message in several parts records each part under it, so a retry sends only the parts that
# did not arrive (bot/channels/teams/reach.py; storage.ledger.parts_sent).
SENDING: ContextVar[str | None] = ContextVar("liaison_sending", default=None)


class DeliveryError(Exception):
    """A send that failed; the ledger keeps it and the next tick retries it."""


class Outbox(Protocol):
    channel: str

    async def send(self, address: Address, reply: Reply) -> None:
        """Deliver a reply to one person at one address, or raise DeliveryError."""
