"""Acknowledged events the database could not take, kept in a local file until it can.

A chat platform does not send again an event the bot acknowledged. While the database is away,
such an event waits in memory (`bot.retry.Retrier`, at most `retry.MAX_WAITING` of them, for
about two minutes). Past that bound, past those two minutes, and at shutdown, it is written
here: one JSON line per event, appended and flushed to disk (`SPOOL_PATH`). A drainer replays the
file every few seconds once the database answers, and on the next start, so an event is late
rather than lost, even across a restart. A replay that finds the database still away stays in
the file. Replaying twice offers nothing twice: an offer claims its message in the ledger.

Only when no file can be written (no path, a read-only disk) is an event dropped: one log line
at ERROR, and the metric `liaison_events_dropped_total{channel}`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from handlers.messages import Action, Inbound, Sender
from storage.db import database_away

log = logging.getLogger("liaison.spool")
DRAIN_EVERY = 5.0  # seconds between tries while the file holds events

Replay = Callable[[dict[str, Any]], Awaitable[None]]


class Spool:
    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.replayers: dict[str, Replay] = {}  # channel name -> how to handle a record again
        self.on_change: Callable[[str, str], None] = lambda channel, what: None  # metrics
        self._lock: asyncio.Lock | None = None

    @property
    def draining_path(self) -> Path | None:
        return self.path.with_name(self.path.name + ".draining") if self.path else None

    def keep(self, channel: str, record: dict[str, Any], what: str) -> bool:
        """Append one event to the file (flushed to disk); False, logged and counted as
        dropped, when there is no file to write."""
        if self.path is not None:
            line = json.dumps({"channel": channel, "record": record}, separators=(",", ":"))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as exc:
                log.error("%s dropped: the spool %s cannot be written (%s)", what, self.path, exc)
            else:
                log.warning("%s kept in the spool until the database answers", what)
                self.on_change(channel, "spooled")
                return True
        else:
            log.error("%s dropped: the database stayed away and no spool is set", what)
        self.on_change(channel, "dropped")
        return False

    def waiting(self) -> int:
        """How many events the file holds (for tests and the bench)."""
        return sum(len(_lines(p)) for p in (self.path, self.draining_path) if p is not None)

    async def drain(self) -> int:
        """Replay what the file holds, oldest first; keep what still finds the database away.
        Returns how many were handled. Events kept while it runs go in a fresh file."""
        if self.path is None or self.draining_path is None:
            return 0
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            draining = self.draining_path
            if self.path.exists():  # a crash mid-drain left a file behind: it goes first
                if draining.exists():
                    with draining.open("a", encoding="utf-8") as out:
                        out.write("".join(line + "\n" for line in _lines(self.path)))
                    self.path.unlink()
                else:
                    os.replace(self.path, draining)
            lines = _lines(draining)
            handled, left = 0, []
            for number, line in enumerate(lines):
                try:
                    entry = json.loads(line)
                    replay = self.replayers[entry["channel"]]
                except (ValueError, KeyError, TypeError):
                    left.append(line)  # a channel not configured now: kept for one that is
                    continue
                try:
                    await replay(entry["record"])
                except Exception as exc:
                    if database_away(exc):
                        left += lines[number:]  # still away: the rest waits with it
                        break
                    log.exception("spooled %s event could not be handled", entry["channel"])
                    self.on_change(entry["channel"], "dropped")
                    continue
                handled += 1
                self.on_change(entry["channel"], "replayed")
            if left:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write("".join(line + "\n" for line in left))
            draining.unlink(missing_ok=True)
        if handled:
            log.info("spool: %d events handled, %d still waiting", handled, len(left))
        return handled

    async def run(self) -> None:
        """Drain every few seconds while there is something to drain (the server runs this)."""
        while True:
            try:
                if self.waiting():
                    await self.drain()
            except Exception:
                log.exception("spool: the drain failed; trying again in %.0f s", DRAIN_EVERY)
            await asyncio.sleep(DRAIN_EVERY)


def _lines(path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as source:
        return [line.strip() for line in source if line.strip()]


def inbound_record(inbound: Inbound) -> dict[str, Any]:
    """An Inbound as plain JSON data, for the spool."""
    data = dataclasses.asdict(inbound)
    data["at"] = inbound.at.isoformat() if inbound.at else None
    return data


def inbound_from_record(data: dict[str, Any]) -> Inbound:
    """The Inbound `inbound_record` wrote."""
    fields = dict(data)
    fields["sender"] = Sender(**fields["sender"])
    fields["action"] = Action(**fields["action"]) if fields.get("action") else None
    fields["at"] = dt.datetime.fromisoformat(fields["at"]) if fields.get("at") else None
    return Inbound(**fields)
