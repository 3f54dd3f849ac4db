"""The config's `#name` channels in multi-workspace mode: read as ids in each installed
workspace, with that workspace's token.

With one token, `SlackChannel.start` reads them once. With many installations there is no
token at start until the installations are read: each one is resolved at start (in the
background), when a workspace installs the app, and, lazily, before the first message from a
workspace that was not resolved yet (or whose resolution failed, at most once a minute). Two
workspaces may both have a `#finance`: each maps its own channel id to the unit, so events,
and the replies sent back into that channel, use that workspace's id and token. A name no
channel has is warned about once per workspace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from bot.channels.slack.directory import find_channel_ids
from bot.channels.slack.workspaces import CURRENT, Workspace, acting_for
from storage.slack_installations import installed_workspaces

log = logging.getLogger("liaison.slack")

RETRY_SECONDS = 60.0  # a workspace whose channels could not be listed is asked again after


class NamedChannels:
    """Which workspaces have had their `#name` channels read, and reading them."""

    def __init__(self, installations: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.installations = installations
        self.clock = clock
        self.done: set[str] = set()  # workspaces (team or Grid org ids) resolved
        self.failed: dict[str, float] = {}  # workspace -> when listing its channels failed
        self.warned: set[tuple[str | None, str, str]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task] = set()

    async def here(self, client: Any, org: Any) -> None:
        """Before a message from the current workspace is read: its names, if not yet."""
        current = CURRENT.get()
        if current is not None:
            await self.resolve(client, org, current)

    async def resolve(self, client: Any, org: Any, workspace: Workspace) -> None:
        key = workspace.team_id or workspace.enterprise_id or ""
        if not key or key in self.done or not org.channel_names_wanted():
            return
        if self.clock() - self.failed.get(key, float("-inf")) < RETRY_SECONDS:
            return
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key in self.done:
                return
            with acting_for(workspace):
                ok = await find_channel_ids(client, org, workspace=key, warned=self.warned)
            if ok:
                self.done.add(key)
                self.failed.pop(key, None)
            else:
                self.failed[key] = self.clock()

    async def resolve_installed(self, client: Any, org: Any) -> None:
        """Every installation's names (at start)."""
        sync = self.installations.store.sync
        found = await asyncio.to_thread(installed_workspaces, sync.engine, sync.client_id)
        for enterprise_id, team_id, org_wide in found:
            try:
                workspace = await self.installations.workspace_of(
                    None if org_wide else team_id, enterprise_id
                )
                if workspace is not None:
                    await self.resolve(client, org, workspace)
            except Exception:  # one installation's trouble (a failed token refresh) is its own
                log.warning("workspace %s: channel names not read", team_id or enterprise_id)

    def soon(self, work: Any) -> None:
        """Run `work` (a coroutine) in the background, keeping it referenced until done."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("channel names not read: %r", task.exception())


async def channels_named_here(slack: Any) -> None:
    """Before a message is read in multi-workspace mode: its workspace's `#name` channels."""
    if slack.installations is None:
        return
    try:
        await slack.installations.named.here(slack.client, slack.core.org)
    except Exception:  # the message is read all the same, by channel id
        log.warning("channel names of this workspace not read", exc_info=True)


def resolve_on_install(flow: Any, named: NamedChannels, client: Any, org: Any) -> None:
    """Bolt's OAuth flow, once an install succeeded: that workspace's names, in the
    background (the admin's browser gets its page at once)."""
    default = flow.success_handler

    async def success(args: Any) -> Any:
        done = args.installation
        if done.bot_token:
            org_wide = bool(done.is_enterprise_install)
            workspace = Workspace(
                done.bot_token,
                None if org_wide else done.team_id,
                done.enterprise_id,
                done.bot_user_id,
            )
            key = workspace.team_id or workspace.enterprise_id or ""
            named.done.discard(key)  # installed again: its channels may have changed
            named.failed.pop(key, None)
            named.soon(named.resolve(client, org, workspace))
        return await default(args)

    flow.success_handler = success


def named_context(slack: Any) -> Callable[[Any], AsyncIterator[None]]:
    """An aiohttp cleanup context: every installation's names read at start (in the
    background); what still runs is cancelled at shutdown."""

    async def context(_web_app: Any) -> AsyncIterator[None]:
        named: NamedChannels = slack.installations.named
        named.soon(named.resolve_installed(slack.client, slack.core.org))
        try:
            yield
        finally:
            for task in list(named._tasks):
                task.cancel()
            await asyncio.gather(*list(named._tasks), return_exceptions=True)

    return context
