"""People and dates as Slack shows them: a person the core names as `@handle` becomes a real
mention (`<@U…>`, clickable, and it notifies), and a date the core writes ("Fri 27 Nov 2026")
becomes Slack's per-viewer date (`<!date^…^{date_short}|Fri 27 Nov 2026>`, the text kept as
the fallback).

The core writes no markup, so which handles are which Slack users is looked up after it has
answered (`with_people`, one query per batch of replies) and held for the rest of the task that
sends them; the renderer (blockkit) reads it through `mentions_for`, and is given nothing else.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar

from sqlalchemy import select

from handlers.messages import Outgoing, Reply
from storage.db import session_scope
from storage.models import Address, Person

CHANNEL = "slack"
PEOPLE: ContextVar[Mapping[str, str] | None] = ContextVar("liaison_slack_people", default=None)
HANDLE = re.compile(r"(?<![\w<@/.&])@([a-z0-9][a-z0-9._-]{0,119})")
SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}
DAY = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([1-9]|[12]\d|3[01]) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4})\b"
)


def handles_in(replies: Iterable[Reply]) -> set[str]:
    found: set[str] = set()
    for reply in replies:
        texts = [reply.text, *(i.text for i in reply.items), *(v for _, v in reply.facts)]
        for text in texts:
            found.update(m.lower().rstrip("._-") for m in HANDLE.findall(text))
    return found


def slack_ids(engine, handles: set[str]) -> dict[str, str]:
    """handle -> Slack user id, for the handles that have a Slack address."""
    if not handles:
        return {}
    with session_scope(engine) as session:
        rows = session.execute(
            select(Person.handle, Address.external_id)
            .join(Address, Address.person_id == Person.id)
            .where(Person.handle.in_(sorted(handles)), Address.channel == CHANNEL)
        ).all()
    return {handle: uid for handle, uid in rows if SLACK_ID.match(uid)}


async def with_people(core, replies: list[Outgoing]) -> list[Outgoing]:
    """The replies, unchanged; the people they name are looked up, so that the rendering that
    follows in this task shows each as a real mention."""
    handles = handles_in(out.reply for out in replies)
    if handles:
        known = await asyncio.to_thread(slack_ids, core.engine, handles)
        PEOPLE.set({**(PEOPLE.get() or {}), **known})
    return replies


def mentions_for(text: str, people: Mapping[str, str] | None = None) -> str:
    """Escaped mrkdwn with each known `@handle` as a mention and each date as Slack's date."""
    people = (PEOPLE.get() or {}) if people is None else people

    def person(match: re.Match) -> str:
        handle = match[1].rstrip("._-")
        uid = people.get(handle.lower())
        return match[0].replace(f"@{handle}", f"<@{uid}>", 1) if uid else match[0]

    return DAY.sub(slack_date, HANDLE.sub(person, text) if people else text)


def slack_date(match: re.Match) -> str:
    """`<!date^…^{date_short}|fallback>`: noon UTC, so the day is the same for every viewer
    from UTC-11 to UTC+11."""
    try:
        day = dt.date(int(match[3]), MONTHS[match[2]], int(match[1]))
    except ValueError:  # "Mon 31 Feb": not a date, left as written
        return match[0]
    noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
    return f"<!date^{int(noon.timestamp())}^{{date_short}}|{match[0]}>"
