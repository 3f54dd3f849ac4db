"""The per-request context every handler receives: the session, the sender, the clock.

A `Turn` holds only what one inbound message or button press needs to be answered: the
database session of its transaction, who sent it and where, the sender's today, and the
events to report once the transaction is over. What to do with it lives in the feature
modules (views, offers, planning, acts, cycles), found through handlers.routes.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING

from sqlalchemy import bindparam
from sqlmodel import Session, select

from handlers import commitments, intake
from handlers.dates import describe_date
from handlers.messages import Choice, Inbound, Outgoing, Reply, ReplyKind
from handlers.people import person_for
from handlers.signals import Speaker
from storage.models import Address, Commitment, IntakeSession, Person

if TYPE_CHECKING:
    from handlers.core import Liaison


class Turn:
    """One inbound message or action, handled inside one database session."""

    def __init__(self, bot: Liaison, session: Session, inbound: Inbound) -> None:
        self.bot, self.session, self.inbound = bot, session, inbound
        self.channel = inbound.sender.channel
        self._person: Person | None = None
        self.events: list[str] = []  # "funnel.offered"...: counted after the transaction

    @property
    def person(self) -> Person:
        """The sender as a person, created on first contact (only when a handler needs it)."""
        if self._person is None:
            self._person = person_for(self.session, self.inbound.sender, self.now())
        return self._person

    def known_person(self) -> Person | None:
        """The sender if we already know them, without creating anything."""
        sender = self.inbound.sender
        self.session.flush()  # a Core query does not flush: an address just added counts
        values = {"channel": sender.channel, "external_id": sender.external_id}
        person_id = self.session.connection().execute(_person_at(), values).scalar()
        return self.session.get(Person, person_id) if person_id is not None else None

    def known_as(self, person: Person) -> None:
        """Take a person already looked up (by `known_person`) as the sender, as they are."""
        self._person = person

    @property
    def from_outside(self) -> bool:
        """The sender is from another organisation (a Slack Connect user, a Teams guest or
        external user): they keep their own commitments, and nothing of a unit's."""
        return self.inbound.sender.external

    def now(self) -> dt.datetime:
        """The injected clock's now."""
        return self.bot.clock()

    def open_intake(self, person: Person) -> IntakeSession | None:
        """The person's unfinished intake here, unless it has expired (`intake_expiry_hours`)."""
        hours = self.bot.org.thresholds.intake_expiry_hours
        return intake.open_intake(
            self.session, person.id, self.inbound.conversation, self.now(), hours
        )

    def reachable(self, person_id: int) -> bool:
        """Whether the bot can write to this person on a channel this deployment runs."""
        query = select(Address.id).where(
            Address.person_id == person_id, Address.channel.in_(self.bot.reachable_on)
        )
        return self.session.exec(query.limit(1)).first() is not None

    def speaker(self, person: Person | None) -> Speaker:
        """Who is speaking, as detection needs it: IT staff (about IT's own work is no signal),
        or someone from another organisation (never offered)."""
        handle = person.handle if person else None
        return Speaker(
            is_it=self.bot.org.is_it(handle, self.inbound.conversation),
            external=self.inbound.sender.external,
        )

    @property
    def today(self) -> dt.date:
        """Today where the sender is (handlers.localtime)."""
        return self.bot.today_for(self.person)

    def unit_here(self) -> str | None:
        """The unit of the channel we are in, or else the person's own unit."""
        return self.bot.org.unit_for_channel(self.inbound.conversation) or self.person.home_unit

    def intake_context(self) -> intake.Context:
        return intake.Context(
            self.session, self.bot.org, self.bot.catalogue, self.today, self.channel, self.now()
        )

    def describe(self, item: Commitment) -> str:
        """One line about a commitment, dates in the sender's words."""
        return commitments.describe(self.session, item, self.today)

    def describe_date(self, day: dt.date) -> str:
        """A date in words, relative to the sender's today: "Fri 27 Nov 2026 (in 4 days)"."""
        return describe_date(day, self.today)

    def buttons(self, item: Commitment, viewer_id: int) -> tuple[Choice, ...]:
        return commitments.buttons(item, viewer_id)


@functools.cache
def _person_at():
    """The person at an address (one column, no Address object): built once."""
    return select(Address.person_id).where(
        Address.channel == bindparam("channel"), Address.external_id == bindparam("external_id")
    )


def say(text: str, private: bool = False, kind: ReplyKind = ReplyKind.INFO) -> list[Outgoing]:
    """A reply of one sentence or a few, to the conversation it answers."""
    return [Outgoing(Reply(text, private=private, kind=kind))]


def form_errors(errors: dict[str, str]) -> list[Outgoing]:
    """A form to fix: one sentence per field, which each channel shows beside the field."""
    reply = Reply(
        "Please check the form.", errors=tuple(errors.items()), kind=ReplyKind.FORM_ERRORS
    )
    return [Outgoing(reply)]


def record_id(value: object) -> int:
    """A database id from a button's value: a positive 63-bit integer, or 0 (found nowhere)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if 0 < value < 2**63 else 0
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return 0
