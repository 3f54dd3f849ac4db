"""Microsoft Teams: the Bot Framework on the shared aiohttp server.

This is the only package that imports botbuilder. botbuilder is archived upstream, and its
successor, the Microsoft 365 Agents SDK, can run the channel instead (TEAMS_SDK=agents). The
two differ only behind one seam: host.py (`TeamsHost`: botbuilder's CloudAdapter) and agents.py
(the Agents SDK's CloudAdapter, imported only when chosen). Everything else here is shared.

The adapter only translates, like the Slack one: it turns activities into Inbound messages
(the channel-neutral rules are in bot/channels/interactions), hands them to the core in a
worker thread, and renders the Outgoing replies as Adaptive Cards. Teams wants an answer to a
card action within 5 seconds, so slow work finishes after the acknowledgement and reports back
in the conversation.

Where things are: app.py builds the host and the bot; transport.py is the HTTP route;
bot.py routes each kind of activity; turns.py says what each turn means; activities.py reads
activities; delivery.py sends; reach.py sends in parts within Teams' size limit, opens 1:1
chats, updates shared cards for everyone and forgets addresses Teams refuses (403/404);
cards.py, dialogs.py and mentions.py render (pure).
"""

from bot.channels.interactions import FORM_IDS
from bot.channels.teams.app import build_teams
from bot.channels.teams.cards import CARD_TYPE, render_card, render_form_card
from bot.channels.teams.delivery import CHANNEL, TeamsChannel, TeamsOutbox
from bot.channels.teams.transport import check_activity, teams_route
from bot.channels.teams.turns import MESSAGE_ACTIONS
from bot.retry import RetryPolicy

__all__ = [
    "CARD_TYPE",
    "CHANNEL",
    "FORM_IDS",
    "MESSAGE_ACTIONS",
    "RetryPolicy",
    "TeamsChannel",
    "TeamsOutbox",
    "build_teams",
    "check_activity",
    "render_card",
    "render_form_card",
    "teams_route",
]
