"""Slack in multi-workspace mode, end to end: workspaces install the app through Bolt's OAuth
flow (GET /slack/install, /slack/oauth_redirect) against the fake Slack, events from each are
answered with that workspace's token, and nothing leaks between them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select, update
from sqlmodel import Session

from bot.bootstrap import App, bootstrap
from bot.config import load_settings
from bot.server import build_web_app
from handlers.messages import Reply
from storage.models import Address, Ledger, Person
from storage.slack_installations import SlackInstallations, SlackOAuthStates
from tests.conftest import EXAMPLE_CONFIG
from tests.fakes import slack_requests as sr
from tests.fakes.slack_workspaces import FakeSlackWorkspaces, Workspace, workspace_event

SECRET = "test-signing-secret"
CLIENT_ID, CLIENT_SECRET = "1111.2222", "fake-oauth-client-secret"
MOVE = "We're moving to a new building in ten months"
LONG_AGO = dt.datetime(2000, 1, 1)  # an expiry long past, whatever today is


def _user(name: str, team: str) -> dict:
    return {"name": name, "team_id": team, "tz": "Europe/Paris", "profile": {"display_name": name}}


def alpha() -> Workspace:
    return Workspace(
        "T0ALPHA",
        "Alpha",
        users={"U0ANN": _user("ann", "T0ALPHA")},
        channels={"C0ALPHA1": "alpha-office"},
    )


def beta() -> Workspace:
    return Workspace(
        "T0BETA",
        "Beta",
        users={"U0BEN": _user("ben", "T0BETA")},
        channels={"C0BETA1": "beta-office"},
    )


@dataclass
class Server:
    app: App
    base: str
    fake: FakeSlackWorkspaces
    http: aiohttp.ClientSession

    async def install(self, ws: Workspace, *, rotating: bool = False) -> str:
        """An admin of `ws` adds the app: the install page, Slack's consent, the redirect."""
        async with self.http.get(f"{self.base}/slack/install") as page:
            assert page.status == 200
            html = await page.text()
            cookie = page.headers["Set-Cookie"]
        link = re.search(r'href="([^"]+/oauth/v2/authorize\?[^"]+)"', html)
        assert link is not None, html
        assert link[1].startswith(self.fake.base_url.removesuffix("api/"))
        assert f"client_id={CLIENT_ID}" in link[1] and "chat:write" in link[1]
        state = re.search(r"state=([\w-]+)", link[1].replace("&amp;", "&"))[1]
        assert state in cookie
        code = self.fake.grant(ws, rotating=rotating)
        status, _ = await self.redirect(code, state)
        assert status == 200
        return self.fake.token_of(ws.enterprise_id if ws.org_wide else ws.team_id)

    async def redirect(self, code: str, state: str) -> tuple[int, str]:
        cookie = {"Cookie": f"slack-app-oauth-state={state}"}
        url = f"{self.base}/slack/oauth_redirect"
        params = {"code": code, "state": state}
        async with self.http.get(url, params=params, headers=cookie) as response:
            return response.status, await response.text()

    async def event(self, payload: dict) -> int:
        body = json.dumps(payload)
        async with self.http.post(
            f"{self.base}/slack/events", data=body.encode(), headers=sr.headers(SECRET, body)
        ) as response:
            return response.status

    async def mine(self, ws: Workspace, user: str, team: str | None = None) -> None:
        """`/commitments mine` from a user of `ws` (which makes them a known person)."""
        before = len(self.fake.calls_to("response_url"))
        fields = sr.slash_payload(
            "/commitments", "mine", user_id=user, response_url=self.fake.response_url(user)
        )
        fields.update(team_id=team or ws.team_id, channel_id=next(iter(ws.channels)))
        if ws.enterprise_id:
            fields.update(enterprise_id=ws.enterprise_id)
        fields["is_enterprise_install"] = "true" if ws.org_wide else "false"
        body = urlencode(fields)
        async with self.http.post(
            f"{self.base}/slack/events", data=body.encode(), headers=sr.headers(SECRET, body)
        ) as response:
            assert response.status == 200
        await self.fake.wait_for("response_url", before + 1)

    def address(self, user_id: str) -> Address:
        with Session(self.app.engine) as session:
            query = select(Address).where(Address.external_id == user_id)
            return session.execute(query).scalars().one()


@contextlib.asynccontextmanager
async def serve(
    fake: FakeSlackWorkspaces, db: Path, app_token: str | None = None
) -> AsyncIterator[Server]:
    """The bot in multi-workspace mode on a free port: events over HTTP, signed with SECRET,
    or, with an app-level token, through Socket Mode only (no signing secret)."""
    environ = {
        "DATABASE_URL": f"sqlite:///{db}",
        "LIAISON_CONFIG": str(EXAMPLE_CONFIG),
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_API_URL": fake.base_url,
        "LOG_LEVEL": "WARNING",
    }
    environ.update(
        {"SLACK_APP_TOKEN": app_token} if app_token else {"SLACK_SIGNING_SECRET": SECRET}
    )
    app = bootstrap(load_settings(environ, dotenv_path=None))
    runner = web.AppRunner(build_web_app(app, scheduler=False), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Server(app, f"http://127.0.0.1:{runner.addresses[0][1]}", fake, http)
    finally:
        await runner.cleanup()
        app.engine.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackWorkspaces]:
    async with FakeSlackWorkspaces(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


@pytest.fixture
async def srv(fake: FakeSlackWorkspaces, tmp_path: Path) -> AsyncIterator[Server]:
    async with serve(fake, tmp_path / "liaison.db") as server:
        yield server


async def test_two_workspaces_each_answered_with_their_own_token(srv, fake) -> None:
    """The figure: two workspaces installed through OAuth; a signal in each is offered in its
    own channel with its own token, its people are kept with their workspace, and no call made
    with one workspace's token touches the other's users or channels."""
    a, b = alpha(), beta()
    token_a, token_b = await srv.install(a), await srv.install(b)
    assert token_a != token_b
    assert len(fake.calls_to("oauth.v2.access")) == 2

    fake.reset()
    assert (
        await srv.event(
            workspace_event(sr.message_event(MOVE, user="U0ANN", channel="C0ALPHA1"), a)
        )
        == 200
    )
    assert (
        await srv.event(workspace_event(sr.message_event(MOVE, user="U0BEN", channel="C0BETA1"), b))
        == 200
    )
    offers = await fake.wait_for("chat.postMessage", 2)

    by_channel = {c.payload["channel"]: c.headers["authorization"] for c in offers}
    assert by_channel == {"C0ALPHA1": f"Bearer {token_a}", "C0BETA1": f"Bearer {token_b}"}
    refused = [c for c in fake.calls if not c.ok]
    assert refused == [], fake.summary()  # a wrong token would be user_not_found, channel_not_found
    for token, ws, other in ((token_a, a, b), (token_b, b, a)):
        mine = fake.calls_by(token)
        assert mine, f"{ws.name} was never called with its own token"
        named = {str(c.payload.get(k)) for c in mine for k in ("channel", "user")}
        assert named.isdisjoint({*other.users, *other.channels})
    await srv.mine(a, "U0ANN")
    await srv.mine(b, "U0BEN")
    assert [c for c in fake.calls if not c.ok] == [], fake.summary()
    assert (srv.address("U0ANN").workspace, srv.address("U0BEN").workspace) == ("T0ALPHA", "T0BETA")


async def test_a_dm_to_someone_of_another_workspace_uses_that_workspaces_token(srv, fake) -> None:
    """A send that starts in one workspace's request reaches a person of the other with the
    other's token (the sweeps' path: the address knows its workspace)."""
    a, b = alpha(), beta()
    await srv.install(a)
    token_b = await srv.install(b)
    await srv.mine(b, "U0BEN")
    fake.reset()
    ben = srv.address("U0BEN")
    await srv.app.outboxes["slack"].send(ben, Reply("Your digest"))
    (dm,) = await fake.wait_for("chat.postMessage")
    assert dm.headers["authorization"] == f"Bearer {token_b}"
    assert dm.payload["channel"] == fake.dm_channel("U0BEN")


async def test_an_enterprise_grid_org_wide_install_answers_every_workspace_of_the_org(
    srv, fake
) -> None:
    wen = _user("wen", "T0GRID2")  # of the second workspace, met in the first
    wen["profile"]["email"] = "wen@grid.example"
    wen["enterprise_user"] = {"enterprise_id": "E0ORG", "teams": ["T0GRID2"]}
    org = Workspace(
        "T0GRID1",
        "Grid",
        users={"U0GIA": _user("gia", "T0GRID1"), "W0GUS": _user("gus", "T0GRID2"), "W0WEN": wen},
        channels={"C0GRID1": "grid-one", "C0GRID2": "grid-two"},
        enterprise_id="E0ORG",
        org_wide=True,
    )
    token = await srv.install(org)
    (row,) = _rows(srv, SlackInstallations)
    assert (row.enterprise_id, row.team_id, row.is_enterprise_install) == ("E0ORG", None, True)
    fake.reset()
    for user, channel, team in (("U0GIA", "C0GRID1", "T0GRID1"), ("W0GUS", "C0GRID2", "T0GRID2")):
        event = sr.message_event(MOVE, user=user, channel=channel, user_team=team)
        assert await srv.event(workspace_event(event, org, team_id=team)) == 200
    offers = await fake.wait_for("chat.postMessage", 2)
    assert {c.headers["authorization"] for c in offers} == {f"Bearer {token}"}
    await srv.mine(org, "W0GUS", team="T0GRID2")
    assert srv.address("W0GUS").enterprise == "E0ORG"
    await srv.mine(org, "W0WEN", team="T0GRID1")
    with Session(srv.app.engine) as session:  # one of the org, not an outsider: email kept
        person = session.get(Person, srv.address("W0WEN").person_id)
        assert person.email == "wen@grid.example"
    fake.reset()
    await srv.app.outboxes["slack"].send(srv.address("W0GUS"), Reply("Your digest"))
    (dm,) = await fake.wait_for("chat.postMessage")
    assert dm.headers["authorization"] == f"Bearer {token}"


async def test_uninstall_stops_sends_there_and_keeps_what_was_due(srv, fake) -> None:
    """app_uninstalled removes the installation: that workspace's events are no longer
    answered, its people's sends reach no Slack call and stay in the ledger (retried a bounded
    number of times, not in a loop), and the other workspace carries on."""
    a, b = alpha(), beta()
    await srv.install(a)
    token_b = await srv.install(b)
    await srv.mine(a, "U0ANN")

    fake.uninstall("T0ALPHA")
    assert await srv.event(workspace_event({"type": "app_uninstalled"}, a)) == 200
    await _until(lambda: [r.team_id for r in _rows(srv, SlackInstallations)] == ["T0BETA"])

    fake.reset()
    ann = srv.address("U0ANN")
    srv.app.liaison.defer(ann.person_id, Reply("Owed to Ann"), "test")
    lines = await srv.app.sweeper.run()
    assert [line.status for line in lines] == ["failed"]
    assert fake.calls == [], fake.summary()  # no Slack call for a workspace that is gone
    with Session(srv.app.engine) as session:
        (row,) = session.execute(select(Ledger).where(Ledger.kind == "deferred")).scalars()
        assert (row.status, row.attempts) == ("failed", 2)  # kept, counted towards the limit

    await srv.event(workspace_event(sr.message_event(MOVE, user="U0ANN", channel="C0ALPHA1"), a))
    await srv.event(workspace_event(sr.message_event(MOVE, user="U0BEN", channel="C0BETA1"), b))
    (offer,) = await fake.wait_for("chat.postMessage")
    assert offer.headers["authorization"] == f"Bearer {token_b}"
    assert [c for c in fake.calls if "T0ALPHA" in c.headers.get("authorization", "")] == []


async def test_tokens_revoked_removes_the_installation(srv, fake) -> None:
    a = alpha()
    await srv.install(a)
    fake.uninstall("T0ALPHA")
    revoked = {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}
    assert await srv.event(workspace_event(revoked, a)) == 200
    await _until(lambda: _rows(srv, SlackInstallations) == [])


async def test_a_rotating_token_is_refreshed_before_it_is_used(srv, fake) -> None:
    fake.rotation_seconds = 60  # inside Bolt's two-hour margin: refreshed on first use
    a = alpha()
    first = await srv.install(a, rotating=True)
    fake.reset()
    await srv.event(workspace_event(sr.message_event(MOVE, user="U0ANN", channel="C0ALPHA1"), a))
    (offer,) = await fake.wait_for("chat.postMessage")
    (refresh,) = fake.calls_to("oauth.v2.access")
    assert refresh.payload["grant_type"] == "refresh_token"
    newest = fake.token_of("T0ALPHA")
    assert newest != first and offer.headers["authorization"] == f"Bearer {newest}"
    assert [r.bot_token for r in _rows(srv, SlackInstallations)][-1] == newest


async def test_an_install_state_is_used_once_and_expires(srv, fake) -> None:
    a = alpha()
    async with srv.http.get(f"{srv.base}/slack/install") as page:
        state = re.search(r"state=([\w-]+)", await page.text())[1]
    with Session(srv.app.engine) as session:  # ten minutes later
        session.execute(update(SlackOAuthStates).values(expire_at=LONG_AGO))
        session.commit()
    status, _ = await srv.redirect(fake.grant(a), state)
    assert status != 200
    assert _rows(srv, SlackInstallations) == []
    assert fake.calls_to("oauth.v2.access") == []  # the code was never exchanged


def _rows(srv: Server, table) -> list:
    with Session(srv.app.engine) as session:
        return list(session.execute(select(table).order_by(table.c.id)).all())


async def _until(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
