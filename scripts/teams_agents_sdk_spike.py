"""Spike: can the Teams channel run on the Microsoft 365 Agents SDK (the successor of the
archived botbuilder) against the same fake connector the tests use?

Run it in a separate virtual environment that has the Agents SDK and aiohttp only:

    python3.11 -m venv .venv-agents && .venv-agents/bin/pip install microsoft-agents-hosting-aiohttp
    .venv-agents/bin/python scripts/teams_agents_sdk_spike.py

It serves POST /api/messages with the SDK's aiohttp CloudAdapter (anonymous, as the
emulator mode does), then checks the five things bot/channels/teams needs from an SDK, each
against tests/fakes/teams_connector.py over real HTTP: a reply in the thread, an
adaptiveCard/action invoke answered with a card, updateActivity for everyone, a 1:1 chat
opened with a tenant and an Azure AD object id, and a proactive send into it. It prints one
line per check and exits 0 only if every check passed. The findings are in docs/teams.md.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import ClientSession, web
from microsoft_agents.activity import (
    Activity,
    Attachment,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ActivityHandler, TurnContext
from microsoft_agents.hosting.core.activity_handler import InvokeResponse
from microsoft_agents.hosting.core.authorization import (
    AgentAuthConfiguration,
    AnonymousTokenProvider,
)

from tests.fakes.teams_connector import (
    CARD_TYPE,
    KIM,
    PAT,
    SAM,
    TENANT,
    FakeConnector,
    card_invoke,
    personal_message,
)

AUDIENCE = "https://api.botframework.com"  # whom the (absent) token would be for


class LocalTokenProvider(AnonymousTokenProvider):
    """Proactive calls (create conversation, continue conversation) insist on a non-empty
    token even with no app id: the SDK has no emulator mode for them. The fake connector
    takes any token."""

    async def get_access_token(self, resource_url, scopes, force_refresh=False) -> str:
        return "local-no-auth"


class AnonymousConnections:
    """No Azure app (the emulator mode): every call goes out without a token. The SDK's own
    connection manager (microsoft-agents-authentication-msal) is what production would use."""

    def get_connection(self, connection_name: str) -> LocalTokenProvider:
        return LocalTokenProvider()

    def get_default_connection(self) -> LocalTokenProvider:
        return LocalTokenProvider()

    def get_token_provider(self, claims_identity, service_url) -> LocalTokenProvider:
        return LocalTokenProvider()

    def get_token_provider_from_activity(self, claims_identity, activity):
        return LocalTokenProvider()

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return AgentAuthConfiguration()


def card(text: str) -> dict:
    return {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": text}]}


class SpikeAgent(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        attachment = Attachment(content_type=CARD_TYPE, content=card("Plan it with IT?"))
        await turn_context.send_activity(Activity(type="message", attachments=[attachment]))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        done = card("Handled by @kim")
        update = Activity(
            type="message",
            id=turn_context.activity.reply_to_id,
            attachments=[Attachment(content_type=CARD_TYPE, content=done)],
        )
        await turn_context.update_activity(update)
        body = {"statusCode": 200, "type": CARD_TYPE, "value": done}
        return InvokeResponse(status=200, body=body)


async def main() -> int:
    results: list[tuple[str, bool, str]] = []
    async with FakeConnector() as fake:
        adapter = CloudAdapter(connection_manager=AnonymousConnections())
        agent = SpikeAgent()

        async def messages(request: web.Request) -> web.StreamResponse:
            return await adapter.process(request, agent)

        app = web.Application()
        app.router.add_post("/api/messages", messages)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/messages"
        async with ClientSession() as http:

            async def post(activity: dict) -> tuple[int, str]:
                async with http.post(url, json=activity) as response:
                    return response.status, await response.text()

            try:
                status, _ = await post(personal_message(fake.service_url, PAT, "hello"))
                replies = fake.messages()
                results.append(("reply in the thread", bool(replies), f"HTTP {status}"))
                card_id = replies[0].response["id"] if replies else "1:1"
                status, body = await post(
                    card_invoke(fake.service_url, KIM, "offer.dismiss", {}, reply_to_id=card_id)
                )
                results.append(("invoke answered with a card", CARD_TYPE in body, body[:80]))
                updates = fake.of("update")
                results.append(("updateActivity", len(updates) == 1, f"{len(updates)} updates"))
            except Exception as exc:  # a spike reports, it does not stop at the first failure
                results.append(("inbound turns", False, repr(exc)[:200]))

            try:
                created: dict[str, str] = {}

                async def opened(turn_context: TurnContext) -> None:
                    created["id"] = turn_context.activity.conversation.id

                params = ConversationParameters(
                    is_group=False,
                    bot=ChannelAccount(id="28:it-liaison-bot"),
                    members=[ChannelAccount(id=SAM.aad)],
                    tenant_id=TENANT,
                    channel_data={"tenant": {"id": TENANT}},
                )
                await adapter.create_conversation(
                    "", "msteams", fake.service_url, AUDIENCE, params, opened
                )
                results.append(("create a 1:1 chat", bool(fake.created), str(created)))
                reference = ConversationReference(
                    channel_id="msteams",
                    service_url=fake.service_url,
                    bot=ChannelAccount(id="28:it-liaison-bot"),
                    user=ChannelAccount(id=SAM.aad),
                    conversation={"id": created.get("id", ""), "conversationType": "personal"},
                )

                async def send(turn_context: TurnContext) -> None:
                    await turn_context.send_activity("Your digest is ready.")

                await adapter.continue_conversation("", reference.get_continuation_activity(), send)
                sent = fake.messages(created.get("id"))
                results.append(("proactive send", bool(sent), f"{len(sent)} sent"))
            except Exception as exc:
                results.append(("proactive", False, repr(exc)[:200]))
        await runner.cleanup()
    for name, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return 0 if results and all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
