"""The optional second opinion: the official openai client against a fake OpenAI-compatible
server on 127.0.0.1.

It is asked only about messages in the uncertain band, and only when configured; its
readable answer given in time replaces the local verdict, and anything else (a timeout, a
429 or 500, an answer that cannot be read) leaves the local model's verdict in place,
within the time budget and without blocking the event loop. Only the excerpt is sent.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.config import load_settings
from handlers import signals
from handlers.playbooks import load_catalogue
from handlers.signals import EXCERPT_CHARS, Speaker, detect, detect_async, probabilities
from handlers.signals.second_opinion import (
    SecondOpinionSettings,
    UnreadableAnswer,
    read_answer,
)
from tests.fakes.openai_api import FakeOpenAI

SUMMARIES = {kind: pb.summary for kind, pb in load_catalogue().items()}
KINDS = tuple(SUMMARIES)
# The local model fires on this one (software_purchase) ...
FIRES = "Finance is switching to NetSuite in March, we signed the contract last week"
# ... and not on this one.
QUIET = "the coffee machine on the second floor is broken again"


@pytest.fixture(autouse=True)
def _no_second_opinion():
    """Every test starts and ends with the shipped model and no second opinion."""
    signals.configure(None)
    signals.configure_second_opinion(None)
    yield
    signals.configure_second_opinion(None)


def top(text: str) -> tuple[str, float]:
    return max(probabilities(text).items(), key=lambda item: item[1])


def around(text: str) -> tuple[float, float]:
    """An uncertain band that holds this message's best score (and little else)."""
    score = top(text)[1]
    return (max(0.0, score - 0.01), min(1.0, score + 0.01))


def ask(fake: FakeOpenAI, band: tuple[float, float], timeout: float = 2.0) -> None:
    settings = SecondOpinionSettings(
        base_url=fake.base_url, model="tiny", api_key="sk-test-fake", timeout=timeout, band=band
    )
    assert settings.enabled
    signals.configure_second_opinion(settings, SUMMARIES)


def test_the_messages_used_here_are_what_they_claim() -> None:
    assert detect(FIRES) is not None and detect(FIRES).kind == "software_purchase"
    assert detect(QUIET) is None


async def test_agreement_keeps_the_kind_and_adds_a_title_and_date() -> None:
    answer = {
        "signal": True,
        "kinds": ["software_purchase"],
        "title": "Finance moves to NetSuite",
        "date": "2027-03-01",
    }
    async with FakeOpenAI(answer=answer) as fake:
        ask(fake, around(FIRES))
        signal = await detect_async(FIRES)
    assert signal is not None
    assert signal.kind == "software_purchase" and signal.kinds == ("software_purchase",)
    assert signal.title == "Finance moves to NetSuite" and signal.date == "2027-03-01"
    assert signal.score == detect(FIRES).score  # the calibrated score stays the model's
    assert len(fake.requests) == 1
    sent = fake.requests[0]
    assert sent.body["model"] == "tiny"
    assert sent.headers["authorization"] == "Bearer sk-test-fake"
    assert sent.said_by("user") == FIRES  # the excerpt, and nothing else from the chat
    assert all(kind in sent.said_by("system") for kind in KINDS)


async def test_in_the_band_a_no_removes_the_signal_and_a_yes_adds_one() -> None:
    async with FakeOpenAI(answer={"signal": False, "kinds": []}) as fake:
        ask(fake, around(FIRES))
        assert await detect_async(FIRES) is None
    yes = {"signal": True, "kinds": ["office_move", "nonsense"], "title": "x" * 300, "date": "soon"}
    async with FakeOpenAI(answer=yes) as fake:
        ask(fake, around(QUIET))
        signal = await detect_async(QUIET)
    assert signal is not None and signal.kinds == ("office_move",)  # unknown kinds dropped
    assert len(signal.title) == 80 and signal.date is None  # a date must be YYYY-MM-DD
    assert signal.excerpt == QUIET


async def test_outside_the_band_the_local_model_decides_and_nothing_is_sent() -> None:
    low, high = around(FIRES)
    async with FakeOpenAI(answer={"signal": False, "kinds": []}) as fake:
        ask(fake, (high + 0.001, 1.0))  # the model is surer than the band: a signal
        assert (await detect_async(FIRES)) == detect(FIRES)
        ask(fake, (0.0, max(0.0, low - 0.001)))  # ... and the band lies below its score
        assert (await detect_async(FIRES)) == detect(FIRES)
        ask(fake, (top(QUIET)[1] + 0.01, 1.0))  # chatter scores below the band
        assert await detect_async(QUIET) is None
    assert fake.requests == []


async def test_a_slow_server_falls_back_within_the_budget_without_blocking_the_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    answer = {"signal": False, "kinds": []}
    async with FakeOpenAI(answer=answer, delay=3.0) as fake:
        ask(fake, around(FIRES), timeout=0.3)
        running = asyncio.create_task(ticker())
        start = time.perf_counter()
        signal = await detect_async(FIRES)
        elapsed = time.perf_counter() - start
        running.cancel()
    assert signal == detect(FIRES)  # the local verdict, not the (late) "no"
    assert 0.25 <= elapsed < 1.0
    # Other work went on while the call waited: a call that held the loop would have let the
    # ticker run not even once before it returned (a busy machine slows the ticks, so few).
    assert ticks >= 2
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [429, 500, 401])
async def test_an_error_status_falls_back_after_one_attempt(status: int) -> None:
    async with FakeOpenAI(answer={"signal": False, "kinds": []}, fail_with=status) as fake:
        ask(fake, around(FIRES))
        start = time.perf_counter()
        signal = await detect_async(FIRES)
        assert time.perf_counter() - start < 1.0  # no retry after Retry-After: 20
    assert signal == detect(FIRES)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        "Sure! This looks like a software purchase.",
        "",
        {"signal": "yes", "kinds": ["software_purchase"]},
        {"signal": True, "kinds": ["grant_application"]},
        {"signal": True, "kinds": "software_purchase"},
        ["software_purchase"],
    ],
)
async def test_an_unreadable_answer_falls_back(answer: object) -> None:
    async with FakeOpenAI(answer=answer) as fake:
        ask(fake, around(QUIET))
        assert await detect_async(QUIET) is None  # the local "no" stands
        ask(fake, around(FIRES))
        assert (await detect_async(FIRES)) == detect(FIRES)  # ... and so does its "yes"
    assert len(fake.requests) == 2


async def test_a_server_that_is_not_there_falls_back() -> None:
    async with FakeOpenAI() as fake:
        url = fake.base_url
    settings = SecondOpinionSettings(base_url=url, model="tiny", band=around(FIRES))
    signals.configure_second_opinion(settings, SUMMARIES)
    assert (await detect_async(FIRES)) == detect(FIRES)


async def test_nothing_is_sent_when_it_is_off() -> None:
    async with FakeOpenAI(answer={"signal": False, "kinds": []}) as fake:
        band = around(FIRES)
        signals.configure_second_opinion(None)
        assert (await detect_async(FIRES)) == detect(FIRES)
        # a URL without a model is not enough to turn it on
        signals.configure_second_opinion(SecondOpinionSettings(base_url=fake.base_url, band=band))
        assert (await detect_async(FIRES)) == detect(FIRES)
        assert await detect_async(QUIET) is None
    assert fake.requests == []


async def test_external_users_and_it_announcements_are_never_sent() -> None:
    text = "we're replacing the core switches on Saturday, expect a short outage"
    async with FakeOpenAI(answer={"signal": True, "kinds": ["hardware_purchase"]}) as fake:
        ask(fake, (0.0, 1.0))  # every score is "uncertain"
        assert await detect_async(FIRES, speaker=Speaker(external=True)) is None
        assert await detect_async(text, speaker=Speaker(is_it=True)) is None
        assert await detect_async("   ") is None
    assert fake.requests == []


async def test_a_long_message_is_sent_as_its_excerpt_only() -> None:
    secret = "the rest of this message stays in the building"
    text = FIRES + ". " + "More detail follows. " * 20 + secret
    async with FakeOpenAI(answer={"signal": True, "kinds": ["software_purchase"]}) as fake:
        ask(fake, (0.0, 1.0))
        await detect_async(text)
    sent = fake.requests[0].said_by("user")
    assert len(sent) <= EXCERPT_CHARS and sent.startswith(FIRES) and secret not in sent


def test_answers_are_read_strictly() -> None:
    assert read_answer('```json\n{"signal": false}\n```', KINDS).kinds == ()
    answer = '{"signal": true, "kinds": ["data_project"], "date": "2027-01-31"}'
    opinion = read_answer(answer, KINDS)
    assert opinion.kinds == ("data_project",) and opinion.date == "2027-01-31"
    for bad in (None, "null", "{}", '{"signal": true, "kinds": []}'):
        with pytest.raises(UnreadableAnswer):
            read_answer(bad, KINDS)


def test_settings_come_from_the_environment_and_are_off_by_default() -> None:
    assert not load_settings({}, dotenv_path=None).second_opinion.enabled
    settings = load_settings(
        {
            "LIAISON_LLM_BASE_URL": "http://127.0.0.1:11434/v1",
            "LIAISON_LLM_MODEL": "llama3.2",
            "LIAISON_LLM_API_KEY": "sk-test-fake",
            "LIAISON_LLM_TIMEOUT": "1.5",
        },
        dotenv_path=None,
    )
    opinion = settings.second_opinion
    assert opinion.enabled and opinion.model == "llama3.2" and opinion.timeout == 1.5
    assert "sk-test-fake" in settings.secrets()  # never logged


async def test_the_bot_asks_the_endpoint_its_settings_name(tmp_path) -> None:
    from bot.bootstrap import bootstrap
    from bot.config import Settings
    from tests.conftest import EXAMPLE_CONFIG

    answer = {"signal": True, "kinds": ["office_move"], "title": "Move", "date": None}
    async with FakeOpenAI(answer=answer) as fake:
        opinion = SecondOpinionSettings(base_url=fake.base_url, model="tiny", band=around(QUIET))
        app = bootstrap(
            Settings(
                database_url=f"sqlite:///{tmp_path / 'liaison.db'}",
                config_path=str(EXAMPLE_CONFIG),
                second_opinion=opinion,
            )
        )
        try:
            signal = await detect_async(QUIET)
        finally:
            app.engine.dispose()
    assert signal is not None and signal.kind == "office_move"
    assert len(fake.requests) == 1
    assert "office_move" in fake.requests[0].said_by("system")  # the playbooks' summaries
