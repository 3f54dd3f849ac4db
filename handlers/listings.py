"""A listing: sections of commitments, each with its count, a page of its items and a line
to its next page (a "next" button carries the place of the last item shown, so the next
page starts right after it however the list changed meanwhile)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from handlers import commitments
from handlers.messages import ActionId, Choice, Item, Outgoing, Reply, ReplyKind, section_size
from handlers.turn import Turn, record_id, say

Fetch = Callable[[int, int, commitments.Key | None], commitments.Page]


@dataclass(frozen=True)
class Section:
    key: str  # which section of its listing a "next" button asks for
    heading: str  # "" for a listing of one section
    fetch: Fetch  # (limit, offset, after) -> a page of it


@dataclass(frozen=True)
class Listing:
    scope: str  # the `commitments <scope>` it answers, carried by its "next" buttons
    arg: str  # what the scope needs to be asked again: a person's id, a unit's key
    typed: str  # the command to type for the next page
    title: str
    sections: list[Section]


def listing(
    turn: Turn,
    found: Listing,
    page: int = 1,
    size: int | None = None,
    after: commitments.Key | None = None,
) -> list[Outgoing]:
    """A listing, a page of each section: each section with its count, its items (each with
    the viewer's buttons, and why it is stuck where it is) and a line to its next page. The
    queries leave out what the viewer may not see, and an empty list says the same thing
    whatever was left out. `after` is where a "next" button's page starts."""
    me = turn.person
    size = size or section_size(len(found.sections))
    offset = (page - 1) * size
    pages = [(section, section.fetch(size, offset, after)) for section in found.sections]
    shown = [c for _, p in pages for c in p.items]
    commitments.load_people(
        turn.session, {c.owner_id for c in shown} | {c.requester_id for c in shown}
    )
    items: list[Item] = []
    for section, got in pages:
        if section.heading:
            items.append(Item(f"{section.heading} ({got.counted})", heading=True))
        for c in got.items:
            why = got.reasons.get(c.id)
            text = turn.describe(c) + (f" · {why}" if why else "")
            items.append(Item(text, turn.buttons(c, me.id)))
        if got.rest:
            items.append(_next(found, section, got, page, size))
    total = sum(got.total for _, got in pages)
    if total == 0:
        # The same words whether or not there are items the viewer may not see, so that an
        # empty answer reveals nothing about other people's commitments.
        return say(f"{found.title}: nothing open that you can see.", private=True)
    if not shown:
        counted = pages[0][1].counted if len(pages) == 1 else f"{total:,}"
        return say(f"{found.title}: there is no page {page}; {counted} in all.", private=True)
    return [
        Outgoing(Reply(f"{found.title}:", items=tuple(items), private=True, kind=ReplyKind.LIST))
    ]


def _next(found: Listing, section: Section, got: commitments.Page, page: int, size: int) -> Item:
    start = got.offset + len(got.items)
    label = f"Next {min(size, got.rest)}"
    due, number = got.last or (None, 0)
    place = f"{due.isoformat() if due else ''}:{number}"
    choice = Choice.of(
        label, ActionId.LIST_MORE, q=found.scope, a=found.arg, s=section.key, o=start, k=place
    )
    text = (
        f"{start + 1}–{start + min(size, got.rest)} of {got.counted} next: "
        f"type 'commitments {found.typed} page {page + 1}'"
    )
    return Item(text, (choice,))


def place(value: object) -> commitments.Key | None:
    """The place a "next" button carries ("2026-12-01:42", ":42" when undated), or None
    (an older button, or a mangled one: the page is then found by its count)."""
    due, _, number = str(value or "").partition(":")
    try:
        day = dt.date.fromisoformat(due) if due else None
    except ValueError:
        return None
    return (day, record_id(number)) if record_id(number) else None
