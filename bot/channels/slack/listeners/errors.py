"""Bolt's global error handler: a listener that fails (after its ack, as every listener here
acks first) is logged with what it was handling, and the person who asked is told, by DM,
that nothing may have been saved. Never silence, never Slack's own error."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.channels.slack.delivery import SlackChannel
from handlers.messages import Outgoing, Reply

log = logging.getLogger("liaison.slack")
# Bolt (1.30) clears a request's acknowledgement after its error handler returns, while the
# request still polls for it every 10 ms: a quick handler makes an acknowledged request answer
# 404 "unhandled" three seconds later. Returning no sooner than this lets the poll see the ack.
ACK_SEEN_SECONDS = 0.05

FAILED = (
    "Sorry, something went wrong on my side while handling that, and it may not have been "
    "saved. Please try again in a minute; if it keeps happening, tell your IT team."
)


def register(app: AsyncApp, slack: SlackChannel) -> None:
    @app.error
    async def on_error(error: Exception, body: dict, response: BoltResponse | None) -> Any:
        await report_failure(slack, body, error)
        if response is not None:  # it failed before its ack: acknowledge, the person was told
            return BoltResponse(status=200, body="")
        await asyncio.sleep(ACK_SEEN_SECONDS)
        return None


def failure_reporter(slack: SlackChannel, body: dict):
    """`report_failure` for work done after the listener returned (`SlackChannel.backlog`)."""

    async def failed(error: BaseException) -> None:
        await report_failure(slack, body, error)

    return failed


async def report_failure(slack: SlackChannel, body: Any, error: BaseException) -> None:
    """Log a failure with what it was handling; tell the person who asked, by DM."""
    what, user_id = describe(body if isinstance(body, dict) else {})
    log.error("slack: %s failed for %s", what, user_id or "nobody", exc_info=error)
    if user_id and asked_by_a_person(body):
        try:
            await slack.deliver(
                [Outgoing(Reply(FAILED, private=True))], channel=None, user_id=user_id
            )
        except Exception:  # the failure may be Slack itself: the log is what is left
            log.exception("slack: could not tell %s about a failure", user_id)


def describe(body: dict) -> tuple[str, str | None]:
    """What a request was (its type and the id of its button, form, command or event) and
    who sent it, for the log: ids only, never its text."""
    kind = str(body.get("type") or ("command" if body.get("command") else "request"))
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    actions = body.get("actions") if isinstance(body.get("actions"), list) else []
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    detail = (
        action.get("action_id")
        or view.get("callback_id")
        or body.get("callback_id")
        or body.get("command")
        or event.get("type")
        or ""
    )
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    user_id = user.get("id") or body.get("user_id") or event.get("user")
    return f"{kind} {str(detail)[:80]}".strip(), user_id if isinstance(user_id, str) else None


def asked_by_a_person(body: dict) -> bool:
    """A button, a form, a shortcut, a command, a DM or a mention of the bot: someone is
    waiting for an answer. (A message in a channel that only might be a signal is not.)"""
    if body.get("type") in ("block_actions", "view_submission", "shortcut", "message_action"):
        return True
    if body.get("command"):
        return True
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    return event.get("type") == "app_mention" or event.get("channel_type") == "im"
