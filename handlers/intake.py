"""The intake conversation: from a signal (or on demand) to an initiative with a RASCI.

The steps are data: the fixed questions are `INTAKE_SLOTS` (handlers.intake_slots, which
drives both the chat and the form), then the playbook's questions, the hidden IT roles
(handlers.intake_roles), then a confirmation. The state lives in an IntakeSession row,
so an intake survives restarts and can continue on any replica; each answer is validated on
its own, so a bad answer gets a sentence and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from handlers import webhooks
from handlers.dates import describe_date
from handlers.initiative_roles import commit_role
from handlers.intake_roles import (  # noqa: F401  (re-exported: the roles step)
    YES,
    apply_roles_command,
    gaps,
    roles_state,
    roles_view,
)
from handlers.intake_slots import (  # noqa: F401  (re-exported: the intake's questions)
    INTAKE_SLOTS,
    Context,
    IntakeInputError,
    Step,
    StepKind,
    answers,
    form,
    steps,
    validate,
)
from handlers.people import name_of
from storage.models import (
    EXCERPT_LIMIT,
    Initiative,
    IntakeSession,
    IntakeStatus,
    Person,
    RoleAssignment,
)

CANCEL = {"cancel", "stop", "quit intake", "never mind", "nevermind", "abort"}


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


def _save(ctx: Context, intake: IntakeSession, data: dict[str, Any]) -> None:
    intake.answers = json.dumps(data, separators=(",", ":"))
    intake.updated_at = ctx.now
    intake.step = current_step(ctx, intake).key if intake.status == IntakeStatus.OPEN else ""
    ctx.session.add(intake)
    ctx.session.flush()


def open_intake(
    session: Session, person_id: int, conversation: str, now: dt.datetime, expiry_hours: int
) -> IntakeSession | None:
    """The person's unfinished intake in this conversation, if any. One left untouched for
    `expiry_hours` has expired: it is closed now, so it never swallows an unrelated message."""
    query = select(IntakeSession).where(
        IntakeSession.person_id == person_id,
        IntakeSession.conversation == conversation,
        IntakeSession.status == IntakeStatus.OPEN,
    )
    found = session.exec(query.order_by(IntakeSession.id.desc())).first()
    if found is None:
        return None
    touched = (
        found.updated_at if found.updated_at.tzinfo else found.updated_at.replace(tzinfo=dt.UTC)
    )
    if now - touched < dt.timedelta(hours=expiry_hours):
        return found
    found.status = IntakeStatus.CANCELLED
    session.add(found)
    session.flush()
    return None


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
    title: str | None = None,
) -> tuple[IntakeSession, bool]:
    """Open an intake, or return the one this source already opened (never a duplicate).
    `title` (a second opinion's reading of the message) is suggested before the excerpt's.

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
    if isinstance(title, str) and title.strip():
        data["suggested_title"] = " ".join(title.split())[:120]
    elif excerpt:
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
        created_at=ctx.now,
        updated_at=ctx.now,
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
            if not apply_roles_command(ctx, intake, data, raw):
                _save(ctx, intake, data)
                return Outcome(intake)
            data["rasci"] = roles_state(ctx, intake, data)
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


def cancel(ctx: Context, intake: IntakeSession) -> Outcome:
    intake.status = IntakeStatus.CANCELLED
    _save(ctx, intake, answers(intake))
    return Outcome(intake)


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
    state = roles_state(ctx, intake, data)
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
        responsible = [c["person"] for c in state[role.key]["cells"] if c["letter"] == "R"]
        created += commit_role(
            ctx.session,
            initiative,
            role,
            [person_id for person_id in responsible if person_id],
            requester=ctx.session.get(Person, owner_id),  # the promise is to the business owner
            today=ctx.today,
            channel=ctx.channel,
            now=ctx.now,
            org=ctx.org,
        )
    warnings = tuple(gaps(ctx, intake))
    intake.status = IntakeStatus.DONE
    intake.initiative_id = initiative.id
    _save(ctx, intake, data)
    saved = webhooks.initiative_data(initiative, created)
    webhooks.record(ctx.session, ctx.org, "initiative.saved", saved, ctx.now)
    return Outcome(intake, initiative=initiative, new_commitments=tuple(created), warnings=warnings)


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
    data["rasci"] = roles_state(ctx, intake, data)
    if isinstance(kept, list | tuple):
        for key, role_state in data["rasci"].items():
            role_state["keep"] = key in kept
    data["roles"] = True
    _save(ctx, intake, data)
    return complete(ctx, intake, person)
