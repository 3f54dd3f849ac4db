"""The core: one entry point that turns an Inbound into Outgoing replies.

Channels call `Liaison.handle()`. Most chat is not a signal and needs no write at all: the
person is only looked up (never created) until a signal, a command or a button needs them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlmodel import select

from handlers import calendar, commitments, intake, nudges, routes
from handlers.commands import strip_mentions
from handlers.commitments import ACT_PAST, NEEDS_DATE, NEEDS_NOTE  # noqa: F401  (old names)
from handlers.localtime import local_today
from handlers.messages import (
    SURROGATES,
    Form,
    FormField,
    Inbound,
    Outgoing,
    Reply,
    Sender,
    clean_text,
)
from handlers.org import Organisation
from handlers.owed import OwedMessage
from handlers.people import (
    chat_names,
    forget_address,
    forget_references,
    name_of,
    person_for,
    some_reference,
    sync_organisation,
)
from handlers.playbooks import Catalogue
from handlers.promises import find_promise, may_hold_promise
from handlers.signals import (
    Signal,
    Speaker,
    borderline,
    detect,
    detect_consulting,
    it_speaking_for_it,
    second_opinion_on,
    text_key,
)
from handlers.signals.recent import Recent
from handlers.turn import Turn
from handlers.views import BOT_HELP  # noqa: F401  (old name)
from storage import ledger
from storage.db import session_scope
from storage.models import Address, Person, utcnow

MAX_TEXT = 4000
log = logging.getLogger("liaison.core")


@dataclass
class Liaison:
    """The channel-agnostic bot. One instance serves every channel and every request."""

    engine: Engine
    org: Organisation
    catalogue: Catalogue
    clock: Callable[[], dt.datetime] = utcnow
    public_url: str = "http://localhost:3000"
    # The channels people can be reached on in this deployment (the shell when no chat
    # channel is configured), so that "asked @lee" is never said when @lee cannot be told.
    reachable_on: tuple[str, ...] = ("shell",)
    # Told of what happened ("acted.offer", "funnel.started"...) with the channel, after the
    # transaction: the composition root counts these as metrics.
    on_event: Callable[[str, str], None] = lambda event, channel: None
    # Signs dashboard links and sessions (handlers.signin); random per process unless set.
    dashboard_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def sync(self) -> None:
        """Mirror the organisation config (units, people) into the database."""
        with session_scope(self.engine) as session:
            sync_organisation(session, self.org, self.clock())

    # Entry point

    def handle(self, inbound: Inbound) -> list[Outgoing]:
        """Decide what to say back; every write happens in one transaction."""
        text = inbound.text or ""
        if inbound.action is None and len(text) > MAX_TEXT:
            if not inbound.is_direct:
                return []
            return _say(
                f"That message is {len(text):,} characters long; I can read up to "
                f"{MAX_TEXT:,}. Nothing was changed. Could you say it more briefly?"
            )
        if inbound.action is None and not text.strip():
            return (
                _say("I didn't get any text. Type 'help' to see what I can do.")
                if (inbound.is_direct)
                else []
            )
        inbound = _cleaned(inbound)
        try:
            with session_scope(self.engine) as session:
                if inbound.delivery_id and not ledger.claim(
                    session,
                    f"delivery:{inbound.sender.channel}:{inbound.delivery_id}",
                    "delivery",
                    now=self.clock(),
                ):
                    return []  # a replayed command or button: it acted the first time
                turn = Turn(self, session, inbound)
                replies = routes.dispatch(turn)
        except (OperationalError, DisconnectionError):
            raise  # the database is away: the channel reports it, readiness shows it
        except Exception:  # a bug must not become silence or a half-done change
            log.exception("could not handle a %s message", inbound.sender.channel)
            return _say(SORRY, private=True)
        if replies:
            self.on_event(f"acted.{replies[0].reply.kind}", inbound.sender.channel)
        for event in turn.events:
            self.on_event(event, inbound.sender.channel)
        return replies

    def cycle_form(self, data: dict) -> Form | None:
        """The look-ahead questionnaire for a unit's cycle (from a 'cycle.open' button), or
        None when the button's data is not a unit and a date."""
        unit = self.org.units.get(str(data.get("unit") or ""))
        try:
            day = dt.date.fromisoformat(str(data.get("cycle")))
        except ValueError:
            return None
        if unit is None:
            return None
        return nudges.cycle_form(str(data.get("unit")), unit.name, day)

    def intake_form(self, data: dict) -> Form:
        """The intake as one form, from an offer's or a shortcut's data. Touches no database."""
        self.on_event("funnel.started", "form")
        excerpt, title = data.get("excerpt"), data.get("title")  # title: a second opinion's
        return intake.form(
            self.catalogue,
            self.org,
            kind=data.get("kind"),
            unit_id=data.get("unit"),
            suggested_title=title or (intake.suggest_title(excerpt) if excerpt else None),
            state=json.dumps(data, separators=(",", ":")),
        )

    def commitment_form(self, what: str = "", state: str = "") -> Form:
        """The small 'Track as commitment' form."""
        fields = (
            FormField("what", "What will be done?", "long_text", initial=what[:500] or None),
            FormField("owner", "Who will do it?", "person", hint="Leave empty for yourself."),
            FormField("due", "By when?", "date", optional=True),
        )
        return Form("commitment", "Track a commitment", fields, submit_label="Track", state=state)

    def act_form(
        self, act: str, commitment_id: object, state: dict[str, object] | None = None
    ) -> Form | None:
        """The small form a `commitment.<act>` button opens first (a date or a note), or None
        when the act needs nothing (or is no act); `state` is what the channel wants back."""
        if act not in commitments.ACT_INPUTS:
            return None
        return commitments.act_form(act, commitment_id, state)

    def register(self, sender: Sender) -> int:
        """Make sure a sender is a known person (e.g. someone picked in a form); their id."""
        with session_scope(self.engine) as session:
            return person_for(session, sender, self.clock()).id

    def address_of(self, person_id: int, channel: str) -> Address | None:
        """How to reach a person on a channel, if they are reachable there."""
        with session_scope(self.engine) as session:
            query = select(Address).where(
                Address.person_id == person_id, Address.channel == channel
            )
            return session.exec(query.order_by(Address.updated_at.desc())).first()

    def remember_dm(self, address_id: int, dm_channel: str) -> None:
        """Cache a person's DM channel so it is opened once, not per message."""
        with session_scope(self.engine) as session:
            address = session.get(Address, address_id)
            if address is not None:
                address.dm_channel = dm_channel
                session.add(address)

    def remember_reference(self, sender: Sender, reference: str) -> int:
        """Keep how to reach a person proactively (a Teams conversation reference); their id."""
        with session_scope(self.engine) as session:
            person = person_for(session, sender, self.clock())
            address = session.exec(
                select(Address).where(
                    Address.channel == sender.channel, Address.external_id == sender.external_id
                )
            ).one()
            address.reference = reference
            address.tenant = sender.tenant or address.tenant
            address.updated_at = self.clock()
            session.add(address)
            return person.id

    def some_reference(
        self, channel: str, tenant: str | None = None
    ) -> tuple[str, str | None] | None:
        """Any stored conversation reference on a channel, and its tenant (people.py)."""
        with session_scope(self.engine) as session:
            return some_reference(session, channel, tenant)

    def chat_names(self, channel: str, handles: set[str]) -> dict[str, tuple[str, str]]:
        """Each handle's id on a channel and name, to show them as a mention (people.py)."""
        with session_scope(self.engine) as session:
            return chat_names(session, channel, handles)

    def forget_address(self, channel: str, external_id: str) -> bool:
        """An address the platform says is gone for the bot is deleted (people.py)."""
        with session_scope(self.engine) as session:
            return forget_address(session, channel, external_id)

    def forget_references(self, channel: str, conversation_id: str) -> int:
        """The references into a conversation the bot was removed from go (people.py)."""
        with session_scope(self.engine) as session:
            return forget_references(session, channel, conversation_id)

    def first_time(self, key: str) -> bool:
        """True the first time a key is seen, ever, on any replica (e.g. greeting a new user)."""
        with session_scope(self.engine) as session:
            return ledger.claim(session, key, "once", now=self.clock())

    def calendar_feed(self, token: str) -> bytes | None:
        """The ICS feed behind a calendar token, or None for a token nobody has."""
        with session_scope(self.engine) as session:
            person = calendar.person_by_token(session, token)
            if person is None:
                return None
            return calendar.feed(session, person, self.today_for(person), self.clock())

    def defer(self, person_id: int, reply: Reply, why: str) -> None:
        """Keep a reply a channel could not deliver: the sweeps retry it as a DM (ledger rows
        that failed are retried), so it arrives late rather than never."""
        due = OwedMessage(
            key=f"deferred:{person_id}:{uuid.uuid4().hex}",
            kind="deferred",
            person_id=person_id,
            reply=replace(reply, private=False),
        )
        with session_scope(self.engine) as session:
            ledger.claim(session, due.key, due.kind, payload=due.to_json(), now=self.clock())
            ledger.mark_failed(session, due.key, why[:200], self.clock())

    def confirm(self, key: str) -> None:
        """A claimed message (an offer) reached its place, or was kept for the sweeps: no
        recovery pass may send it again. One UPDATE, on a connection: no session is needed."""
        with self.engine.begin() as connection:
            ledger.mark_sent(connection, key, self.clock())

    def handle_of(self, person_id: int) -> str:
        """A person's handle, for channels that show DMs to other people (the shell)."""
        with session_scope(self.engine) as session:
            return name_of(session, person_id).lstrip("@")

    def detect(
        self, text: str, speaker: Speaker | None = None, *, consult: bool = False
    ) -> Signal | None:
        """The signal in a message, read once (`_recent`) however many places ask; who is
        speaking applied on top. With `consult` (the core, off the event loop), a configured
        second opinion reads a borderline message (`signals.detect_consulting`)."""
        text = strip_mentions(text)
        if speaker is not None and (speaker.external or it_speaking_for_it(text, speaker)):
            return None
        if consult and second_opinion_on():
            return detect_consulting(text, self._cues, speaker=speaker)
        return self._recent.get(("signal", text_key(text)), lambda: detect(text, self._cues))

    def may_answer(self, text: str) -> bool:
        """Whether a channel message not addressed to the bot may get an answer: a signal to
        offer for planning, or a promise ("I'll send it by Friday") to offer to track."""
        return self.worth_reading(text) or self.finds_promise(text)

    def worth_reading(self, text: str) -> bool:
        """Whether to read a channel message for a plan: a signal, or a borderline message
        for a configured second opinion."""
        plain = strip_mentions(text)
        return self.detect(text) is not None or (
            second_opinion_on() and borderline(plain, self._cues)
        )

    def finds_promise(self, text: str) -> bool:
        """Whether the text holds a promise with a date (most chat fails the cheap look)."""
        text = strip_mentions(text)
        if not may_hold_promise(text):
            return False
        today = self.today_for(None)
        return self._recent.get(
            ("promise", text_key(text), today), lambda: find_promise(text, today) is not None
        )

    @functools.cached_property
    def _recent(self) -> Recent:
        return Recent()

    @functools.cached_property
    def _cues(self):
        """The catalogue's cue sets, built once (detection runs on every message)."""
        return self.catalogue.cues()

    def today_for(self, person: Person | None, unit_id: str | None = None) -> dt.date:
        """Today where the person is (handlers.localtime: their zone, the unit's, their home
        unit's, else the organisation's)."""
        return local_today(self.org, self.clock(), person, unit_id)


def _cleaned(inbound: Inbound) -> Inbound:
    sender = inbound.sender
    if SURROGATES.search(inbound.text or "") or SURROGATES.search(sender.name or ""):
        sender = replace(sender, name=clean_text(sender.name))
        return replace(inbound, sender=sender, text=clean_text(inbound.text))
    return inbound


SORRY = (
    "Sorry, something went wrong on my side and nothing was changed. "
    "Please try again, or tell your IT liaison if it keeps happening."
)


def _say(text: str, private: bool = False) -> list[Outgoing]:
    return [Outgoing(Reply(text, private=private))]
