"""The one seam between the Teams channel and a Bot Framework SDK: `TeamsHost`.

Everything else in this package (what a turn means, cards, delivery, reach) is shared and
works on the Bot Framework's activity schema and a turn context with `activity`,
`send_activity`, `update_activity` and `turn_state`. A host authenticates a request, runs a
turn, continues or creates a conversation, and reads a roster entry. Two hosts exist, chosen
by TEAMS_SDK: `BotbuilderHost` (botbuilder's CloudAdapter, the default) here, and
`AgentsHost` (the Microsoft 365 Agents SDK's aiohttp hosting) in agents.py, imported only
when it is chosen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ConversationParameters, ConversationReference

Logic = Callable[[Any], Awaitable[None]]  # a turn's logic, given a turn context

BOTBUILDER, AGENTS = "botbuilder", "agents"
SDKS = (BOTBUILDER, AGENTS)


class TeamsHost(Protocol):
    """What the channel needs from an SDK: the adapter, turn-context and connector layer."""

    name: str

    async def authenticate(self, activity: Activity, auth_header: str) -> Any:
        """The caller's identity from the request's token; raises when it is not accepted."""

    async def process(self, auth: Any, activity: Activity, logic: Logic) -> InvokeResponse | None:
        """Run one turn; an invoke's answer, else None."""

    async def continue_conversation(self, reference: ConversationReference, logic: Logic) -> None:
        """Run `logic` in a turn of a stored conversation (a proactive message)."""

    async def create_conversation(
        self, params: ConversationParameters, logic: Logic, *, channel_id: str, service_url: str
    ) -> None:
        """Open a conversation (a 1:1 chat) and run `logic` in its first turn."""

    async def get_member(self, turn_context: Any, user_id: str) -> Any:
        """The roster entry (a TeamsChannelAccount) of someone in this turn's conversation."""

    async def close(self) -> None:
        """Release what the host holds (HTTP sessions)."""


class BotbuilderHost:
    """botbuilder's CloudAdapter (the default): its own token validation and connector."""

    name = BOTBUILDER

    def __init__(self, adapter: CloudAdapter, app_id: str = "") -> None:
        self.adapter = adapter
        self.app_id = app_id

    async def authenticate(self, activity: Activity, auth_header: str) -> Any:
        auth = self.adapter.bot_framework_authentication
        return await auth.authenticate_request(activity, auth_header)

    async def process(self, auth: Any, activity: Activity, logic: Logic) -> InvokeResponse | None:
        return await self.adapter.process_activity(auth, activity, logic)

    async def continue_conversation(self, reference: ConversationReference, logic: Logic) -> None:
        await self.adapter.continue_conversation(reference, logic, bot_app_id=self.app_id)

    async def create_conversation(
        self, params: ConversationParameters, logic: Logic, *, channel_id: str, service_url: str
    ) -> None:
        await self.adapter.create_conversation(
            self.app_id, logic, params, channel_id=channel_id, service_url=service_url
        )

    async def get_member(self, turn_context: TurnContext, user_id: str) -> Any:
        return await TeamsInfo.get_member(turn_context, user_id)

    async def close(self) -> None:
        return None
