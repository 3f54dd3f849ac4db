"""The liaisons' dashboard over real HTTP: sign-in by the DM'd link, the session cookie, who
may see it, and the numbers in its charts; then the same in a real headless Chromium."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.bootstrap import bootstrap
from bot.config import load_settings
from bot.server import build_web_app
from handlers import signin
from handlers.messages import Inbound, Sender
from storage.db import session_scope
from storage.models import Person
from tests.conftest import EXAMPLE_CONFIG, ROOT, FakeClock
from tests.integration.test_figures import add, at
from tests.integration.test_similar import submit
from tests.serving import free_port

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


# The test's own clock: every date below is a number of days from it.
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
LAST_MONTH, THIS_MONTH = f"{NOW.year}-{NOW.month - 1:02d}", f"{NOW.year}-{NOW.month:02d}"


def day(offset: int) -> str:
    return (NOW.date() + dt.timedelta(days=offset)).isoformat()


def app_for(tmp_path, public_url: str):
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'board.db'}",
            "LIAISON_CONFIG": str(EXAMPLE_CONFIG),
            "PUBLIC_URL": public_url,
            "DASHBOARD_SECRET": "a test secret, not a real one",
        },
        dotenv_path=None,
    )
    clock = FakeClock(NOW)
    app = bootstrap(settings, clock=clock)
    with session_scope(app.engine) as s:  # Finance: last month 1 of 2 on time, this month 0 of 1
        people = {p.handle: p.id for p in s.exec(select(Person)).all()}
        for what, due, done, state in (
            ("on time", day(-44), day(-45), "accepted"),
            ("late", day(-34), day(-29), "accepted"),
            ("open and late", day(-10), None, "promised"),
        ):
            events = [("request", None, "requested", at(day(-53)), None, due)]
            if done:
                events.append(("report_done", "requested", "done_reported", at(done), due, due))
            add(s, people, what, "sam", "pat", "finance", due, state, events)
    return app


def say(app, who, text):
    inbound = Inbound(Sender("shell", who, name=who), "dm", text=text, is_direct=True)
    return app.liaison.handle(inbound)


def link_in(replies) -> str:
    found = re.search(r"(/dashboard/signin\?token=\S+)", replies[0].reply.text)
    assert found, replies[0].reply.text
    return found.group(1)


async def test_the_link_signs_in_and_the_cookie_keeps_the_session(tmp_path):
    app = app_for(tmp_path, "https://liaison.example.org")
    replies = say(app, "sam", "commitments dashboard")
    assert replies[0].to_person is not None  # a DM to the person who asked
    assert replies[0].reply.text.startswith("Your dashboard: https://liaison.example.org/dash")
    path = link_in(replies)
    server = TestServer(build_web_app(app, scheduler=False))
    jar = aiohttp.CookieJar(unsafe=True)
    async with server, aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(server.make_url("/dashboard")) as refused:
            assert refused.status == 401
            assert "needs a sign-in link" in await refused.text()
        forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        async with http.get(server.make_url(forged), allow_redirects=False) as bad:
            assert bad.status == 403
        async with http.get(server.make_url(path), allow_redirects=False) as signed_in:
            assert signed_in.status == 303 and signed_in.headers["Location"] == "/dashboard"
            cookie = signed_in.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
            assert "Path=/dashboard" in cookie
        token = cookie.split(";", 1)[0].split("=", 1)[1]
        headers = {"Cookie": f"liaison_dashboard={token}"}
        async with http.get(server.make_url("/dashboard"), headers=headers) as page:
            assert page.status == 200
            html = await page.text()
            assert page.headers["Referrer-Policy"] == "no-referrer"
    finance = html.split('data-scope="Finance"', 1)[1].split("</svg>", 1)[0]
    assert re.findall(r'data-month="([\d-]+)" data-rate="(\d+)"', finance) == [
        (LAST_MONTH, "50"),
        (THIS_MONTH, "0"),
    ]
    assert "<script" not in html  # charts are SVG drawn on the server


async def test_the_dashboard_is_for_liaisons_and_admins_only(tmp_path):
    app = app_for(tmp_path, "http://127.0.0.1")
    assert say(app, "pat", "commitments dashboard")[0].reply.text == (
        "The dashboard is for liaisons and admins."
    )
    with session_scope(app.engine) as s:
        pat = s.exec(select(Person).where(Person.handle == "pat")).one()
    # A link made for someone who is not (or no longer) a liaison opens nothing.
    expired = link_in(say(app, "sam", "commitments dashboard"))
    app.liaison.clock.advance(minutes=signin.LINK_MINUTES - 1)
    path = signin.link_for(app.liaison.dashboard_secret, "", pat.id, app.liaison.clock())
    server = TestServer(build_web_app(app, scheduler=False))
    async with server, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        page = await http.get(server.make_url(path))
        assert page.status == 403 and "for liaisons and admins" in await page.text()
        app.liaison.clock.advance(minutes=2)  # sam's link is now 16 minutes old
        old = await http.get(server.make_url(expired), allow_redirects=False)
        assert old.status == 403 and "expired" in await old.text()


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium); browser test skipped"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


async def test_in_a_real_browser_sign_in_see_the_chart_and_be_refused_without_link(tmp_path):
    if (missing := _browser_missing()) is not None:
        if os.environ.get("CI"):  # .ci/run installs Chromium: on CI this test must run
            pytest.fail(f"{missing}; on CI the browser tests must run.")
        pytest.skip(missing)
    from playwright.async_api import async_playwright

    port = free_port()
    app = app_for(tmp_path, f"http://127.0.0.1:{port}")
    for who, unit, title, when in (
        ("pat", "finance", "Buy a shift scheduling tool", day(98)),
        ("kim", "parks", "Scheduling app for summer crews", day(143)),
    ):
        submit(app.liaison, who, unit, "software_purchase", title, when, "When I Work")
    replies = say(app, "dana", "commitments dashboard")  # an admin: both units
    url = re.search(r"(http://\S+)", replies[0].reply.text).group(1)
    server = TestServer(build_web_app(app, scheduler=False), host="127.0.0.1", port=port)
    async with server, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            stranger = await browser.new_page()
            refused = await stranger.goto(f"http://127.0.0.1:{port}/dashboard")
            assert refused.status == 401
            assert "needs a sign-in link" in await stranger.inner_text("#message")
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            response = await page.goto(url)
            assert response.status == 200 and page.url.endswith("/dashboard")
            bars = page.locator('svg[data-scope="Finance"] rect.bar')
            assert await bars.count() == 2
            rates = [await bars.nth(i).get_attribute("data-rate") for i in range(2)]
            assert rates == ["50", "0"]
            dots = page.locator("svg.timeline circle.dot")
            targets = [await dots.nth(i).get_attribute("data-target") for i in range(2)]
            assert targets == [day(98), day(143)]
            assert "Suggested" in await page.inner_text("#similar")
            label = page.locator('svg[data-scope="Finance"] text.value').first
            assert await label.text_content() == "50%"
            shot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            if os.environ.get("UPDATE_SCREENSHOTS"):  # make docs: refresh the README's images
                shutil.copy(shot, ROOT / "docs" / "dashboard.png")
        finally:
            await browser.close()
