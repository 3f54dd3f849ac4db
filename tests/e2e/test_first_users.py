"""240 people using the bot for the first time at the same moment, on PostgreSQL: every one gets
an answer and none gets "Sorry, something went wrong" (issue 13's row "240 new users' first
commands at once": 28-47 got no answer, 38-70 more got the apology). Each first command makes
its sender a person (handlers.people: inserts with ON CONFLICT DO NOTHING)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import Session, func, select

from bot.bootstrap import bootstrap
from bot.config import load_settings
from bot.server import build_web_app
from handlers.core import SORRY
from storage.models import Person
from tests.conftest import EXAMPLE_CONFIG
from tests.e2e.test_slack import SECRET, TOKEN, Server
from tests.fakes import FakeSlack
from tests.pg import find_postgres, throwaway_database

NEWCOMERS = 240
USERS = {
    f"U0NEW{n:04d}": {"name": f"new{n}", "tz": "Europe/Paris", "profile": {}}
    for n in range(NEWCOMERS)
}


@contextlib.asynccontextmanager
async def serve_on(fake: FakeSlack, url: str) -> AsyncIterator[Server]:
    environ = {
        "DATABASE_URL": url,
        "LIAISON_CONFIG": str(EXAMPLE_CONFIG),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url,
        "LOG_LEVEL": "WARNING",
    }
    app = bootstrap(load_settings(environ, dotenv_path=None))
    runner = web.AppRunner(build_web_app(app, scheduler=False), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            yield Server(app, f"http://127.0.0.1:{runner.addresses[0][1]}", fake, http)
    finally:
        await runner.cleanup()
        app.engine.dispose()


@pytest.mark.postgres
async def test_240_first_time_users_at_once_get_240_answers_and_no_error():
    base, why = find_postgres()
    if not base:
        pytest.skip(why)
    with throwaway_database(base, "liaison_newcomers") as url:
        async with FakeSlack(bot_token=TOKEN, users=USERS) as fake, serve_on(fake, url) as srv:
            with Session(srv.app.engine) as session:
                before = session.exec(select(func.count()).select_from(Person)).one()
            statuses = await asyncio.gather(
                *(srv.slash("mine", user=user, key=user) for user in USERS)
            )
            assert [status for status, _ in statuses] == [200] * NEWCOMERS
            answers = await fake.wait_for("response_url", count=NEWCOMERS, timeout=60)
            await asyncio.sleep(0.5)
            answers = fake.calls_to("response_url")
            per_user = {c.path.rsplit("/", 1)[-1] for c in answers}
            sorry = [c for c in answers if SORRY[:30] in str(c.payload.get("text"))]
            print(f"\n{len(per_user)} of {NEWCOMERS} answered, {len(sorry)} apologies")
            assert len(answers) == NEWCOMERS and per_user == set(USERS)
            assert sorry == []
            with Session(srv.app.engine) as session:
                after = session.exec(select(func.count()).select_from(Person)).one()
            assert after - before == NEWCOMERS  # each newcomer once
