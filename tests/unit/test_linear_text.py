"""Hostile text costs its sender, not everyone else: every function that reads chat text runs in
linear time on 100,000 characters of every pathological shape.

The bound is measured against a plain `str.lower()` of the same text in the same process, so it
holds on a slow or busy machine: a linear pass is a few hundred to a few thousand times slower
than `lower()`, a quadratic one on this much text some hundred thousand times.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable

import pytest
from botbuilder.schema import Activity, ChannelAccount

from bot.channels.slack.text import readable_text
from bot.channels.teams.activities import message_payload_text, strip_bot_mention
from bot.observability import redact
from handlers import commands
from handlers.dates import DateParseError, parse_due
from handlers.messages import clean_text
from handlers.promises import find_promise
from handlers.signals import detect

LENGTH = 100_000
TIMES_LOWER = 20_000  # a linear pass stays far below; n² on 100k characters is far above
TODAY = dt.date(2026, 11, 23)

SHAPES = {
    "unclosed Teams mentions": "<at>",
    "Teams mention attributes never closed": "<at ",
    "unclosed Slack mentions with labels": "<@U1|",
    "unclosed Slack links": "<http://a|",
    "nested markup": "*_~`>",
    "HTML tags": "<p><b>",
    "entities": "&amp;",
    "a repeated cue": "we're buying ",
    "address-like": "a@b.",
    "date-like": "1/2/",
    "one long word": "a",
    "at signs": "@ ",
    "emoji codes": ":x:",
    "open brackets": "(([",
}


def _teams_message(text: str) -> object:
    """What the Teams adapter reads from a message that mentions the bot."""
    bot = ChannelAccount(id="28:bot", name="IT Liaison")
    return strip_bot_mention(Activity(type="message", text=text, recipient=bot))


def _teams_message_action(text: str) -> object:
    """What the Teams adapter reads from the HTML of a message a message action was used on."""
    return message_payload_text({"body": {"contentType": "html", "content": text}})


def _quietly(read: Callable[[str], object], *expected: type[Exception]) -> Callable[[str], None]:
    def run(text: str) -> None:
        with contextlib.suppress(*expected):
            read(text)

    return run


TEXT_FUNCTIONS: dict[str, Callable[[str], object]] = {
    "clean_text": clean_text,
    "find_mentions": commands.find_mentions,
    "strip_mentions": commands.strip_mentions,
    "replace_mentions": lambda text: commands.replace_mentions(text, lambda m: "@x"),
    "parse_commitments_command": _quietly(
        commands.parse_commitments_command, commands.CommandError
    ),
    "detect": detect,
    "find_promise": lambda text: find_promise(text, TODAY),
    "parse_due": _quietly(lambda text: parse_due(text, TODAY), DateParseError),
    "redact": redact,
    "slack readable_text": readable_text,
    "teams strip_bot_mention": _teams_message,
    "teams message_payload_text": _teams_message_action,
}


def _seconds(run: Callable[[], object], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("name", sorted(TEXT_FUNCTIONS))
def test_every_text_function_is_linear_on_hostile_text(name: str, shape: str) -> None:
    unit = SHAPES[shape]
    text = (unit * (LENGTH // len(unit) + 1))[:LENGTH]
    reference = _seconds(text.lower, repeat=20)
    TEXT_FUNCTIONS[name]("a first call loads what it needs (the signal model, its word list)")
    spent = _seconds(lambda: TEXT_FUNCTIONS[name](text))
    assert spent < TIMES_LOWER * reference, (
        f"{name} took {spent:.3f} s on 100k characters of {shape!r}, "
        f"{spent / reference:,.0f} times a str.lower() of it"
    )
