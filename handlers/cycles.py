"""Input cycles: a unit's look-ahead answers are kept for the next briefing, and every
initiative they mention is offered for planning. The questionnaire itself is sent by the
sweeps (handlers.nudges) and opened by the channels (`Liaison.cycle_form`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from sqlmodel import select

from handlers import cycle_followup, offers
from handlers.messages import Outgoing
from handlers.turn import Turn, say
from storage.models import Cycle, Unit

CYCLE_FIELDS = ("six_months", "twelve_months")
MAX_ANSWER = 4000


def submit(turn: Turn, data: dict) -> list[Outgoing]:
    """A unit's look-ahead answers: keep them for the next briefing, and offer to plan
    every initiative they mention."""
    state = data.get("state") or {}
    values = data.get("values") or {}
    unit = turn.session.get(Unit, str(state.get("unit") or ""))
    try:
        day = dt.date.fromisoformat(str(state.get("cycle") or ""))
    except ValueError:
        day = None
    if unit is None or day is None:
        return say("That questionnaire is out of date. Nothing was saved.", private=True)
    me = turn.person
    if me.id not in (unit.lead_id, unit.liaison_id) and me.handle not in turn.bot.org.admins:
        return say(f"Only {unit.name}'s lead or liaison can answer its look-ahead.", private=True)
    answers = {k: " ".join(str(values.get(k) or "").split())[:MAX_ANSWER] for k in CYCLE_FIELDS}
    cycle = _save(turn, unit, day, answers)
    found = []
    for field, text in answers.items():
        for index, sentence in enumerate(sentences(text)):
            signal = turn.bot.detect(sentence)
            for number, kind in enumerate(signal.kinds if signal else ()):  # every kind named
                mid = f"cycle-{cycle.id}-{field}-{index}" + (f"-{number}" if number else "")
                found.append((mid, replace(signal, kind=kind)))
    told = _tell_liaison(turn, unit, answers, [signal for _, signal in found])
    if not found:
        return (
            say(
                f"Thanks! I've kept your answers for {unit.name}'s cycle. I didn't spot anything "
                "with an IT side; your liaison will read them all the same."
            )
            + told
        )
    out = say(
        f"Thanks! I spotted {len(found)} thing{'s' if len(found) > 1 else ''} where IT can "
        "help. Want to plan any of them now?"
    )
    for mid, signal in found:
        out += offers.offer(turn, signal, unit_id=unit.id, message_id=mid)
    return out + told


def _tell_liaison(turn: Turn, unit: Unit, answers: dict[str, str], spotted: list) -> list[Outgoing]:
    """The unit's liaison hears that the look-ahead was answered, and what was spotted."""
    if not unit.liaison_id or unit.liaison_id == turn.person.id:
        return []
    titles = turn.bot.catalogue
    names = [
        f"{titles[s.kind].title.lower() if s.kind in titles else s.kind}: “{s.excerpt}”"
        for s in spotted
    ]
    note = cycle_followup.answered_note(turn.session, unit, turn.person, answers, names)
    return [Outgoing(note, to_person=unit.liaison_id)]


def _save(turn: Turn, unit: Unit, day: dt.date, answers: dict[str, str]) -> Cycle:
    """The cycle's row, created or updated with these answers."""
    cycle = turn.session.exec(
        select(Cycle).where(Cycle.unit_id == unit.id, Cycle.cycle_date == day)
    ).first() or Cycle(unit_id=unit.id, cycle_date=day)
    cycle.six_months = answers["six_months"] or None
    cycle.twelve_months = answers["twelve_months"] or None
    cycle.answered_by, cycle.answered_at = turn.person.id, turn.now()
    turn.session.add(cycle)
    turn.session.flush()
    return cycle


def sentences(text: str) -> list[str]:
    """Split free-text answers into sentences and list items, for detection one by one."""
    parts = re.split(r"(?<=[.!?;])\s+|\n+|\s+[•·-]\s+|^\s*[-•*]\s*", text or "")
    return [p.strip(" -•*") for p in parts if p and len(p.strip()) > 3]
