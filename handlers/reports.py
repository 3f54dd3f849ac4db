"""`commitments report [@person | unit X | it | business] [this quarter | last 6 months]`:
promise-keeping figures in chat, for whoever may see them (the figures are handlers.figures').

Who may see what follows the chat commands: anyone their own figures; a unit's liaison (and
its lead) the unit's and its people's; an admin everything. A liaison who is not an admin
asking for "it" or "business" gets those figures within their own units.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlmodel import Session

from handlers import commitments, figures
from handlers.commands import Query, parse_mention
from handlers.figures import Figures, Period, Scope
from handlers.messages import Item, Outgoing, Reply, ReplyKind
from handlers.org import Organisation
from handlers.people import resolve_person
from handlers.turn import Turn, say
from storage.models import Person, Unit

DEFAULT_PERIOD = "last 6 months"
_NUMBERS = {"one": 1, "two": 2, "three": 3, "six": 6, "nine": 9, "twelve": 12}
_PERIOD_RE = re.compile(
    r"(?:^|\s)(?P<period>(?:this|last)\s+(?:quarter|month|year)|"
    r"(?:last|past)\s+(?:\d{1,2}|one|two|three|six|nine|twelve)\s+months?)\s*$",
    re.I,
)


class ReportError(ValueError):
    """A sentence for the person: what to type instead, or why not."""


def parse_period(text: str, today: dt.date) -> Period:
    """'this quarter', 'last quarter', 'this month', 'last month', 'this year', 'last year',
    'last 6 months' (up to 24); the end is tomorrow for periods that run to today."""
    words = " ".join(text.lower().split()) or DEFAULT_PERIOD
    tomorrow = today + dt.timedelta(days=1)
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    month_start = today.replace(day=1)
    if words == "this quarter":
        return Period(quarter_start, tomorrow, "this quarter")
    if words == "last quarter":
        return Period(_months_before(quarter_start, 3), quarter_start, "last quarter")
    if words == "this month":
        return Period(month_start, tomorrow, "this month")
    if words == "last month":
        return Period(_months_before(month_start, 1), month_start, "last month")
    if words == "this year":
        return Period(dt.date(today.year, 1, 1), tomorrow, "this year")
    if words == "last year":
        return Period(dt.date(today.year - 1, 1, 1), dt.date(today.year, 1, 1), "last year")
    match = re.fullmatch(r"(?:last|past) (\w+) months?", words)
    count = None
    if match:
        token = match[1]
        count = int(token) if token.isdigit() else _NUMBERS.get(token)
    if count is None or not 1 <= count <= 24:
        raise ReportError(
            f"I can report on this quarter, last quarter, this month, this year or the last "
            f"N months (up to 24), not '{text}'."
        )
    label = f"the last {count} month{'s' if count > 1 else ''}"
    return Period(_months_before(today, count), tomorrow, label)


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, 28))


def split_period(text: str) -> tuple[str, str]:
    """('unit Finance', 'last 6 months') from 'unit Finance last 6 months'."""
    text = " ".join(text.split())
    match = _PERIOD_RE.search(text)
    if match is None:
        return text, ""
    return text[: match.start()].strip(), match["period"]


def may_see_person(session: Session, org: Organisation, viewer: Person, other: Person) -> bool:
    """Their own figures; an admin's; a liaison's (or lead's) of a person of their unit."""
    if viewer.id == other.id or viewer.handle in org.admins:
        return True
    return bool(other.home_unit) and may_see_unit(session, org, viewer, other.home_unit)


def may_see_unit(session: Session, org: Organisation, viewer: Person, unit_id: str) -> bool:
    if commitments.can_oversee(org, viewer, unit_id):
        return True
    unit = session.get(Unit, unit_id)
    return unit is not None and unit.lead_id == viewer.id


def units_seen(org: Organisation, viewer: Person) -> tuple[str, ...] | None:
    """The units whose figures a viewer sees across the board (None: all of them)."""
    return None if viewer.handle in org.admins else tuple(org.liaison_units(viewer.handle))


def resolve_scope(turn: Turn, text: str) -> Scope:
    """Whose figures, checked against who is asking; a ReportError says why not."""
    session, org, me = turn.session, turn.bot.org, turn.person
    words = text.strip()
    lowered = words.lower()
    if not words or lowered in ("me", "mine", "my"):
        return Scope("person", f"@{me.handle}", person_id=me.id)
    if (mention := parse_mention(words)) is not None:
        other = resolve_person(session, mention, me, turn.channel)
        if other is None:
            raise ReportError("I don't know that person yet. Check the spelling.")
        if not may_see_person(session, org, me, other):
            raise ReportError(
                f"Only @{other.handle}, their unit's liaison or an admin can see their figures."
            )
        return Scope("person", f"@{other.handle}", person_id=other.id)
    if lowered in ("it", "business"):
        seen = units_seen(org, me)
        if seen == ():
            raise ReportError("The IT and business figures are for liaisons and admins.")
        label = "IT" if lowered == "it" else "The business side"
        if seen is not None:
            label += " in your units"
        return Scope(lowered, label, it_people=figures.it_people(session, org), units=seen)
    unit_text = re.sub(r"^units?\s+", "", words, flags=re.I)
    unit_id = org.unit_key(unit_text)
    if unit_id is None:
        names = ", ".join(u.name for u in org.units.values()) or "none configured"
        raise ReportError(f"I don't know the unit '{unit_text}'. Units: {names}.")
    if not may_see_unit(session, org, me, unit_id):
        raise ReportError(
            f"{org.units[unit_id].name}'s figures are for its lead, its liaison and admins."
        )
    return Scope("unit", org.units[unit_id].name, unit_id=unit_id)


def report(turn: Turn, command: Query) -> list[Outgoing]:
    """`commitments report ...`: the figures as a short list."""
    scope_text, period_text = split_period(command.arg or "")
    try:
        period = parse_period(period_text, turn.today)
        scope = resolve_scope(turn, scope_text)
    except ReportError as exc:
        return say(str(exc), private=True)
    found = figures.compute(turn.session, scope, period, turn.now(), turn.today)
    title = f"Promise-keeping of {scope.label}, {period.label} ({_span(period)}):"
    reply = Reply(title, items=tuple(lines(found)), private=True, kind=ReplyKind.LIST)
    return [Outgoing(reply)]


def _span(period: Period) -> str:
    last = period.end - dt.timedelta(days=1)
    return f"{period.start:%d %b %Y} to {last:%d %b %Y}"


def lines(found: Figures) -> list[Item]:
    """The figures in words, one line each (the chat report and the cycle briefing)."""
    rate = found.on_time_rate
    out = [
        Item(
            f"On time: {round(rate * 100)}% ({found.kept} of {found.due} due)"
            if rate is not None
            else "On time: nothing fell due"
        ),
        Item(
            f"Days late: median {found.late.median}, 90th percentile {found.late.p90} "
            f"({found.late.count} late)"
            if found.late.count
            else "Days late: none late"
        ),
        Item(
            f"Due dates moved: {found.date_changes} time{'s' if found.date_changes != 1 else ''} "
            f"on {found.moved_items} commitment{'s' if found.moved_items != 1 else ''}"
        ),
        Item(
            f"Time to answer a request: median {_hours(found.answer_hours.median)}, "
            f"90th percentile {_hours(found.answer_hours.p90)}"
            + (f"; {found.unanswered} not answered yet" if found.unanswered else "")
            if found.answer_hours.count
            else "Time to answer a request: "
            + (f"{found.unanswered} not answered yet" if found.unanswered else "no requests")
        ),
        Item(
            f"Time stuck (blocked): median {found.stuck_days.median} days, 90th percentile "
            f"{found.stuck_days.p90} days ({found.stuck_days.count} times)"
            if found.stuck_days.count
            else "Time stuck (blocked): never blocked"
        ),
        Item("Open now by age: " + ", ".join(f"{label} {n}" for label, n in found.open_ages)),
    ]
    return out


def _hours(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value} h" if value < 48 else f"{value // 24} days"


def since_last_cycle(
    session: Session, unit_id: str, unit_name: str, start: dt.date, now: dt.datetime, today: dt.date
) -> list[Item]:
    """The unit's figures since its last cycle, for the liaison's briefing."""
    period = Period(start, today + dt.timedelta(days=1), f"since {start:%d %b %Y}")
    found = figures.compute(session, Scope("unit", unit_name, unit_id=unit_id), period, now, today)
    return lines(found)
