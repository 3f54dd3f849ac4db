"""/readyz in multi-workspace mode: each installation's token is checked (auth.test, cached
per installation), a workspace that uninstalled the app is no one's concern, and a token Slack
refuses while its installation is still kept makes the app unready, naming the workspace and
never a token."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from storage.slack_installations import SlackInstallations
from tests.e2e.test_slack_workspaces import (
    CLIENT_ID,
    CLIENT_SECRET,
    _rows,
    _until,
    alpha,
    beta,
    serve,
)
from tests.fakes.slack_workspaces import FakeSlackWorkspaces, workspace_event


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackWorkspaces]:
    async with FakeSlackWorkspaces(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


async def readyz(srv) -> tuple[int, dict]:
    async with srv.http.get(f"{srv.base}/readyz") as response:
        return response.status, await response.json()


def auth_tests_by(fake: FakeSlackWorkspaces, token: str) -> int:
    return len([c for c in fake.calls_by(token) if c.method == "auth.test"])


async def test_readiness_checks_each_installation_and_names_the_broken_one(
    fake, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="liaison.slack")
    a, b = alpha(), beta()
    async with serve(fake, tmp_path / "liaison.db") as srv:
        token_a, token_b = await srv.install(a), await srv.install(b)
        health = srv.app.channels["slack"].health
        before = auth_tests_by(fake, token_a), auth_tests_by(fake, token_b)  # the installs'
        assert (await readyz(srv))[0] == 200
        assert (await readyz(srv))[0] == 200
        after = auth_tests_by(fake, token_a), auth_tests_by(fake, token_b)
        assert (after[0] - before[0], after[1] - before[1]) == (1, 1)  # then cached

        # Alpha uninstalls: its installation goes, and readiness does not look at it again.
        fake.uninstall("T0ALPHA")
        assert await srv.event(workspace_event({"type": "app_uninstalled"}, a)) == 200
        await _until(lambda: [r.team_id for r in _rows(srv, SlackInstallations)] == ["T0BETA"])
        health.seconds = 0  # every cached answer is old
        status, body = await readyz(srv)
        assert status == 200, body
        assert "T0ALPHA" not in health.answers

        # Beta's token is refused while its installation is still kept: not ready, named.
        fake.uninstall("T0BETA")  # no app_uninstalled heard
        status, body = await readyz(srv)
        said = body["checks"]["slack"]
        assert status == 503 and said.startswith("workspace T0BETA: ")
        assert "token_revoked" in said and "/slack/install" in said
        assert token_b not in str(body) and token_a not in str(body)
        assert "xox" not in str(body)
    logged = [r.getMessage() for r in caplog.records if "T0BETA" in r.getMessage()]
    assert len(logged) == 1 and token_b not in logged[0]
