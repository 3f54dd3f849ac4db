"""Modal submissions: judged by the core within SUBMIT_BUDGET (a "Saving…" view when the
database is slower), field errors shown in the modal, the outcome reported where it belongs.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.channels.interactions import (
    ACT_FORM,
    OUT_OF_DATE,
    answer_now,
    field_errors,
    read_json,
    trusted_intake_state,
    unseal,
)
from bot.channels.interactions import submission as submitted_action
from bot.channels.slack.blockkit import (
    clipped,
    done_modal,
    escape,
    fallback_text,
    info_modal,
    refill,
    render_blocks,
    saving_modal,
    section,
    title_of,
)
from bot.channels.slack.delivery import CONVERSATION, TS, SlackChannel, permalink, slack_error
from bot.channels.slack.manifest import VIEWS
from handlers.messages import (
    Inbound,
    Outgoing,
)

log = logging.getLogger("liaison.slack")


SUBMIT_BUDGET = 2.0  # seconds for the core to judge a modal; Slack gives the whole reply 3


def register(app: AsyncApp, slack: SlackChannel) -> None:
    """Every modal the app opens comes back here."""

    @app.view(re.compile(f"^({'|'.join(VIEWS)})$"))
    @slack.in_flight.tracked  # shutdown waits for what runs after the ack
    async def on_submit(ack: AsyncAck, body: dict, view: dict) -> None:
        await submit_view(slack, ack, body, view)


FAILED = "Sorry, something went wrong and nothing was saved. Please try again in a minute."


async def submit_view(slack: SlackChannel, ack: AsyncAck, body: dict, view: dict) -> None:
    """Validate in the core; answer field errors inside the modal, or close it and report."""
    user_id = body["user"]["id"]
    callback = view.get("callback_id") or ""
    state_text = unseal(view.get("private_metadata"), callback)
    if state_text is None:  # changed on the way, or from before the key changed
        log.warning("slack: refused a form %s whose state is not ours", callback[:80])
        await ack(response_action="update", view=info_modal(title_of(view), [section(OUT_OF_DATE)]))
        return
    state = read_json(state_text)
    values = read_values(view)
    work = asyncio.ensure_future(
        answer_now(
            f"slack form {callback}",
            lambda: submission(slack, user_id, callback, state, dict(values)),
        )
    )
    try:
        replies = await asyncio.wait_for(asyncio.shield(work), SUBMIT_BUDGET)
    except TimeoutError:
        # Slow database: keep Slack's 3 seconds, show progress, and finish in the background.
        await ack(response_action="update", view=saving_modal(view))
        try:
            replies = await work
        except Exception:
            log.exception("slack form %s failed", callback)
            await _views_update(slack, view, info_modal(title_of(view), [section(FAILED)]))
            return
        errors = form_errors(callback, replies, view)
        if errors:
            await _views_update(slack, view, refill(view, values, errors))
            return
        await _views_update(slack, view, done_modal(view, replies))
    except Exception:
        log.exception("slack form %s failed", callback)
        await ack(response_action="update", view=info_modal(title_of(view), [section(FAILED)]))
        return
    else:
        errors = form_errors(callback, replies, view)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
    await after_submission(slack, user_id, callback, state, replies)


async def submission(
    slack: SlackChannel, user_id: str, callback: str, state: dict, values: dict
) -> list[Outgoing]:
    """Everything a form needs before the core judges it, and the core's answer."""
    picked = values.get("owner")
    if picked:
        await slack.person_id(picked)
        values["owner"] = f"<@{picked}>"
    conv, mid = str(state.get("conv") or ""), str(state.get("mid") or "")
    if callback == "intake":  # the source link is Slack's for this message, never the client's
        real = conv[:1] in ("C", "G") and TS.match(mid)
        thread = str(state.get("th") or "") or None
        link = await permalink(slack, conv, mid, thread) if real else None
        state = trusted_intake_state(state, link)
    sender = await slack.sender(user_id)
    action = submitted_action(callback, state, values)
    return await slack.answer(Inbound(sender, conv, action=action, is_direct=True))


def form_errors(callback: str, replies: list[Outgoing], view: dict) -> dict[str, str]:
    """The core's field errors, keyed by the modal's block ids (Slack's response_action)."""
    errors = field_errors(replies)
    if not errors:
        return {}
    inputs = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
    result: dict[str, str] = {}
    for key, text in errors.items():
        target = key if key in inputs or not inputs else inputs[0]
        result[target] = f"{result[target]} {text}" if target in result else text
    return {k: clipped(v, 150) for k, v in result.items()}


async def after_submission(
    slack: SlackChannel, user_id: str, callback: str, state: dict, replies: list[Outgoing]
) -> None:
    """The summary where the conversation is (in the message's thread), DMs to the owners."""
    if callback == ACT_FORM:
        await slack.report(state.get("where") or {}, user_id, replies)
        return
    mine = [r for r in replies if r.to_person is None]
    others = [r for r in replies if r.to_person is not None]
    conv, mid = str(state.get("conv") or ""), str(state.get("mid") or "")
    channel = conv if CONVERSATION.match(conv) else None
    thread = mid if channel and not channel.startswith("D") and TS.match(mid) else None
    posted = False
    if channel:
        try:
            for out in mine:
                await slack.client.chat_postMessage(
                    channel=channel,
                    text=fallback_text(out.reply),
                    blocks=render_blocks(out.reply),
                    thread_ts=thread,
                )
            posted = True
        except SlackApiError as exc:  # e.g. not_in_channel after a shortcut: DM instead
            log.info("summary not posted in %s: %s", channel, slack_error(exc))
    if not posted:
        await slack.deliver(mine, channel=None, user_id=user_id)
    saved = next((r for r in mine if r.meta.get("initiative")), None)
    if callback == "intake" and saved and channel and TS.match(str(state.get("offer") or "")):
        title = saved.reply.text.split("\n", 1)[0]
        outcome = f"<@{user_id}> planned it with IT. {escape(title)}"
        await slack.update_offer(channel, state["offer"], outcome)
    await slack.deliver(others, channel=None, user_id=user_id)


async def _views_update(slack: SlackChannel, view: dict, new_view: dict) -> None:
    try:
        await slack.client.views_update(view_id=view.get("id"), view=new_view)
    except SlackApiError as exc:
        log.warning("views.update failed: %s", slack_error(exc))


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
