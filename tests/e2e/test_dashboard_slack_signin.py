"""Sign in with Slack (OpenID Connect) for the dashboard, over real HTTP against the fake
Slack: the redirect to Slack, the callback, the same session cookie as the signed link, and
refusals (a state forged, from another browser or expired; a code used twice; someone of
another workspace, or unknown, or not a liaison)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.dashboard.slack import START, STATE_COOKIE
from bot.server import build_web_app
from handlers import signin
from tests.e2e.test_dashboard import app_for
from tests.e2e.test_slack_workspaces import CLIENT_ID, CLIENT_SECRET, Server, _user, serve
from tests.fakes.slack_workspaces import FakeSlackWorkspaces, Workspace

SAM = "U0SAMRIVRA"  # sam's Slack id in the example config: Finance's liaison


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackWorkspaces]:
    async with FakeSlackWorkspaces(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


@pytest.fixture
async def srv(fake: FakeSlackWorkspaces, tmp_path: Path) -> AsyncIterator[Server]:
    async with serve(fake, tmp_path / "liaison.db") as server:
        yield server


def riverton() -> Workspace:
    users = {SAM: _user("sam", "T0RIVER"), "U0KIM": _user("kim", "T0RIVER")}
    return Workspace("T0RIVER", "Riverton", users=users, channels={"C0RIVER1": "it-office"})


async def start(srv) -> tuple[str, str]:
    """GET /dashboard/slack: (the state sent to Slack, the state cookie)."""
    async with srv.http.get(f"{srv.base}{START}", allow_redirects=False) as sent:
        assert sent.status == 303
        location = sent.headers["Location"]
        cookie = sent.cookies[STATE_COOKIE]
    assert location.startswith(srv.fake.base_url.removesuffix("api/") + "openid/connect/authorize")
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == [CLIENT_ID] and query["scope"] == ["openid profile"]
    assert query["redirect_uri"] == [redirect_uri(srv)]
    assert cookie["httponly"] and cookie["path"] == START
    return query["state"][0], cookie.value


def redirect_uri(srv) -> str:
    return f"{srv.app.liaison.public_url}/dashboard/slack/callback"


async def callback(srv, code: str, state: str, cookie: str) -> aiohttp.ClientResponse:
    async with srv.http.get(
        f"{srv.base}/dashboard/slack/callback",
        params={"code": code, "state": state},
        headers={"Cookie": f"{STATE_COOKIE}={cookie}"},
        allow_redirects=False,
    ) as response:
        await response.read()
        return response


async def test_sign_in_with_slack_keeps_the_same_session_as_a_link(srv, fake) -> None:
    ws = riverton()
    await srv.install(ws)
    await srv.mine(ws, SAM)  # sam talks to the bot in that workspace
    state, cookie = await start(srv)
    code = fake.sign_in(ws.team_id, SAM, redirect_uri(srv))
    signed_in = await callback(srv, code, state, cookie)
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/dashboard"
    session = signed_in.cookies["liaison_dashboard"]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert signed_in.cookies[STATE_COOKIE].value == ""  # the round trip is spent
    exchange = fake.calls_to("openid.connect.token")[-1]
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert exchange.payload["code"] == code
    assert exchange.headers["authorization"] == f"Basic {basic}"
    headers = {"Cookie": f"liaison_dashboard={session.value}"}
    async with srv.http.get(f"{srv.base}/dashboard", headers=headers) as page:
        assert page.status == 200
        assert 'data-scope="Finance"' in await page.text()
    # the same code twice: Slack refuses it, and so does the bot
    again = await callback(srv, code, state, cookie)
    assert again.status == 403 and "liaison_dashboard" not in again.cookies


async def test_sign_in_with_slack_is_refused_without_its_own_fresh_state(srv, fake) -> None:
    ws = riverton()
    await srv.install(ws)
    await srv.mine(ws, SAM)
    state, _ = await start(srv)
    other_state, other_cookie = await start(srv)  # another browser's round trip
    now = srv.app.liaison.clock()
    secret = srv.app.liaison.dashboard_secret
    expired = signin.sign(secret, "state", 7, now - dt.timedelta(seconds=1))
    for bad_state, bad_cookie in (
        ("forged", "forged"),
        (state, other_cookie),  # the state of one browser with the cookie of another
        (state[:-2] + "xx", state[:-2] + "xx"),
        (expired, expired),
        (signin.link_for(secret, "", 1, now).split("=")[-1],) * 2,  # a link is no state
    ):
        code = fake.sign_in(ws.team_id, SAM, redirect_uri(srv))
        refused = await callback(srv, code, bad_state, bad_cookie)
        assert refused.status == 403, bad_state
        assert "liaison_dashboard" not in refused.cookies
    assert fake.calls_to("openid.connect.token") == []  # Slack was not even asked
    code = fake.sign_in(ws.team_id, SAM, redirect_uri(srv))
    assert (await callback(srv, code, other_state, other_cookie)).status == 303


async def test_sign_in_with_slack_is_for_known_liaisons_of_that_workspace(srv, fake) -> None:
    ws = riverton()
    await srv.install(ws)
    await srv.mine(ws, SAM)
    await srv.mine(ws, "U0KIM")  # kim is known, but no liaison
    for team, user, reason in (
        ("T0OTHER", SAM, "Not known here"),  # sam's id, but from a workspace not this one
        ("T0OTHER", "U0STRANGER", "Not known here"),  # an outsider
        (ws.team_id, "U0NEVERMET", "Not known here"),  # of the workspace, never met
        (ws.team_id, "U0KIM", "Not for you"),
    ):
        state, cookie = await start(srv)
        refused = await callback(srv, fake.sign_in(team, user, redirect_uri(srv)), state, cookie)
        assert refused.status == 403 and "liaison_dashboard" not in refused.cookies
        async with srv.http.get(
            f"{srv.base}/dashboard/slack/callback",
            params={"code": fake.sign_in(team, user, redirect_uri(srv)), "state": state},
            headers={"Cookie": f"{STATE_COOKIE}={cookie}"},
        ) as page:
            assert reason in await page.text()


async def test_without_a_slack_client_id_there_is_no_slack_sign_in(tmp_path: Path) -> None:
    app = app_for(tmp_path, "http://127.0.0.1")
    server = TestServer(build_web_app(app, scheduler=False))
    async with server, aiohttp.ClientSession() as http:
        async with http.get(server.make_url(START), allow_redirects=False) as missing:
            assert missing.status == 404
        async with http.get(server.make_url("/dashboard")) as page:
            assert page.status == 401 and "Slack" not in await page.text()


def test_the_fake_slack_refuses_a_code_for_another_redirect() -> None:
    fake = FakeSlackWorkspaces(client_id=CLIENT_ID, client_secret="s")
    code = fake.sign_in("T0RIVER", SAM, "https://a.example/cb")
    body = fake._openid_token(
        {"client_id": CLIENT_ID, "client_secret": "s", "code": code, "redirect_uri": "x"}
    )
    assert body == {"ok": False, "error": "bad_redirect_uri"}
