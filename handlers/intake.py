"""The intake conversation: from a signal (or on demand) to an initiative with a RASCI.

The steps are data, derived from the playbook: what, when, who owns it, the playbook's
questions, the hidden IT roles, then a confirmation. The state lives in an IntakeSession row,
so an intake survives restarts and can continue on any replica; each answer is validated on
its own, so a bad answer gets a sentence and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlmodel import Session, select

from handlers import commitments
from handlers.commands import find_mentions
from handlers.dates import DateParseError, describe_date, parse_due
from handlers.messages import Form, FormField
from handlers.org import Organisation
from handlers.people import means_me, name_of, resolve_person
from handlers.playbooks import Catalogue, Playbook, Role
from storage.models import (
    EXCERPT_LIMIT,
    Initiative,
    IntakeSession,
    IntakeStatus,
    Person,
    RoleAssignment,
    Unit,
    utcnow,
)

StepKind = Literal["kind", "unit", "text", "date", "person", "roles", "confirm"]
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
CANCEL = {"cancel", "stop", "quit intake", "never mind", "nevermind", "abort"}
SKIP = {"skip", "-", "none", "n/a", "not sure", "don't know", "dont know", "no idea"}


class IntakeInputError(ValueError):
    """An answer that can't be used; str() is a sentence saying what to do next."""


@dataclass(frozen=True)
class Step:
    key: str
    kind: StepKind
    prompt: str
    optional: bool = False


@dataclass(frozen=True)
class Context:
    """What the intake needs from around it."""

    session: Session
    org: Organisation
    catalogue: Catalogue
    today: dt.date
    channel: str


@dataclass(frozen=True)
class Outcome:
    """The result of feeding an answer to the intake."""

    intake: IntakeSession
    error: str | None = None
    initiative: Initiative | None = None
    new_commitments: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.intake.status != IntakeStatus.OPEN


def answers(intake: IntakeSession) -> dict[str, Any]:
    try:
        loaded = json.loads(intake.answers or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _save(ctx: Context, intake: IntakeSession, data: dict[str, Any]) -> None:
    intake.answers = json.dumps(data, separators=(",", ":"))
    intake.updated_at = utcnow()
    intake.step = current_step(ctx, intake).key if intake.status == IntakeStatus.OPEN else ""
    ctx.session.add(intake)
    ctx.session.flush()


def open_intake(session: Session, person_id: int, conversation: str) -> IntakeSession | None:
    """The person's unfinished intake in this conversation, if any."""
    query = select(IntakeSession).where(
        IntakeSession.person_id == person_id,
        IntakeSession.conversation == conversation,
        IntakeSession.status == IntakeStatus.OPEN,
    )
    return session.exec(query.order_by(IntakeSession.id.desc())).first()


def start(
    ctx: Context,
    person: Person,
    *,
    conversation: str,
    source_key: str,
    kind: str | None = None,
    unit_id: str | None = None,
    excerpt: str | None = None,
    link: str | None = None,
) -> tuple[IntakeSession, bool]:
    """Open an intake, or return the one this source already opened (never a duplicate).

    Returns the intake and whether it is new.
    """
    existing = ctx.session.exec(
        select(IntakeSession).where(IntakeSession.source_key == source_key)
    ).first()
    if existing is not None:
        return existing, False
    if kind is not None and kind not in ctx.catalogue:
        kind = None
    data: dict[str, Any] = {}
    if kind:
        data["kind"] = kind
    if unit_id and unit_id in ctx.org.units:
        data["unit"] = unit_id
    if excerpt:
        data["suggested_title"] = suggest_title(excerpt)
    intake = IntakeSession(
        source_key=source_key[:300],
        person_id=person.id,
        channel=ctx.channel,
        conversation=conversation[:200],
        unit_id=data.get("unit"),
        kind=kind,
        source_excerpt=excerpt[:EXCERPT_LIMIT] if excerpt else None,
        source_link=link,
    )
    ctx.session.add(intake)
    ctx.session.flush()
    _save(ctx, intake, data)
    return intake, True


def suggest_title(excerpt: str) -> str:
    """A short title from the message: its first clause, capitalised, at most 80 characters."""
    text = re.sub(r"<[^>]+>|[*_~`]", "", excerpt).strip()
    text = re.split(r"(?<=[.!?])\s|\s[-–—]\s|;", text)[0].strip(" .!?")
    text = re.sub(
        r"^(heads up|fyi|so|ok|btw|hey( all| team| everyone)?)[:,]?\s+", "", text, flags=re.I
    )
    if len(text) > 80:
        text = text[:79].rsplit(" ", 1)[0] + "…"
    return text[:1].upper() + text[1:] if text else "New initiative"


def steps(ctx: Context, intake: IntakeSession) -> list[Step]:
    """The steps this intake needs, in order; the playbook adds its questions."""
    data = answers(intake)
    result: list[Step] = []
    if not data.get("kind"):
        result.append(Step("kind", "kind", "What kind of initiative is it?"))
    if ctx.org.units and not data.get("unit"):
        result.append(Step("unit", "unit", "Which unit is it for?"))
    suggested = data.get("suggested_title")
    hint = f" (or pick 1 to keep “{suggested}”)" if suggested else ""
    result.append(Step("title", "text", f"What's the initiative, in a few words?{hint}"))
    result.append(
        Step(
            "target_date",
            "date",
            "When does it need to be ready? For example 'in ten months' or 'by March 1'.",
        )
    )
    result.append(
        Step("owner", "person", "Who owns it on the business side? Say 'me' or an @name.")
    )
    playbook = ctx.catalogue.get(data.get("kind") or "")
    if playbook:
        for question in playbook.questions:
            result.append(
                Step(f"q:{question.key}", "text", f"{question.prompt} (or 'skip')", optional=True)
            )
        result.append(Step("roles", "roles", "Here are the IT roles this usually needs."))
    result.append(Step("confirm", "confirm", "Shall I save it?"))
    return result


def current_step(ctx: Context, intake: IntakeSession) -> Step:
    data = answers(intake)
    for step in steps(ctx, intake):
        if step.key not in data:
            return step
    return steps(ctx, intake)[-1]


def feed(ctx: Context, intake: IntakeSession, text: str, actor: Person) -> Outcome:
    """Apply one answer (typed text or a picked choice's value) to the current step."""
    if intake.status != IntakeStatus.OPEN:
        return Outcome(intake)
    raw = " ".join((text or "").split())
    if raw.lower() in CANCEL:
        return cancel(ctx, intake)
    step = current_step(ctx, intake)
    data = answers(intake)
    try:
        if step.kind == "roles":
            if not _apply_roles_command(ctx, intake, data, raw):
                _save(ctx, intake, data)
                return Outcome(intake)
            data["rasci"] = _roles_state(ctx, intake, data)
            data[step.key] = True
        elif step.kind == "confirm":
            if raw.lower() in YES | {"1"}:
                return complete(ctx, intake, actor)
            if raw.lower() in {"2", "no"}:
                return cancel(ctx, intake)
            raise IntakeInputError("Reply 'save' to save it, or 'cancel' to drop it.")
        else:
            data[step.key] = validate(ctx, intake, step, raw, data)
    except IntakeInputError as exc:
        return Outcome(intake, error=str(exc))
    if step.key == "kind":
        intake.kind = data["kind"]
    if step.key == "unit":
        intake.unit_id = data["unit"]
    _save(ctx, intake, data)
    return Outcome(intake)


def validate(
    ctx: Context, intake: IntakeSession, step: Step, raw: str, data: dict[str, Any]
) -> Any:
    """Check one answer; return the value to store or raise IntakeInputError."""
    if len(raw) > 2000:
        raise IntakeInputError("That's longer than I can use here. A sentence or two is plenty.")
    if step.kind == "kind":
        return _pick(raw, [(k, pb.title) for k, pb in ctx.catalogue.items()], "kind")
    if step.kind == "unit":
        return _pick(raw, [(k, u.name) for k, u in ctx.org.units.items()], "unit")
    if step.kind == "date":
        if not raw:
            raise IntakeInputError("When should it be ready? Try 'in ten months' or 'by March 1'.")
        try:
            return parse_due(raw, ctx.today).isoformat()
        except DateParseError as exc:
            raise IntakeInputError(str(exc)) from None
    if step.kind == "person":
        return _person(ctx, raw, intake.person_id)
    if step.optional and (not raw or raw.lower() in SKIP):
        return None
    if step.key == "title" and data.get("suggested_title") and raw.lower() in {"1", "keep"}:
        return data["suggested_title"]
    if not raw:
        raise IntakeInputError("I didn't catch that. A few words are enough.")
    limit = 120 if step.key == "title" else 500
    if len(raw) > limit:
        raise IntakeInputError(f"Please keep it under {limit} characters.")
    return raw


def _pick(raw: str, options: list[tuple[str, str]], what: str) -> str:
    wanted = raw.strip().lower().lstrip("#")
    if wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1][0]
    for key, label in options:
        if wanted in (key.lower(), label.lower()):
            return key
    listed = ", ".join(f"{n}. {label}" for n, (_, label) in enumerate(options, 1))
    raise IntakeInputError(f"I don't know that {what}. Pick one of: {listed}.")


def _person(ctx: Context, raw: str, me: int) -> int:
    if means_me(raw):
        return me
    person = resolve_person(ctx.session, raw, ctx.session.get(Person, me), ctx.channel)
    if person is not None:
        return person.id
    mentions = find_mentions(raw)
    if not mentions:
        raise IntakeInputError("Who is it? Say 'me', or mention them like @pat.")
    shown = mentions[0].handle or mentions[0].display or mentions[0].external_id
    raise IntakeInputError(
        f"I don't know @{shown} yet. Check the spelling, or say 'me' and hand it over later."
    )


def cancel(ctx: Context, intake: IntakeSession) -> Outcome:
    intake.status = IntakeStatus.CANCELLED
    _save(ctx, intake, answers(intake))
    return Outcome(intake)


# Roles: keep, drop or reassign each hidden IT role.


def _default_people(ctx: Context, data: dict[str, Any]) -> dict[str, int | None]:
    unit = ctx.session.get(Unit, data.get("unit") or "") if data.get("unit") else None
    return {"business": data.get("owner"), "it": unit.liaison_id if unit else None, "vendor": None}


def _roles_state(ctx: Context, intake: IntakeSession, data: dict[str, Any]) -> dict[str, Any]:
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


def _apply_roles_command(
    ctx: Context, intake: IntakeSession, data: dict[str, Any], raw: str
) -> bool:
    """Apply 'drop 2', 'keep 2', 'assign 3 @lee', 'C 4 @kim'... True when the roles are agreed."""
    playbook = ctx.catalogue[data["kind"]]
    state = _roles_state(ctx, intake, data)
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
            who = _person(ctx, match.group(3), intake.person_id)
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
    state = _roles_state(ctx, intake, data)
    rows = []
    for number, role in enumerate(playbook.roles, start=1):
        cells = state[role.key]["cells"]
        parts = []
        for letter in LETTERS:
            who = [
                _party_label(c["party"], c["person"], ctx.session)
                for c in cells
                if c["letter"] == letter
            ]
            if who:
                parts.append(f"{letter}: {', '.join(who)}")
        rows.append((number, role.title, state[role.key]["keep"], " · ".join(parts)))
    return rows


def _party_label(party: str, person_id: int | None, session: Session) -> str:
    label = {"it": "IT", "business": "business", "vendor": "vendor"}.get(party, party)
    return f"{label} {name_of(session, person_id)}" if person_id else label


def gaps(ctx: Context, intake: IntakeSession) -> list[str]:
    """RASCI gaps worth a warning: no one Accountable, or security/privacy with no one Consulted."""
    data = answers(intake)
    playbook = ctx.catalogue.get(data.get("kind") or "")
    if playbook is None:
        return []
    state = _roles_state(ctx, intake, data)
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


# Completion.


def complete(ctx: Context, intake: IntakeSession, actor: Person) -> Outcome:
    """Save the initiative, its RASCI and a commitment per Responsible person, exactly once."""
    ctx.session.refresh(intake, with_for_update=ctx.session.bind.dialect.name != "sqlite")
    if intake.status != IntakeStatus.OPEN:
        return Outcome(intake)
    data = answers(intake)
    playbook = ctx.catalogue[data["kind"]]
    target = dt.date.fromisoformat(data["target_date"]) if data.get("target_date") else None
    owner_id = data.get("owner") or intake.person_id
    details = {k[2:]: v for k, v in data.items() if k.startswith("q:") and v}
    initiative = Initiative(
        kind=playbook.kind,
        title=data.get("title") or "New initiative",
        unit_id=data.get("unit"),
        requester_id=intake.person_id,
        owner_id=owner_id,
        target_date=target,
        source_excerpt=intake.source_excerpt,
        source_link=intake.source_link,
        source_channel=intake.channel,
        details=json.dumps(details),
    )
    ctx.session.add(initiative)
    ctx.session.flush()
    state = _roles_state(ctx, intake, data)
    created: list[int] = []
    for role in playbook.roles:
        if not state[role.key]["keep"]:
            continue
        for cell in state[role.key]["cells"]:
            ctx.session.add(
                RoleAssignment(
                    initiative_id=initiative.id,
                    role_key=role.key,
                    role_title=role.title,
                    party=cell["party"],
                    person_id=cell["person"],
                    letter=cell["letter"],
                )
            )
        created += _commitments_for(ctx, initiative, role, state[role.key]["cells"], owner_id)
    warnings = tuple(gaps(ctx, intake))
    intake.status = IntakeStatus.DONE
    intake.initiative_id = initiative.id
    _save(ctx, intake, data)
    return Outcome(intake, initiative=initiative, new_commitments=tuple(created), warnings=warnings)


def _commitments_for(
    ctx: Context, initiative: Initiative, role: Role, cells: list[dict], owner_id: int
) -> list[int]:
    # The promise is made to the business owner of the initiative.
    requester = ctx.session.get(Person, owner_id)
    due = None
    if initiative.target_date:
        due = max(initiative.target_date - dt.timedelta(days=role.lead_days), ctx.today)
    created = []
    for cell in cells:
        if cell["letter"] != "R" or not cell["person"]:
            continue
        owner = ctx.session.get(Person, cell["person"])
        item = commitments.create(
            ctx.session,
            requester=requester,
            owner=owner,
            what=f"{role.title} for “{initiative.title}”",
            due=due,
            channel=ctx.channel,
            unit_id=initiative.unit_id,
            initiative_id=initiative.id,
            role_key=role.key,
        )
        created.append(item.id)
    return created


def summary_facts(ctx: Context, intake: IntakeSession) -> list[tuple[str, str]]:
    """What has been agreed so far, for a confirmation card."""
    data = answers(intake)
    facts = []
    playbook = ctx.catalogue.get(data.get("kind") or "")
    if playbook:
        facts.append(("Kind", playbook.title))
    if data.get("unit"):
        facts.append(("Unit", ctx.org.units[data["unit"]].name))
    if data.get("title"):
        facts.append(("What", data["title"]))
    if data.get("target_date"):
        target = dt.date.fromisoformat(data["target_date"])
        facts.append(("When", describe_date(target, ctx.today)))
    if data.get("owner"):
        facts.append(("Business owner", name_of(ctx.session, data["owner"])))
    if playbook and isinstance(data.get("rasci"), dict):
        kept = [r.title for r in playbook.roles if data["rasci"][r.key]["keep"]]
        facts.append(("IT roles", f"{len(kept)} of {len(playbook.roles)}"))
    return facts


# The whole intake as one form, for channels with modals (Slack) or cards (Teams).


def form(
    catalogue: Catalogue,
    org: Organisation,
    *,
    kind: str | None,
    unit_id: str | None,
    suggested_title: str | None,
    state: str = "",
) -> Form:
    """The intake as one form. Pure: it touches no database, so a modal opens at once."""
    fields: list[FormField] = []
    if kind not in catalogue:
        kind = None
        options = tuple((k, pb.title) for k, pb in catalogue.items())
        fields.append(
            FormField("kind", "What kind of initiative is it?", "choice", options=options)
        )
    if org.units and unit_id not in org.units:
        options = tuple((k, u.name) for k, u in org.units.items())
        fields.append(FormField("unit", "Which unit is it for?", "choice", options=options))
    fields.append(
        FormField("title", "What's the initiative, in a few words?", initial=suggested_title)
    )
    fields.append(
        FormField(
            "target_date",
            "When does it need to be ready?",
            "date",
            hint="For example 'in ten months' or 'by March 1'.",
        )
    )
    fields.append(FormField("owner", "Who owns it on the business side?", "person"))
    playbook = catalogue.get(kind or "")
    if playbook is not None:
        for question in playbook.questions:
            fields.append(
                FormField(f"q:{question.key}", question.prompt, "long_text", optional=True)
            )
        options = tuple((r.key, r.title) for r in playbook.roles)
        fields.append(
            FormField(
                "roles",
                "Which IT roles does it need? Untick the ones it doesn't.",
                "roles",
                options=options,
                initial=",".join(r.key for r in playbook.roles),
                optional=True,
            )
        )
    title = f"Plan: {playbook.title}" if playbook else "Plan it with IT"
    return Form("intake", title[:24], tuple(fields), submit_label="Save", state=state)


def submit(
    ctx: Context,
    person: Person,
    values: dict[str, Any],
    *,
    conversation: str,
    source_key: str,
    kind: str | None,
    unit_id: str | None,
    excerpt: str | None = None,
    link: str | None = None,
) -> Outcome | dict[str, str]:
    """Validate a whole submitted form; return field errors (nothing saved) or the outcome."""
    existing = ctx.session.exec(
        select(IntakeSession).where(IntakeSession.source_key == source_key)
    ).first()
    if existing is not None and existing.status != IntakeStatus.OPEN:
        return Outcome(existing)
    kind = kind if kind in ctx.catalogue else None
    data: dict[str, Any] = {}
    if kind:
        data["kind"] = kind
    if unit_id in ctx.org.units:
        data["unit"] = unit_id
    draft = IntakeSession(
        source_key=source_key, person_id=person.id, channel=ctx.channel, conversation=conversation
    )
    errors: dict[str, str] = {}
    for _ in range(2):  # the kind, once chosen, adds the playbook's questions
        draft.answers = json.dumps(data)
        for step in steps(ctx, draft):
            if step.key in data or step.kind in ("roles", "confirm"):
                continue
            raw = " ".join(str(values.get(step.key) or "").split())
            try:
                data[step.key] = validate(ctx, draft, step, raw, data)
            except IntakeInputError as exc:
                errors[step.key] = str(exc)
    if errors:
        return errors
    intake, _ = start(
        ctx,
        person,
        conversation=conversation,
        source_key=source_key,
        kind=data.get("kind"),
        unit_id=data.get("unit"),
        excerpt=excerpt,
        link=link,
    )
    kept = values.get("roles")
    data["rasci"] = _roles_state(ctx, intake, data)
    if isinstance(kept, list | tuple):
        for key, role_state in data["rasci"].items():
            role_state["keep"] = key in kept
    data["roles"] = True
    _save(ctx, intake, data)
    return complete(ctx, intake, person)
