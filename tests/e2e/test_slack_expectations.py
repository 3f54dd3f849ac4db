"""What Slack users expect: the global "Plan with IT" shortcut, `/commitments plan`, `history N`
and `home`, people as real mentions and dates in each viewer's own format."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from storage.models import Initiative
from tests.conftest import ROOT
from tests.e2e.test_slack import PAT, TOKEN, USERS, Server, in_days, serve, submission
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as server,
    ):
        yield server


async def test_the_global_shortcut_plans_something_from_nothing(srv: Server) -> None:
    shortcut = sr.shortcut_payload("plan_with_it_global", user_id=PAT)
    assert (await srv.interact(shortcut))[0] == 200
    (opened,) = await srv.fake.wait_for("views.open")
    view = opened.payload["view"]
    assert view["callback_id"] == "intake"
    asked = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert {"kind", "unit", "title"} <= set(asked), asked  # nothing to read: the form asks
    values = {
        "kind": sr.option_value("office_move"),
        "unit": sr.option_value("finance"),
        "title": sr.text_value("Move to the Elm Street office"),
        "target_date": sr.date_value(in_days(200)),
        "owner": sr.user_value(PAT),
    }
    assert await srv.interact(submission(opened, values)) == (200, "")
    summary = await srv.fake.wait_for("chat.postMessage")
    assert any("Elm Street" in c.payload["text"] for c in summary)
    (initiative,) = srv.all(Initiative)
    assert (initiative.kind, initiative.unit_id) == ("office_move", "finance")


@pytest.mark.parametrize(
    ("typed", "starts"),
    [
        ("plan", "Let's plan it."),
        ("home", "Your open commitments"),
        ("history", "Which commitment?"),
    ],
)
async def test_top_level_words_work_behind_the_slash_command(
    srv: Server, typed: str, starts: str
) -> None:
    assert (await srv.slash(typed))[0] == 200
    (answer,) = await srv.fake.wait_for("response_url")
    assert answer.payload["text"].startswith(starts), answer.payload["text"]


def test_the_socket_mode_manifest_is_the_same_app_without_request_urls() -> None:
    http = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    socket = yaml.safe_load((ROOT / "manifest.socket-mode.yml").read_text(encoding="utf-8"))
    assert "request_url" not in json.dumps(socket) and '"url"' not in json.dumps(socket)
    assert socket["settings"]["socket_mode_enabled"] is True
    for command in http["features"]["slash_commands"]:
        del command["url"]
    del http["settings"]["event_subscriptions"]["request_url"]
    del http["settings"]["interactivity"]["request_url"]
    http["settings"]["socket_mode_enabled"] = True
    assert socket == http
