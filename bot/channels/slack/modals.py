"""Opening a modal: a trigger_id lives 3 seconds and opens one view, so views.open may be
refused ("expired_trigger_id"). The person is then told the form did not open and what to do,
privately where they pressed (or by DM): never silence."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.channels.slack.blockkit import render_modal
from bot.channels.slack.delivery import SlackChannel
from bot.channels.slack.directory import slack_error
from handlers.messages import Form, Outgoing, Reply

log = logging.getLogger("liaison.slack")

TRIGGER_ERRORS = frozenset({"expired_trigger_id", "invalid_trigger_id", "trigger_exchanged"})
FORM_NOT_OPENED = (
    "Sorry, the form didn't open: Slack gives it 3 seconds and it took longer this time. "
    "Nothing was saved. Press the button (or use the shortcut) again."
)
FORM_FAILED = (
    "Sorry, Slack wouldn't open the form just now. Nothing was saved. Please try again in a minute."
)


async def open_form(
    slack: SlackChannel, trigger_id: str, form: Form, *, user_id: str, channel: str | None = None
) -> None:
    """Open a form as a modal; when Slack won't, say so."""
    await open_view(slack, trigger_id, render_modal(form), user_id=user_id, channel=channel)


async def open_view(
    slack: SlackChannel, trigger_id: str, view: dict, *, user_id: str, channel: str | None = None
) -> dict | None:
    """views.open: the opened view, or None after telling the person (privately in `channel`,
    else by DM) that the form could not open and what to do."""
    try:
        return (await slack.client.views_open(trigger_id=trigger_id, view=view))["view"]
    except SlackApiError as exc:
        error = slack_error(exc)
        log.warning("views.open failed for %s: %s", user_id, error)
        text = FORM_NOT_OPENED if error in TRIGGER_ERRORS else FORM_FAILED
        await slack.deliver([Outgoing(Reply(text, private=True))], channel=channel, user_id=user_id)
        return None
