"""The intake's questions, declared once (`INTAKE_SLOTS`), in the manner of Rasa's forms.

Each slot says what it asks, how it is drawn as a form field, when it is needed and how an
answer to it is checked. The step-by-step chat (`steps()`) and the whole-at-once form
(`form()`) are both read from this one table, so a question is worded, offered and validated
the same way in a DM, a Slack modal and a Teams card. A playbook adds its own questions
after the fixed slots (like Rasa's `required_slots` override), then the roles and a
confirmation close the chat.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlmodel import Session

from handlers.commands import find_mentions
from handlers.dates import DateParseError, parse_due
from handlers.messages import Form, FormField
from handlers.org import Organisation
from handlers.people import means_me, resolve_person
from handlers.playbooks import Catalogue
from storage.models import IntakeSession, Person

StepKind = Literal["kind", "unit", "text", "date", "person", "roles", "confirm"]
FieldKind = Literal["text", "long_text", "date", "person", "choice", "roles"]
SKIP = {"skip", "-", "none", "n/a", "not sure", "don't know", "dont know", "no idea"}
MAX_ANSWER = 2000


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
    now: dt.datetime  # the injected clock's time, for what the intake stores


def answers(intake: IntakeSession) -> dict[str, Any]:
    try:
        loaded = json.loads(intake.answers or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


# Validators, one per kind of answer: (context, intake, raw answer, answers so far) -> value.


def _pick(raw: str, options: list[tuple[str, str]], what: str) -> str:
    wanted = raw.strip().lower().lstrip("#")
    if wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1][0]
    for key, label in options:
        if wanted in (key.lower(), label.lower()):
            return key
    listed = ", ".join(f"{n}. {label}" for n, (_, label) in enumerate(options, 1))
    raise IntakeInputError(f"I don't know that {what}. Pick one of: {listed}.")


def validate_kind(ctx: Context, intake: IntakeSession, raw: str, data: dict) -> str:
    return _pick(raw, [(k, pb.title) for k, pb in ctx.catalogue.items()], "kind")


def validate_unit(ctx: Context, intake: IntakeSession, raw: str, data: dict) -> str:
    return _pick(raw, [(k, u.name) for k, u in ctx.org.units.items()], "unit")


def validate_date(ctx: Context, intake: IntakeSession, raw: str, data: dict) -> str:
    if not raw:
        raise IntakeInputError("When should it be ready? Try 'in ten months' or 'by March 1'.")
    try:
        return parse_due(raw, ctx.today, **ctx.org.date_rules).isoformat()
    except DateParseError as exc:
        raise IntakeInputError(str(exc)) from None


def validate_person(ctx: Context, intake: IntakeSession, raw: str, data: dict) -> int:
    return person_answer(ctx, raw, intake.person_id)


def person_answer(ctx: Context, raw: str, me: int) -> int:
    """A typed person (handlers.people.resolve_person), or a sentence saying whom to name."""
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


def _text(limit: int) -> Callable[[Context, IntakeSession, str, dict], str]:
    def validate_text(ctx: Context, intake: IntakeSession, raw: str, data: dict) -> str:
        if not raw:
            raise IntakeInputError("I didn't catch that. A few words are enough.")
        if len(raw) > limit:
            raise IntakeInputError(f"Please keep it under {limit} characters.")
        return raw

    return validate_text


def validate_title(ctx: Context, intake: IntakeSession, raw: str, data: dict) -> str:
    if data.get("suggested_title") and raw.lower() in {"1", "keep"}:
        return data["suggested_title"]
    return _text(120)(ctx, intake, raw, data)


Validator = Callable[[Context, IntakeSession, str, dict], Any]
Options = Callable[[Catalogue, Organisation], tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Slot:
    """One fixed question of every intake."""

    key: str
    label: str  # the question, as a form field's label and the start of the chat prompt
    step: StepKind
    field: FieldKind
    validate: Validator
    needed: Callable[[Organisation, dict], bool] = lambda org, data: True
    options: Options | None = None
    hint: str | None = None  # shown under the field, and after the question in chat
    say: str | None = None  # said after the question in chat only
    suggests_title: bool = False  # offers the title suggested from the message

    def prompt(self, data: dict[str, Any]) -> str:
        """The chat question for this slot."""
        extra = " ".join(p for p in (self.hint, self.say) if p)
        suggested = data.get("suggested_title") if self.suggests_title else None
        keep = f" (or pick 1 to keep “{suggested}”)" if suggested else ""
        return f"{self.label}{keep}" + (f" {extra}" if extra else "")


INTAKE_SLOTS: tuple[Slot, ...] = (
    Slot(
        "kind",
        "What kind of initiative is it?",
        "kind",
        "choice",
        validate_kind,
        needed=lambda org, data: not data.get("kind"),
        options=lambda catalogue, org: tuple((k, pb.title) for k, pb in catalogue.items()),
    ),
    Slot(
        "unit",
        "Which unit is it for?",
        "unit",
        "choice",
        validate_unit,
        needed=lambda org, data: bool(org.units) and not data.get("unit"),
        options=lambda catalogue, org: tuple((k, u.name) for k, u in org.units.items()),
    ),
    Slot(
        "title",
        "What's the initiative, in a few words?",
        "text",
        "text",
        validate_title,
        suggests_title=True,
    ),
    Slot(
        "target_date",
        "When does it need to be ready?",
        "date",
        "date",
        validate_date,
        hint="For example 'in ten months' or 'by March 1'.",
    ),
    Slot(
        "owner",
        "Who owns it on the business side?",
        "person",
        "person",
        validate_person,
        say="Say 'me' or an @name.",
    ),
)
SLOTS = {slot.key: slot for slot in INTAKE_SLOTS}
ROLES_LABEL = "Which IT roles does it need? Untick the ones it doesn't."


def steps(ctx: Context, intake: IntakeSession) -> list[Step]:
    """The chat's steps for this intake, in order; the playbook adds its questions."""
    data = answers(intake)
    result = [
        Step(slot.key, slot.step, slot.prompt(data))
        for slot in INTAKE_SLOTS
        if slot.needed(ctx.org, data)
    ]
    playbook = ctx.catalogue.get(data.get("kind") or "")
    if playbook:
        for question in playbook.questions:
            prompt = f"{question.prompt} (or 'skip')"
            result.append(Step(f"q:{question.key}", "text", prompt, optional=True))
        result.append(Step("roles", "roles", "Here are the IT roles this usually needs."))
    result.append(Step("confirm", "confirm", "Shall I save it?"))
    return result


def validate(
    ctx: Context, intake: IntakeSession, step: Step, raw: str, data: dict[str, Any]
) -> Any:
    """Check one answer; return the value to store or raise IntakeInputError."""
    if len(raw) > MAX_ANSWER:
        raise IntakeInputError("That's longer than I can use here. A sentence or two is plenty.")
    if step.key in SLOTS:
        return SLOTS[step.key].validate(ctx, intake, raw, data)
    if step.optional and (not raw or raw.lower() in SKIP):
        return None
    return _text(500)(ctx, intake, raw, data)  # a playbook's question


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
    data = {
        key: value
        for key, value, known in (("kind", kind, catalogue), ("unit", unit_id, org.units))
        if value in known
    }
    fields = [
        FormField(
            slot.key,
            slot.label,
            slot.field,
            initial=suggested_title if slot.suggests_title else None,
            options=slot.options(catalogue, org) if slot.options else (),
            hint=slot.hint,
        )
        for slot in INTAKE_SLOTS
        if slot.needed(org, data)
    ]
    playbook = catalogue.get(data.get("kind") or "")
    if playbook is not None:
        for question in playbook.questions:
            fields.append(
                FormField(f"q:{question.key}", question.prompt, "long_text", optional=True)
            )
        fields.append(
            FormField(
                "roles",
                ROLES_LABEL,
                "roles",
                options=tuple((r.key, r.title) for r in playbook.roles),
                initial=",".join(r.key for r in playbook.roles),
                optional=True,
            )
        )
    title = f"Plan: {playbook.title}" if playbook else "Plan it with IT"
    return Form("intake", title[:24], tuple(fields), submit_label="Save", state=state)
