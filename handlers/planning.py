"""Planning an initiative with IT: start an intake, answer it step by step (or as one form),
and the summary and DMs when it is saved. The questions themselves are handlers.intake's."""

from __future__ import annotations

import re

from handlers import intake, offers, similar
from handlers.messages import ActionId, Choice, Item, Outgoing, Reply, ReplyKind
from handlers.people import name_of
from handlers.turn import Turn, form_errors, record_id, say
from storage.models import Commitment, IntakeSession, IntakeStatus

CARRY_ON = "Let's carry on where we left off."
OUTSIDERS = (
    "Planning with IT is for people in this organisation, so I can't start or save a plan for "
    "you. Ask a colleague here to plan it; you can still track your own commitments."
)


def outsider_refusal(turn: Turn) -> list[Outgoing] | None:
    """The one rule for people from other organisations and a unit's initiatives: they can't
    start, answer or save one (None: the sender may)."""
    return say(OUTSIDERS, private=True) if turn.from_outside else None


def plan(turn: Turn, rest: str) -> list[Outgoing]:
    """`plan` or `plan office move`: start (or resume) an intake here."""
    if (refused := outsider_refusal(turn)) is not None:
        return refused
    rest = re.sub(r"^(an?|the|my|our)\s+", "", rest.lower().strip())
    catalogue = turn.bot.catalogue
    kind = None
    if rest:
        wanted = rest.replace(" ", "_")
        kind = next(
            (k for k, pb in catalogue.items() if wanted in (k, pb.title.lower().replace(" ", "_"))),
            None,
        )
        if kind is None:
            kinds = ", ".join(pb.title.lower() for pb in catalogue.values())
            return say(f"I don't have a playbook for '{rest}'. I know: {kinds}.")
    existing = turn.open_intake(turn.person)
    if existing is not None:
        return prompt(turn, existing, prefix=CARRY_ON)
    source_key = f"demand:{turn.channel}:{turn.person.id}:{turn.now().isoformat()}"
    new, _ = intake.start(
        turn.intake_context(),
        turn.person,
        conversation=turn.inbound.conversation,
        source_key=source_key,
        kind=kind,
        unit_id=turn.unit_here(),
    )
    turn.events.append("funnel.started")
    return prompt(turn, new, prefix="Let's plan it. Say 'cancel' at any time to stop.")


def start_from_offer(turn: Turn, data: dict) -> list[Outgoing]:
    """ "Plan it with IT" on an offer: the intake for that message, once, by one planner."""
    if (refused := outsider_refusal(turn)) is not None:
        return refused
    mid = data.get("mid") or f"{turn.now().timestamp()}"
    source_key = f"{turn.channel}:{turn.inbound.conversation}:{mid}"
    found, is_new = intake.start(
        turn.intake_context(),
        turn.person,
        conversation=turn.inbound.conversation,
        source_key=source_key,
        kind=data.get("kind"),
        unit_id=data.get("unit"),
        excerpt=data.get("excerpt"),
        link=data.get("link"),
        title=data.get("title"),
    )
    offers.close_thread(turn, {"conv": turn.inbound.conversation, **data})  # planned here
    if found.status == IntakeStatus.DONE:
        return say(f"This one is already planned as initiative #{found.initiative_id}.")
    if found.status == IntakeStatus.CANCELLED:
        return say("That plan was cancelled. Type 'plan' to start a new one.")
    if found.person_id != turn.person.id:
        owner = name_of(turn.session, found.person_id)
        return say(f"{owner} is already planning this one with IT. Ask them to add you.")
    if is_new:
        turn.events.append("funnel.started")
        return prompt(turn, found, prefix="Great, let's plan it. Say 'cancel' at any time to stop.")
    return prompt(turn, found, prefix=CARRY_ON)


def submit(turn: Turn, data: dict) -> list[Outgoing]:
    """A whole intake form came back: save it, or say what to fix in which field."""
    if (refused := outsider_refusal(turn)) is not None:
        return refused
    state = data.get("state") or {}
    values = data.get("values") or {}
    conversation = str(state.get("conv") or turn.inbound.conversation)
    mid = state.get("mid") or f"form-{turn.now().timestamp()}"
    result = intake.submit(
        turn.intake_context(),
        turn.person,
        values,
        conversation=conversation,
        source_key=f"{turn.channel}:{conversation}:{mid}",
        kind=state.get("kind"),
        unit_id=state.get("unit"),
        excerpt=state.get("excerpt"),
        link=state.get("link"),
    )
    if isinstance(result, dict):
        return form_errors(result)
    if result.initiative is None:
        return say(f"This one is already planned as initiative #{result.intake.initiative_id}.")
    if state.get("kind") and state.get("mid"):  # planned from an offer: not offered again
        offers.close_thread(turn, {**state, "conv": conversation})
    return completed(turn, result)


def answer_button(turn: Turn, data: dict) -> list[Outgoing]:
    """A choice picked under an intake question."""
    if (refused := outsider_refusal(turn)) is not None:
        return refused
    found = turn.session.get(IntakeSession, record_id(data.get("intake")))
    if found is None or found.person_id != turn.person.id:
        return say("That plan belongs to someone else, or it has gone.", private=True)
    if found.status != IntakeStatus.OPEN:
        return say("That plan is already finished.", private=True)
    return answer(turn, found, str(data.get("answer", "")))


def answer(turn: Turn, current: IntakeSession, text: str) -> list[Outgoing]:
    """An answer to the current question: the next question, a sentence to retry, or done."""
    if (refused := outsider_refusal(turn)) is not None:
        return refused
    outcome = intake.feed(turn.intake_context(), current, text, turn.person)
    if outcome.error:
        return prompt(turn, current, prefix=outcome.error, private=True)
    if outcome.initiative is not None:
        return completed(turn, outcome)
    if outcome.finished:
        return say("OK, I've dropped that plan. Nothing was saved.")
    return prompt(turn, current)


def prompt(
    turn: Turn, current: IntakeSession, prefix: str = "", private: bool = False
) -> list[Outgoing]:
    """Ask the current step's question, with its choices."""
    ctx = turn.intake_context()
    step = intake.current_step(ctx, current)
    data = intake.answers(current)

    def pick(label: str, answer: str, style: str | None = None) -> Choice:
        return Choice.of(label, ActionId.INTAKE_ANSWER, style, intake=current.id, answer=answer)

    choices: list[Choice] = []
    items: list[Item] = []
    facts: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    text = step.prompt
    if step.kind == "kind":
        choices = [pick(pb.title, k) for k, pb in turn.bot.catalogue.items()]
    elif step.kind == "unit":
        choices = [pick(u.name, k) for k, u in turn.bot.org.units.items()]
    elif step.key == "title" and data.get("suggested_title"):
        choices = [pick(f"Keep “{data['suggested_title']}”", data["suggested_title"])]
    elif step.kind == "person":
        choices = [pick("Me", "me")]
    elif step.optional:
        choices = [pick("Skip", "skip")]
    elif step.kind == "roles":
        items = [
            Item(f"{n}. {title} — {cells}", struck=not kept)
            for n, title, kept, cells in intake.roles_view(ctx, current)
        ]
        text = (
            f"{step.prompt} Say 'ok' to keep them, 'drop 3' to drop one, or "
            "'assign 2 @pat' to name who's responsible."
        )
        choices = [pick("Looks good", "ok")]
    elif step.kind == "confirm":
        facts = tuple(intake.summary_facts(ctx, current))
        warnings = tuple(intake.gaps(ctx, current))  # each channel marks them as warnings
        choices = [pick("Save", "save"), pick("Cancel", "cancel", "danger")]
    body = f"{prefix}\n{text}" if prefix else text
    reply = Reply(
        body,
        tuple(choices),
        tuple(items),
        facts,
        private=private,
        kind=ReplyKind.INTAKE,
        warnings=warnings,
    )
    return [Outgoing(reply, meta={"intake": current.id, "step": step.key})]


def completed(turn: Turn, outcome: intake.Outcome) -> list[Outgoing]:
    """The summary for the planner, and one DM per new owner listing what they were asked."""
    initiative = outcome.initiative
    lines = [f"Saved initiative #{initiative.id}: {initiative.title}."]
    if outcome.new_commitments:
        lines.append(f"Commitments I'll keep track of ({len(outcome.new_commitments)}):")
    items = []
    per_owner: dict[int, list[Commitment]] = {}
    for cid in outcome.new_commitments:
        item = turn.session.get(Commitment, cid)
        items.append(Item(turn.describe(item)))
        if item.owner_id != turn.person.id:
            per_owner.setdefault(item.owner_id, []).append(item)
    reply = Reply(
        "\n".join(lines),
        items=tuple(items),
        kind=ReplyKind.SUMMARY,
        warnings=tuple(outcome.warnings),
    )
    turn.events.append("funnel.completed")
    out = [Outgoing(reply, meta={"initiative": initiative.id})]
    planner = name_of(turn.session, turn.person.id)
    for owner_id, owed in per_owner.items():
        text = (
            f"{planner} is planning “{initiative.title}” and "
            f"asks you for {len(owed)} thing{'s' if len(owed) > 1 else ''}:"
        )
        dm_items = tuple(Item(turn.describe(c), turn.buttons(c, owner_id)) for c in owed)
        dm = Reply(text, items=dm_items, kind=ReplyKind.COMMITMENT)
        out.append(Outgoing(dm, to_person=owner_id, meta={"initiative": initiative.id}))
    # The same need in another unit: both units' liaisons hear of it (handlers.similar).
    out += similar.on_saved(turn.session, turn.bot.org, initiative, turn.now())
    return out
