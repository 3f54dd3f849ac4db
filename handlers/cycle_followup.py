"""Input cycles followed through (one of the sweeps' NUDGE_RULES): a lead who has not answered
the look-ahead within `cycle_reminder_business_days` gets a reminder with the same button, and
if it is still unanswered that many business days after the reminder, the unit's liaison is
told. Each is a once-only message (ledger keys `cycle-reminder:<unit>:<day>` and
`cycle-unanswered:<unit>:<day>`), which handlers.cycle_status reads back.

When the lead answers, the liaison is told what they said and which initiatives were spotted
(`answered_note`, sent by handlers.cycles)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Row
from sqlmodel import Session, select

from handlers.briefings import _questionnaire
from handlers.cycle_status import current_cycle
from handlers.dates import business_days_between
from handlers.messages import Reply
from handlers.org import Organisation
from handlers.owed import OwedMessage, SendWindow
from handlers.people import name_of
from storage import ledger
from storage.models import Cycle, LedgerStatus, Person, Unit


def _sent_at(session: Session, key: str) -> dt.datetime | None:
    row = ledger.find(session, key)
    if row is None or row.status != LedgerStatus.SENT or row.sent_at is None:
        return None
    return row.sent_at if row.sent_at.tzinfo else row.sent_at.replace(tzinfo=dt.UTC)


def follow_ups(
    session: Session,
    org: Organisation,
    window: SendWindow,
    stuck: list[tuple[Row, str]] | None = None,
) -> list[OwedMessage]:
    """The reminders and the liaison's notes owed now, for every unit's current cycle."""
    wait = org.thresholds.cycle_reminder_business_days
    found = []
    for unit in session.exec(select(Unit).order_by(Unit.id)).all():
        day = current_cycle(unit, window.now.date())
        if day is None or day > window.now.date():
            continue
        answered = session.exec(
            select(Cycle.id).where(
                Cycle.unit_id == unit.id, Cycle.cycle_date == day, Cycle.answered_at.is_not(None)
            )
        ).first()
        if answered is not None:
            continue
        key = f"{unit.id}:{day.isoformat()}"
        asked = _sent_at(session, f"questionnaire:{key}")
        lead_id = unit.lead_id or unit.liaison_id
        if asked is None or lead_id is None:
            continue
        reminded = _sent_at(session, f"cycle-reminder:{key}")
        if reminded is None:
            lead = session.get(Person, lead_id)
            local = window.local(lead, unit.id)
            if (
                window.send_time(local)
                and business_days_between(asked, local, org.business_days) >= wait
            ):
                found.append(_reminder(session, unit, day, lead_id))
            continue
        if unit.liaison_id and unit.liaison_id != lead_id:
            liaison = session.get(Person, unit.liaison_id)
            local = window.local(liaison, unit.id)
            if (
                window.send_time(local)
                and business_days_between(reminded, local, org.business_days) >= wait
            ):
                found.append(_unanswered(session, unit, day, lead_id))
    return found


def _reminder(session: Session, unit: Unit, day: dt.date, lead_id: int) -> OwedMessage:
    asked = _questionnaire(session, unit, day, lead_id)
    text = (
        f"A reminder: {unit.name}'s look-ahead is still open. Two lines are plenty: what's "
        "coming up in the next six and twelve months?"
    )
    reply = Reply(text, choices=asked.reply.choices, form=asked.reply.form, kind="questionnaire")
    return OwedMessage(
        key=f"cycle-reminder:{unit.id}:{day.isoformat()}",
        kind="cycle_reminder",
        person_id=lead_id,
        reply=reply,
    )


def _unanswered(session: Session, unit: Unit, day: dt.date, lead_id: int) -> OwedMessage:
    text = (
        f"{name_of(session, lead_id)} hasn't answered {unit.name}'s look-ahead for the cycle of "
        f"{day:%d %b %Y}, even after a reminder. A call or a visit may work better."
    )
    return OwedMessage(
        key=f"cycle-unanswered:{unit.id}:{day.isoformat()}",
        kind="cycle_unanswered",
        person_id=unit.liaison_id,
        reply=Reply(text, kind="briefing"),
    )


def answered_note(
    session: Session, unit: Unit, who: Person, answers: dict[str, str], spotted: list[str]
) -> Reply:
    """What the liaison is told when the look-ahead is answered."""
    lines = [f"@{who.handle} answered {unit.name}'s look-ahead."]
    for label, key in (("Next 6 months", "six_months"), ("6 to 12 months", "twelve_months")):
        if answers.get(key):
            lines.append(f"{label}: {answers[key][:500]}")
    if spotted:
        lines.append(
            f"I spotted {len(spotted)} thing{'s' if len(spotted) > 1 else ''} with an "
            "IT side and offered to plan each: " + "; ".join(spotted)
        )
    else:
        lines.append("I didn't spot anything with an IT side.")
    return Reply("\n".join(lines), kind="briefing")
