"""A private calendar feed per person: their due dates, and the input cycles of their units.

The feed lives at an unguessable URL (/calendar/<token>.ics, 256 random bits), so a calendar
app can subscribe without logging in, and the URL cannot be guessed or enumerated.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from handlers import commitments, nudges
from storage.models import Commitment, Person, Unit

if TYPE_CHECKING:  # icalendar loads with the first feed asked for, not at start
    from icalendar import Event

TOKEN_BYTES = 32


def token_for(session: Session, person: Person) -> str:
    """The person's feed token, made on first use."""
    if not person.calendar_token:
        person.calendar_token = secrets.token_urlsafe(TOKEN_BYTES)
        session.add(person)
        session.flush()
    return person.calendar_token


def person_by_token(session: Session, token: str) -> Person | None:
    if not token or len(token) > 64:
        return None
    return session.exec(select(Person).where(Person.calendar_token == token)).first()


def feed(session: Session, person: Person, today: dt.date, stamp: dt.datetime) -> bytes:
    """The ICS document: one all-day event per open commitment with a due date (as owner or
    requester), and the next two input cycles of each unit the person leads or partners."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//IT Liaison Bot//liaison-bot//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"IT Liaison: @{person.handle}")
    owed = commitments.involving(session, person.id)
    for item in owed:
        if item.due is None:
            continue
        calendar.add_component(_commitment_event(session, item, today, stamp))
    units = session.exec(
        select(Unit).where(
            (Unit.lead_id == person.id)
            | (Unit.liaison_id == person.id)
            | (Unit.id == (person.home_unit or ""))
        )
    ).all()
    for unit in units:
        upcoming = [d for d in nudges.cycle_dates(nudges.unit_months(unit), today) if d >= today]
        for day in upcoming[:2]:
            event = Event()
            event.add("uid", f"cycle-{unit.id}-{day.isoformat()}@liaison-bot")
            event.add("summary", f"Input cycle: {unit.name}")
            event.add(
                "description",
                "Set the clock ahead six and twelve months: "
                "purchases, moves, hiring, events, data.",
            )
            event.add("dtstart", day)
            event.add("dtend", day + dt.timedelta(days=1))
            event.add("dtstamp", stamp)
            calendar.add_component(event)
    return calendar.to_ical()


def _commitment_event(
    session: Session, item: Commitment, today: dt.date, stamp: dt.datetime
) -> Event:
    from icalendar import Event

    event = Event()
    event.add("uid", f"commitment-{item.id}@liaison-bot")
    event.add("summary", f"#{item.id} {item.what}"[:200])
    event.add("description", commitments.describe(session, item, today))
    event.add("dtstart", item.due)
    event.add("dtend", item.due + dt.timedelta(days=1))
    event.add("dtstamp", stamp)
    return event
