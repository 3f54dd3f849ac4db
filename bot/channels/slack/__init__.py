"""Slack: Bolt's AsyncApp on the shared aiohttp server (or Socket Mode), rendered in Block Kit.

The adapter only translates: listeners turn events, commands and interactions into Inbound
messages (the channel-neutral rules are in bot/channels/interactions), the core answers in a
worker thread, and the replies are rendered and sent. Everything Slack waits for is
acknowledged first:

- events are acknowledged by Bolt before any listener runs (`process_before_response=False`);
- commands, buttons and shortcuts call `ack()` before anything else; a modal is opened from
  data carried by the button or the message, without touching the database, so `views.open`
  runs well inside the three seconds a `trigger_id` lives;
- a modal submission is validated by the core within `SUBMIT_BUDGET`; when the database is
  slower than that, the modal is switched to a "Saving..." view at once and updated when the
  core has answered (with the field errors, if any, shown in the form again).

Where things are: app.py builds the Bolt app; listeners/ has one module per listener type;
transport.py is the HTTP route and Socket Mode; delivery.py sends; blockkit.py renders (pure);
retry_handlers.py retries the Web API; manifest.py lists what the app registers.
"""

from bot.channels.slack.app import build_slack
from bot.channels.slack.blockkit import escape, fallback_text, render_blocks, render_modal
from bot.channels.slack.delivery import CHANNEL, SlackChannel, SlackOutbox, passing_failure
from bot.channels.slack.manifest import (
    BOT_EVENTS,
    COMMAND,
    EVENTS,
    GLOBAL_SHORTCUTS,
    METHODS,
    OTHER_SCOPES,
    SHORTCUTS,
    VIEWS,
)
from bot.channels.slack.retry_handlers import RateLimitRetry, ServerErrorRetry, retry_handlers
from bot.channels.slack.transport import is_chatter, slack_context, slack_route
from bot.retry import retry_after_seconds

__all__ = [
    "BOT_EVENTS",
    "CHANNEL",
    "COMMAND",
    "EVENTS",
    "GLOBAL_SHORTCUTS",
    "METHODS",
    "OTHER_SCOPES",
    "SHORTCUTS",
    "VIEWS",
    "RateLimitRetry",
    "ServerErrorRetry",
    "SlackChannel",
    "SlackOutbox",
    "build_slack",
    "escape",
    "fallback_text",
    "is_chatter",
    "passing_failure",
    "render_blocks",
    "render_modal",
    "retry_after_seconds",
    "retry_handlers",
    "slack_context",
    "slack_route",
]
