"""What each kind of Teams turn means, translated for the core: messages, buttons, forms,
message actions and welcomes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from botbuilder.core import (
    TurnContext,
)

from bot.channels.interactions import (
    ACT_FORM,
    FORM_IDS,
    LONG_TEXT,
    OUT_OF_DATE,
    answer_now,
    field_errors,
    form_for_button,
    intake_data,
    intake_for,
    read_json,
    rebuild_form,
    submission,
    trusted_intake_state,
    unseal,
)
from bot.channels.teams.activities import (
    conversation_key,
    describe,
    form_values,
    is_personal_activity,
    mentioned_people,
    message_link,
    message_payload_text,
    strip_bot_mention,
    team_id_of,
    teams_message_link,
    tenant_of,
)
from bot.channels.teams.cards import (
    WORKING,
    note_card,
    render_form_card,
)
from bot.channels.teams.delivery import TeamsChannel, card_activity, text_activity
from bot.channels.teams.dialogs import split_replies, task_form, task_message
from bot.channels.teams.reach import card_with_mentions, update_for_everyone
from bot.retry import once_the_database_answers
from handlers.messages import (
    Action,
    Form,
    Inbound,
    Outgoing,
    Reply,
    ReplyKind,
)

log = logging.getLogger("liaison.teams")


# The message actions (a message's "..." > More actions) in teams/manifest.json, and the form
# each opens: they do what Slack's message shortcuts do.
MESSAGE_ACTIONS = {"trackCommitment": "commitment", "planWithIt": "intake"}


GREETING = (
    "Hi{name}! I'm the IT Liaison Bot. I help your unit and IT spot the IT side of what's "
    "coming up, agree who does what, and keep track of who promised what to whom.\n"
    '• Tell me what\'s coming up ("we\'re moving buildings in May", "we\'re buying a new CRM") '
    "and I'll offer to plan it with IT.\n"
    "• In a channel, @mention me with the news; I only read a channel's messages when your "
    "admin allows it.\n"
    "• Type **commitments** to see what you owe and what's owed to you, **plan** to start "
    "planning something, or **help** for everything I understand."
)


TEAM_GREETING = (
    "Hi everyone! I'm the IT Liaison Bot. When your plans have an IT side (a purchase, a move, "
    "new staff, an event, a data project), @mention me with the news and I'll offer to plan it "
    "with IT. Chat with me directly and type **help** to see what else I can do."
)


@dataclass
class CardAnswer:
    """What a pressed card becomes, the other replies to deliver, and whether the press acted
    (the card changes for everyone) or only opened or cancelled a form (for the presser)."""

    card: dict | None
    rest: list[Outgoing]
    acted: bool = True


@dataclass
class Judged:
    """What the core made of a submitted form: its replies, or the form with field errors."""

    outgoing: list[Outgoing]
    form: Form | None = None
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


async def name_mentioned(teams: TeamsChannel, turn_context: TurnContext, text: str) -> str:
    """In a command, "ask <at>Alex Newcomer</at> ..." names someone the core may not know
    yet: register them from the roster (with their email), as Slack does for a mentioned
    user, and write them as the @handle commands understand."""
    for account, markup in mentioned_people(turn_context.activity):
        person = await teams.sender(turn_context, account)
        person_id = await asyncio.to_thread(teams.core.register, person)
        handle = await asyncio.to_thread(teams.core.handle_of, person_id)
        text = text.replace(markup, f"@{handle}")
    return text


class TeamsTurns:
    """What a Teams turn means: a message, a button (Action.Execute or Action.Submit), a
    message action's dialog, a welcome. Each is translated for the core (the shared rules are
    in bot/channels/interactions) and answered through the channel's delivery."""

    def __init__(self, teams: TeamsChannel) -> None:
        self.teams = teams

    async def on_message(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if (activity.from_property.role or "").lower() == "bot":
            return
        if isinstance(activity.value, dict) and not (activity.text or "").strip():
            await self.on_submit(turn_context, activity.value)
            return
        text, mentioned = strip_bot_mention(activity)
        personal = is_personal_activity(activity)
        direct = personal or mentioned
        if not direct and not (
            await asyncio.to_thread(self.teams.core.worth_reading, text)
            if len(text) > LONG_TEXT  # a long text is read off the loop; the core keeps it
            else self.teams.core.worth_reading(text)
        ):
            return  # everyday chat: nothing stored, nothing said
        sender = await self.teams.sender(turn_context)
        if direct:
            await self.teams.remember(turn_context, sender)
        if direct and text.lower().startswith("commitments"):
            text = await name_mentioned(self.teams, turn_context, text)
        inbound = Inbound(
            sender,
            conversation_key(activity),
            text=text,
            message_id=activity.id,
            link=message_link(activity),
            is_direct=direct,
            # A typed command acts once per activity, however often it is replayed.
            delivery_id=activity.id if text.lower().startswith("commitments") else None,
            confirms_delivery=True,  # teams.deliver confirms an offer's claim once posted
        )

        async def answer() -> None:
            await self.teams.deliver(turn_context, await self.teams.answer(inbound))

        await once_the_database_answers(self.teams.retrier, f"teams message {activity.id}", answer)

    async def on_submit(self, turn_context: TurnContext, data: dict) -> None:
        """An Action.Submit: a message whose value carries our action id and data."""
        verb = data.get("act")
        if not isinstance(verb, str) or not verb:
            if is_personal_activity(turn_context.activity):
                await self.teams.send(
                    turn_context,
                    text_activity("I didn't recognise that button. It may be from an old card."),
                )
            return
        answer = await self.card_action(turn_context, verb, data)
        if answer.card is not None:
            await self.replace_card(turn_context, answer.card)
        await self.teams.deliver(turn_context, answer.rest)

    async def on_execute(self, turn_context: TurnContext, action: dict) -> dict:
        """An Action.Execute: answer with a refreshed card within Teams' 5 seconds."""
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        verb = action.get("verb") if isinstance(action.get("verb"), str) else None
        verb = verb or (data.get("act") if isinstance(data.get("act"), str) else "")
        work = asyncio.ensure_future(self.card_action(turn_context, verb, data))
        try:
            answer = await asyncio.wait_for(asyncio.shield(work), self.teams.invoke_budget)
        except TimeoutError:
            self.teams.keep(self._finish_late(turn_context, work))
            return note_card(WORKING)
        except Exception:
            log.exception("teams: card action %s failed", verb)
            return note_card("Sorry, that didn't work. Nothing was changed; please try again.")
        if answer.rest:
            self.teams.keep(self.teams.deliver(turn_context, answer.rest))
        card = await card_with_mentions(self.teams, answer.card or note_card("Done."))
        if answer.acted and not is_personal_activity(turn_context.activity):
            # The invoke's answer refreshes the card for the presser only: in a channel or
            # group chat, everyone else (and every phone) would keep the old, live buttons.
            await update_for_everyone(self.teams, turn_context, card)
        return card

    async def _finish_late(self, turn_context: TurnContext, work: asyncio.Future) -> None:
        answer = await work
        if answer.card is not None:
            await self.replace_card(turn_context, answer.card)
        await self.teams.deliver(turn_context, answer.rest)

    async def replace_card(self, turn_context: TurnContext, card: dict) -> None:
        """Show the result in place of the card that was clicked (or below it)."""
        card = await card_with_mentions(self.teams, card)
        activity = card_activity(card)
        card_id = turn_context.activity.reply_to_id
        if card_id:
            activity.id = card_id
            try:
                await self.teams.with_retry(
                    lambda: turn_context.update_activity(activity), "update"
                )
                return
            except Exception as exc:
                log.info("teams: could not update card %s: %s", card_id, describe(exc))
            activity = card_activity(card)
        await self.teams.send(turn_context, activity)

    async def card_action(self, turn_context: TurnContext, verb: str, data: dict) -> CardAnswer:
        """A button or a form: the refreshed card, and the other replies to deliver."""
        activity = turn_context.activity
        if verb == "form.cancel":
            return CardAnswer(note_card("OK, nothing was saved."), [], acted=False)
        if data.get("form") in FORM_IDS:
            return await self.submit_form(turn_context, verb, data)
        value = unseal(data.get("value"), verb)
        if value is None:  # changed on the way, or from before the key changed: nothing happens
            log.warning("teams: refused a button %s whose value is not ours", verb[:80])
            return CardAnswer(note_card(OUT_OF_DATE), [], acted=False)
        button = read_json(value)
        presser = None
        if verb == "offer.plan":
            button.setdefault("conv", conversation_key(activity))
            button.setdefault("mid", activity.reply_to_id)
            presser = await self.teams.sender(turn_context)
        opens = form_for_button(self.teams.core, verb, button, sender=presser)
        if isinstance(opens, Reply):
            return CardAnswer(note_card(opens.text), [], acted=False)
        if opens is not None:
            return CardAnswer(render_form_card(opens), [], acted=False)

        async def work() -> list[Outgoing]:
            inbound = Inbound(
                await self.teams.sender(turn_context),
                conversation_key(activity),
                action=Action(verb, value),
                is_direct=True,
                delivery_id=activity.id,  # a replayed press acts once
            )
            return await self.teams.answer(inbound)

        replies = await answer_now(f"teams button {verb}", work)
        refused = any(o.reply.kind == ReplyKind.REFUSED for o in replies)  # the presser's alone
        return CardAnswer(*split_replies(replies), acted=not refused)

    async def submit_form(self, turn_context: TurnContext, verb: str, data: dict) -> CardAnswer:
        judged = await self.judge_form(turn_context, verb, data)
        if judged.errors:
            form_again = render_form_card(judged.form, judged.errors, judged.values)
            return CardAnswer(form_again, [], acted=False)
        return CardAnswer(*split_replies(judged.outgoing))

    async def judge_form(self, turn_context: TurnContext, verb: str, data: dict) -> Judged:
        """Hand a submitted form to the core: its answer, or the form again with the errors."""
        form_id = data["form"]
        state_text = unseal(data.get("state"), form_id)
        if state_text is None:  # changed on the way, or from before the key changed
            log.warning("teams: refused a form %s whose state is not ours", form_id)
            return Judged([Outgoing(Reply(OUT_OF_DATE, private=True))])
        state = read_json(state_text)
        values = form_values(data)
        if form_id == ACT_FORM and not verb.startswith("commitment."):
            return Judged([Outgoing(Reply("I didn't recognise that form."))])
        conversation = str(state.get("conv") or conversation_key(turn_context.activity))
        if form_id == "intake":  # the source link is built here, never taken from the card
            mid = state.get("mid")
            tenant = tenant_of(turn_context.activity)
            link = teams_message_link(conversation, mid, tenant) if isinstance(mid, str) else None
            state = trusted_intake_state(state, link if mid else None)
        action = submission(form_id, state, values)
        activity_id = turn_context.activity.id

        async def work() -> list[Outgoing]:
            sender = await self.teams.sender(turn_context)
            inbound = Inbound(
                sender, conversation, action=action, is_direct=True, delivery_id=activity_id
            )
            return await self.teams.answer(inbound)

        outgoing = await answer_now(f"teams form {form_id}", work)
        errors = field_errors(outgoing)
        form = rebuild_form(self.teams.core, form_id, state_text) if errors else None
        if form is not None:
            return Judged(outgoing, form, errors, values)
        return Judged(outgoing)

    async def on_fetch_task(self, turn_context: TurnContext) -> dict:
        """ "Track as commitment" or "Plan it with IT" on a message: the form, filled in from
        the message, in a dialog."""
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        payload = (
            value.get("messagePayload") if isinstance(value.get("messagePayload"), dict) else {}
        )
        text = message_payload_text(payload)
        conv = conversation_key(activity)
        mid = payload.get("id") if isinstance(payload.get("id"), str) else None
        command = MESSAGE_ACTIONS.get(str(value.get("commandId") or ""))
        if command == "commitment":
            state = json.dumps({"conv": conv, "mid": mid}, separators=(",", ":"))
            return task_form(self.teams.core.commitment_form(text, state=state))
        if command == "intake":
            data = intake_data(self.teams.core, text, conv, mid, payload.get("linkToMessage"))
            form = intake_for(self.teams.core, await self.teams.sender(turn_context), data)
            return task_message(form.text) if isinstance(form, Reply) else task_form(form)
        return task_message("I don't know that action. The app may need an update.")

    async def on_submit_action(self, turn_context: TurnContext) -> dict:
        """The dialog's form came back: the same form again with its errors, or a one-line
        result in the dialog; the people it concerns get their DMs."""
        value = turn_context.activity.value
        data = value.get("data") if isinstance(value, dict) else None
        if not isinstance(data, dict) or data.get("form") not in MESSAGE_ACTIONS.values():
            return task_message("That form is out of date. Nothing was saved; please start again.")
        verb = data.get("act") if isinstance(data.get("act"), str) else ""
        try:
            judged = await self.judge_form(turn_context, verb, data)
        except Exception:
            log.exception("teams: message action form %s failed", data.get("form"))
            return task_message("Sorry, that didn't work. Nothing was saved; please try again.")
        if judged.errors:
            return task_form(judged.form, judged.errors, judged.values)
        mine = [o for o in judged.outgoing if o.to_person is None]
        self.teams.keep(
            self.teams.deliver(turn_context, [o for o in judged.outgoing if o.to_person])
        )
        return task_message(mine[0].reply.text if mine else "Done.")

    async def welcome(self, turn_context: TurnContext) -> None:
        """The bot was installed, or someone joined its 1:1 chat: greet once, remember them."""
        activity = turn_context.activity
        user = activity.from_property
        if user is None or (activity.recipient and user.id == activity.recipient.id):
            return
        sender = await self.teams.sender(turn_context)
        await self.teams.remember(turn_context, sender)
        if is_personal_activity(activity):
            key = f"greet:teams:{sender.external_id}"
            text = GREETING.format(name=f" {sender.name.split()[0]}" if sender.name else "")
        else:
            key = f"greet:teams:conversation:{team_id_of(activity) or conversation_key(activity)}"
            text = TEAM_GREETING
        if await asyncio.to_thread(self.teams.core.first_time, key):
            await self.teams.send(
                turn_context, self.teams.activity_for(Reply(text, kind="greeting"))
            )
