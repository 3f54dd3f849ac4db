"""The config's `#name` channels in multi-workspace mode: read as ids in each installed
workspace with its own token (on install, at start, and lazily on a replica that did not see
the install), one warning per unknown name per workspace, and an offer in workspace B's
`#parks` is posted to B's channel id with B's token."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from tests.e2e.test_slack_workspaces import CLIENT_ID, CLIENT_SECRET, MOVE, _until, _user, serve
from tests.fakes import slack_requests as sr
from tests.fakes.slack_workspaces import FakeSlackWorkspaces, Workspace, workspace_event

PARKS = "Parks and Recreation"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackWorkspaces]:
    async with FakeSlackWorkspaces(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


def alpha() -> Workspace:
    return Workspace(
        "T0ALPHA",
        "Alpha",
        users={"U0ANN": _user("ann", "T0ALPHA")},
        channels={"C0ALPHAF": "finance", "C0ALPHAP": "parks", "C0ALPHAX": "random"},
    )


def beta() -> Workspace:  # a #parks of its own, and no #finance
    return Workspace(
        "T0BETA",
        "Beta",
        users={"U0BEN": _user("ben", "T0BETA")},
        channels={"C0BETAP": "parks", "C0BETAX": "random"},
    )


def listed_with(fake, token: str) -> list:
    return [c for c in fake.calls_by(token) if c.method == "conversations.list" and c.ok]


async def offer_in(srv, fake, ws: Workspace, user: str, channel: str):
    before = len(fake.calls_to("chat.postMessage"))
    event = workspace_event(sr.message_event(MOVE, user=user, channel=channel), ws)
    assert await srv.event(event) == 200
    return (await fake.wait_for("chat.postMessage", before + 1))[before]


async def test_each_workspace_reads_the_config_names_with_its_own_token(
    fake, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="liaison.slack")
    a, b = alpha(), beta()
    async with serve(fake, tmp_path / "liaison.db") as srv:
        token_a, token_b = await srv.install(a), await srv.install(b)
        await _until(lambda: listed_with(fake, token_a) and listed_with(fake, token_b))
        await _until(lambda: "C0BETAP" in srv.app.liaison.org.channel_names)
        org = srv.app.liaison.org
        assert {k: org.channel_names[k] for k in ("C0ALPHAP", "C0BETAP", "C0ALPHAF")} == {
            "C0ALPHAP": "parks",
            "C0BETAP": "parks",
            "C0ALPHAF": "finance",
        }
        offer_b = await offer_in(srv, fake, b, "U0BEN", "C0BETAP")
        assert offer_b.payload["channel"] == "C0BETAP"
        assert offer_b.headers["authorization"] == f"Bearer {token_b}"
        assert PARKS in offer_b.payload["text"]
        offer_a = await offer_in(srv, fake, a, "U0ANN", "C0ALPHAP")
        assert offer_a.headers["authorization"] == f"Bearer {token_a}"
        assert PARKS in offer_a.payload["text"]
        assert [c for c in fake.calls if not c.ok] == [], fake.summary()
        # Once per workspace: these events did not list anyone's channels again.
        assert len(listed_with(fake, token_a)) == len(listed_with(fake, token_b)) == 1
    missing = [r for r in caplog.records if "no Slack channel is named #finance" in r.message]
    assert [(r.levelname, r.message.split(":")[0]) for r in missing] == [
        ("WARNING", "workspace T0BETA")
    ]


async def test_installations_are_read_at_start_and_lazily_where_the_install_was_not_seen(
    fake, tmp_path
) -> None:
    """Two replicas on one database: the install goes through the first; the second, already
    running, reads B's names before the first message from B. A restart reads them all."""
    db = tmp_path / "liaison.db"
    b = beta()
    async with serve(fake, db) as first, serve(fake, db) as second:
        token_b = await first.install(b)
        await _until(lambda: "C0BETAP" in first.app.liaison.org.channel_names)
        assert "C0BETAP" not in second.app.liaison.org.channel_names
        offer = await offer_in(second, fake, b, "U0BEN", "C0BETAP")
        assert PARKS in offer.payload["text"]
        assert offer.headers["authorization"] == f"Bearer {token_b}"
    fake.reset()
    async with serve(fake, db) as again:
        await _until(lambda: "C0BETAP" in again.app.liaison.org.channel_names)
        assert listed_with(fake, token_b)
