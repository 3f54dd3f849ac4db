"""Input cycles: a briefing for a unit's liaison ahead of its cycle, and the look-ahead
questionnaire for its lead on the day (one of the sweeps' NUDGE_RULES)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import Row
from sqlmodel import Session, select

from handlers import commitments, reports, similar
from handlers.dates import describe_date
from handlers.messages import ActionId, Choice, Form, FormField, Item, Reply
from handlers.org import Organisation
from handlers.owed import OwedMessage, SendWindow
from storage.models import Cycle, Initiative, Person, Unit

CYCLE_WINDOW_DAYS = 14  # a questionnaire still goes out this long after its day


def cycle_dates(months: Iterable[int], around: dt.date) -> list[dt.date]:
    """Cycle days (the 1st of each cycle month) from last year to next year."""
    return sorted(
        dt.date(year, month, 1)
        for year in (around.year - 1, around.year, around.year + 1)
        for month in months
    )


def unit_months(unit: Unit) -> list[int]:
    return [int(m) for m in unit.cycle_months.split(",") if m.strip().isdigit()]


def next_cycle(unit: Unit, today: dt.date) -> dt.date | None:
    return next((d for d in cycle_dates(unit_months(unit), today) if d >= today), None)


def cycle_messages(
    session: Session,
    org: Organisation,
    window: SendWindow,
    stuck: list[tuple[Row, str]] | None = None,
) -> list[OwedMessage]:
    """The liaison's briefing ahead of each unit's cycle, and the lead's questionnaire on the
    day (sent for a while after, so a sweep that runs late still asks)."""
    found = []
    ahead = dt.timedelta(days=org.thresholds.briefing_days_ahead)
    for unit in session.exec(select(Unit).order_by(Unit.id)).all():
        for day in cycle_dates(unit_months(unit), window.now.date()):
            if unit.liaison_id:
                liaison = session.get(Person, unit.liaison_id)
                local = window.local(liaison, unit.id)
                if window.send_time(local) and day - ahead <= local.date() < day:
                    found.append(_briefing(session, org, unit, day, local.date()))
            lead_id = unit.lead_id or unit.liaison_id
            if lead_id:
                lead = session.get(Person, lead_id)
                local = window.local(lead, unit.id)
                late = dt.timedelta(days=CYCLE_WINDOW_DAYS)
                if window.send_time(local) and day <= local.date() < day + late:
                    found.append(_questionnaire(session, unit, day, lead_id))
    return found


def _briefing(
    session: Session, org: Organisation, unit: Unit, day: dt.date, today: dt.date
) -> OwedMessage:
    open_initiatives = session.exec(
        select(Initiative)
        .where(Initiative.unit_id == unit.id, Initiative.status.in_(["planning", "active"]))
        .order_by(Initiative.target_date)
    ).all()
    stuck = commitments.stuck(
        session, org, dt.datetime.combine(today, dt.time(12), dt.UTC), [unit.id]
    )
    last = session.exec(
        select(Cycle)
        .where(Cycle.unit_id == unit.id, Cycle.cycle_date < day, Cycle.answered_at.is_not(None))
        .order_by(Cycle.cycle_date.desc())
    ).first()
    items = [Item(f"Open initiatives ({len(open_initiatives)})", heading=True)]
    items += [
        Item(
            f"#{i.id} {i.title}"
            + (f", target {describe_date(i.target_date, today)}" if i.target_date else "")
            + "".join(f" · {x.text}" for x in similar.linked_items(session, org, i.id))
        )
        for i in open_initiatives[:15]
    ]
    items.append(Item(f"Stuck items ({len(stuck)})", heading=True))
    items += [Item(f"{commitments.describe(session, c, today)} · {why}") for c, why in stuck[:15]]
    previous = [d for d in cycle_dates(unit_months(unit), day) if d < day]
    since = last.cycle_date if last is not None else (previous[-1] if previous else None)
    if since is not None:
        items.append(Item(f"Promise-keeping since {since:%d %b %Y}", heading=True))
        now = dt.datetime.combine(today, dt.time(12), dt.UTC)
        items += reports.since_last_cycle(session, unit.id, unit.name, since, now, today)
    if last is not None:
        items.append(Item(f"Last cycle ({last.cycle_date:%B %Y})", heading=True))
        for label, text in (("6 months", last.six_months), ("12 months", last.twelve_months)):
            if text:
                items.append(Item(f"{label}: {text[:500]}"))
        if last.notes:
            items.append(Item(f"Notes: {last.notes[:500]}"))
    text = (
        f"Your input cycle with {unit.name} is on {describe_date(day, today)}. "
        "Here's where things stand:"
    )
    return OwedMessage(
        key=f"briefing:{unit.id}:{day.isoformat()}",
        kind="briefing",
        person_id=unit.liaison_id,
        reply=Reply(text, items=tuple(items), kind="briefing"),
    )


def cycle_form(unit_id: str, unit_name: str, day: dt.date) -> Form:
    state = json.dumps({"unit": unit_id, "cycle": day.isoformat()})
    fields = (
        FormField(
            "six_months",
            "In the next 6 months: any purchases, moves, hiring, events or data projects?",
            "long_text",
            optional=True,
        ),
        FormField(
            "twelve_months",
            "And in 6 to 12 months?",
            "long_text",
            optional=True,
        ),
    )
    return Form("cycle", f"{unit_name} look-ahead"[:24], fields, submit_label="Send", state=state)


def _questionnaire(session: Session, unit: Unit, day: dt.date, lead_id: int) -> OwedMessage:
    form = cycle_form(unit.id, unit.name, day)
    text = (
        f"It's input-cycle time for {unit.name}. Set the clock ahead six and twelve months: "
        "what's coming up? Purchases, moves, hiring, events, data? A line or two each is plenty, "
        "and I'll pick out what IT should help with."
    )
    choice = Choice("Answer the questions", ActionId.CYCLE_OPEN, form.state, "primary")
    return OwedMessage(
        key=f"questionnaire:{unit.id}:{day.isoformat()}",
        kind="questionnaire",
        person_id=lead_id,
        reply=Reply(text, choices=(choice,), form=form, kind="questionnaire"),
    )
