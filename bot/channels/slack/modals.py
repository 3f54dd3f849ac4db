"""Opening a modal: a trigger_id lives 3 seconds and opens one view, so views.open may be
refused ("expired_trigger_id"). The person is then told the form did not open and what to do,
privately where they pressed (or by DM): never silence.

A form only some people may have (the intake: not for someone of another organisation) needs
to know who pressed, which is a users.info on a cold cache. That is asked at once, beside the
modal: when it has not answered within PRESSER_GRACE, a neutral "checking" modal opens on the
trigger while it still lives, and becomes the form, or the refusal, once the answer is in.
Nothing of a unit is shown, and nothing is saved, before the presser is known to be one of us.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from bot.channels.slack.blockkit import info_modal, render_modal, section
from bot.channels.slack.delivery import SlackChannel
from bot.channels.slack.directory import slack_error
from handlers.messages import Form, Outgoing, Reply, Sender

log = logging.getLogger("liaison.slack")

TRIGGER_ERRORS = frozenset({"expired_trigger_id", "invalid_trigger_id", "trigger_exchanged"})
FORM_NOT_OPENED = (
    "Sorry, the form didn't open: Slack gives it 3 seconds and it took longer this time. "
    "Nothing was saved. Press the button (or use the shortcut) again."
)
CHECKING = "Just a moment, getting the form ready…"
PRESSER_GRACE = 0.25  # seconds the trigger may wait for users.info before a modal opens anyway
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


async def open_for_presser(
    slack: SlackChannel,
    trigger_id: str,
    user_id: str,
    decide: Callable[[Sender], Form | Reply],
    *,
    channel: str | None = None,
    title: str = "Plan with IT",
) -> None:
    """Open the form `decide` gives for the presser (or tell them its refusal), without
    letting users.info spend the trigger's three seconds: see the module's docstring."""
    check = asyncio.ensure_future(slack.sender(user_id))
    await asyncio.wait({check}, timeout=PRESSER_GRACE)
    if check.done():  # a warm cache, or a quick answer: one call, as for any form
        opens = decide(check.result())
        if isinstance(opens, Reply):
            await slack.deliver([Outgoing(opens)], channel=channel, user_id=user_id)
        else:
            await open_form(slack, trigger_id, opens, user_id=user_id, channel=channel)
        return
    opened = await open_view(
        slack, trigger_id, info_modal(title, [section(CHECKING)]), user_id=user_id, channel=channel
    )
    try:
        opens = decide(await check)
    except Exception:  # the modal is open: it says so, rather than "getting ready" for ever
        log.exception("slack: could not tell who %s is", user_id)
        opens = Reply(FORM_FAILED, private=True)
    if opened is None:  # already told the form did not open
        return
    view = info_modal(title, [section(opens.text)]) if isinstance(opens, Reply) else None
    try:
        await slack.client.views_update(
            view_id=opened.get("id"), hash=opened.get("hash"), view=view or render_modal(opens)
        )
    except SlackApiError as exc:  # closed meanwhile: nothing was shown, nothing saved
        log.warning("views.update of a checked form failed for %s: %s", user_id, slack_error(exc))
