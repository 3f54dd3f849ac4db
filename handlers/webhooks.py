"""Outbound webhooks: an event the core records (an initiative saved, a commitment changed, an
escalation sent) becomes a ledger row, in the same transaction, for each event the organisation
configured a URL for (`[webhooks]`, handlers.webhook_config). Each sweep posts them
(bot.webhooks): claimed, posted, confirmed, so each is delivered once; the body is kept in the
row, so a retry posts the very same bytes. The JSON schema is docs/webhooks.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from handlers.org import Organisation
from storage import ledger
from storage.models import Ledger

KIND = "webhook"  # the ledger kind of a delivery owed
# Ledger statuses of their own (beside LedgerStatus): owed and not yet taken; refused by the
# receiver for good; given up after the bounded number of attempts.
QUEUED, REJECTED, ABANDONED = "queued", "rejected", "abandoned"
SCHEMA_VERSION = 1


def record(
    session: Session, org: Organisation, event: str, data: dict[str, Any], now: dt.datetime
) -> str | None:
    """Owe a delivery of `event` with `data`, when a URL is configured for it; its event id."""
    url = org.webhooks.url_for(event)
    if url is None:
        return None
    event_id = str(uuid.uuid4())
    body = {
        "schema": SCHEMA_VERSION,
        "id": event_id,
        "event": event,
        "occurred_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "organisation": org.name,
        "data": data,
    }
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True, default=str)
    payload = json.dumps({"url": url, "event": event, "id": event_id, "body": raw})
    key = f"webhook:{event_id}"
    ledger.claim(session, key, KIND, payload=payload, now=now)
    # Owed, not yet taken by a sweep (a claim would look like a sweep's, in flight).
    session.connection().execute(update(Ledger).where(Ledger.key == key).values(status=QUEUED))
    return event_id


def signature(secret: bytes, raw: bytes) -> str:
    """The `X-Liaison-Signature` header: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()


def outcome(status: int | None) -> str:
    """What a receiver's answer means: sent (2xx), rejected for good (4xx but 408/429), or
    failed and retried by a later sweep (no answer, 408, 429, 5xx, and anything else)."""
    if status is not None and 200 <= status < 300:
        return "sent"
    if status is not None and 400 <= status < 500 and status not in (408, 429):
        return REJECTED
    return "failed"


def commitment_data(item, act: str, from_state, actor_handle: str | None) -> dict[str, Any]:
    return {
        "commitment": {
            "id": item.id,
            "what": item.what,
            "state": str(item.state),
            "due": item.due.isoformat() if item.due else None,
            "unit": item.unit_id,
            "initiative_id": item.initiative_id,
            "owner_id": item.owner_id,
            "requester_id": item.requester_id,
        },
        "act": act,
        "from_state": str(from_state) if from_state is not None else None,
        "actor": actor_handle,
    }


def _initiative(initiative) -> dict[str, Any]:
    return {
        "id": initiative.id,
        "kind": initiative.kind,
        "title": initiative.title,
        "unit": initiative.unit_id,
        "target_date": initiative.target_date.isoformat() if initiative.target_date else None,
        "owner_id": initiative.owner_id,
        "requester_id": initiative.requester_id,
    }


def initiative_data(initiative, commitment_ids: list[int]) -> dict[str, Any]:
    return {"initiative": _initiative(initiative), "commitment_ids": list(commitment_ids)}


def initiative_change_data(
    initiative, field: str, before: str, after: str, actor_handle: str | None, role: dict | None
) -> dict[str, Any]:
    """An edit of a saved initiative: the initiative as after it, what changed and who did it;
    for a role, the role's RASCI cells after (`assignments`: letter, party, person_id)."""
    return {
        "initiative": _initiative(initiative),
        "field": field,
        "before": before or None,
        "after": after or None,
        "actor": actor_handle,
        "role": role,
    }


def escalations_sent(session: Session, org: Organisation, sent: list, now: dt.datetime) -> None:
    """One `escalation` event per escalation message the sweeps delivered."""
    for message in sent:
        if message.kind == "escalation":
            data = {
                "key": message.key,
                "recipient_id": message.person_id,
                "commitment_ids": list(message.commitment_ids),
                "text": message.reply.text,
            }
            record(session, org, "escalation", data, now)
