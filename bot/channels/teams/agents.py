"""The Teams channel on the Microsoft 365 Agents SDK (TEAMS_SDK=agents): `AgentsHost`.

The only module that imports the SDK (microsoft_agents), and only when TEAMS_SDK=agents
chooses it (install the `teams-agents` extra). The SDK's aiohttp CloudAdapter runs each turn
and its connector client (with tokens from MSAL) sends; the shared code of this package sees
a turn as it sees botbuilder's: `AgentsTurn` hands it the activity in the Bot Framework schema
and converts what it sends at the edge, through the wire JSON both SDKs speak. A connector's
refusal becomes the same ErrorResponseException botbuilder raises, so retries, 413 splits
and 403/404 forgetting are shared too. Incoming tokens are checked by channel_tokens.py, as
strictly as botbuilder checks them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any, TypeVar

from aiohttp import ClientResponseError
from botbuilder.core import InvokeResponse
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
    ResourceResponse,
)
from botbuilder.schema.teams import TeamsChannelAccount
from microsoft_agents.activity import Activity as AgentsActivity
from microsoft_agents.activity import ConversationParameters as AgentsParameters
from microsoft_agents.activity import ConversationReference as AgentsReference
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext as AgentsContext
from microsoft_agents.hosting.core.authorization import (
    AgentAuthConfiguration,
    AnonymousTokenProvider,
    AuthTypes,
    ClaimsIdentity,
)
from microsoft_agents.hosting.core.connector import ConnectorClientBase

from bot.channels.teams.activities import team_id_of
from bot.channels.teams.channel_tokens import ChannelTokens
from bot.channels.teams.host import AGENTS, Logic

T = TypeVar("T")

BOT_FRAMEWORK_AUDIENCE = "https://api.botframework.com"  # whom outgoing tokens are for


def to_agents(activity: Activity) -> AgentsActivity:
    """A botbuilder activity as the SDK's model, through the wire JSON."""
    return AgentsActivity.model_validate(activity.serialize())


def from_agents(model: Any, kind: type = Activity) -> Any:
    """One of the SDK's models as botbuilder's (an Activity unless `kind` says otherwise)."""
    return kind().deserialize(model.model_dump(by_alias=True, exclude_none=True, mode="json"))


class ConnectorRefused(ErrorResponseException):
    """The connector answered an HTTP error: botbuilder's exception, with the status and headers
    where the shared code reads them (`response.status_code`, `response.headers`)."""

    def __init__(self, error: ClientResponseError) -> None:
        self.message = f"Operation returned an invalid status code {error.status}"
        Exception.__init__(self, self.message)
        self.error = None
        self.response = SimpleNamespace(status_code=error.status, headers=error.headers or {})


async def refusals(call: Awaitable[T]) -> T:
    """Await a connector call; an HTTP refusal is raised as ConnectorRefused."""
    try:
        return await call
    except ClientResponseError as exc:
        raise ConnectorRefused(exc) from exc


class AgentsTurn:
    """A turn of the SDK as the shared code sees a turn context. The SDK closes a turn's
    connector when the turn ends, but botbuilder's stays usable, and the shared code relies on
    that (work that finishes after the acknowledgement, replies retried once the database is
    back): once the turn is over, its sends go through a continuation of the same
    conversation, still in reply to the same activity."""

    def __init__(
        self, host: AgentsHost, context: AgentsContext, activity: Activity | None = None
    ) -> None:
        self.host = host
        self.context = context
        self.activity = activity if activity is not None else from_agents(context.activity)
        self.turn_state: dict[str, Any] = {}
        self.invoke_response: InvokeResponse | None = None
        self.over = False
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(self, logic: Logic) -> None:
        """The turn's logic; the turn ends (and the SDK closes its connector) only once the
        calls already under way on it are answered. Later calls use a continuation."""
        try:
            await logic(self)
        finally:
            self.over = True
            await self._idle.wait()

    async def send_activity(self, activity_or_text: Activity | str, *_: Any) -> Any:
        activity = activity_or_text
        if isinstance(activity, str):
            activity = Activity(type=ActivityTypes.message, text=activity)
        if activity.type == ActivityTypes.invoke_response:  # botbuilder's ActivityHandler
            self.invoke_response = activity.value
            return None

        async def send(context: AgentsContext) -> Any:
            # The shared code clears a continuation's id to send a new message, not a reply.
            context.activity.id = self.activity.id
            return await context.send_activity(to_agents(activity))

        sent = await self.in_turn(send)
        return ResourceResponse(id=sent.id) if sent is not None else None

    async def update_activity(self, activity: Activity) -> Any:
        return await self.in_turn(lambda context: context.update_activity(to_agents(activity)))

    async def in_turn(self, work: Callable[[AgentsContext], Awaitable[T]]) -> T:
        """Run `work` with a live turn context: this turn's, or a continuation's once it is
        over; an HTTP refusal is raised as ConnectorRefused."""
        if not self.over:
            self._busy += 1
            self._idle.clear()
            try:
                return await refusals(work(self.context))
            finally:
                self._busy -= 1
                if not self._busy:
                    self._idle.set()
        reference = self.context.activity.get_conversation_reference()
        continuation = reference.get_continuation_activity()
        continuation.id = self.context.activity.id
        result: list[T] = []

        async def run(context: AgentsContext) -> None:
            result.append(await work(context))

        await refusals(self.host.adapter.continue_conversation(self.host.app_id, continuation, run))
        return result[0]


class LocalToken(AnonymousTokenProvider):
    """Local mode (no app id): the SDK still wants a token for proactive calls; the local
    connector (the Emulator, the tests' fake) takes any."""

    async def get_access_token(self, resource_url: str, scopes: list, force_refresh=False) -> str:
        return "local-no-auth"


class LocalConnections:
    """The SDK's connection manager for local mode: no Azure app, no token to fetch."""

    def get_connection(self, connection_name: str) -> LocalToken:
        return LocalToken()

    def get_default_connection(self) -> LocalToken:
        return LocalToken()

    def get_token_provider(self, claims_identity: Any, service_url: str) -> LocalToken:
        return LocalToken()

    def get_token_provider_from_activity(self, claims_identity: Any, activity: Any) -> LocalToken:
        return LocalToken()

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return AgentAuthConfiguration()


def msal_connections(app_id: str, password: str, app_type: str, tenant_id: str | None) -> Any:
    """The Azure app's credentials for outgoing calls, through the SDK's MSAL connection."""
    from microsoft_agents.authentication.msal import MsalConnectionManager

    managed = app_type == "UserAssignedMSI"
    config = AgentAuthConfiguration(
        auth_type=AuthTypes.user_managed_identity if managed else AuthTypes.client_secret,
        client_id=app_id,
        # A multi-tenant bot gets its tokens from the Bot Framework's tenant, as in botbuilder.
        tenant_id=tenant_id or "botframework.com",
        client_secret=None if managed else password,
        connection_name="SERVICE_CONNECTION",
    )
    return MsalConnectionManager(connections_configurations={"SERVICE_CONNECTION": config})


class AgentsHost:
    """The Agents SDK's aiohttp CloudAdapter behind the channel's `TeamsHost` seam."""

    name = AGENTS

    def __init__(
        self,
        app_id: str = "",
        app_password: str = "",
        app_type: str = "MultiTenant",
        tenant_id: str | None = None,
        *,
        connections: Any = None,
        tokens: ChannelTokens | None = None,
    ) -> None:
        self.app_id = app_id
        # The SDK logs every refused connector call at ERROR (a 429 included) and, in local
        # mode, a warning on each turn about the missing app id; the channel logs what matters.
        logging.getLogger("microsoft_agents.hosting.core.connector").setLevel(logging.CRITICAL)
        if not app_id:
            logging.getLogger(
                "microsoft_agents.hosting.core.connector.client.user_token_client"
            ).setLevel(logging.ERROR)
        if connections is None:
            connections = (
                msal_connections(app_id, app_password, app_type, tenant_id)
                if app_id
                else LocalConnections()
            )
        self.connections = connections
        self.adapter = CloudAdapter(connection_manager=connections)
        # The SDK's default answers a failed turn with the exception's text in the chat and
        # swallows it; the shared code decides what a failure means (retry, keep, tell).
        self.adapter.on_turn_error = None
        self.tokens = tokens or ChannelTokens(app_id)

    async def authenticate(self, activity: Activity, auth_header: str) -> ClaimsIdentity:
        if not self.app_id:  # local mode: the transport has checked the caller is this machine
            return ClaimsIdentity({})  # anonymous
        claims = await self.tokens.check(auth_header, activity.service_url, activity.channel_id)
        return ClaimsIdentity(claims, authentication_type="Bearer")

    async def process(self, auth: Any, activity: Activity, logic: Logic) -> InvokeResponse | None:
        turn: list[AgentsTurn] = []

        async def run(context: AgentsContext) -> None:
            turn.append(AgentsTurn(self, context, activity))
            await turn[0].run(logic)

        await self.adapter.process_activity(auth, to_agents(activity), run)
        return turn[0].invoke_response if turn else None

    async def continue_conversation(self, reference: ConversationReference, logic: Logic) -> None:
        continuation = AgentsReference.model_validate(reference.serialize())
        activity = continuation.get_continuation_activity()

        async def run(context: AgentsContext) -> None:
            await AgentsTurn(self, context).run(logic)

        await refusals(self.adapter.continue_conversation(self.app_id, activity, run))

    async def create_conversation(
        self, params: ConversationParameters, logic: Logic, *, channel_id: str, service_url: str
    ) -> None:
        async def run(context: AgentsContext) -> None:
            await AgentsTurn(self, context).run(logic)

        body = params.serialize()
        body["tenantId"] = body.pop("tenantID", None)  # botbuilder's spelling; the wire's is this
        await refusals(
            self.adapter.create_conversation(
                self.app_id,
                channel_id,
                service_url,
                BOT_FRAMEWORK_AUDIENCE,
                AgentsParameters.model_validate(body),
                run,
            )
        )

    async def get_member(self, turn_context: AgentsTurn, user_id: str) -> TeamsChannelAccount:
        """The roster entry, from the team's roster in a channel (as botbuilder's TeamsInfo
        reads it), else from the chat's."""
        activity = turn_context.activity
        where = team_id_of(activity) or activity.conversation.id

        async def look_up(context: AgentsContext) -> Any:
            client = context.services.get(ConnectorClientBase)
            if client is None:
                raise LookupError("no connector client in this turn")
            return await client.conversations.get_conversation_member(where, user_id)

        return from_agents(await turn_context.in_turn(look_up), TeamsChannelAccount)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.tokens.close()
