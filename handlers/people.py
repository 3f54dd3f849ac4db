"""The address book: people, their addresses per channel, and the units from the config.

One person may be reachable on Slack, Teams and the shell; they are matched by an address
they already have, then by email, then by an explicit id in the organisation config.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from sqlmodel import Session, select

from handlers.commands import Mention, find_mentions, replace_mentions
from handlers.messages import Sender, clean_text
from handlers.org import Organisation
from storage.db import insert_missing
from storage.models import Address, Person, Unit


def sync_organisation(session: Session, org: Organisation, now: dt.datetime) -> None:
    """Mirror the config's people and units into the database (idempotent, and safe when many
    replicas start at once: every row is inserted if missing, then updated)."""
    ids: dict[str, int] = {}
    for handle, cfg in org.people.items():
        new = Person(handle=handle, display_name=cfg.name or handle, created_at=now)
        insert_missing(session, new, "handle")
        person = session.exec(select(Person).where(Person.handle == handle)).one()
        person.display_name = cfg.name or person.display_name
        person.email = (cfg.email or person.email or None) and (cfg.email or person.email).lower()
        person.timezone = cfg.timezone or person.timezone
        session.add(person)
        session.flush()
        ids[handle] = person.id
        for channel, external in (("slack", cfg.slack), ("teams", cfg.teams), ("shell", handle)):
            if external:
                _ensure_address(session, person.id, channel, external, now)
    for key, cfg in org.units.items():
        insert_missing(session, Unit(id=key, name=cfg.name), "id")
        unit = session.get(Unit, key)
        unit.name = cfg.name
        unit.timezone = cfg.timezone or org.timezone
        unit.lead_id = ids.get(cfg.lead or "")
        unit.liaison_id = ids.get(cfg.liaison or "")
        unit.cycle_months = ",".join(str(m) for m in cfg.cycle_months)
        session.add(unit)
        for handle in (cfg.lead, cfg.liaison):
            person = session.get(Person, ids.get(handle or "", -1))
            if person is not None and person.home_unit is None:
                person.home_unit = key
                session.add(person)
    session.flush()


def _ensure_address(
    session: Session, person_id: int, channel: str, external_id: str, now: dt.datetime
) -> Address:
    new = Address(person_id=person_id, channel=channel, external_id=external_id, updated_at=now)
    insert_missing(session, new, "channel", "external_id")
    address = session.exec(
        select(Address).where(Address.channel == channel, Address.external_id == external_id)
    ).one()
    address.person_id = person_id
    session.add(address)
    return address


def person_for(session: Session, sender: Sender, now: dt.datetime) -> Person:
    """The person behind a sender, created on first contact and kept up to date."""
    if sender.name:
        sender = replace(sender, name=clean_text(sender.name))
    address = session.exec(
        select(Address).where(
            Address.channel == sender.channel, Address.external_id == sender.external_id
        )
    ).first()
    person = session.get(Person, address.person_id) if address else None
    if sender.external:
        sender = replace(sender, email=None)  # an outsider's email links nobody and is not kept
    if person is None and sender.email:
        person = session.exec(select(Person).where(Person.email == sender.email.lower())).first()
    if person is None and sender.channel == "shell":
        person = by_handle(session, sender.external_id)
    if person is None:
        person = _first_contact(session, sender, now)
    if sender.timezone and person.timezone != sender.timezone:
        person.timezone = sender.timezone
        session.add(person)
    if address is None:
        address = _ensure_address(session, person.id, sender.channel, sender.external_id, now)
        address.tenant = sender.tenant
        address.updated_at = now
    _note_workspace(session, address, sender)
    session.flush()
    return person


def _note_workspace(session: Session, address: Address, sender: Sender) -> None:
    """Keep the installation an address is reached through, written only when it changes
    (a workspace that reinstalled, a person met through another workspace of the org)."""
    if sender.workspace is None and sender.enterprise is None:
        return  # a channel (or mode) without installations
    if (address.workspace, address.enterprise) != (sender.workspace, sender.enterprise):
        address.workspace, address.enterprise = sender.workspace, sender.enterprise
        session.add(address)


def _first_contact(session: Session, sender: Sender, now: dt.datetime) -> Person:
    """A new person and their address, created once even when the same newcomer's first
    messages reach two replicas at once, or two newcomers with one name arrive together."""
    name = sender.name or sender.external_id
    email = sender.email.lower() if sender.email else None
    while True:
        handle = unique_handle(session, name)
        new = Person(handle=handle, display_name=name, email=email, created_at=now)
        if insert_missing(session, new, "handle"):
            break  # else another replica took that handle a moment ago: pick the next one
    person = by_handle(session, handle)
    address = Address(
        person_id=person.id, channel=sender.channel, external_id=sender.external_id, updated_at=now
    )
    if not insert_missing(session, address, "channel", "external_id"):
        # Another replica met this sender at the same moment: theirs is the person.
        session.delete(person)
        session.flush()
        existing = session.exec(
            select(Address).where(
                Address.channel == sender.channel, Address.external_id == sender.external_id
            )
        ).one()
        return session.get(Person, existing.person_id)
    return person


def unique_handle(session: Session, name: str) -> str:
    base = re.sub(r"[^a-z0-9._-]+", "", name.lower().replace(" ", ".")).strip(".-_") or "someone"
    base = base[:100]
    handle, n = base, 1
    while by_handle(session, handle) is not None:
        n += 1
        handle = f"{base}{n}"
    return handle


def by_handle(session: Session, handle: str) -> Person | None:
    return session.exec(select(Person).where(Person.handle == handle.lstrip("@").lower())).first()


def find_person(session: Session, mention: Mention, channel: str | None = None) -> Person | None:
    """Resolve a mention: a platform id first, then a handle, then a display name."""
    if mention.external_id:
        query = select(Address).where(Address.external_id == mention.external_id)
        if channel:
            query = query.where(Address.channel == channel)
        address = session.exec(query).first()
        if address:
            return session.get(Person, address.person_id)
    for text in (mention.handle, mention.display):
        if not text:
            continue
        person = by_handle(session, text)
        if person is None:
            person = session.exec(
                select(Person).where(Person.display_name == text.lstrip("@"))
            ).first()
        if person is not None:
            return person
    return None


ME_WORDS = frozenset({"me", "myself", "i", "i do", "i am", "i'm", "mine"})


def means_me(text: str) -> bool:
    """Whether a typed person is the one typing: "me", "myself", "I"..."""
    return " ".join(text.split()).lower().rstrip(".!") in ME_WORDS


def resolve_person(
    session: Session, text: str | Mention, me: Person, channel: str | None = None
) -> Person | None:
    """The one rule for a typed person, wherever one is typed (a command, a form, an intake).

    "me", "myself" and "I" are `me`; else the first mention however the channel wrote it
    (@name, Slack's <@U…|name>, Teams' <at>Name</at>); None for nobody we know (or no
    mention at all), so each caller can say what to type instead.
    """
    if isinstance(text, Mention):
        return me if text.is_me else find_person(session, text, channel)
    if means_me(text):
        return me
    mentions = find_mentions(text)
    return find_person(session, mentions[0], channel) if mentions else None


def readable_mentions(session: Session, text: str, channel: str | None = None) -> str:
    """Text to store, with every mention the channel wrote as markup ("brief <@U123>") named
    as a person reads it: "@handle" for someone known, else the name the markup carried."""

    def name(mention: Mention) -> str:
        person = find_person(session, mention, channel)
        if person is not None:
            return f"@{person.handle}"
        return f"@{mention.handle}" if mention.handle else mention.display or "someone"

    return replace_mentions(text, name)


def addresses_of(session: Session, person_id: int) -> list[Address]:
    return list(session.exec(select(Address).where(Address.person_id == person_id)).all())


def name_of(session: Session, person_id: int | None) -> str:
    """'@handle' for a person id, or a dash when there is no one."""
    if person_id is None:
        return "—"
    person = session.get(Person, person_id)
    return f"@{person.handle}" if person else "someone"


# Addresses the channels learn are gone, and what they need to reach someone new.


def some_reference(
    session: Session, channel: str, tenant: str | None = None
) -> tuple[str, str | None] | None:
    """Any stored conversation reference on a channel (one of this tenant's first), and its
    tenant: where the connector is, and the bot's own account there, for reaching someone new."""
    query = select(Address.reference, Address.tenant).where(
        Address.channel == channel, Address.reference.is_not(None)
    )
    found = None
    if tenant:
        found = session.exec(query.where(Address.tenant == tenant).limit(1)).first()
    found = found or session.exec(query.order_by(Address.updated_at.desc())).first()
    return (found[0], found[1]) if found else None


def chat_names(session: Session, channel: str, handles: set[str]) -> dict[str, tuple[str, str]]:
    """For each of these handles reachable on a channel: their id there and their name, so the
    channel can show them as a real mention."""
    if not handles:
        return {}
    rows = session.exec(
        select(Person.handle, Person.display_name, Address.external_id)
        .join(Address, Address.person_id == Person.id)
        .where(Person.handle.in_(sorted(handles)[:200]), Address.channel == channel)
    ).all()
    return {handle: (external_id, name or handle) for handle, name, external_id in rows}


def forget_address(session: Session, channel: str, external_id: str) -> bool:
    """The platform says this address is gone for the bot (the app removed, the person left):
    delete it, so nothing is sent there and the person's other channels are used. Talking to
    the bot again, or the next config sync, brings it back."""
    address = session.exec(
        select(Address).where(Address.channel == channel, Address.external_id == external_id)
    ).first()
    if address is None:
        return False
    session.delete(address)
    return True


def forget_references(session: Session, channel: str, conversation_id: str) -> int:
    """The bot was removed from a team or chat: forget the references that lead into it (the
    people keep their addresses, reached through a new 1:1 chat); how many."""
    needle = f'"id":"{conversation_id}'
    addresses = session.exec(
        select(Address).where(
            Address.channel == channel, Address.reference.contains(needle, autoescape=True)
        )
    ).all()
    for address in addresses:
        address.reference = None
        session.add(address)
    return len(addresses)
