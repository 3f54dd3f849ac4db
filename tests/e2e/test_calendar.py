"""The private calendar feed over real HTTP: the person's due dates and their units' cycles."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import aiohttp
from aiohttp.test_utils import TestServer
from icalendar import Calendar

from bot.bootstrap import bootstrap
from bot.config import load_settings
from bot.server import build_web_app
from handlers.messages import Inbound, Sender
from tests.conftest import EXAMPLE_CONFIG


def app_for(tmp_path):
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cal.db'}",
            "LIAISON_CONFIG": str(EXAMPLE_CONFIG),
            "PUBLIC_URL": "https://liaison.example.org",
        },
        dotenv_path=None,
    )
    return bootstrap(settings)


def say(app, who, text):
    return app.liaison.handle(
        Inbound(Sender("shell", who, name=who), "dm", text=text, is_direct=True)
    )


async def test_a_person_subscribes_to_their_due_dates_and_cycles(tmp_path):
    app = app_for(tmp_path)
    due = dt.date.today() + dt.timedelta(days=40)  # the app runs on the real clock
    say(app, "pat", f"commitments ask @sam to send the floor plan by {due.isoformat()}")
    reply = say(app, "sam", "commitments calendar")[0].reply.text
    url = re.search(r"https://liaison\.example\.org(/calendar/[\w-]+\.ics)", reply)
    assert url, reply
    token = url.group(1).split("/")[-1].removesuffix(".ics")
    assert len(token) >= 43  # 256 random bits
    server = TestServer(build_web_app(app, scheduler=False))
    async with server, aiohttp.ClientSession() as http:
        async with http.get(server.make_url(url.group(1))) as response:
            assert response.status == 200
            assert response.content_type == "text/calendar"
            calendar = Calendar.from_ical(await response.read())
        guesses = [
            f"/calendar/{secrets.token_urlsafe(32)}.ics",
            "/calendar/1.ics",
            "/calendar/.ics",
        ]
        for guess in guesses:
            async with http.get(server.make_url(guess)) as response:
                assert response.status == 404
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert str(events["#1 send the floor plan"].decoded("dtstart")) == due.isoformat()
    assert any(s.startswith("Input cycle: Finance") for s in events)
    again = say(app, "sam", "commitments calendar")[0].reply.text
    assert url.group(1) in again  # the same link every time
