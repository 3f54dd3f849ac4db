"""Bad input for the Teams channel: property-based fuzzing of POST /api/messages over real HTTP.

The real server (bootstrap and build_web_app, without the scheduler) listens on 127.0.0.1, port 0,
in local mode (no app id), with a fake Bot Framework connector (tests/fakes/teams_connector.py)
as every activity's serviceUrl; both start once for the module, each on an event loop of its own.
Examples are activities Teams could post, with generated content: messages in a 1:1 chat or a
channel (mentions included), Action.Submit values, `adaptiveCard/action` invokes with any verb
and data, conversation updates and other activity types, and JSON that is no activity at all.

After each example, once the work the bot does after answering has finished:

- the answer was 2xx or 4xx, never 5xx, and GET /healthz still answers 200;
- no ERROR record with a traceback through our code (or from one of our loggers) was logged;
- everything a person was shown (replies, sends and card updates at the connector, and the card
  an invoke answers with) opens with a clear sentence and holds no Python repr or traceback;
- the stored data keeps its invariants, and a channel message that is neither a signal nor
  addressed to the bot wrote no row and sent nothing;
- an activity whose serviceUrl is not on this machine is refused (403) in local mode, writes
  nothing and reaches no connector.

The checks come from tests/unit/test_fuzz_core.py and the event-loop plumbing from
tests/inprocess.py. A bug it finds is pinned by a strict `xfail` test until it is fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.bootstrap import App, bootstrap
from bot.channels.teams import FORM_IDS, RetryPolicy
from bot.config import Settings
from tests.conftest import EXAMPLE_CONFIG
from tests.fakes.teams_connector import (
    ALEX,
    BOT,
    CARD_TYPE,
    KIM,
    PAT,
    SAM,
    TENANT,
    FakeConnector,
    TeamsUser,
    card_invoke,
    card_text,
    channel_message,
    members_added,
    personal_conversation,
    personal_message,
    submit_message,
)
from tests.inprocess import InProcessServer
from tests.unit import test_fuzz_core as core

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
SHOWN = ("reply", "send", "update")


# --- the server under test -----------------------------------------------------------------------


class Harness(InProcessServer):
    """The bot's server and the fake connector, each on a loop of its own."""

    def __init__(self, db: Path) -> None:
        super().__init__(db, "fuzz-teams")
        self.cards: list[dict] = []  # cards answered to invokes in the current example

    def start_fake(self) -> None:
        self.connector = self.outside.run(FakeConnector().start())
        self.service_url = self.connector.service_url

    async def stop_fake(self) -> None:
        await self.connector.stop()

    def build_app(self) -> App:
        settings_ = Settings(
            database_url=f"sqlite:///{self.db}",
            config_path=str(EXAMPLE_CONFIG),
            log_level="ERROR",
            teams_emulator=True,
        )
        app = bootstrap(settings_)
        app.teams.retry = RetryPolicy(attempts=2, base_delay=0.01)
        return app

    def post(self, body: Any, *, content_type: str = "application/json") -> tuple[int, Any]:
        """POST an activity (or any JSON, or raw text); the status and the decoded answer."""
        data = body if isinstance(body, str | bytes) else json.dumps(body)

        async def _post() -> tuple[int, Any]:
            headers = {"Content-Type": content_type}
            async with self.http.post(
                f"{self.base}/api/messages", data=data, headers=headers
            ) as response:
                text = await response.text(errors="replace")
            await self.bot.settle(self.idle)
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

        return self.bot.run(_post())

    def reset(self) -> None:
        async def _reset() -> None:
            self.connector.calls.clear()

        self.outside.run(_reset())
        self.logs.records.clear()
        self.cards = []

    def shown(self) -> list[tuple[str, list[str]]]:
        """(where, lines) for every message or card a person was shown at the connector, and
        for the cards answered to invokes."""
        found = []
        for call in list(self.connector.calls):
            if call.kind in SHOWN and call.ok and isinstance(call.body, dict):
                lines = [call.body.get("text")] if call.body.get("text") else []
                lines += card_text(call.card).split("\n") if call.card else []
                found.append((call.kind, lines))
        found += [("invoke", card_text(card).split("\n")) for card in self.cards]
        return found

    def calls(self) -> list[str]:
        return [c.kind for c in list(self.connector.calls)]


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    harness = Harness(tmp_path_factory.mktemp("teams") / "fuzz.db").start()
    try:
        seed(harness)
        yield harness
    finally:
        harness.stop()


def seed(teams: Harness) -> None:
    """Everyone says hello in their 1:1 chat (so the bot can DM them), and asks for things."""
    for user in (PAT, SAM, KIM, ALEX):
        assert teams.post(members_added(teams.service_url, user))[0] < 300
    for user, text in (
        (PAT, "commitments ask @sam to send the floor plan by Friday"),
        (PAT, "commitments ask @sam to order the badges"),
        (SAM, "commitments ask @pat to confirm the headcount by next week"),
        (KIM, "commitments ask @pat to book the movers"),
        (SAM, "commitments promise 1"),
        (PAT, "commitments done 3"),
    ):
        assert teams.post(personal_message(teams.service_url, user, text))[0] < 300
    assert core.db_problems(teams.app.engine) == []


def exchange(teams: Harness, activity: Any, said: list[str], **kw: Any) -> tuple[int, Any]:
    """Post one activity; check the answer, the logs, what people saw and the data."""
    teams.reset()
    status, answer = teams.post(activity, **kw)
    assert 200 <= status < 500, (status, answer)
    if isinstance(answer, dict) and answer.get("type") == CARD_TYPE:
        teams.cards.append(answer["value"])
    assert teams.health() == 200
    assert teams.logs.problems() == []
    assert [(where, why) for where, lines in teams.shown() if (why := unclear(lines, said))] == []
    assert core.db_problems(teams.app.engine) == []
    return status, answer


def unclear(lines: list[str], said: list[str]) -> str | None:
    """A message opens with a clear sentence; none of its lines holds Python text."""
    lines = [line for line in lines if line and line.strip()]
    if not lines:
        return "an empty message"
    return core.unclear(lines[0], said) or next(
        (f"Python text in {line!r}" for line in lines[1:] if core.python_text(line, said)), None
    )


# --- strategies ----------------------------------------------------------------------------------

NAMES = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=20)
STRANGERS = st.builds(
    lambda n, name: TeamsUser(f"29:stranger-{n}", f"aad-stranger-{n}", name),
    st.integers(0, 10**6),
    NAMES,
)
USERS = st.one_of(st.sampled_from((PAT, SAM, KIM, ALEX)), STRANGERS)


@st.composite
def messages(draw, service_url: str) -> tuple[dict, str]:
    text = draw(st.sampled_from(core.SIGNALS) | core.CHAT_TEXT)
    user = draw(USERS)
    if draw(st.booleans()):
        return personal_message(service_url, user, text), text
    others = draw(st.lists(st.sampled_from((PAT, SAM, KIM, ALEX)), max_size=2, unique=True))
    if others and draw(st.booleans()):
        text = f"{text} <at>{others[0].name}</at>"
    activity = channel_message(
        service_url, user, text, mention_bot=draw(st.booleans()), mentions=others
    )
    return activity, text


TEAMS_VERBS = ("form.cancel", "cycle.open", *core.ACTIONS_TYPED, *core.ACTIONS_ANY_VALUE)
FORM_FIELDS = {
    "intake": ("kind", "unit", "title", "target_date", "owner", "q:headcount", "q:site", "roles"),
    "commitment": ("what", "owner", "due"),
    "act": ("due", "note"),
    "cycle": ("six_months", "twelve_months"),
}


@st.composite
def card_data(draw) -> dict[str, Any]:
    """What a card's button sends: our verb (or any), its value, and for a form its state and
    inputs ("f:<key>"), with arbitrary contents; plus keys of no meaning holding any JSON."""
    verb = draw(st.sampled_from(TEAMS_VERBS) | core.TEXT)
    data: dict[str, Any] = {"act": verb}
    if verb == "cycle.open":
        cycle = {"unit": draw(st.sampled_from(core.UNITS) | core.TEXT), "cycle": draw(st.dates())}
        data["value"] = json.dumps(cycle, default=str)
    elif draw(st.booleans()):
        data["value"] = draw(core.action_value(verb))
    form = draw(st.none() | st.sampled_from(FORM_IDS) | core.TEXT)
    if form is not None:
        data["form"] = form
        state = draw(core.STATE)
        if form == "cycle":
            state["cycle"] = draw(st.dates()).isoformat()
        data["state"] = draw(st.just(json.dumps(state)) | core.TEXT)
        for key in FORM_FIELDS.get(form, ()):
            if draw(st.booleans()):
                value = core.DATE_TEXT if key in ("due", "target_date") else core.CHAT_TEXT
                data[f"f:{key}"] = draw(value | st.sampled_from(core.ROLE_KEYS))
        if form == "intake" and draw(st.booleans()):
            data["multi"] = ["roles"]
    extra = draw(
        st.dictionaries(
            core.TEXT.filter(lambda k: k not in ("act", "value", "form", "state", "multi")),
            core.JSON,
            max_size=2,
        )
    )
    return {**extra, **data}


def _said(data: Any) -> list[str]:
    values = data.values() if isinstance(data, dict) else ()
    return [json.dumps(data), *(v for v in values if isinstance(v, str))]


def _conversation(draw, user: TeamsUser) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None  # the user's 1:1 chat
    return {
        "id": f"19:finance-general@thread.tacv2;messageid=1:{draw(st.integers(1, 99))}",
        "conversationType": "channel",
        "isGroup": True,
        "tenantId": TENANT,
    }


# --- properties ----------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_any_message_is_answered_clearly_and_channel_chatter_writes_nothing(teams, data):
    activity, text = data.draw(messages(teams.service_url), label="activity")
    before = core.row_counts(teams.app.engine)
    status, _ = exchange(teams, activity, [text])
    personal = activity["conversation"]["conversationType"] == "personal"
    mentioned = any(e["mentioned"]["id"] == BOT["id"] for e in activity.get("entities") or [])
    # The bot also takes its name written as a mention with no entity (strip_bot_mention).
    markup = rf"<at(?:\s[^<>]*)?>\s*{re.escape(BOT['name'])}\s*</at>"
    mentioned = mentioned or bool(re.search(markup, activity.get("text") or "", re.IGNORECASE))
    if personal or mentioned:
        assert teams.calls(), "a message to the bot got no answer"
    elif teams.app.liaison.detect(text) is None:
        assert core.row_counts(teams.app.engine) == before, "a channel's chatter wrote a row"
        assert teams.calls() == [], "a channel's chatter reached the connector"
    assert status in (200, 201, 202)


@FUZZ
@given(data=st.data())
def test_any_submitted_card_value_is_answered_clearly(teams, data):
    user = data.draw(USERS, label="user")
    value = data.draw(card_data() | core.JSON, label="value")
    conversation = _conversation(data.draw, user)
    reply_to = data.draw(
        st.none() | st.sampled_from(sorted(teams.connector.activities)[-5:] or [None])
    )
    activity = submit_message(
        teams.service_url, user, value, reply_to_id=reply_to, conversation=conversation
    )
    status, _ = exchange(teams, activity, _said(value))
    assert status in (200, 201, 202)
    if conversation is None:
        assert teams.calls(), "a button press in a 1:1 chat got no answer"


@FUZZ
@given(data=st.data())
def test_any_card_action_invoke_is_answered_with_a_clear_card(teams, data):
    user = data.draw(USERS, label="user")
    payload = data.draw(card_data(), label="data")
    verb = data.draw(st.just(payload["act"]) | st.sampled_from(TEAMS_VERBS) | core.TEXT)
    activity = card_invoke(
        teams.service_url,
        user,
        verb,
        payload,
        reply_to_id=data.draw(st.none() | st.just("1:old-card")),
        conversation=_conversation(data.draw, user),
    )
    if data.draw(st.integers(0, 5)) == 0:  # an invoke that is not an Action.Execute
        activity["value"]["action"]["type"] = data.draw(
            st.sampled_from(("Action.Submit", "Action.OpenUrl")) | core.TEXT
        )
    status, answer = exchange(teams, activity, [*_said(payload), verb])
    if activity["value"]["action"]["type"] == "Action.Execute":
        assert status == 200 and answer["statusCode"] == 200 and answer["type"] == CARD_TYPE
    else:
        assert status == 400 and answer["statusCode"] == 400


ACTIVITY_TYPES = (
    "message",
    "conversationUpdate",
    "installationUpdate",
    "messageReaction",
    "typing",
    "event",
    "invoke",
    "endOfConversation",
    "messageUpdate",
    "messageDelete",
)


@st.composite
def odd_activities(draw, service_url: str) -> tuple[dict, list[str]]:
    """An activity of any type, with some of its fields replaced by any JSON."""
    user = draw(USERS)
    kind = draw(st.sampled_from(ACTIVITY_TYPES) | core.TEXT.filter(str.strip))
    if kind == "conversationUpdate":
        members = draw(
            st.lists(
                st.sampled_from((BOT, PAT.account(), SAM.account()))
                | st.builds(lambda i, n: {"id": i, "name": n}, core.TEXT, core.TEXT),
                max_size=3,
            )
        )
        activity = members_added(
            service_url, user, members, scope=draw(st.sampled_from(("personal", "team")))
        )
    else:
        activity = personal_message(service_url, user, draw(core.CHAT_TEXT))
        activity["type"] = kind
    if kind == "invoke":  # other invoke names: see test_an_invoke_the_bot_does_not_handle_...
        activity["name"] = "adaptiveCard/action"
        activity["value"] = draw(core.JSON)
    if kind == "installationUpdate":
        activity["action"] = draw(st.sampled_from(("add", "remove", "add-upgrade")) | core.TEXT)
    for key in draw(
        st.lists(
            st.sampled_from(
                (
                    "value",
                    "replyToId",
                    "locale",
                    "localTimezone",
                    "timestamp",
                    "textFormat",
                    "attachments",
                    "summary",
                )
            ),
            max_size=3,
            unique=True,
        )
    ):
        activity[key] = draw(core.JSON)
    return activity, [json.dumps(activity)]


@FUZZ
@given(data=st.data())
def test_any_activity_type_and_field_is_answered_2xx_or_4xx(teams, data):
    activity, said = data.draw(odd_activities(teams.service_url), label="activity")
    exchange(teams, activity, said)


@FUZZ
@given(
    body=st.one_of(
        core.JSON.map(json.dumps),
        core.TEXT,
        st.dictionaries(core.TEXT, core.JSON, max_size=6).map(json.dumps),
    ),
    content_type=st.sampled_from(("application/json", "text/plain", "application/x-www-form")),
)
def test_any_body_that_is_not_an_activity_is_a_4xx(teams, body, content_type):
    before = core.row_counts(teams.app.engine)
    status, _ = exchange(teams, body, [body], content_type=content_type)
    assert 400 <= status < 500
    assert teams.calls() == []
    assert core.row_counts(teams.app.engine) == before


HOSTS = st.one_of(
    st.sampled_from(
        (
            "https://smba.trafficmanager.net/amer/",
            "http://10.0.0.5/",
            "http://[::ffff:10.0.0.1]:80/",
            "http://localhost.example.com/",
            "http://127.0.0.1.nip.io/",
            "http://0.0.0.0/",
            "http://user@evil.example/",
        )
    ),
    st.builds(
        lambda host: f"https://{host}/",
        st.text("abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=30).filter(
            lambda h: h not in ("localhost",) and not h.startswith("127.")
        ),
    ),
)


@FUZZ
@given(data=st.data(), service_url=HOSTS)
def test_in_local_mode_a_connector_elsewhere_is_refused_and_reached_nothing(
    teams, data, service_url
):
    activity, _ = data.draw(messages(service_url), label="activity")
    activity["text"] = core.SIGNALS[0]
    before = core.row_counts(teams.app.engine)
    status, _ = exchange(teams, activity, [])
    assert status in (400, 403), status
    assert teams.calls() == []
    assert core.row_counts(teams.app.engine) == before, "a refused activity wrote to the database"


def test_a_personal_message_is_answered_in_the_users_chat(teams):
    """The harness itself: a signal from Pat gets an offer card in Pat's 1:1 chat."""
    # The module's fuzz tests share this bot and may have left Pat in the middle of an intake,
    # which would take the message as an answer: Pat ends it first.
    exchange(teams, personal_message(teams.service_url, PAT, "cancel"), [])
    status, _ = exchange(teams, personal_message(teams.service_url, PAT, core.SIGNALS[0]), [])
    assert status == 201
    [reply] = [c for c in teams.connector.calls if c.kind == "reply"]
    assert reply.conversation_id == personal_conversation(PAT)
    assert "Plan it with IT" in json.dumps(reply.card)


# --- known bugs ----------------------------------------------------------------------------------


def outcome(teams: Harness, activity: Any) -> list[str]:
    """What went wrong with one activity: a 5xx, a failed health check, logged errors."""
    teams.reset()
    data = activity if isinstance(activity, str) else json.dumps(activity)
    status, answer = teams.post(data)
    problems = [] if status < 500 else [f"HTTP {status} {answer!r}"[:200]]
    problems += [] if teams.health() == 200 else ["/healthz stopped answering"]
    return problems + teams.logs.problems()


def test_a_submitted_value_the_core_cannot_read_is_not_a_500(teams):
    value = {"act": "commitment.promise", "value": json.dumps({"id": "seven"})}
    activity = submit_message(teams.service_url, PAT, value, reply_to_id=None)
    assert outcome(teams, activity) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("commitments ask @sam to fix the \ud800 printer", "Pat Lee"),
        ("commitments mine", "P\ud800"),
    ],
    ids=["in-a-commitment", "in-a-name"],
)
def test_a_lone_surrogate_in_an_activity_is_not_a_500(teams, text, name):
    user = TeamsUser(f"29:surrogate-{len(text)}", f"aad-surrogate-{len(text)}", name)
    activity = json.dumps(personal_message(teams.service_url, user, text))
    assert "\\ud800" in activity  # json.dumps escapes it, as a client would send it
    assert outcome(teams, activity) == []


@pytest.mark.parametrize("name", ["task/fetch", "composeExtension/query", ""])
def test_an_invoke_the_bot_does_not_handle_is_a_4xx_not_a_5xx(teams, name):
    activity = personal_message(teams.service_url, PAT, "")
    activity.update(type="invoke", name=name, value={})
    assert outcome(teams, activity) == []
    status, answer = teams.post(json.dumps(activity))
    assert status == 400 and "NotSupported" in str(answer), (status, answer)
