"""Teams acceptance, with the real command line: `serve` with an empty app id answers a signal
through a fake connector within 2 seconds, and `sweep --at` nudges someone reachable only on
Teams."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time

import aiohttp

from tests.conftest import EXAMPLE_CONFIG, ROOT
from tests.fakes.teams_connector import ALEX, FakeConnector, personal_message
from tests.serving import free_port, wait_until_healthy


def environment(tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'teams.db'}",
        LIAISON_CONFIG=str(EXAMPLE_CONFIG),
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
        MICROSOFT_APP_ID="",
        TEAMS_EMULATOR="1",
    )
    env.update(extra)
    return env


async def start_serve(tmp_path, port: int):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=environment(tmp_path),
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
    )
    await wait_until_healthy(f"http://127.0.0.1:{port}", process)
    return process


async def post(port: int, activity: dict) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/api/messages", json=activity) as response,
    ):
        return response.status


async def test_serve_answers_a_teams_signal_naming_network_and_phones(tmp_path):
    port = free_port()
    async with FakeConnector() as connector:
        process = await start_serve(tmp_path, port)
        try:
            text = "we're moving buildings in ten months"
            started = time.monotonic()
            status = await post(port, personal_message(connector.service_url, ALEX, text))
            assert status < 300
            reply = await connector.wait_for(lambda c: c.messages(), timeout=2.0)
            assert time.monotonic() - started < 2.0
            words = reply[0].text.lower()
            assert "network" in words and "phones" in words
        finally:
            process.terminate()
            await process.wait()


async def test_sweep_nudges_someone_reachable_only_on_teams(tmp_path):
    port = free_port()
    async with FakeConnector() as connector:
        process = await start_serve(tmp_path, port)
        try:  # Alex, unknown to the organisation file, says hello on Teams once
            assert await post(port, personal_message(connector.service_url, ALEX, "hello")) < 300
            await connector.wait_for(lambda c: c.messages(), timeout=5)
        finally:
            process.terminate()
            await process.wait()
        connector.calls.clear()

        from sqlmodel import select

        from handlers import commitments
        from handlers.people import by_handle
        from storage.db import make_engine, session_scope
        from storage.models import Address, Person

        engine = make_engine(f"sqlite:///{tmp_path / 'teams.db'}")
        with session_scope(engine) as session:
            alex = session.exec(select(Person).where(Person.display_name == "Alex Newcomer")).one()
            channels = {
                a.channel for a in session.exec(select(Address).where(Address.person_id == alex.id))
            }
            assert channels == {"teams"}
            commitments.create(
                session,
                requester=by_handle(session, "pat"),
                owner=alex,
                what="Send the badge list",
                due=dt.date(2026, 11, 20),
                channel="shell",
                now=dt.datetime(2026, 11, 16, tzinfo=dt.UTC),
            )
        engine.dispose()
        sweep = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "sweep",
            "--at",
            "2026-11-24T15:30:00+00:00",
            env=environment(tmp_path),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(sweep.communicate(), 60)
        assert sweep.returncode == 0, out.decode()
        assert "sent: digest to @" in out.decode() and "(teams)" in out.decode()
        [nudge] = connector.messages()
        assert "Send the badge list" in nudge.text
