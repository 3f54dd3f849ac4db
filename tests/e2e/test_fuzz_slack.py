"""Bad input for the Slack channel: property-based fuzzing of POST /slack/events over real HTTP.

The real server (bootstrap and build_web_app, without the scheduler) listens on 127.0.0.1, port 0,
with a fake Slack Web API (tests/fakes/slack_api.py) behind it, both started once for the module,
each on an event loop of its own. Every example is a really signed request (tests/fakes/
slack_requests.py): Events API callbacks, `/commitments` bodies, and `payload=` interactions
(block_actions, view_submission with arbitrary state values, shortcuts), with generated content;
one property follows a real offer's "Plan it with IT" button into the modal it opened and sends
that modal back filled in with anything its fields can hold.

After each example, once the work the bot does after acknowledging has finished:

- the answer was 2xx or 4xx, never 5xx, and GET /healthz still answers 200;
- no ERROR record with a traceback through our code (or from one of our loggers) was logged;
- everything a person was shown (chat.postMessage, chat.postEphemeral, chat.update,
  response_url, views.open/update/publish, and a modal's response_action errors) is a clear
  sentence, as tests/unit/test_fuzz_core.py defines it;
- the stored data keeps its invariants, and a message that is not a signal wrote no row;
- a body signed with the wrong secret, or with a timestamp more than 5 minutes off, gets 401,
  writes nothing and causes no call to Slack.

Bugs found here were fixed and keep a test of their own at the end; the generators steer clear
of those inputs so that the properties test everything else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.bootstrap import App, bootstrap
from bot.channels import slack as slack_channel
from bot.channels.interactions import seal
from bot.channels.slack.text import readable_text
from bot.config import load_settings
from tests.conftest import EXAMPLE_CONFIG
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import STARTUP_METHODS
from tests.inprocess import InProcessServer
from tests.unit import test_fuzz_core as core

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TOKEN = "xoxb-fuzz-0000-bot-token"
SECRET = "fuzz-signing-secret-0000"
PAT, SAM, KIM, NEWBIE = "U0PAT", "U0SAMRIVRA", "U0KIM", "U0NEWBIE"


def _user(name: str, email: str, tz: str = "America/Chicago") -> dict:
    return {"name": name, "tz": tz, "profile": {"email": email, "display_name": name}}


USERS = {
    PAT: _user("pat", "pat.lee@riverton.example"),
    SAM: _user("sam", "sam.rivera@riverton.example"),
    KIM: _user("kim", "kim.nguyen@riverton.example", "America/Denver"),
    NEWBIE: _user("newbie", "newbie@riverton.example"),
}
SHOWN = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url")
VIEWS = ("views.open", "views.update", "views.publish")


# --- the server under test, on a loop of its own -------------------------------------------------


class Harness(InProcessServer):
    """The bot's server and a fake Slack, each on a loop of its own (tests/inprocess.py)."""

    def __init__(self, db: Path) -> None:
        super().__init__(db, "fuzz-slack")
        self.methods: set[str] = set()  # every Web API method called, across examples

    def start_fake(self) -> None:
        self.fake = self.outside.run(FakeSlack(bot_token=TOKEN, users=USERS).start())

    async def stop_fake(self) -> None:
        await self.fake.stop()

    def build_app(self) -> App:
        environ = {
            "DATABASE_URL": f"sqlite:///{self.db}",
            "LIAISON_CONFIG": str(EXAMPLE_CONFIG),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.fake.base_url,
        }
        return bootstrap(load_settings(environ, dotenv_path=None))

    # Requests

    def post(self, body: str | bytes, headers: dict[str, str]) -> tuple[int, str]:
        async def _post() -> tuple[int, str]:
            data = body.encode() if isinstance(body, str) else body
            url = f"{self.base}/slack/events"
            async with self.http.post(url, data=data, headers=headers) as response:
                text = await response.text(errors="replace")
            await self.bot.settle(self.idle)
            return response.status, text

        return self.bot.run(_post())

    def reset(self) -> None:
        async def _reset() -> None:
            self.methods.update(c.method for c in self.fake.calls)
            self.fake.reset()

        self.outside.run(_reset())
        self.logs.records.clear()

    # What people were shown

    def shown(self) -> list[tuple[str, str]]:
        """(where, text) for every text a person was shown at the fake Slack."""
        found: list[tuple[str, str]] = []
        for call in list(self.fake.calls):
            if not call.ok and call.method != "response_url":
                continue
            if call.method in SHOWN:
                found.append((call.method, call.payload.get("text")))
            elif call.method in VIEWS and isinstance(call.payload.get("view"), dict):
                found += [(call.method, t) for t in view_texts(call.payload["view"])]
        return found

    def calls(self) -> list[str]:
        """The Web API methods called (Bolt's own auth.test aside)."""
        return [c.method for c in list(self.fake.calls) if c.method not in STARTUP_METHODS]


def view_texts(view: dict) -> list[str]:
    """A view's title and the texts of its sections, contexts and headers (not input labels)."""
    texts = [((view.get("title") or {}).get("text"))] if view.get("type") == "modal" else []
    for block in view.get("blocks") or []:
        kind = block.get("type")
        if kind in ("section", "header") and isinstance(block.get("text"), dict):
            texts.append(block["text"].get("text"))
        elif kind == "context":
            texts += [e.get("text") for e in block.get("elements") or [] if e.get("text")]
    return texts


@pytest.fixture(scope="module")
def slack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    harness = Harness(tmp_path_factory.mktemp("slack") / "fuzz.db").start()
    try:
        seed(harness)
        yield harness
    finally:
        harness.stop()
    # Every Web API method the adapter called is one the manifest's scopes allow.
    called = harness.methods | {c.method for c in harness.fake.calls}
    assert called - {"response_url"} <= set(slack_channel.METHODS)


def seed(slack: Harness) -> None:
    """Commitments between Pat, Sam and Kim in several states, for the buttons to act on."""
    for user, text in (
        (PAT, f"ask <@{SAM}|sam> send the floor plan by Friday"),
        (PAT, f"ask <@{SAM}|sam> order the badges"),
        (SAM, f"ask <@{PAT}|pat> confirm the headcount by next week"),
        (KIM, f"ask <@{PAT}|pat> book the movers"),
        (SAM, "promise 1"),
        (PAT, "done 3"),
    ):
        body = sr.slash_body(
            "/commitments", text, user_id=user, response_url=slack.fake.response_url()
        )
        assert slack.post(body, signed(body))[0] == 200
    assert core.db_problems(slack.app.engine) == []


def signed(body: str | bytes, *, secret: str = SECRET, timestamp: int | None = None, **kw):
    return sr.headers(secret, body, timestamp=timestamp, **kw)


def exchange(slack: Harness, body: str, said: list[str], **headers: Any) -> tuple[int, str]:
    """Send one signed body; check the answer, the logs, what people saw and the data."""
    slack.reset()
    status, answer = slack.post(body, signed(body, **headers))
    assert 200 <= status < 500, (status, answer[:300])
    assert slack.health() == 200
    assert slack.logs.problems() == []
    unclear = [(where, core.unclear(text, said)) for where, text in slack.shown()]
    assert [(where, why) for where, why in unclear if why] == []
    assert core.db_problems(slack.app.engine) == []
    return status, answer


# --- strategies ----------------------------------------------------------------------------------

_ids = itertools.count(1)
IDCHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
USER_IDS = st.one_of(
    st.sampled_from((PAT, SAM, KIM, NEWBIE)),
    st.text(IDCHARS, min_size=2, max_size=10).map(lambda s: "U" + s),
)
CHANNELS = st.one_of(
    st.sampled_from(("C0FINANCE1", "C0PARKS", "G0PRIVATE", "D0PAT", "D0SAM")),
    st.builds(
        lambda p, s: p + s, st.sampled_from("CGD"), st.text(IDCHARS, min_size=2, max_size=10)
    ),
)


def new_ts() -> str:
    """A message ts no example used before (a reused one is a redelivery, answered once)."""
    return f"{int(time.time())}.{next(_ids):06d}"


def channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


@st.composite
def message_events(draw) -> dict:
    channel = draw(CHANNELS)
    text = draw(st.sampled_from(core.SIGNALS) | core.CHAT_TEXT)
    kind = draw(st.sampled_from(("message", "message", "app_mention")))
    if kind == "app_mention" and draw(st.booleans()):
        text = f"<@{sr.BOT_USER_ID}> {text}"
    extra: dict[str, Any] = {}
    subtype = draw(
        st.sampled_from(
            (None, None, None, "file_share", "thread_broadcast", "message_changed", "bot_message")
        )
    )
    if subtype:
        extra["subtype"] = subtype
    if draw(st.booleans()):
        extra["thread_ts"] = new_ts()
    if draw(st.integers(0, 9)) == 0:
        extra["bot_id"] = "B0OTHER"
    event = sr.message_event(
        text,
        user=draw(USER_IDS),
        channel=channel,
        ts=new_ts(),
        channel_type=draw(st.sampled_from((channel_type(channel), "channel", "im", "mpim"))),
        **extra,
    )
    if kind == "app_mention":
        event["type"] = "app_mention"
        event.pop("channel_type", None)
    return event


ELEMENTS = (
    "plain_text_input",
    "datepicker",
    "users_select",
    "static_select",
    "multi_static_select",
)
OUR_ELEMENTS = {
    "kind": "static_select",
    "unit": "static_select",
    "roles": "multi_static_select",
    "target_date": "datepicker",
    "due": "datepicker",
    "owner": "users_select",
}


def _element(draw, key: str) -> dict:
    """A view state element for a block, with arbitrary content. One of our fields comes as the
    element our modal has for it (or a text input, as an older modal might have had); Slack sends
    each element's own type, so a person picker never sends a list. Other blocks: any type."""
    if key in OUR_ELEMENTS or key in FIELD_KEYS:
        kind = draw(
            st.sampled_from((OUR_ELEMENTS.get(key, "plain_text_input"), "plain_text_input"))
        )
    else:
        kind = draw(st.sampled_from(ELEMENTS))
    return _of_type(draw, kind)


def _of_type(draw, kind: str) -> dict:
    word = core.TEXT | st.sampled_from(core.KINDS + core.UNITS + core.ROLE_KEYS)
    if kind == "plain_text_input":
        return sr.text_value(draw(st.none() | core.CHAT_TEXT.filter(lambda t: len(t) <= 3000)))
    if kind == "datepicker":
        return sr.date_value(draw(st.none() | core.DATE_TEXT))
    if kind == "users_select":
        return sr.user_value(draw(st.none() | USER_IDS))
    if kind == "static_select":
        return sr.option_value(draw(st.none() | word))
    return sr.options_value(draw(st.lists(word, max_size=4)))


FIELD_KEYS = (
    "kind",
    "unit",
    "title",
    "target_date",
    "owner",
    "q:headcount",
    "q:site",
    "q:product",
    "roles",
    "what",
    "due",
    "note",
    "six_months",
    "twelve_months",
)


FORM_FIELDS = {
    "intake": ("kind", "unit", "title", "target_date", "owner", "q:headcount", "q:site", "roles"),
    "commitment": ("what", "owner", "due"),
    "act": ("due", "note"),
    "cycle": ("six_months", "twelve_months"),
    "reassign": ("owner",),
}
FUTURE = st.dates(dt.date.today() + dt.timedelta(days=1), dt.date(2035, 12, 31))


def _plausible(draw, key: str) -> dict:
    """What a person would put in one of our fields, mostly valid."""
    if key in ("target_date", "due"):
        return sr.date_value(draw(FUTURE.map(dt.date.isoformat) | core.DATE_TEXT))
    if key == "owner":
        return sr.user_value(draw(USER_IDS))
    if key in ("kind", "unit"):
        options = core.KINDS if key == "kind" else core.UNITS
        return sr.option_value(draw(st.sampled_from(options)))
    if key == "roles":
        return sr.options_value(draw(st.lists(st.sampled_from(core.ROLE_KEYS), max_size=4)))
    return sr.text_value(draw(st.sampled_from(core.PHRASES) | core.TEXT.filter(str.strip)))


@st.composite
def view_submissions(draw, response_url: str) -> tuple[dict, list[str]]:
    """A submitted modal of ours (or not), with arbitrary state values and metadata: half the
    time one of our forms filled in as a person would, the other half anything at all."""
    state = draw(core.STATE)
    if draw(st.booleans()):
        callback = draw(st.sampled_from(slack_channel.VIEWS))
        keys = [k for k in FORM_FIELDS[callback] if draw(st.integers(0, 5))]
        values = {key: {"value": _plausible(draw, key)} for key in keys}
        if callback == "act":
            state = {"id": draw(core.ID), "act": draw(st.sampled_from(("counter", "new_date")))}
        elif callback == "cycle":
            state["cycle"] = draw(st.dates(dt.date(2026, 1, 1), dt.date(2028, 12, 1))).isoformat()
            state["unit"] = draw(st.sampled_from(core.UNITS))
        elif callback == "intake":
            state.update(conv=draw(CHANNELS), mid=new_ts())
    else:
        callback = draw(st.sampled_from((*slack_channel.VIEWS, "details", "")) | core.TEXT)
        keys = draw(st.lists(st.sampled_from(FIELD_KEYS) | core.TEXT, max_size=6, unique=True))
        values = {key: {"value": _element(draw, key)} for key in keys}
    if callback == "act" or draw(st.booleans()):
        state["where"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "ch": CHANNELS,
                    "thread": st.just(new_ts()),
                    "ru": st.just(response_url),
                    "home": st.just(1),
                    "private": st.just(1),
                },
            )
        )
    metadata = draw(
        st.one_of(st.just(json.dumps(state)), core.TEXT, st.sampled_from(("", "{}", "[]")))
    )
    if draw(st.integers(0, 3)):  # mostly signed by the bot, so that hostile state reaches the core
        metadata = seal(metadata, callback)
    blocks = [
        {"type": "input", "block_id": key, "label": {"type": "plain_text", "text": key}}
        for key in keys
        if draw(st.booleans())
    ]
    payload = sr.view_submission_payload(
        callback, values, private_metadata=metadata, user_id=draw(USER_IDS), blocks=blocks
    )
    said = [metadata, *keys, json.dumps(values)]
    return payload, said


# --- properties ----------------------------------------------------------------------------------


@FUZZ
@given(event=message_events())
def test_any_message_event_is_answered_clearly_and_chatter_writes_nothing(slack, event):
    engine = slack.app.engine
    before = core.row_counts(engine)
    status, _ = exchange(slack, sr.event_body(event), [event["text"]])
    assert status == 200
    read = readable_text(event["text"])  # what the bot reads: unescaped, as Slack means it
    chatter = not slack.app.liaison.may_answer(read) and core._chatter(read)
    if chatter and event["type"] == "message" and event.get("channel_type") != "im":
        assert core.row_counts(engine) == before, "a channel's everyday chat wrote a row"
        assert slack.calls() == [], "a channel's everyday chat made a Web API call"
    elif chatter and event["type"] == "message":
        assert core.row_counts(engine) == before, "everyday chat in a DM wrote a row"


@FUZZ
@given(text=core.CHAT_TEXT, user=USER_IDS, channel=CHANNELS)
def test_any_slash_command_text_gets_a_clear_private_answer(slack, text, user, channel):
    body = sr.slash_body(
        "/commitments",
        text,
        user_id=user,
        channel_id=channel,
        response_url=slack.fake.response_url(f"r{next(_ids)}"),
    )
    status, answer = exchange(slack, body, [text])
    assert (status, answer) == (200, "")
    answers = [c for c in slack.fake.calls if c.method == "response_url"]
    assert answers, "the person who typed the command got no answer"
    assert all(c.payload.get("response_type") == "ephemeral" for c in answers)


@st.composite
def block_actions(draw, response_url: str) -> tuple[dict, list[str]]:
    """A button pressed in a message, a DM, an ephemeral answer, the App Home or a modal."""
    action_id = draw(core.ACTION_IDS.filter(bool) | st.just("cycle.open"))  # Slack's: 1-255
    if action_id == "cycle.open":
        cycle = {"unit": draw(st.sampled_from(core.UNITS) | core.TEXT), "cycle": draw(st.dates())}
        value = json.dumps(cycle, default=str)
    else:
        value = draw(core.action_value(action_id))
    if draw(st.integers(0, 3)):  # mostly signed by the bot, so that hostile values reach the core
        value = seal(value, action_id)
    if draw(st.booleans()):
        action_id = f"{action_id}#{draw(st.integers(0, 30))}"
    user = draw(USER_IDS)
    where = draw(st.sampled_from(("channel", "thread", "dm", "ephemeral", "home", "modal")))
    block_id = draw(st.sampled_from(("choices", "item-0", "item-3")) | core.TEXT)
    if where in ("home", "modal"):
        view = {"id": f"V{next(_ids):010d}", "type": "home" if where == "home" else "modal"}
        payload = sr.block_action_payload(
            action_id, value, user_id=user, view=view, block_id=block_id
        )
    else:
        channel = f"D{user[1:]}" if where == "dm" else draw(CHANNELS)
        message = {
            "ts": new_ts(),
            # The bot's own earlier message, which a DM's used buttons are replaced under.
            "text": "Earlier: " + draw(core.TEXT),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "An earlier message"}},
                {"type": "actions", "block_id": block_id, "elements": []},
            ],
        }
        if where == "thread":
            message["thread_ts"] = new_ts()
        payload = sr.block_action_payload(
            action_id,
            value,
            user_id=user,
            channel_id=channel,
            message=message,
            block_id=block_id,
            response_url=response_url,
        )
        payload["container"]["is_ephemeral"] = where == "ephemeral"
        if draw(st.booleans()):
            del payload["response_url"]
        return payload, [value, action_id, message["text"]]
    return payload, [value, action_id]


@FUZZ
@given(data=st.data())
def test_any_button_press_with_any_value_is_answered_clearly(slack, data):
    payload, said = data.draw(block_actions(slack.fake.response_url("button")), label="payload")
    status, answer = exchange(slack, sr.interaction_body(payload), said)
    assert (status, answer) == (200, "")


@FUZZ
@given(data=st.data())
def test_any_modal_submission_is_judged_with_clear_sentences(slack, data):
    payload, said = data.draw(view_submissions(slack.fake.response_url("form")), label="payload")
    status, answer = exchange(slack, sr.interaction_body(payload), said)
    ours = payload["view"]["callback_id"] in slack_channel.VIEWS
    assert status == 200 if ours else status in (200, 404), (status, answer)
    if answer and ours:  # response_action: the field errors, or a view in place of the form
        body = json.loads(answer)
        assert body.get("response_action") in ("errors", "update", "clear", "push"), body
        texts = list((body.get("errors") or {}).values())
        texts += view_texts(body.get("view") or {})
        assert [t for t in texts if core.unclear(t, said)] == []


def _answer(draw, block: dict) -> dict:
    """A value for one input of a real modal: mostly what a person would pick or type (its own
    options, a date ahead), sometimes anything its element can hold."""
    element = block.get("element") or {}
    kind = element.get("type")
    options = [o["value"] for o in element.get("options") or []]
    if not draw(st.integers(0, 3)):
        return _of_type(draw, kind)
    if kind == "static_select" and options:
        return sr.option_value(draw(st.sampled_from(options)))
    if kind == "multi_static_select" and options:
        return sr.options_value(draw(st.lists(st.sampled_from(options), unique=True)))
    if kind == "datepicker":
        return sr.date_value(draw(FUTURE).isoformat())
    return _plausible(draw, block["block_id"])


@FUZZ
@given(data=st.data(), signal=st.sampled_from(core.SIGNALS), channel=CHANNELS)
def test_the_real_intake_modal_filled_in_with_anything_is_judged_clearly(
    slack, data, signal, channel
):
    """A signal's offer, its "Plan it with IT" button, then the modal that opened, sent back
    with any values in its own fields."""
    said_in = sr.message_event(
        signal, channel=channel, ts=new_ts(), channel_type=channel_type(channel)
    )
    exchange(slack, sr.event_body(said_in), [signal])
    offers = [c for c in slack.fake.calls if c.method == "chat.postMessage" and c.ok]
    if not offers:
        return  # the same words were offered already in this channel (once per message)
    offer = offers[0]
    button = next(
        e
        for b in offer.payload["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("offer.plan")
    )
    message = {"ts": offer.response["ts"], "text": offer.payload["text"]}
    message["blocks"] = offer.payload["blocks"]
    press = sr.block_action_payload(
        button["action_id"],
        button["value"],
        user_id=data.draw(USER_IDS, label="presser"),
        channel_id=offer.response["channel"],
        message=message,
        block_id="choices",
    )
    exchange(slack, sr.interaction_body(press), [signal])
    [opened] = [c for c in slack.fake.calls if c.method == "views.open"]
    view = opened.payload["view"]
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    values = {b["block_id"]: {"value": _answer(data.draw, b)} for b in inputs}
    submit = sr.view_submission_payload(
        view["callback_id"],
        values,
        private_metadata=view["private_metadata"],
        user_id=press["user"]["id"],
        view_id=opened.response["view"]["id"],
        blocks=view["blocks"],
    )
    said = [signal, json.dumps(values)]
    status, answer = exchange(slack, sr.interaction_body(submit), said)
    assert status == 200
    event("judged: field errors" if answer else "judged: saved")
    if answer:
        body = json.loads(answer)
        assert body["response_action"] == "errors", body
        keys = {b["block_id"] for b in inputs}
        assert set(body["errors"]) <= keys, "an error for a field the modal does not have"
        assert [t for t in body["errors"].values() if core.unclear(t, said)] == []
    else:
        saved = [c for c in slack.fake.calls if c.method == "chat.postMessage"]
        assert saved and saved[0].payload["text"].startswith(("Saved initiative", "This one"))


@st.composite
def shortcuts(draw) -> tuple[dict, list[str]]:
    ours = st.sampled_from(slack_channel.SHORTCUTS)
    callback = draw(st.one_of(ours, ours, ours, st.just("unknown_shortcut"), core.TEXT))
    user = draw(USER_IDS)
    if draw(st.integers(0, 4)) == 0:  # a global shortcut, from the search bar
        return sr.shortcut_payload(callback, user_id=user), [callback]
    text = draw(core.CHAT_TEXT.filter(lambda t: len(t) <= 4000))
    message = {"text": text, "ts": new_ts(), "user": draw(USER_IDS)}
    payload = sr.shortcut_payload(
        callback, message=message, user_id=user, channel_id=draw(CHANNELS)
    )
    return payload, [text, callback]


@FUZZ
@given(shortcut=shortcuts())
def test_any_message_shortcut_opens_a_clear_form(slack, shortcut):
    payload, said = shortcut
    status, answer = exchange(slack, sr.interaction_body(payload), said)
    assert status in (200, 404), (status, answer)
    if payload["callback_id"] in slack_channel.SHORTCUTS:
        assert "views.open" in slack.calls(), "the shortcut opened no form"


# --- any signed body, and bodies that are not signed ---------------------------------------------

SLACK_TYPES = (
    "event_callback",
    "url_verification",
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "block_suggestion",
    "app_rate_limited",
)
# Fields Bolt reads while it builds a request's context; their types are Slack's to get right.
ENVELOPE = frozenset(
    {"type", "user", "user_id", "team", "team_id", "channel", "channel_id", "enterprise"}
    | {"enterprise_id", "event", "authorizations", "view", "message", "item", "actions"}
    | {"previous_message", "assistant_thread", "function_data", "is_ext_shared_channel"}
    | {"command", "callback_id", "payload", "challenge", "thread_ts", "ssl_check"}
)
OBJECT = st.dictionaries(core.TEXT.filter(lambda k: k not in ENVELOPE), core.JSON, max_size=5)


def bolt_reads(body: bytes, content_type: str | None) -> bool:
    """Whether Bolt can turn this body into a request at all (slack_bolt.request.internals.
    parse_body: UTF-8 text; JSON when it says so or starts with "{", and then an object; a
    form's `payload` field, when there is one, a JSON object). The rest has its own test below.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        if content_type == sr.JSON or text.startswith("{"):
            return isinstance(json.loads(text), dict) if text else True
        if "payload" in text:
            payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
            return payload is None or isinstance(json.loads(payload), dict)
    except ValueError:
        return False
    return True


@st.composite
def any_bodies(draw) -> tuple[bytes, str | None]:
    kind = draw(st.sampled_from(("text", "form", "payload", "json")))
    if kind == "text":
        body = draw(core.TEXT | st.sampled_from(("", "ssl_check=1&token=x", "{}")))
    elif kind == "form":
        fields = draw(st.dictionaries(core.TEXT.filter(lambda k: k not in ENVELOPE), core.TEXT))
        body = urlencode(fields)
    else:
        document = draw(OBJECT)
        if draw(st.booleans()):
            document["type"] = draw(st.sampled_from(SLACK_TYPES) | core.TEXT)
        body = json.dumps(document)
        if kind == "payload":
            body = urlencode({"payload": body})
    content_type = draw(
        st.sampled_from((None, sr.JSON, sr.FORM, "text/plain", "application/octet-stream"))
    )
    return body.encode(), content_type


@FUZZ
@given(body=any_bodies())
def test_any_signed_body_is_answered_2xx_or_4xx(slack, body):
    data, content_type = body
    if not bolt_reads(data, content_type):
        return  # pinned by test_a_body_bolt_cannot_read_is_a_4xx_not_a_500
    headers = sr.headers(SECRET, data, content_type=content_type or sr.FORM)
    if content_type is None:
        del headers["Content-Type"]
    slack.reset()
    status, answer = slack.post(data, headers)
    assert 200 <= status < 500, (status, answer[:300])
    assert slack.health() == 200
    assert slack.logs.problems() == []
    assert core.db_problems(slack.app.engine) == []


@st.composite
def legitimate_bodies(draw) -> str:
    """Bodies that would act (a signal, a command, a button, a form) if they were Slack's."""
    user = draw(USER_IDS)
    kind = draw(st.sampled_from(("signal", "dm", "command", "button", "form", "shortcut")))
    if kind in ("signal", "dm"):
        channel = "C0FINANCE1" if kind == "signal" else "D0PAT"
        event = sr.message_event(
            draw(st.sampled_from(core.SIGNALS)),
            user=user,
            channel=channel,
            ts=new_ts(),
            channel_type=channel_type(channel),
        )
        return sr.event_body(event)
    if kind == "command":
        text = draw(st.sampled_from((f"ask <@{SAM}|sam> to send the plan", "mine", "promise 1")))
        return sr.slash_body("/commitments", text, user_id=user)
    if kind == "button":
        value = json.dumps({"kind": "office_move", "unit": "finance", "mid": new_ts()})
        payload = sr.block_action_payload("offer.plan#0", value, user_id=user)
    elif kind == "form":
        values = {"what": {"value": sr.text_value("Send the floor plan")}}
        payload = sr.view_submission_payload("commitment", values, user_id=user)
    else:
        message = {"text": core.SIGNALS[0], "ts": new_ts()}
        payload = sr.shortcut_payload("plan_with_it", message=message, user_id=user)
    return sr.interaction_body(payload)


@FUZZ
@given(
    body=legitimate_bodies(),
    forged=st.one_of(
        st.tuples(st.just("secret"), core.TEXT.filter(lambda s: s != SECRET)),
        st.tuples(st.just("late"), st.integers(302, 10**8)),
        st.tuples(st.just("early"), st.integers(302, 10**8)),
        st.tuples(st.just("unsigned"), st.none()),
        st.tuples(
            st.just("signature"), st.text(st.characters(min_codepoint=32, max_codepoint=126))
        ),
    ),
)
def test_a_forged_or_stale_request_never_reaches_the_core(slack, body, forged):
    how, detail = forged
    now = int(time.time())
    if how == "secret":
        headers = signed(body, secret=detail)
    elif how in ("late", "early"):
        headers = signed(body, timestamp=now - detail if how == "late" else now + detail)
    elif how == "unsigned":
        headers = {"Content-Type": signed(body)["Content-Type"]}
    else:
        headers = {**signed(body), "X-Slack-Signature": f"v0={detail}"}
    before = core.row_counts(slack.app.engine)
    slack.reset()
    status, _ = slack.post(body, headers)
    assert status == 401
    assert slack.calls() == [], "a forged request reached Slack's Web API"
    assert core.row_counts(slack.app.engine) == before, "a forged request wrote to the database"
    assert slack.logs.problems() == []


# --- known bugs ----------------------------------------------------------------------------------

ROUTE = "bot/channels/slack/transport.py slack_route"


def outcome(slack: Harness, body: bytes | str, headers: dict[str, str]) -> list[str]:
    """What went wrong with one request: a 5xx, a failed health check, logged errors."""
    slack.reset()
    status, answer = slack.post(body, headers)
    problems = [] if status < 500 else [f"HTTP {status} {answer[:100]!r}"]
    problems += [] if slack.health() == 200 else ["/healthz stopped answering"]
    return problems + slack.logs.problems()


@pytest.mark.parametrize("sign", [True, False], ids=["signed", "unsigned"])
def test_a_body_that_is_not_utf8_is_a_4xx_not_a_500(slack, sign):
    body = b"payload=\xff\xfe{}"
    now = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{now}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": sr.FORM}
    if sign:
        headers |= {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": f"v0={digest}"}
    assert outcome(slack, body, headers) == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{oops", "text/plain"),
        ("hello", sr.JSON),
        ("[1, 2]", sr.JSON),
        ("12", sr.JSON),
        ("payload=%7B", sr.FORM),
        ("payload=%5B%5D", sr.FORM),
        ('{"type": "event_callback", "event": {"type": "message", "user": 5}}', sr.JSON),
    ],
    ids=[
        "brace",
        "json-not-json",
        "json-array",
        "json-number",
        "payload-not-json",
        "payload-array",
        "user-a-number",
    ],
)
def test_a_body_bolt_cannot_read_is_a_4xx_not_a_500(slack, body, content_type):
    assert outcome(slack, body, {"Content-Type": content_type}) == []


@pytest.mark.parametrize("timestamp", ["abc", "1e3", ""])
def test_a_timestamp_that_is_not_a_number_is_a_401_not_a_500(slack, timestamp):
    body = sr.event_body(sr.message_event("hello"))
    headers = {**signed(body), "X-Slack-Request-Timestamp": timestamp}
    assert outcome(slack, body, headers) == []


def test_a_signature_that_is_not_ascii_is_a_401_not_a_500(slack):
    body = sr.event_body(sr.message_event("hello"))
    headers = {**signed(body), "X-Slack-Signature": "v0=\u00e9"}
    assert outcome(slack, body, headers) == []


def test_a_cycle_button_with_an_unreadable_date_gets_a_sentence(slack):
    payload = sr.block_action_payload(
        "cycle.open#0",
        '{"unit": "finance", "cycle": "soon"}',
        user_id=PAT,
        channel_id="D0PAT",
        response_url=slack.fake.response_url("cycle"),
    )
    body = sr.interaction_body(payload)
    assert outcome(slack, body, signed(body)) == []
    assert slack.calls(), "the person who pressed the button was told nothing"
