"""The read side: help, home, the commitment queries, history, an initiative, the cycles.

Nothing here writes (except a calendar token, created on first ask). Each handler is a
function of the turn and what was asked, and returns the replies; handlers.routes says which
words and buttons lead here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlmodel import select

from handlers import calendar, commitments, cycle_status, initiative_roles, initiatives, similar
from handlers.commands import HELP_TEXT, Query
from handlers.dates import describe_date
from handlers.listings import Fetch, Listing, Section, listing, place
from handlers.messages import ActionId, Choice, Item, Outgoing, Reply, ReplyKind, section_size
from handlers.people import name_of, resolve_person
from handlers.turn import Turn, record_id, say
from storage.models import Commitment, Initiative, Person, RoleAssignment, Unit

BOT_HELP = """Here's what I can do:
• I listen for plans with an IT side ("we're buying a new CRM", "we're moving buildings
  in May") and offer to plan them with IT.
• plan — start planning an initiative with IT yourself (or "plan office move").
• commitments … — see and act on who promised what (type "commitments help").
• history <id> — the full history of a commitment.
• home — what you owe, what is owed to you, and your initiatives, in one place.
• Say "I'll send the floor plans by Friday" and I'll offer to keep track of it."""

MAX_INITIATIVES = 20


def bot_help(turn: Turn, rest: str = "") -> list[Outgoing]:
    return say(BOT_HELP)


def commands_help(turn: Turn, command: object = None) -> list[Outgoing]:
    return say(HELP_TEXT, private=True)


# Queries ("commitments mine", "commitments stuck"...), keyed in routes.QUERIES by scope.
# Each is a listing of sections; each section pages on its own ("Next 8" carries its scope,
# its section, how many came before and the place of the last one shown, so the next page
# starts right after it even when items closed meanwhile; "commitments mine page 2" turns
# every section's page, by count).


def mine(turn: Turn, command: Query | None = None) -> list[Outgoing]:
    return listing(turn, _mine(turn), _page(command))


def _mine(turn: Turn, arg: str = "") -> Listing:
    me = turn.person
    sections = [  # one's own items: nothing to leave out
        Section("owe", "You owe", _open(turn, commitments.owed_by_where(me.id), visible=False)),
        Section("owed", "Owed to you", _open(turn, commitments.owed_to_where(me.id), False)),
    ]
    return Listing("mine", "", "mine", "Your open commitments", sections)


def person(turn: Turn, command: Query) -> list[Outgoing]:
    other = resolve_person(turn.session, command.mention, turn.person, turn.channel)
    if other is None:
        return say("I don't know that person yet. Check the spelling.", private=True)
    return listing(turn, _person(turn, str(other.id)), _page(command))


def _person(turn: Turn, arg: str) -> Listing | None:
    other = turn.session.get(Person, record_id(arg))
    if other is None:
        return None
    found = _open(turn, commitments.involving_where(other.id))
    typed = f"@{other.handle}"
    return Listing("person", arg, typed, f"Open commitments of {typed}", [Section("", "", found)])


def unit(turn: Turn, command: Query) -> list[Outgoing]:
    org = turn.bot.org
    unit_id = org.unit_key(command.arg or "")
    if unit_id is None:
        names = ", ".join(u.name for u in org.units.values()) or "none configured"
        return say(f"I don't know the unit '{command.arg}'. Units: {names}.", private=True)
    return listing(turn, _unit(turn, unit_id), _page(command))


def _unit(turn: Turn, unit_id: str) -> Listing | None:
    found = turn.bot.org.units.get(unit_id)
    if found is None:
        return None
    section = Section("", "", _open(turn, commitments.unit_where([unit_id]), within=[unit_id]))
    title = f"Open commitments of {found.name}"
    return Listing("unit", unit_id, f"unit {found.name}", title, [section])


def stuck(turn: Turn, command: Query) -> list[Outgoing]:
    return listing(turn, _stuck(turn), _page(command))


def _stuck(turn: Turn, arg: str = "") -> Listing:
    section = Section("", "", _stuck_in(turn, None))
    return Listing("stuck", "", "stuck", "Stuck commitments", [section])


def _stuck_here(turn: Turn, arg: str = "") -> Listing:
    """A liaison's home: the stuck items of their units."""
    units = turn.bot.org.liaison_units(turn.person.handle)
    section = Section("", "", _stuck_in(turn, units))
    return Listing("units_stuck", "", "stuck", "Stuck in your units", [section])


def overdue(turn: Turn, command: Query) -> list[Outgoing]:
    return listing(turn, _overdue(turn), _page(command))


def _overdue(turn: Turn, arg: str = "") -> Listing:
    section = Section("", "", _open(turn, commitments.overdue_where(turn.today)))
    return Listing("overdue", "", "overdue", "Overdue commitments", [section])


def _open(turn: Turn, where: list, visible: bool = True, within: list | None = None) -> Fetch:
    """Open commitments matching `where` that the viewer may see (`within` those units), a
    page at a time."""
    if visible:
        where = [*where, commitments.visible_to(turn.bot.org, turn.person, within)]
    return lambda limit, offset, after: commitments.page(turn.session, where, limit, offset, after)


def _stuck_in(turn: Turn, units: list[str] | None) -> Fetch:
    where = [commitments.visible_to(turn.bot.org, turn.person, units)]
    if units is not None:
        where += commitments.unit_where(units)

    def fetch(limit: int, offset: int, after: commitments.Key | None) -> commitments.Page:
        org, now = turn.bot.org, turn.now()
        return commitments.stuck_page(
            turn.session, org, now, limit=limit, offset=offset, where=where, after=after
        )

    return fetch


# A "next" button's scope -> the listing it pages through, rebuilt from the button's arg.
LISTINGS: dict[str, Callable[[Turn, str], Listing | None]] = {
    "mine": _mine,
    "person": _person,
    "unit": _unit,
    "stuck": _stuck,
    "units_stuck": _stuck_here,
    "overdue": _overdue,
}


def _page(command: Query | None) -> int:
    return command.page if command is not None else 1


def more(turn: Turn, data: dict) -> list[Outgoing]:
    """A "next" button: the next page of one section of a listing."""
    build = LISTINGS.get(str(data.get("q")))
    found = build(turn, str(data.get("a") or "")) if build else None
    if found is None:
        return say("That list has changed. Ask for it again.", private=True)
    sections = [s for s in found.sections if s.key == str(data.get("s") or "")]
    if not sections:
        return say("That list has changed. Ask for it again.", private=True)
    size = section_size(len(found.sections))
    start = record_id(data.get("o"))
    after = place(data.get("k"))
    return listing(turn, replace(found, sections=sections), start // size + 1, size, after)


def initiative_query(turn: Turn, command: Query) -> list[Outgoing]:
    return initiative(turn, int(command.arg or 0))


def calendar_link(turn: Turn, command: Query) -> list[Outgoing]:
    token = calendar.token_for(turn.session, turn.person)
    url = f"{turn.bot.public_url.rstrip('/')}/calendar/{token}.ics"
    return say(
        f"Your private calendar link (due dates and input cycles): {url}\n"
        "Add it to Outlook or Google Calendar as a subscription. Keep it to yourself: "
        "anyone with the link can read it.",
        private=True,
    )


def cycles(turn: Turn, command: Query | None = None) -> list[Outgoing]:
    """Each unit's input cycle: when, with whom, where it stands (handlers.cycle_status), and
    the initiatives it produced (named only to those who oversee the unit or lead it)."""
    units = turn.session.exec(select(Unit).order_by(Unit.name)).all()
    if not units:
        return say("No units are configured yet, so there are no input cycles.", private=True)
    items = []
    for found in units:
        today = turn.bot.today_for(None, found.id)
        status = cycle_status.status(turn.session, turn.bot.org, found.id, today)
        when = describe_date(status.day, today) if status.day else "none planned"
        follow = (" · lead reminded" if status.reminded else "") + (
            " · liaison told" if status.liaison_told else ""
        )
        text = (
            f"{found.name}: {when} with {name_of(turn.session, found.liaison_id)} · "
            f"{status.stage}{follow}"
        )
        if status.initiatives:
            sees = found.lead_id == turn.person.id or commitments.can_oversee(
                turn.bot.org, turn.person, found.id
            )
            named = ", ".join(f"#{i} {t}" for i, t in status.initiatives)
            count = len(status.initiatives)
            text += f" · produced {named}" if sees else f" · produced {count} initiative(s)"
        items.append(Item(text))
    reply = Reply("Input cycles:", items=tuple(items), private=True, kind=ReplyKind.LIST)
    return [Outgoing(reply)]


# Home, lists, history, initiatives


def home(turn: Turn, data: object = None) -> list[Outgoing]:
    """A person's home: what they owe, what is owed to them, their initiatives, and for a
    liaison the stuck items of their units."""
    me, org = turn.person, turn.bot.org
    out = mine(turn)
    found = turn.session.exec(
        select(Initiative)
        .where((Initiative.requester_id == me.id) | (Initiative.owner_id == me.id))
        .where(Initiative.status.in_(["planning", "active"]))
        .order_by(Initiative.id.desc())
    ).all()
    items = tuple(
        Item(
            f"#{i.id} {i.title}"
            + (f", {describe_date(i.target_date, turn.today)}" if i.target_date else "")
            + "".join(f" · {x.text}" for x in similar.linked_items(turn.session, org, i.id)),
            (Choice.of("Details", ActionId.HOME_INITIATIVE, id=i.id),),
        )
        for i in found[:MAX_INITIATIVES]
    )
    text = "Your initiatives:" if items else "Your initiatives: none yet. Type 'plan' to start one."
    out.append(Outgoing(Reply(text, items=items, private=True, kind=ReplyKind.LIST)))
    if org.liaison_units(me.handle):
        out += listing(turn, _stuck_here(turn))
    return out


def history(turn: Turn, rest: str) -> list[Outgoing]:
    """`history 12`: every event of a commitment, oldest first."""
    rest = rest.lower().strip(" #")
    if not rest.isdigit():
        return say("Which commitment? Type 'history 12'.", private=True)
    item = turn.session.get(Commitment, int(rest))
    if item is None or not commitments.can_see(turn.bot.org, turn.person, item):
        return say(f"I can't find commitment #{rest}.", private=True)
    items = []
    for event in commitments.history(turn.session, item.id):
        when = event.at.strftime("%Y-%m-%d %H:%M")
        moved = event.due_after != event.due_before and event.due_after
        due = f", due {event.due_after}" if moved else ""
        note = f" — {event.note}" if event.note else ""
        who = name_of(turn.session, event.actor_id)
        items.append(
            Item(f"{when} {who} {event.act} → {event.to_state}{due}{note} ({event.channel})")
        )
    reply = Reply(turn.describe(item), items=tuple(items), private=True, kind=ReplyKind.HISTORY)
    return [Outgoing(reply)]


def initiative_button(turn: Turn, data: dict) -> list[Outgoing]:
    return initiative(turn, record_id(data.get("id")))


def initiative(turn: Turn, initiative_id: int) -> list[Outgoing]:
    """An initiative: its roles, its commitments the viewer may see, and its facts."""
    found = turn.session.get(Initiative, initiative_id)
    me, org, catalogue = turn.person, turn.bot.org, turn.bot.catalogue
    if found is None or not may_see_initiative(turn, found, me):
        return say(f"I can't find initiative #{initiative_id}.", private=True)
    items = [Item(line) for line in initiative_roles.role_lines(turn.session, found.id)]
    # Links and changes before the commitments: a channel shows the first MAX_ITEMS lines, and
    # the commitments are also listed elsewhere (mine, unit), these only here.
    items += similar.linked_items(turn.session, org, found.id)
    items += initiatives.history_items(turn, found.id)
    for c in commitments.for_initiative(turn.session, found.id):
        if commitments.can_see(org, me, c):
            items.append(Item(turn.describe(c), turn.buttons(c, me.id)))
    kind = catalogue[found.kind].title if found.kind in catalogue else found.kind
    facts = [("Kind", kind)]
    if found.unit_id:
        unit_name = org.units[found.unit_id].name if found.unit_id in org.units else found.unit_id
        facts.append(("Unit", unit_name))
    if found.target_date:
        facts.append(("When", describe_date(found.target_date, turn.today)))
    facts.append(("Status", found.status))
    if found.source_link:
        facts.append(("Source", found.source_link))
    reply = Reply(
        f"Initiative #{found.id}: {found.title}",
        items=tuple(items),
        facts=tuple(facts),
        private=True,
        kind=ReplyKind.INITIATIVE,
    )
    return [Outgoing(reply)]


def may_see_initiative(turn: Turn, found: Initiative, me: Person) -> bool:
    """Its requester and owner, whoever oversees its unit, and anyone given a role in it."""
    if me.id in (found.requester_id, found.owner_id) or commitments.can_oversee(
        turn.bot.org, me, found.unit_id
    ):
        return True
    query = select(RoleAssignment).where(
        RoleAssignment.initiative_id == found.id, RoleAssignment.person_id == me.id
    )
    return turn.session.exec(query).first() is not None
