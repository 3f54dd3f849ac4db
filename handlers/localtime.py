"""The one rule for a person's local "now" and "today".

A person's own time zone wins; else the unit the matter belongs to; else the person's home
unit; else the organisation's. Replies (due dates in words), the sweeps (digests at 9:00
local) and "overdue" (a due date before the recipient's today) all ask here, so a unit in
Auckland gets its digest at 9:00 Auckland time and sees an item overdue on Auckland's date.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Protocol

from handlers.org import Organisation


class Placed(Protocol):
    """Anything with a person's zone and home unit: a Person, or a row of its columns."""

    timezone: str | None
    home_unit: str | None


def zone_name(org: Organisation, person: Placed | None, unit_id: str | None = None) -> str:
    """The IANA zone for a person (or, with no person, for a unit or the organisation)."""
    if person is not None and person.timezone:
        return person.timezone
    return org.unit_timezone(unit_id or (person.home_unit if person is not None else None))


@functools.cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    """A zone by name, built once (the sweeps ask for thousands of people)."""
    return zoneinfo.ZoneInfo(name)


def local_now(
    org: Organisation, now: dt.datetime, person: Placed | None, unit_id: str | None = None
) -> dt.datetime:
    """`now` on the wall clock of the person (or unit) it is for."""
    return now.astimezone(zone(zone_name(org, person, unit_id)))


def local_today(
    org: Organisation, now: dt.datetime, person: Placed | None, unit_id: str | None = None
) -> dt.date:
    """Today's date where the person (or unit) is."""
    return local_now(org, now, person, unit_id).date()


def latest_today(now: dt.datetime) -> dt.date:
    """The latest date anywhere on Earth at `now` (UTC+14): no one's today is later, so a
    query for "due before someone's today" can use it as its upper bound."""
    return (now.astimezone(dt.UTC) + dt.timedelta(hours=14)).date()


def earliest_today(now: dt.datetime) -> dt.date:
    """The earliest date anywhere on Earth at `now` (UTC-12): everyone's today is this or
    later, so a due date before it is past for everyone."""
    return (now.astimezone(dt.UTC) - dt.timedelta(hours=12)).date()
