"""The neutral messages between the channels and the core.

A channel turns a Slack event, a Teams activity or a terminal line into an `Inbound`, and
renders each `Outgoing` its own way: Block Kit, an Adaptive Card or numbered text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

SURROGATES = re.compile("[\ud800-\udfff]")
MAX_ITEMS = 20  # list lines any reply shows on any channel; a longer list is cut, and says so


def section_size(sections: int) -> int:
    """Items per section of a listing, so that its sections, each with a heading and a line
    to the next page, fit in MAX_ITEMS together: each section gets its own share."""
    return max(1, MAX_ITEMS // max(1, sections) - 2)


def clean_text(text: str | None) -> str:
    """Text from outside, made storable: lone surrogates (valid JSON, invalid UTF-8) replaced."""
    return SURROGATES.sub("\ufffd", text) if text else (text or "")


class ActionId(StrEnum):
    """Every button and form id the core answers; `commitment.<act>` ids come from the act table."""

    OFFER_PLAN = "offer.plan"
    OFFER_LATER = "offer.later"
    OFFER_DISMISS = "offer.dismiss"
    PROMISE_TRACK = "promise.track"
    PROMISE_DISMISS = "promise.dismiss"
    HOME_OPEN = "home.open"
    HOME_INITIATIVE = "home.initiative"
    INTAKE_ANSWER = "intake.answer"
    INTAKE_SUBMIT = "intake.submit"
    COMMITMENT_SUBMIT = "commitment.submit"
    CYCLE_OPEN = "cycle.open"
    CYCLE_SUBMIT = "cycle.submit"
    FORM_CANCEL = "form.cancel"
    LIST_MORE = "list.more"  # the next page of one section of a listing
    SIMILAR_LINK = "similar.link"
    ESCALATION_NUDGE = "escalation.nudge"
    ESCALATION_TAKE = "escalation.take"
    ESCALATION_KNOWN = "escalation.known"
    ESCALATION_REASSIGN = "escalation.reassign"  # opens the reassign form (a channel does)
    REASSIGN_SUBMIT = "reassign.submit"


COMMITMENT_ACT_PREFIX = "commitment."  # a button acting on one commitment: "commitment.<act>"


class ReplyKind(StrEnum):
    """What a reply is; channels and metrics branch on it, so it is a closed set."""

    INFO = "info"
    ACK = "ack"
    LIST = "list"
    FORM_ERRORS = "form_errors"
    QUESTIONNAIRE = "questionnaire"
    ESCALATION = "escalation"
    COMMITMENT = "commitment"
    BRIEFING = "briefing"
    SUMMARY = "summary"
    PROMISE_OFFER = "promise_offer"
    OFFER = "offer"
    NUDGE = "nudge"
    INTAKE = "intake"
    INITIATIVE = "initiative"
    HISTORY = "history"
    GREETING = "greeting"
    DIGEST = "digest"
    DEFERRED = "deferred"
    DISMISSED = "dismissed"  # an offer marked "IT isn't needed" for everyone
    REFUSED = "refused"  # an act not taken now (the database away): nothing changed, try again


@dataclass(frozen=True)
class Sender:
    """Who wrote, as the channel knows them."""

    channel: str
    external_id: str
    name: str | None = None
    email: str | None = None
    timezone: str | None = None
    tenant: str | None = None
    # The installation the channel reached them through (a Slack workspace and, on Enterprise
    # Grid, its organisation): where messages to them must be sent from.
    workspace: str | None = None
    enterprise: str | None = None
    # From another organisation: a Slack Connect user, a Teams guest or external user. Such a
    # sender is never linked to a colleague by email, and their email is never stored.
    external: bool = False


@dataclass(frozen=True)
class Action:
    """A button press or a picked choice; `value` is a small JSON document."""

    id: str
    value: str = ""

    def data(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.value) if self.value else {}
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}


@dataclass(frozen=True)
class Inbound:
    sender: Sender
    conversation: str
    text: str = ""
    action: Action | None = None
    message_id: str | None = None
    link: str | None = None
    is_direct: bool = False
    at: dt.datetime | None = None
    # What the platform sends once per command or button press (Slack's trigger_id or the
    # action's action_ts, a Teams activity id): a replay of it acts no more than once.
    delivery_id: str | None = None
    # The channel confirms each claimed reply (an offer) once it is posted or kept for the
    # sweeps; a claim it never confirms (the process died) is recovered after a lease.
    # Channels that do not confirm leave it False, and their claims count as sent at once.
    confirms_delivery: bool = False
    # The thread the message is in (Slack's thread_ts; the message itself when it starts one):
    # an initiative planned or dismissed in a thread is not offered there again.
    thread_id: str | None = None


@dataclass(frozen=True)
class Choice:
    label: str
    action: str
    value: str = ""
    style: Literal["primary", "danger"] | None = None

    @staticmethod
    def of(label: str, action: str, style: Literal["primary", "danger"] | None = None, **data):
        return Choice(label, action, json.dumps(data, separators=(",", ":")) if data else "", style)


@dataclass(frozen=True)
class Item:
    """One line of a list (a commitment, a role) with its own buttons."""

    text: str
    choices: tuple[Choice, ...] = ()
    heading: bool = False  # a section title, rendered bold (or as a header) by each channel
    struck: bool = False  # no longer current (done, cancelled), rendered struck through


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    kind: Literal["text", "long_text", "date", "person", "choice", "roles"] = "text"
    initial: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    optional: bool = False
    hint: str | None = None


@dataclass(frozen=True)
class Form:
    """A whole form at once, for channels that have modals or cards."""

    id: str
    title: str
    fields: tuple[FormField, ...]
    submit_label: str = "Save"
    state: str = ""


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    items: tuple[Item, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    form: Form | None = None
    private: bool = False
    kind: str = "info"
    errors: tuple[tuple[str, str], ...] = ()  # form field key -> sentence, for form_errors
    warnings: tuple[str, ...] = ()  # sentences each channel marks as a warning (no markup here)


@dataclass(frozen=True)
class Outgoing:
    """A reply, either to the conversation it answers (`to_person` None) or as a DM to a person."""

    reply: Reply
    to_person: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# A reply as JSON, for the ledger: a message the sweeps owe (or a reply a channel could not
# deliver) is stored, so a retry sends the very same words, buttons and form.


def _choice_to_list(choice: Choice) -> list[Any]:
    return [choice.label, choice.action, choice.value, choice.style]


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A Reply as plain JSON data; `reply_from_dict` reads it back equal."""
    items = [
        [i.text, [_choice_to_list(c) for c in i.choices], i.heading, i.struck] for i in reply.items
    ]
    return {
        "text": reply.text,
        "choices": [_choice_to_list(c) for c in reply.choices],
        "items": items,
        "facts": [list(f) for f in reply.facts],
        "form": asdict(reply.form) if reply.form else None,
        "private": reply.private,
        "kind": str(reply.kind),
        "errors": [list(e) for e in reply.errors],
        "warnings": list(reply.warnings),
    }


def _item_from_list(data: list[Any]) -> Item:
    text, choices, *marks = data  # payloads stored before headings were fields have no marks
    heading, struck = (bool(m) for m in (*marks, False, False)[:2])
    return Item(text, tuple(Choice(*c) for c in choices), heading=heading, struck=struck)


def reply_from_dict(data: dict[str, Any]) -> Reply:
    """Rebuild a Reply stored as JSON (a ledger payload, so a retry sends the same words)."""
    form = None
    if data.get("form"):
        raw = data["form"]
        fields = tuple(
            FormField(**{**f, "options": tuple(tuple(o) for o in f.get("options") or ())})
            for f in raw["fields"]
        )
        form = Form(raw["id"], raw["title"], fields, raw.get("submit_label", "Save"), raw["state"])
    return Reply(
        text=data["text"],
        choices=tuple(Choice(*c) for c in data.get("choices") or ()),
        items=tuple(_item_from_list(i) for i in data.get("items") or ()),
        facts=tuple(tuple(f) for f in data.get("facts") or ()),
        form=form,
        private=bool(data.get("private")),
        kind=data.get("kind", ReplyKind.INFO),
        errors=tuple(tuple(e) for e in data.get("errors") or ()),
        warnings=tuple(data.get("warnings") or ()),
    )
