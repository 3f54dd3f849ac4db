"""Slack: Bolt's AsyncApp on the shared aiohttp server (or Socket Mode), rendered in Block Kit.

The adapter stays thin: it turns events, commands and interactions into Inbound messages,
hands them to the core in a worker thread (the core is synchronous and talks to the database),
and renders the Outgoing replies. Everything Slack waits for is acknowledged first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from handlers.core import Liaison
from handlers.messages import Action, Choice, Form, FormField, Inbound, Outgoing, Reply, Sender
from handlers.signals import detect

log = logging.getLogger("liaison.slack")
CHANNEL = "slack"
IGNORED_SUBTYPES = {
    "message_changed",
    "message_deleted",
    "message_replied",
    "channel_join",
    "channel_leave",
    "group_join",
    "group_leave",
    "bot_message",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "pinned_item",
    "unpinned_item",
    "ekm_access_denied",
}
MAX_ITEMS = 20
SUBMIT_BUDGET = 2.5  # seconds: a view_submission must be acknowledged within 3


@dataclass
class SlackChannel:
    liaison: Liaison
    app: AsyncApp
    client: AsyncWebClient
    users: dict[str, tuple[float, Sender]]

    # Inbound plumbing

    async def core(self, inbound: Inbound) -> list[Outgoing]:
        return await asyncio.to_thread(self.liaison.handle, inbound)

    async def sender(self, user_id: str) -> Sender:
        """Who a Slack user is (name, email, time zone), cached for an hour."""
        cached = self.users.get(user_id)
        if cached and time.monotonic() - cached[0] < 3600:
            return cached[1]
        sender = Sender(CHANNEL, user_id)
        try:
            info = (await self.client.users_info(user=user_id))["user"]
            profile = info.get("profile") or {}
            sender = Sender(
                CHANNEL,
                user_id,
                name=info.get("name") or profile.get("display_name") or None,
                email=profile.get("email") or None,
                timezone=info.get("tz") or None,
                tenant=info.get("team_id") or None,
            )
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        self.users[user_id] = (time.monotonic(), sender)
        return sender

    async def register(self, user_id: str) -> None:
        """Make sure a Slack user picked in a form is a person the core can find."""
        await asyncio.to_thread(self.liaison.register, await self.sender(user_id))

    # Delivery

    async def deliver(
        self,
        outgoing: list[Outgoing],
        *,
        channel: str | None,
        thread_ts: str | None = None,
        user_id: str | None = None,
        respond: AsyncRespond | None = None,
    ) -> None:
        for out in outgoing:
            blocks = render_blocks(out.reply)
            text = fallback_text(out.reply)
            try:
                if out.to_person is not None:
                    await self.dm(out.to_person, text, blocks)
                elif respond is not None and (out.reply.private or channel is None):
                    await respond(
                        text=text, blocks=blocks, response_type="ephemeral", replace_original=False
                    )
                elif out.reply.private and channel and user_id and not channel.startswith("D"):
                    await self.client.chat_postEphemeral(
                        channel=channel,
                        user=user_id,
                        text=text,
                        blocks=blocks,
                        thread_ts=thread_ts,
                    )
                elif channel:
                    await self.client.chat_postMessage(
                        channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
                    )
            except SlackApiError as exc:
                log.error("slack send failed: %s", exc.response.get("error"))

    async def dm(self, person_id: int, text: str, blocks: list[dict]) -> bool:
        """DM a person on Slack, opening (and remembering) the DM channel once."""
        address = await asyncio.to_thread(self.liaison.address_of, person_id, CHANNEL)
        if address is None:
            log.info("person %s has no Slack address; DM skipped", person_id)
            return False
        await self.dm_address(address, text, blocks)
        return True

    async def dm_address(self, address, text: str, blocks: list[dict]) -> None:
        dm_channel = address.dm_channel
        if not dm_channel:
            opened = await self.client.conversations_open(users=address.external_id)
            dm_channel = opened["channel"]["id"]
            await asyncio.to_thread(self.liaison.remember_dm, address.id, dm_channel)
        await self.client.chat_postMessage(channel=dm_channel, text=text, blocks=blocks)

    async def open_form(self, trigger_id: str, form: Form) -> None:
        await self.client.views_open(trigger_id=trigger_id, view=render_modal(form))


class SlackOutbox:
    """The sweeps' way to DM someone on Slack (rate limits are retried by the client)."""

    channel = CHANNEL

    def __init__(self, slack: SlackChannel) -> None:
        self.slack = slack

    async def send(self, address, reply: Reply) -> None:
        from schedules.outbox import DeliveryError

        try:
            await self.slack.dm_address(address, fallback_text(reply), render_blocks(reply))
        except SlackApiError as exc:
            raise DeliveryError(f"slack: {exc.response.get('error')}") from exc
        except Exception as exc:  # a network failure after the client's own retries
            raise DeliveryError(f"slack: {type(exc).__name__}") from exc


def build_slack(
    liaison: Liaison,
    *,
    token: str,
    signing_secret: str | None,
    api_url: str,
    socket_mode: bool = False,
) -> SlackChannel:
    """The Bolt app with every listener registered, and its retrying Web API client."""
    client = AsyncWebClient(
        token=token,
        base_url=api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
        ],
    )
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "socket-mode-has-no-signing-secret",
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=logging.getLogger("liaison.slack.bolt"),
    )
    channel = SlackChannel(liaison, app, client, {})
    register_events(channel)
    register_commands(channel)
    register_interactions(channel)
    return channel


def slack_route(channel: SlackChannel) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for POST /slack/events (events, interactivity and commands)."""

    async def handle(request: web.Request) -> web.Response:
        bolt_response = await channel.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    return handle


# Events


def register_events(slack: SlackChannel) -> None:
    app = slack.app

    @app.event("message")
    async def on_message(event: dict, context: dict) -> None:
        if event.get("subtype") in IGNORED_SUBTYPES or event.get("bot_id"):
            return
        if event.get("subtype") not in (None, "file_share", "thread_broadcast"):
            return
        user, text = event.get("user"), event.get("text") or ""
        if not user or user == context.get("bot_user_id"):
            return
        direct = event.get("channel_type") == "im"
        if not direct and detect(text, slack.liaison.catalogue.cues()) is None:
            return  # everyday chat: nothing stored, nothing said
        if not direct and context.get("bot_user_id") and f"<@{context['bot_user_id']}>" in text:
            return  # the app_mention event handles it
        await handle_message(slack, event, direct)

    @app.event("app_mention")
    async def on_mention(event: dict) -> None:
        if event.get("user") and not event.get("bot_id"):
            await handle_message(slack, event, direct=True)

    @app.event("app_home_opened")
    async def on_home(event: dict) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        sender = await slack.sender(event["user"])
        replies = await slack.core(Inbound(sender, "home", action=Action("home.open")))
        await slack.client.views_publish(user_id=event["user"], view=render_home(replies))


async def handle_message(slack: SlackChannel, event: dict, direct: bool) -> None:
    sender = await slack.sender(event["user"])
    channel_id = event.get("channel", "")
    ts = event.get("ts")
    link = None
    if not direct or event.get("channel_type") != "im":
        link = await permalink(slack, channel_id, ts)
    inbound = Inbound(
        sender=sender,
        conversation=channel_id,
        text=event.get("text") or "",
        message_id=ts,
        link=link,
        is_direct=direct,
    )
    replies = await slack.core(inbound)
    thread = event.get("thread_ts") or (None if event.get("channel_type") == "im" else ts)
    await slack.deliver(replies, channel=channel_id, thread_ts=thread, user_id=event["user"])


async def permalink(slack: SlackChannel, channel: str, ts: str | None) -> str | None:
    if not ts:
        return None
    try:
        return (await slack.client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
    except SlackApiError:
        return None


# Slash command


def register_commands(slack: SlackChannel) -> None:
    @slack.app.command(re.compile(r"^/commitments"))
    async def on_commitments(ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        await ack()
        sender = await slack.sender(command["user_id"])
        for mentioned in re.findall(r"<@([UW][A-Z0-9]+)", command.get("text") or ""):
            await slack.register(mentioned)
        inbound = Inbound(
            sender,
            command.get("channel_id", ""),
            text=f"commitments {command.get('text') or ''}",
            is_direct=True,
        )
        replies = await slack.core(inbound)
        await slack.deliver(
            [_private(r) for r in replies],
            channel=None,
            user_id=command["user_id"],
            respond=respond,
        )


def _private(out: Outgoing) -> Outgoing:
    """Slash command answers are for the asker only; DMs to others stay DMs."""
    if out.to_person is not None:
        return out
    return Outgoing(replace(out.reply, private=True), None, out.meta)


# Buttons, shortcuts and modals


def register_interactions(slack: SlackChannel) -> None:
    app = slack.app

    @app.action(re.compile(r".+"))
    async def on_button(ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond) -> None:
        await ack()
        action_id = action.get("action_id", "").split("#", 1)[0]
        value = action.get("value") or ""
        user_id = body["user"]["id"]
        channel_id = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        if action_id == "offer.plan":
            data = _json(value)
            data.setdefault("conv", channel_id)
            data.setdefault("mid", message.get("thread_ts") or message.get("ts"))
            await slack.open_form(body["trigger_id"], slack.liaison.intake_form(data))
            return
        act = action_id.removeprefix("commitment.")
        if act in ("counter", "new_date", "blocked") and not _json(value).get("due"):
            await slack.open_form(body["trigger_id"], act_form(act, _json(value).get("id")))
            return
        sender = await slack.sender(user_id)
        replies = await slack.core(
            Inbound(sender, channel_id or "", action=Action(action_id, value), is_direct=True)
        )
        thread = message.get("thread_ts") or message.get("ts")
        in_dm = bool(channel_id and channel_id.startswith("D"))
        await slack.deliver(
            replies,
            channel=channel_id if in_dm else None,
            thread_ts=None if in_dm else thread,
            user_id=user_id,
            respond=None if in_dm else respond,
        )

    @app.shortcut("plan_with_it")
    async def on_plan_shortcut(ack: AsyncAck, shortcut: dict) -> None:
        await ack()
        message = shortcut.get("message") or {}
        text = message.get("text") or ""
        channel_id = (shortcut.get("channel") or {}).get("id")
        signal = slack.liaison.detect(text) if text else None
        data = {
            "kind": signal.kind if signal else None,
            "unit": slack.liaison.org.unit_for_channel(channel_id),
            "excerpt": signal.excerpt if signal else text[:280] or None,
            "link": await permalink(slack, channel_id, message.get("ts")) if channel_id else None,
            "mid": message.get("ts") or shortcut.get("action_ts"),
            "conv": channel_id,
        }
        await slack.open_form(shortcut["trigger_id"], slack.liaison.intake_form(data))

    @app.shortcut("track_commitment")
    async def on_track_shortcut(ack: AsyncAck, shortcut: dict) -> None:
        await ack()
        message = shortcut.get("message") or {}
        state = json.dumps({"conv": (shortcut.get("channel") or {}).get("id")})
        form = slack.liaison.commitment_form(message.get("text") or "", state=state)
        await slack.open_form(shortcut["trigger_id"], form)

    @app.view(re.compile(r"^(intake|commitment|act)$"))
    async def on_submit(ack: AsyncAck, body: dict, view: dict) -> None:
        await submit_view(slack, ack, body, view)


async def submit_view(slack: SlackChannel, ack: AsyncAck, body: dict, view: dict) -> None:
    """Validate in the core; answer field errors inside the modal, or close it and report."""
    user_id = body["user"]["id"]
    values = read_values(view)
    for key in ("owner",):
        picked = values.get(key)
        if picked:
            await slack.register(picked)
            values[key] = f"<@{picked}>"
    state = _json(view.get("private_metadata") or "")
    callback = view.get("callback_id")
    if callback == "act":
        action = Action(f"commitment.{state.get('act')}", json.dumps({**state, **values}))
    else:
        action = Action(f"{callback}.submit", json.dumps({"state": state, "values": values}))
    sender = await slack.sender(user_id)
    conversation = state.get("conv") or ""
    task = asyncio.ensure_future(
        slack.core(Inbound(sender, conversation, action=action, is_direct=True))
    )
    try:
        replies = await asyncio.wait_for(asyncio.shield(task), SUBMIT_BUDGET)
    except TimeoutError:
        await ack()  # close the modal now; report when the work is done
        replies = await task
        replies = [r for r in replies if r.reply.kind != "form_errors"] or replies
    else:
        errors = next((r.reply.errors for r in replies if r.reply.kind == "form_errors"), None)
        if errors:
            await ack(response_action="errors", errors={k: v[:150] for k, v in errors})
            return
        await ack()
    channel_id = conversation if re.match(r"^[CGD][A-Z0-9]+$", conversation or "") else None
    thread = state.get("mid") if channel_id and not channel_id.startswith("D") else None
    summary = [r for r in replies if r.to_person is None]
    dms = [r for r in replies if r.to_person is not None]
    if channel_id:
        await slack.deliver(summary, channel=channel_id, thread_ts=thread, user_id=user_id)
    else:
        for out in summary:
            await slack.client.chat_postMessage(
                channel=user_id, text=fallback_text(out.reply), blocks=render_blocks(out.reply)
            )
    await slack.deliver(dms, channel=None, user_id=user_id)


def read_values(view: dict) -> dict[str, Any]:
    """Flatten a modal's state into {field key: value} (block ids are the field keys)."""
    values: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for element in actions.values():
            kind = element.get("type")
            if kind == "datepicker":
                values[block_id] = element.get("selected_date")
            elif kind == "users_select":
                values[block_id] = element.get("selected_user")
            elif kind == "static_select":
                values[block_id] = (element.get("selected_option") or {}).get("value")
            elif kind in ("multi_static_select", "checkboxes"):
                values[block_id] = [o["value"] for o in element.get("selected_options") or []]
            else:
                values[block_id] = element.get("value")
    return values


def act_form(act: str, commitment_id: Any) -> Form:
    state = json.dumps({"id": commitment_id, "act": act})
    if act == "blocked":
        field = FormField("note", "What is it blocked on?", "long_text")
        return Form("act", "I'm blocked", (field,), submit_label="Send", state=state)
    label = "Which date would work?" if act == "counter" else "What's the new date?"
    field = FormField("due", label, "date")
    return Form("act", "A new date", (field,), submit_label="Send", state=state)


def _json(value: str) -> dict[str, Any]:
    try:
        loaded = json.loads(value) if value else {}
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


# Block Kit rendering


def _text(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fallback_text(reply: Reply) -> str:
    """The plain text Slack shows in notifications and to screen readers."""
    return _text(reply.text, 3000)


def _buttons(choices: tuple[Choice, ...], block_id: str | None = None) -> dict:
    elements = []
    for index, choice in enumerate(choices[:25]):
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": _text(choice.label, 75), "emoji": True},
            "action_id": f"{choice.action}#{index}",
            "value": choice.value[:2000] or "{}",
        }
        if choice.style:
            button["style"] = choice.style
        elements.append(button)
    block: dict[str, Any] = {"type": "actions", "elements": elements}
    if block_id:
        block["block_id"] = block_id[:255]
    return block


def render_blocks(reply: Reply) -> list[dict]:
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _text(reply.text or " ")}}
    ]
    if reply.facts:
        fields = [
            {"type": "mrkdwn", "text": _text(f"*{label}*\n{value}", 2000)}
            for label, value in reply.facts[:10]
        ]
        blocks.append({"type": "section", "fields": fields})
    for index, item in enumerate(reply.items[:MAX_ITEMS]):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _text(item.text)}})
        if item.choices:
            blocks.append(_buttons(item.choices, f"item-{index}"))
    if len(reply.items) > MAX_ITEMS:
        more = len(reply.items) - MAX_ITEMS
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more."}]}
        )
    if reply.choices:
        blocks.append(_buttons(reply.choices))
    return blocks[:50]


def render_home(outgoing: list[Outgoing]) -> dict:
    blocks: list[dict] = []
    for out in outgoing:
        if blocks:
            blocks.append({"type": "divider"})
        blocks += render_blocks(out.reply)
    return {"type": "home", "blocks": blocks[:100]}


def render_modal(form: Form) -> dict:
    blocks = [_input_block(f) for f in form.fields]
    return {
        "type": "modal",
        "callback_id": form.id,
        "title": {"type": "plain_text", "text": _text(form.title, 24)},
        "submit": {"type": "plain_text", "text": _text(form.submit_label, 24)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": form.state[:3000],
        "blocks": blocks[:100],
    }


def _option(value: str, label: str) -> dict:
    return {"text": {"type": "plain_text", "text": _text(label, 75)}, "value": value[:150]}


def _input_block(field: FormField) -> dict:
    action_id = "value"
    if field.kind == "date":
        element: dict[str, Any] = {"type": "datepicker", "action_id": action_id}
    elif field.kind == "person":
        element = {"type": "users_select", "action_id": action_id}
    elif field.kind == "choice":
        element = {
            "type": "static_select",
            "action_id": action_id,
            "options": [_option(v, label) for v, label in field.options[:100]],
        }
    elif field.kind == "roles":
        options = [_option(v, label) for v, label in field.options[:100]]
        kept = set((field.initial or "").split(","))
        element = {
            "type": "multi_static_select",
            "action_id": action_id,
            "options": options,
            "initial_options": [o for o in options if o["value"] in kept],
        }
    else:
        element = {
            "type": "plain_text_input",
            "action_id": action_id,
            "multiline": field.kind == "long_text",
            "max_length": 3000 if field.kind == "long_text" else 200,
        }
        if field.initial:
            element["initial_value"] = field.initial[:200]
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.key,
        "label": {"type": "plain_text", "text": _text(field.label, 2000)},
        "element": element,
        "optional": field.optional,
    }
    if field.hint:
        block["hint"] = {"type": "plain_text", "text": _text(field.hint, 2000)}
    return block
