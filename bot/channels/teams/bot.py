"""The ActivityHandler botbuilder calls: it only routes each kind of activity to the turns."""

from __future__ import annotations

from botbuilder.core import (
    ActivityHandler,
    InvokeResponse,
    TurnContext,
)
from botbuilder.schema import (
    ChannelAccount,
)

from bot.channels.teams.activities import is_personal_activity
from bot.channels.teams.cards import invoke_body
from bot.channels.teams.delivery import own_the_retries
from bot.channels.teams.reach import forget_on_removal
from bot.channels.teams.turns import TeamsTurns


class TeamsBot(ActivityHandler):
    """botbuilder's dispatch: it only routes each kind of activity to the turns."""

    def __init__(self, turns: TeamsTurns) -> None:
        self.turns = turns

    async def on_turn(self, turn_context: TurnContext) -> None:
        own_the_retries(turn_context)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await self.turns.on_message(turn_context)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if is_personal_activity(activity) or any(m.id == bot_id for m in members_added):
            await self.turns.welcome(turn_context)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self.turns.welcome(turn_context)

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        await forget_on_removal(self.turns.teams, turn_context)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if activity.name == "composeExtension/fetchTask":
            return _task_response(await self.turns.on_fetch_task(turn_context))
        if activity.name == "composeExtension/submitAction":
            return _task_response(await self.turns.on_submit_action(turn_context))
        if activity.name != "adaptiveCard/action":
            answer = await super().on_invoke_activity(turn_context)  # sign-in, health checks
            if answer is None or answer.status == 501:
                # botbuilder's "Not Implemented" would be a server error for what is a request
                # the bot does not take (task/fetch, messaging extensions, names Teams adds).
                name = str(activity.name or "")[:80]
                return _invoke_error("NotSupported", f"This bot does not handle '{name}' invokes.")
            return answer
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            return _invoke_error("BadRequest", "Expected an Action.Execute.")
        card = await self.turns.on_execute(turn_context, action)
        return InvokeResponse(status=200, body=invoke_body(card))


def _task_response(body: dict) -> InvokeResponse:
    return InvokeResponse(status=200, body=body)


def _invoke_error(code: str, message: str) -> InvokeResponse:
    """A 400 in the shape Teams expects from an invoke it sent wrongly or the bot does not take."""
    error = {"code": code, "message": message}
    body = {"statusCode": 400, "type": "application/vnd.microsoft.error", "value": error}
    return InvokeResponse(status=400, body=body)
