"""Channel adapters: each translates its platform to and from the core's neutral messages.

A channel is a package (or a module) here that builds a `Channel` from the settings; the
`REGISTRY` names each one. Bootstrap builds every configured channel from it and the server
mounts them, so adding a channel touches its own package, one line below, and the config.
The rules every channel shares (forms, delivery, limits) are in `interactions`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from bot.config import Settings
    from bot.lifecycle import InFlight
    from bot.retry import Retrier
    from handlers.core import Liaison
    from schedules.outbox import Outbox


class Channel(Protocol):
    """A chat platform, as bootstrap and the server see it."""

    name: str  # the channel's name in addresses ("slack", "teams")
    adapter: Any  # the platform adapter itself (SlackChannel, TeamsChannel)

    @property
    def retrier(self) -> Retrier:
        """Work a passing outage interrupted; a shutdown ends its pauses first."""
        ...

    def outbox(self) -> Outbox:
        """How the sweeps message a person on this channel."""
        ...

    def mount(self, web_app: web.Application) -> None:
        """Add the channel's routes and its start/stop hooks to the shared server."""
        ...


ChannelFactory = Callable[["Liaison", "Settings", "InFlight"], "Channel | None"]

# name -> "module:factory"; a factory returns None when the settings do not configure it.
# Named by string so that a platform's SDK is imported only when its channel is built.
REGISTRY: dict[str, str] = {
    "slack": "bot.channels.slack.app:slack_from_settings",
    "teams": "bot.channels.teams.app:teams_from_settings",
}


def factory(name: str) -> ChannelFactory:
    module, function = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), function)


def build_channels(core: Liaison, settings: Settings, in_flight: InFlight) -> dict[str, Channel]:
    """Every channel the settings configure, by name, in the registry's order. A channel the
    settings do not name is not imported (its SDK costs start-up time and memory)."""
    wanted = set(settings.channels())
    built = {name: factory(name)(core, settings, in_flight) for name in REGISTRY if name in wanted}
    return {name: channel for name, channel in built.items() if channel is not None}
