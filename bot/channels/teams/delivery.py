"""TeamsChannel: who a Teams user is, and sending (replies, private answers, proactive
messages through stored conversation references, throttling retried, refusals kept for the
sweeps); TeamsOutbox for the sweeps.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from botbuilder.core import (
    ActivityHandler,
    TurnContext,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ErrorResponseException,
)

from bot.channels.interactions import (
    Destination,
    TTLCache,
    destination,
    keep_for_later,
)
from bot.channels.interactions import deliver as deliver_each
from bot.channels.teams import reach
from bot.channels.teams.activities import (
    describe,
    is_personal_activity,
    is_personal_reference,
    read_reference,
    retry_after_of,
    status_of,
    teams_sender,
)
from bot.channels.teams.cards import is_plain, markdown, pages, render_card, render_page
from bot.channels.teams.host import TeamsHost
from bot.channels.teams.reach import (  # noqa: F401  (imported from here by the other modules)
    CHANNEL,
    DEFAULT_SERVICE_URL,
    Unreachable,
    card_activity,
    own_the_retries,
    text_activity,
)
from bot.lifecycle import InFlight
from bot.retry import Breaker, Retrier, RetryPolicy, waiting_at_most
from handlers.core import Liaison
from handlers.messages import (
    Inbound,
    Outgoing,
    Reply,
    Sender,
)
from schedules.outbox import DeliveryError
from storage.models import Address

log = logging.getLogger("liaison.teams")


INVOKE_BUDGET = 4.0  # seconds: an adaptiveCard/action invoke must be answered within 5


TURN_BUDGET = 4.5  # seconds: answer the HTTP request, and finish longer turns afterwards


SENDER_TTL = 3600.0  # seconds a looked-up sender (name, email) is reused


RETRY_STATUSES = frozenset({412, 429, 502, 504})


@dataclass(eq=False)
class TeamsChannel:
    core: Liaison
    host: TeamsHost  # the SDK: botbuilder's or the Agents SDK's adapter (host.py)
    app_id: str = ""
    tenant_id: str | None = None
    invoke_budget: float = INVOKE_BUDGET
    turn_budget: float = TURN_BUDGET
    service_url: str = DEFAULT_SERVICE_URL  # for 1:1 chats with people never seen in Teams
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    retrier: Retrier = field(default_factory=Retrier)  # messages that found the database away
    breaker: Breaker = field(default_factory=lambda: Breaker(CHANNEL))  # one shared back-off
    in_flight: InFlight = field(default_factory=InFlight)  # work that outlives its request
    bot: ActivityHandler | None = field(default=None, init=False)  # set by build_teams
    _senders: TTLCache[str, Sender] = field(
        default_factory=lambda: TTLCache(SENDER_TTL), init=False
    )
    _remembered: TTLCache[str, str] = field(
        default_factory=lambda: TTLCache(SENDER_TTL), init=False
    )

    # Plumbing

    async def answer(self, inbound: Inbound) -> list[Outgoing]:
        return await asyncio.to_thread(self.core.handle, inbound)

    def keep(self, future: Awaitable) -> asyncio.Future:
        """Run work after the acknowledgement, holding a reference until it is done."""
        task = self.in_flight.start(future)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Future) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("teams: background work failed", exc_info=task.exception())

    async def close(self, _app: web.Application | None = None) -> None:
        """Let work that outlived its request finish (the server's on_cleanup)."""
        await self.retrier.stop()
        pending = self.in_flight.pending()
        if pending:
            await asyncio.wait(pending, timeout=10)
        if self.host is not None:
            await self.host.close()

    async def sender(
        self, turn_context: TurnContext, account: ChannelAccount | None = None
    ) -> Sender:
        """Who wrote (or, given an account, someone they mentioned): name, email, time zone,
        tenant. The email comes from the member roster; answers are cached for an hour."""
        activity = turn_context.activity
        user = account or activity.from_property
        key = user.id if account is None else f"mentioned:{user.id}"
        cached = self._senders.get(key)
        if cached is not None:
            return cached
        member = None
        try:
            member = await self.host.get_member(turn_context, user.id)
        except Exception as exc:
            log.info("teams: no roster entry for %s: %s", user.id, describe(exc))
        sender = teams_sender(CHANNEL, activity, user, member, writer=account is None)
        self._senders.put(key, sender)
        return sender

    async def remember(self, turn_context: TurnContext, sender: Sender) -> None:
        """Keep how to reach this person later, so proactive messages survive restarts. A
        1:1 chat is preferred: a channel's reference never replaces a personal one."""
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        reference.activity_id = None
        text = json.dumps(reference.serialize(), sort_keys=True, separators=(",", ":"))
        if self._remembered.get(sender.external_id) == text:
            return
        if not is_personal_reference(reference):
            person_id = await asyncio.to_thread(self.core.register, sender)
            stored = await asyncio.to_thread(self.core.address_of, person_id, CHANNEL)
            known = read_reference(stored.reference) if stored and stored.reference else None
            if known is not None and is_personal_reference(known):
                self._remembered.put(sender.external_id, text)
                return
        await asyncio.to_thread(self.core.remember_reference, sender, text)
        self._remembered.put(sender.external_id, text)

    # Sending

    def activity_for(self, reply: Reply) -> Activity:
        """A plain message for one line of text, an Adaptive Card for everything else (its
        first part: `send_reply` sends all of a long one)."""
        if is_plain(reply):
            return Activity(
                type=ActivityTypes.message, text=markdown(reply.text), text_format="markdown"
            )
        if reply.form is not None:
            return card_activity(render_card(reply), summary=reply.text)
        start, end = pages(reply)[0]
        return card_activity(render_page(reply, start, end, more=True), summary=reply.text)

    async def send(self, turn_context: TurnContext, activity: Activity) -> None:
        """A message into the conversation of this turn."""
        await self.with_retry(lambda: turn_context.send_activity(activity), "reply")

    async def send_reply(
        self, post: Callable[[Activity], Awaitable[Any]], reply: Reply, what: str = "reply"
    ) -> None:
        """Send a whole reply with `post`, in parts that fit Teams' size limit."""
        await reach.send_reply(self, post, reply, what)

    async def send_to_address(self, address: Address, reply: Reply) -> None:
        """A proactive message to one address (reach.send_to_address), or DeliveryError."""
        await reach.send_to_address(self, address, reply)

    async def deliver(self, turn_context: TurnContext, outgoing: list[Outgoing]) -> None:
        """Replies into this conversation; DMs to other people; private answers asked for in
        a channel go to the asker's 1:1 chat, never to the channel."""
        personal = is_personal_activity(turn_context.activity)
        told_private = False

        async def send(out: Outgoing) -> None:
            nonlocal told_private
            where = destination(out, private_place=personal)
            if where is Destination.PERSON:
                try:
                    await self.send_to_person(out.to_person, out.reply, refused=DeliveryError)
                except Unreachable:
                    await self._cannot_reach(turn_context, out.to_person)
                    raise  # kept for the sweeps, which try the person's other channels
            elif where is Destination.PRIVATE:
                told_private = await self._private(turn_context, out.reply, told_private)
            else:
                await self.send_reply(turn_context.send_activity, out.reply)

        async def asker() -> int | None:
            return await asyncio.to_thread(self.core.register, await self.sender(turn_context))

        async def keep(out: Outgoing, why: str) -> None:
            await keep_for_later(self.core, out, asker, why)

        # with_retry has already waited out throttling: what still fails is kept for the sweeps
        await deliver_each(
            outgoing,
            send,
            failures=(Exception,),
            describe=describe,
            passing=lambda _exc: False,
            retrier=self.retrier,
            keep=keep,
            what="teams send",
            core=self.core,
        )

    async def _cannot_reach(self, turn_context: TurnContext, person_id: int) -> None:
        """Tell the asker, in this conversation, that their message did not reach someone."""
        try:
            handle = await asyncio.to_thread(self.core.handle_of, person_id)
            note = (
                f"I can't reach @{handle} in Teams: they haven't installed the app for "
                "themselves, or have left. I'll keep the message and try their other channels."
            )
            await self.send(turn_context, text_activity(note))
        except Exception as exc:
            log.warning("teams: could not tell the asker about person %s: %s", person_id, exc)

    async def _private(self, turn_context: TurnContext, reply: Reply, told: bool) -> bool:
        """Send a private answer to the asker's 1:1 chat; say so in the thread once."""
        sender = await self.sender(turn_context)
        person_id = await asyncio.to_thread(self.core.register, sender)
        sent = await self.send_to_person(person_id, reply)
        if not told:
            note = (
                "I've sent you the answer in our 1:1 chat."
                if sent
                else "That answer is just for you, and I can't message you privately yet. "
                "Open a chat with me and ask again there."
            )
            await self.send(turn_context, text_activity(note))
        return True

    async def send_to_person(
        self, person_id: int, reply: Reply, *, refused: type[Exception] | None = None
    ) -> bool:
        """A proactive message to a person's 1:1 chat with the bot; False when it could not
        be sent (no Teams address, or Teams refused it after the retries). With `refused`,
        a refusal raises instead, so the caller can keep the message for later."""
        address = await asyncio.to_thread(self.core.address_of, person_id, CHANNEL)
        if address is None:
            log.info("teams: person %s has no Teams address; not sent", person_id)
            if refused is not None:
                raise refused(f"teams: person {person_id} has no Teams address")
            return False
        try:
            await self.send_to_address(address, reply)
        except DeliveryError as exc:
            if refused is not None:
                raise
            log.warning("teams: could not message person %s: %s", person_id, exc)
            return False
        return True

    async def with_retry(self, attempt: Callable[[], Awaitable[Any]], what: str) -> Any:
        """Run one Bot Framework call, backing off on 429, 412, 502 and 504."""
        tries = 0
        while True:
            await self.breaker.wait()  # shared with every other send to Teams
            try:
                result = await attempt()
            except ErrorResponseException as exc:
                status = status_of(exc)
                retryable = status in RETRY_STATUSES or (status or 0) >= 500
                if retryable:
                    self.breaker.failed(retry_after_of(exc) if status == 429 else None)
                wait = self.retry.delay(tries, retry_after_of(exc)) if retryable else None
                if wait is None:
                    raise
                log.info("teams: %s got HTTP %s; retrying in %.2fs", what, status, wait)
                tries += 1
                await asyncio.sleep(wait)
            else:
                self.breaker.succeeded()
                return result


class TeamsOutbox:
    """The sweeps' way to message someone on Teams (throttling is retried by the channel)."""

    channel = CHANNEL

    def __init__(self, teams: TeamsChannel) -> None:
        self.teams = teams

    async def send(self, address: Address, reply: Reply) -> None:
        with waiting_at_most(0.0):  # Teams failing: recorded as failed now, retried later
            await self.teams.send_to_address(address, reply)
