"""The intake's roles step: keep, drop or reassign each of the playbook's hidden IT roles,
and the RASCI gaps worth a warning before saving."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlmodel import Session

from handlers.intake_slots import Context, IntakeInputError, answers, person_answer
from handlers.people import name_of
from handlers.playbooks import Playbook, Role
from storage.models import IntakeSession, Person, Unit

LETTERS = ("R", "A", "S", "C", "I")
LETTER_WORDS = {
    "assign": "R",
    "responsible": "R",
    "accountable": "A",
    "support": "S",
    "supporting": "S",
    "consult": "C",
    "consulted": "C",
    "inform": "I",
    "informed": "I",
}
YES = {"ok", "okay", "yes", "y", "looks good", "good", "fine", "done", "keep", "keep all", "save"}


def _default_people(ctx: Context, data: dict[str, Any]) -> dict[str, int | None]:
    unit = ctx.session.get(Unit, data.get("unit") or "") if data.get("unit") else None
    return {"business": data.get("owner"), "it": unit.liaison_id if unit else None, "vendor": None}


def roles_state(ctx: Context, intake: IntakeSession, data: dict[str, Any]) -> dict[str, Any]:
    """Per role: kept or not, and for each RASCI letter the party and person."""
    if isinstance(data.get("rasci"), dict):
        return data["rasci"]
    playbook = ctx.catalogue[data["kind"]]
    people = _default_people(ctx, data)
    state = {}
    for role in playbook.roles:
        cells = [
            {"letter": letter, "party": party, "person": people[party]}
            for letter, party in role.letters()
        ]
        state[role.key] = {"keep": True, "cells": cells}
    return state


def apply_roles_command(
    ctx: Context, intake: IntakeSession, data: dict[str, Any], raw: str
) -> bool:
    """Apply 'drop 2', 'keep 2', 'assign 3 @lee', 'C 4 @kim'... True when the roles are agreed."""
    playbook = ctx.catalogue[data["kind"]]
    state = roles_state(ctx, intake, data)
    data["rasci"] = state
    lowered = raw.lower()
    if lowered in YES or lowered == "1":
        return True
    if lowered.startswith("{"):
        return _apply_roles_value(ctx, playbook, state, raw)
    match = re.match(r"^(drop|remove|keep|add)\s+([\d ,]+)$", lowered)
    if match:
        for number in re.findall(r"\d+", match.group(2)):
            role = _role_at(playbook, number)
            state[role.key]["keep"] = match.group(1) in ("keep", "add")
        return False
    match = re.match(r"^(\w+)\s+(\d+)\s+(?:to\s+)?(.+)$", raw, re.I)
    if match:
        word = match.group(1).lower()
        letter = word.upper() if word.upper() in LETTERS else LETTER_WORDS.get(word)
        if letter:
            role = _role_at(playbook, match.group(2))
            who = person_answer(ctx, match.group(3), intake.person_id)
            _set_person(state[role.key], letter, who)
            state[role.key]["keep"] = True
            return False
    raise IntakeInputError(
        "Say 'ok' to keep these, 'drop 3' to drop a role, or 'assign 2 @pat' to make "
        "someone responsible (also 'accountable 2 @pat', 'consult 2 @kim')."
    )


def _apply_roles_value(ctx: Context, playbook: Playbook, state: dict, raw: str) -> bool:
    """The structured form channels with pickers send: {"drop": [...], "assign": {...}}."""
    unreadable = IntakeInputError(
        "I couldn't read that choice of roles. Say 'ok', 'drop 3' or 'assign 2 @pat'."
    )
    try:
        value = json.loads(raw)
    except ValueError:
        raise unreadable from None
    if not isinstance(value, dict):
        raise unreadable
    drop, assign = value.get("drop", []), value.get("assign") or {}
    if not isinstance(drop, list) or not isinstance(assign, dict):
        raise unreadable
    for key in drop:
        if isinstance(key, str) and key in state:
            state[key]["keep"] = False
    for key, person_id in assign.items():
        if key not in state:
            continue
        if isinstance(person_id, bool) or not isinstance(person_id, int):
            raise unreadable
        if ctx.session.get(Person, person_id) is None:
            raise IntakeInputError("I don't know that person. Pick someone I know.")
        _set_person(state[key], "R", person_id)
    return bool(value.get("agree", True))


def _role_at(playbook: Playbook, number: str) -> Role:
    index = int(number) - 1
    if not 0 <= index < len(playbook.roles):
        raise IntakeInputError(
            f"There's no role {number}; they're numbered 1 to {len(playbook.roles)}."
        )
    return playbook.roles[index]


def _set_person(role_state: dict[str, Any], letter: str, person_id: int) -> None:
    cells = role_state["cells"]
    for cell in cells:
        if cell["letter"] == letter and (letter in "RA" or cell["person"] in (None, person_id)):
            cell["person"] = person_id
            return
    cells.append({"letter": letter, "party": "business", "person": person_id})


def roles_view(ctx: Context, intake: IntakeSession) -> list[tuple[int, str, bool, str]]:
    """(number, title, kept, 'R: IT @sam · A: business @pat ...') for each role."""
    data = answers(intake)
    playbook = ctx.catalogue[data["kind"]]
    state = roles_state(ctx, intake, data)
    rows = []
    for number, role in enumerate(playbook.roles, start=1):
        cells = state[role.key]["cells"]
        parts = []
        for letter in LETTERS:
            who = [
                party_label(c["party"], c["person"], ctx.session)
                for c in cells
                if c["letter"] == letter
            ]
            if who:
                parts.append(f"{letter}: {', '.join(who)}")
        rows.append((number, role.title, state[role.key]["keep"], " · ".join(parts)))
    return rows


def party_label(party: str, person_id: int | None, session: Session) -> str:
    label = {"it": "IT", "business": "business", "vendor": "vendor"}.get(party, party)
    return f"{label} {name_of(session, person_id)}" if person_id else label


def gaps(ctx: Context, intake: IntakeSession) -> list[str]:
    """RASCI gaps worth a warning: no one Accountable, or security/privacy with no one Consulted."""
    data = answers(intake)
    playbook = ctx.catalogue.get(data.get("kind") or "")
    if playbook is None:
        return []
    state = roles_state(ctx, intake, data)
    warnings = []
    kept_sensitive = 0
    for role in playbook.roles:
        role_state = state[role.key]
        if not role_state["keep"]:
            continue
        cells = role_state["cells"]
        if not any(c["letter"] == "A" and c["person"] for c in cells):
            warnings.append(f"No one is named Accountable for “{role.title}”.")
        if role.sensitive:
            kept_sensitive += 1
            if not any(c["letter"] == "C" for c in cells):
                warnings.append(f"No one is Consulted on “{role.title}”.")
    if any(r.sensitive for r in playbook.roles) and not kept_sensitive:
        warnings.append("Every security and privacy role was dropped; is no one looking at them?")
    return warnings
