"""Saved initiatives, listed and edited: `commitments initiatives [unit]`, and
`commitments initiative 3 title|date|owner <new value>` or `... role <role> <letter> <who>`
(handlers.initiative_roles). Every change is an `InitiativeEvent` (who, when, before, after),
shown under the initiative by `commitments initiative 3`, and an `initiative.changed` webhook
when one is configured.

Who may edit: the initiative's requester and owner, its unit's liaison, and admins (the same
people who oversee it in chat). Who sees the list: admins every unit's; a liaison their units';
anyone else the initiatives they requested or own.
"""

from __future__ import annotations

import re

from sqlmodel import select

from handlers import commitments, initiative_roles, webhooks
from handlers.commands import Query, parse_mention
from handlers.dates import DateParseError, parse_due
from handlers.messages import ActionId, Choice, Item, Outgoing, Reply, ReplyKind
from handlers.people import name_of, resolve_person
from handlers.turn import Turn, say
from storage.models import Initiative, InitiativeEvent, InitiativeStatus

MAX_LISTED = 20
FIELDS = ("title", "date", "owner", "role")
_EDIT = re.compile(
    r"(?P<id>\d{1,18})\s+(?P<field>title|date|owner|roles?)\b\s*(?P<value>.*)", re.I | re.S
)


def listing(turn: Turn, command: Query) -> list[Outgoing]:
    """`commitments initiatives [unit]`: open initiatives, by target date."""
    org = turn.bot.org
    query = select(Initiative).where(
        Initiative.status.in_((InitiativeStatus.PLANNING, InitiativeStatus.ACTIVE))
    )
    title = "Open initiatives"
    if command.arg:
        unit_id = org.unit_key(command.arg)
        if unit_id is None:
            names = ", ".join(u.name for u in org.units.values()) or "none configured"
            return say(f"I don't know the unit '{command.arg}'. Units: {names}.", private=True)
        query = query.where(Initiative.unit_id == unit_id)
        title += f" of {org.units[unit_id].name}"
    found = turn.session.exec(
        query.order_by(Initiative.target_date.is_(None), Initiative.target_date, Initiative.id)
    ).all()
    visible = [i for i in found if may_see(turn, i)]
    if not visible:
        return say(f"{title}: none that you can see.", private=True)
    items = [
        Item(
            f"#{i.id} {i.title} — {_unit_name(org, i.unit_id)}"
            + (f", {turn.describe_date(i.target_date)}" if i.target_date else "")
            + f", owner {name_of(turn.session, i.owner_id or i.requester_id)}",
            (Choice.of("Details", ActionId.HOME_INITIATIVE, id=i.id),),
        )
        for i in visible[:MAX_LISTED]
    ]
    if len(visible) > MAX_LISTED:
        items.append(Item(f"…and {len(visible) - MAX_LISTED} more"))
    reply = Reply(
        f"{title} ({len(visible)}):", items=tuple(items), private=True, kind=ReplyKind.LIST
    )
    return [Outgoing(reply)]


def _unit_name(org, unit_id: str | None) -> str:
    return org.units[unit_id].name if unit_id in org.units else "no unit"


def may_see(turn: Turn, found: Initiative) -> bool:
    me = turn.person
    return me.id in (found.requester_id, found.owner_id) or commitments.can_oversee(
        turn.bot.org, me, found.unit_id
    )


def edit(turn: Turn, command: Query) -> list[Outgoing]:
    """`commitments initiative 3 owner @kim`: change one field, keeping the history."""
    match = _EDIT.fullmatch((command.arg or "").strip())
    if match is None:
        return say(
            "Change an initiative like 'initiative 3 title New CRM', 'initiative 3 date by "
            "March 1', 'initiative 3 owner @kim' or 'initiative 3 role security consulted "
            "@dana'.",
            private=True,
        )
    found = turn.session.get(Initiative, int(match["id"]))
    if found is None or not may_see(turn, found):
        return say(f"I can't find initiative #{match['id']}.", private=True)
    field, value = match["field"].lower().rstrip("s"), " ".join(match["value"].split())
    if field == "role":
        return _edit_role(turn, found, value)
    if not value:
        return say(f"What's the new {field}? Add it after '{field}'.", private=True)
    try:
        before, after = _apply(turn, found, field, value)
    except ValueError as exc:
        return say(str(exc), private=True)
    if before == after:
        return say(f"#{found.id} already has that {field}.", private=True)
    record_change(turn, found, field, before, after)
    return say(f"Changed the {field} of #{found.id}: {before or 'none'} → {after}.")


def _edit_role(turn: Turn, found: Initiative, value: str) -> list[Outgoing]:
    """`initiative 3 role security consulted @dana`: one RASCI cell, kept in the history."""
    try:
        change = initiative_roles.change_role(turn, found, value)
    except ValueError as exc:
        return say(str(exc), private=True)
    before = f"{change.title}: {change.before or 'none'}"
    after = f"{change.title}: {change.after or 'none'}"
    role = {"key": change.key, "title": change.title, "assignments": list(change.cells)}
    record_change(turn, found, "role", before, after, role)
    text = f"Changed the role “{change.title}” of #{found.id}: "
    text += f"{change.before or 'none'} → {change.after or 'none'}."
    return say(" ".join((text, *change.notes)))


def record_change(
    turn: Turn,
    found: Initiative,
    field: str,
    before: str,
    after: str,
    role: dict | None = None,
) -> None:
    """One edit of a saved initiative: its history row and, when configured, its webhook."""
    found.updated_at = turn.now()
    turn.session.add(found)
    turn.session.add(
        InitiativeEvent(
            initiative_id=found.id,
            actor_id=turn.person.id,
            field=field,
            before=_clip(before),
            after=_clip(after),
            at=turn.now(),
        )
    )
    data = webhooks.initiative_change_data(found, field, before, after, turn.person.handle, role)
    webhooks.record(turn.session, turn.bot.org, "initiative.changed", data, turn.now())


def _clip(text: str) -> str:
    return text if len(text) <= 300 else text[:299] + "…"


def _apply(turn: Turn, found: Initiative, field: str, value: str) -> tuple[str, str]:
    if field == "title":
        if len(value) > 200:
            raise ValueError("Keep the title under 200 characters.")
        before, found.title = found.title, value
        return before, value
    if field == "date":
        text = re.sub(r"^(?:by|to|on)\s+", "", value, flags=re.I)
        try:
            day = parse_due(text, turn.today, **turn.bot.org.date_rules)
        except DateParseError as exc:
            raise ValueError(str(exc)) from exc
        before = found.target_date.isoformat() if found.target_date else ""
        found.target_date = day
        return before, day.isoformat()
    mention = parse_mention(value)
    other = resolve_person(turn.session, mention or value, turn.person, turn.channel)
    if other is None:
        raise ValueError("I don't know that person yet. Check the spelling.")
    before = name_of(turn.session, found.owner_id) if found.owner_id else ""
    found.owner_id = other.id
    return before, f"@{other.handle}"


def history_items(turn: Turn, initiative_id: int) -> list[Item]:
    """The changes made to an initiative, oldest first."""
    rows = turn.session.exec(
        select(InitiativeEvent)
        .where(InitiativeEvent.initiative_id == initiative_id)
        .order_by(InitiativeEvent.at, InitiativeEvent.id)
    ).all()
    return [
        Item(
            f"{row.at:%Y-%m-%d %H:%M} {name_of(turn.session, row.actor_id)} changed the "
            f"{row.field}: {row.before or 'none'} → {row.after}"
        )
        for row in rows
    ]
