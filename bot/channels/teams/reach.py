"""Reaching people on Teams: a reply in parts that each fit Teams' size limit (413 is never
met with the same payload; a sweep's message records each part delivered, so a retry sends
only the parts missing), proactive messages through stored conversation references, 1:1
chats opened with people the bot never talked to (tenant id plus Azure AD object id), and
addresses forgotten when Teams says the app was removed or the person left (403/404).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
    Mention,
)

from bot.channels.interactions import clip
from bot.channels.teams.activities import (
    conversation_key,
    describe,
    is_personal_activity,
    is_personal_reference,
    read_reference,
    reference_tenant,
    status_of,
)
from bot.channels.teams.cards import CARD_TYPE, is_plain, markdown, pages, render_page
from bot.channels.teams.mentions import (
    handles_in,
    handles_in_card,
    mention_card,
    mention_text,
)
from handlers.messages import Reply, Sender
from schedules.outbox import SENDING, DeliveryError
from storage import ledger
from storage.db import session_scope
from storage.models import Address

if TYPE_CHECKING:
    from bot.channels.teams.delivery import TeamsChannel

log = logging.getLogger("liaison.teams")


CHANNEL = "teams"


GONE_STATUSES = frozenset({403, 404})  # the app was removed, or the person left


TOO_LARGE = 413  # over Teams' message size limit: never sent again as it was


UPDATE_BUDGET = 0.9  # seconds an update for everyone may take inside the 5-second invoke


DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/teams/"  # Teams' global connector


class Unreachable(DeliveryError):
    """Teams will not take messages for this person any more (HTTP 403 or 404: they removed
    the app or left the organisation), or a 1:1 chat with them cannot be opened. Their Teams
    address is forgotten, so nothing is retried there and their other channels are used."""


async def send_reply(
    teams: TeamsChannel,
    post: Callable[[Activity], Awaitable[Any]],
    reply: Reply,
    what: str = "reply",
) -> None:
    """Send a whole reply with `post` (one activity at a time): a long list in parts that
    each fit Teams' size limit, every item in one of them."""
    people = await asyncio.to_thread(teams.core.chat_names, CHANNEL, handles_in(reply))

    async def post_with_mentions(activity: Activity) -> Any:
        return await post(with_mentions(activity, people))

    if is_plain(reply) or reply.form is not None:
        await teams.with_retry(lambda: post_with_mentions(teams.activity_for(reply)), what)
        return
    ranges = pages(reply)
    key = SENDING.get() if len(ranges) > 1 else None  # a sweep's message: parts are recorded
    done = await asyncio.to_thread(parts_delivered, teams.core.engine, key, len(ranges))
    for index, (start, end) in enumerate(ranges):
        if index in done:
            continue  # delivered by an earlier try of this message: not sent twice
        await send_part(teams, post_with_mentions, reply, start, end, what)
        if key is not None:
            await asyncio.to_thread(part_delivered, teams.core.engine, key, index, len(ranges))


def parts_delivered(engine: Any, key: str | None, count: int) -> set[int]:
    if key is None:
        return set()
    with session_scope(engine) as session:
        return ledger.parts_sent(session, key, count)


def part_delivered(engine: Any, key: str, index: int, count: int) -> None:
    with session_scope(engine) as session:
        ledger.mark_part_sent(session, key, index, count)


async def card_with_mentions(teams: TeamsChannel, card: dict) -> dict:
    """A card whose @handles are real mentions (for a card refreshed in place)."""
    people = await asyncio.to_thread(teams.core.chat_names, CHANNEL, handles_in_card(card))
    return mention_card(card, people)


def with_mentions(activity: Activity, people: dict[str, tuple[str, str]]) -> Activity:
    """The activity with known @handles as real mentions (<at>Name</at> plus entities)."""
    if not people:
        return activity
    for attachment in activity.attachments or []:
        if attachment.content_type == CARD_TYPE and isinstance(attachment.content, dict):
            attachment.content = mention_card(attachment.content, people)
    if activity.text:
        used: dict[str, dict] = {}
        activity.text = mention_text(activity.text, people, used)
        activity.entities = [
            Mention(
                mentioned=ChannelAccount(**entity["mentioned"]),
                text=entity["text"],
                type="mention",
            )
            for entity in used.values()
        ] or activity.entities
    return activity


async def send_part(
    teams: TeamsChannel,
    post: Callable[[Activity], Awaitable[Any]],
    reply: Reply,
    start: int,
    end: int,
    what: str,
) -> None:
    """One part; should Teams still find it too large (413), it is never sent again as it
    was: its items go in two smaller parts, and a single item as plain text."""
    activity = card_activity(render_page(reply, start, end), summary=reply.text)
    try:
        await teams.with_retry(lambda: post(activity), what)
    except ErrorResponseException as exc:
        if status_of(exc) != TOO_LARGE:
            raise
        log.warning("teams: %s of items %s-%s was too large; splitting it", what, start, end)
        if end - start > 1:
            middle = (start + end) // 2
            await send_part(teams, post, reply, start, middle, what)
            await send_part(teams, post, reply, middle, end, what)
            return
        lines = [reply.text] if start == 0 else []
        lines += [item.text for item in reply.items[start:end]]
        text = text_activity(markdown(clip("\n\n".join(lines), 4000)))
        await teams.with_retry(lambda: post(text), what)


async def send_to_address(teams: TeamsChannel, address: Address, reply: Reply) -> None:
    """Send through a stored conversation reference, opening the 1:1 chat first when only
    a channel's is known, or none (someone known only from the organisation config: their
    Azure AD object id and tenant). Raises Unreachable when Teams says the person removed
    the app or left (403/404), after forgetting the address; else DeliveryError."""
    try:
        reference = read_reference(address.reference) if address.reference else None
        if reference is None or not is_personal_reference(reference):
            reference = await personal_reference(teams, address, reference)
        await send_reply(
            teams,
            lambda activity: continue_conversation(teams, reference, activity),
            reply,
            "proactive send",
        )
    except Unreachable:
        raise
    except ErrorResponseException as exc:
        if status_of(exc) in GONE_STATUSES:
            await forget(teams, address, describe(exc))
            raise Unreachable(f"teams: {describe(exc)}; address forgotten") from exc
        raise DeliveryError(f"teams: {describe(exc)}") from exc
    except Exception as exc:
        raise DeliveryError(f"teams: {describe(exc)}") from exc


async def personal_reference(
    teams: TeamsChannel, address: Address, known: ConversationReference | None
) -> ConversationReference:
    """Open a 1:1 chat with the person at this address (tenant id plus their Teams or Azure
    AD id), and keep its reference. The connector and the bot's account come from the
    reference known for them, else from anyone's in the tenant, else the global ones."""
    sample, sample_tenant = known, None
    if sample is None or not sample.service_url:
        found = await asyncio.to_thread(teams.core.some_reference, CHANNEL, address.tenant)
        sample = read_reference(found[0]) if found else None
        sample_tenant = found[1] if found else None
    tenant = (
        address.tenant
        or (reference_tenant(known) if known else None)
        or teams.tenant_id
        or (reference_tenant(sample) if sample else None)
        or sample_tenant
    )
    if not tenant:
        raise Unreachable(
            f"teams: no tenant known for address {address.id}; set MICROSOFT_APP_TENANT_ID"
        )
    user = known.user if known is not None and known.user is not None else None
    user = user or ChannelAccount(id=address.external_id)
    bot = sample.bot if sample is not None and sample.bot is not None else None
    bot = bot or ChannelAccount(id=f"28:{teams.app_id}")
    base = ConversationReference(
        channel_id=(sample.channel_id if sample else None) or "msteams",
        service_url=(sample.service_url if sample else None) or teams.service_url,
        bot=bot,
        user=user,
        locale=sample.locale if sample else None,
    )
    reference = await teams.with_retry(
        lambda: open_personal(teams, base, tenant), "create conversation"
    )
    text = json.dumps(reference.serialize(), sort_keys=True, separators=(",", ":"))
    sender = Sender(CHANNEL, address.external_id, tenant=tenant)
    await asyncio.to_thread(teams.core.remember_reference, sender, text)
    return reference


async def forget(teams: TeamsChannel, address: Address, why: str) -> None:
    """Teams said this person is gone for the bot (403/404): forget the address, so the
    sweeps stop retrying there and reach the person on their other channels."""
    log.warning(
        "teams: address %s refused (%s): the app was removed or the person left; forgetting it",
        address.id,
        why,
    )
    await asyncio.to_thread(teams.core.forget_address, CHANNEL, address.external_id)


async def continue_conversation(
    teams: TeamsChannel, reference: ConversationReference, activity: Activity
) -> None:
    async def send(turn_context: TurnContext) -> None:
        own_the_retries(turn_context)
        # A new message, not a reply to the adapter's synthetic continuation event.
        turn_context.activity.id = None
        await turn_context.send_activity(activity)

    await teams.host.continue_conversation(reference, send)


async def open_personal(
    teams: TeamsChannel, reference: ConversationReference, tenant: str | None
) -> ConversationReference:
    params = ConversationParameters(
        is_group=False,
        bot=reference.bot,
        members=[ChannelAccount(id=reference.user.id)],
        tenant_id=tenant,
        channel_data={"tenant": {"id": tenant}} if tenant else None,
    )
    created: dict[str, str] = {}

    async def opened(turn_context: TurnContext) -> None:
        created["id"] = turn_context.activity.conversation.id

    await teams.host.create_conversation(
        params,
        opened,
        channel_id=reference.channel_id or "msteams",
        service_url=reference.service_url,
    )
    return ConversationReference(
        channel_id=reference.channel_id or "msteams",
        service_url=reference.service_url,
        bot=reference.bot,
        user=reference.user,
        locale=reference.locale,
        conversation=ConversationAccount(
            id=created["id"], conversation_type="personal", tenant_id=tenant
        ),
    )


async def forget_on_removal(teams: TeamsChannel, turn_context: TurnContext) -> None:
    """The app was removed: by a person for themselves (forget how to reach them on Teams,
    so their other channels are used), or from a team or chat (forget the references that
    lead into it). Nothing is sent: Teams would refuse it."""
    activity = turn_context.activity
    core = teams.core
    if is_personal_activity(activity):
        user = activity.from_property
        external_id = (user.aad_object_id or user.id) if user else None
        if external_id:
            await asyncio.to_thread(core.forget_address, CHANNEL, external_id)
            log.info("teams: the app was removed by %s; their address is forgotten", user.id)
        return
    key = conversation_key(activity)
    count = await asyncio.to_thread(core.forget_references, CHANNEL, key)
    log.info("teams: the app was removed from %s; %s references forgotten", key, count)


async def update_for_everyone(teams: TeamsChannel, turn_context: TurnContext, card: dict) -> None:
    """Replace the pressed card in a shared conversation (updateActivity), within what is
    left of the invoke's budget; a late or failed update is logged, not retried forever."""
    card_id = turn_context.activity.reply_to_id
    if not card_id:
        return
    activity = card_activity(card)
    activity.id = card_id
    try:
        await asyncio.wait_for(
            teams.with_retry(lambda: turn_context.update_activity(activity), "update"),
            UPDATE_BUDGET,
        )
    except Exception as exc:
        log.warning("teams: could not update card %s for everyone: %s", card_id, describe(exc))


def own_the_retries(turn_context: TurnContext) -> None:
    """Leave retrying on HTTP status to `with_retry`: the connector's HTTP client would retry
    some statuses itself (PUT and GET on 5xx), which would multiply the attempts and waits."""
    client = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
    policy = getattr(getattr(getattr(client, "config", None), "retry_policy", None), "policy", None)
    if policy is not None:
        policy.status_forcelist = frozenset()


def card_activity(card: dict, summary: str | None = None) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        attachments=[Attachment(content_type=CARD_TYPE, content=card)],
        summary=clip(summary, 200) if summary else None,
    )


def text_activity(text: str) -> Activity:
    return Activity(type=ActivityTypes.message, text=text, text_format="markdown")
