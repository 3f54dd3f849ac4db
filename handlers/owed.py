"""A message the sweeps owe someone (`OwedMessage`, once called `Due`), and when they may
send it (`SendWindow`).

Shared by the nudge rules (handlers.nudges, handlers.briefings) and by `Liaison.defer`,
which keeps a reply a channel could not deliver as a message owed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlmodel import Session

from handlers.dates import is_business_day
from handlers.localtime import Placed, local_now
from handlers.messages import Reply, reply_from_dict, reply_to_dict
from handlers.org import Organisation

# The ledger kinds that are messages owed to someone: only these are retried or recovered by
# the sweeps. Other claims (an offer per message, a replayed press) may carry a payload too.
OWED_KINDS = frozenset(
    {
        "digest",
        "escalation",
        "briefing",
        "questionnaire",
        "deferred",
        "cycle_reminder",  # handlers.cycle_followup
        "cycle_unanswered",
    }
)


@dataclass(frozen=True)
class OwedMessage:
    """One message the sweeps owe someone now (a digest, an escalation, a briefing...)."""

    key: str
    kind: str  # one of OWED_KINDS
    person_id: int
    reply: Reply
    commitment_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in OWED_KINDS:
            raise ValueError(f"{self.kind!r} is not a kind of owed message; see OWED_KINDS")

    def to_json(self) -> str:
        """The ledger payload, so a retry sends the very same words and buttons."""
        data = {
            "key": self.key,
            "kind": self.kind,
            "person_id": self.person_id,
            "commitment_ids": list(self.commitment_ids),
            "reply": reply_to_dict(self.reply),
        }
        return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> OwedMessage:
        data = json.loads(text)
        data["reply"] = reply_from_dict(data["reply"])
        data["commitment_ids"] = tuple(data.get("commitment_ids") or ())
        return OwedMessage(**data)


Due = OwedMessage  # its old name, kept for schedules/ and the ledger's readers


class SendWindow:
    """When the sweeps may write to someone: on a business day, from the nudge hour, on the
    recipient's own clock (handlers.localtime)."""

    def __init__(self, session: Session, org: Organisation, now: dt.datetime) -> None:
        self.session, self.org, self.now = session, org, now
        # People read by the rules of one sweep, by id (commitments.load_people's `known`):
        # each person is read once however many rules and items name them.
        self.people: dict = {}

    def local(self, person: Placed | None, unit_id: str | None = None) -> dt.datetime:
        return local_now(self.org, self.now, person, unit_id)

    def send_time(self, local: dt.datetime) -> bool:
        """A business day, at or after the nudge hour."""
        return (
            is_business_day(local, self.org.business_days)
            and local.hour >= self.org.thresholds.nudge_hour
        )
