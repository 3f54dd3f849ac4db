"""A world for sweep tests: an organisation of owners who each owe two overdue items, so every
owner is due exactly one digest (on Tuesday 24 November 2026, from 9:00 in Chicago)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from handlers import commitments
from handlers.org import load_organisation
from handlers.people import by_handle, sync_organisation
from storage.db import make_engine, session_scope, upgrade


def org_file(tmp_path: Path, owners: int) -> Path:
    """Boss (the unit's lead), Liz (its liaison) and `owners` owners, all on Slack."""
    lines = [
        '[organisation]\nname = "Test"\ntimezone = "America/Chicago"\n',
        "[schedule]\nenabled = false\n",
        '[people.boss]\nname = "Boss"\nslack = "U0BOSS"\n',
        '[people.liz]\nname = "Liz"\nslack = "U0LIZ"\n',
    ]
    lines += [
        f'[people.owner{n}]\nname = "Owner {n}"\nslack = "U0OWNER{n}"\n' for n in range(owners)
    ]
    lines.append('[units.ops]\nname = "Ops"\nlead = "boss"\nliaison = "liz"\ncycle_months = [6]\n')
    path = tmp_path / "org.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def seed(url: str, config: Path, owners: int) -> None:
    """Two overdue commitments per owner, asked by Boss."""
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        sync_organisation(
            session, load_organisation(config), dt.datetime(2026, 11, 16, tzinfo=dt.UTC)
        )
        boss = by_handle(session, "boss")
        for n in range(owners):
            for what in ("Order the scanners", "Test the Wi-Fi"):
                commitments.create(
                    session,
                    requester=boss,
                    owner=by_handle(session, f"owner{n}"),
                    what=what,
                    due=dt.date(2026, 11, 20),
                    channel="slack",
                    unit_id="ops",
                    now=dt.datetime(2026, 11, 16, tzinfo=dt.UTC),
                )
    engine.dispose()
