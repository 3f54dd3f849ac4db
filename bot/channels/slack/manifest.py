"""What the Slack app registers, and so what manifest.yml must declare (a test compares
them): the command, shortcuts, events, views, Web API methods and the scopes they need.
"""

from __future__ import annotations

# What the app registers, and so what manifest.yml must declare (a test compares them).
COMMAND = "/commitments"


SHORTCUTS = ("plan_with_it", "track_commitment")  # message shortcuts (a message's "...")


GLOBAL_SHORTCUTS = ("plan_with_it_global",)  # the lightning bolt / search: "Plan with IT"


EVENTS = (
    "message",
    "app_mention",
    "app_home_opened",
    "member_joined_channel",
    "app_uninstalled",
    "tokens_revoked",
)


VIEWS = ("intake", "commitment", "act", "cycle", "reassign")


# The manifest's bot events, and the scope each needs (None: the event needs none).
BOT_EVENTS = {
    "app_home_opened": None,
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
    "member_joined_channel": "channels:read",  # the bot added to a channel: says what it does
    "app_uninstalled": None,  # the installation goes (multi-workspace mode)
    "tokens_revoked": None,
}


# The Web API methods the adapter calls, and the bot scope each needs (None: no scope).
METHODS = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.getPermalink": None,
    "conversations.open": "im:write",
    "conversations.list": "channels:read",  # #names in the config, read as ids at start
    "users.info": "users:read",
    "views.open": None,
    "views.update": None,
    "views.publish": None,
    "apps.connections.open": None,  # Socket Mode, with the app-level token
}


# Scopes needed for something other than a method or an event.
OTHER_SCOPES = {
    "commands": "the /commitments command and the message shortcuts",
    "users:read.email": "users.info returns the email that links one person across channels",
    "groups:read": "conversations.list finds private channels named in the config",
}


def bot_scopes() -> list[str]:
    """Every bot scope the app needs: what an OAuth install asks for, and manifest.yml lists."""
    needed = {s for s in METHODS.values() if s} | {s for s in BOT_EVENTS.values() if s}
    return sorted(needed | set(OTHER_SCOPES))
