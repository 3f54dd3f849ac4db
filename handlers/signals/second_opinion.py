"""An optional second opinion on borderline messages from a language model.

Off by default. An organisation that runs an OpenAI-compatible endpoint (Azure OpenAI, a
local Ollama or vLLM) may let the bot ask it about the messages the local model is least
sure of: those whose best calibrated score falls in the uncertain band (``BAND``). Every
other message is decided by the local model alone, and so is a borderline one whenever the
endpoint is slow, refuses, fails or answers something that cannot be read: the second
opinion can only ever replace the local verdict by a readable answer given in time.

What is sent is the message's 280-character excerpt (the same one the bot may keep) and the
kinds' one-line summaries from the playbooks; never the speaker, the channel or anything
else. The answer gives the kinds, a short title and a date when the message names one,
which the bot carries on the signal (``Signal.title``, ``Signal.date``).

The call is asynchronous (``openai.AsyncOpenAI``) and bounded by ``timeout`` seconds in
all, so it never blocks the event loop and never holds a turn past its budget. The
``openai`` package is an optional extra (``pip install 'it-liaison-bot[llm]'``), imported
only when a second opinion is configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from handlers.signals.rules import Signal, _excerpt

log = logging.getLogger("liaison.signals.second_opinion")

# Scores (calibrated) for which the local model is unsure enough to ask: below the band it
# is sure there is no signal, above it sure there is one.
BAND = (0.2, 0.8)
DEFAULT_TIMEOUT = 3.0  # seconds for the whole call, well inside Slack's and Teams' budgets
TITLE_CHARS = 80
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

INSTRUCTIONS = """\
You help an IT department notice, in its organisation's chat, messages announcing an \
initiative in which IT will have a hidden part. The kinds of initiative are:
{kinds}
Read the chat message given by the user. It is a signal only if the writer's own \
organisation plans or is doing the thing now or in the future; it is not a signal if it \
is cancelled, hypothetical, already finished, news about another organisation or a \
client, IT announcing its own work, or the words are used in an everyday sense.
Answer with one JSON object and nothing else:
{{"signal": true or false, "kinds": [the kinds from the list above, most likely first], \
"title": "a short title of the initiative, at most 8 words", \
"date": "YYYY-MM-DD if the message names a date for it, else null"}}"""


@dataclass(frozen=True)
class SecondOpinionSettings:
    """Where to ask, and how long to wait. Enabled only with both a URL and a model."""

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None  # local servers (Ollama, vLLM) accept any
    timeout: float = DEFAULT_TIMEOUT
    band: tuple[float, float] = BAND

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


@dataclass(frozen=True)
class Opinion:
    """What the language model said: no kinds means "not a signal"."""

    kinds: tuple[str, ...]
    title: str = ""
    date: str | None = None


class Advisor(Protocol):
    """Something that gives a second opinion on an excerpt (the OpenAI client, or a fake)."""

    async def ask(self, excerpt: str) -> Opinion: ...


class UnreadableAnswer(ValueError):
    """The endpoint answered, but not with the JSON object asked for."""


def read_answer(content: str | None, kinds: Sequence[str]) -> Opinion:
    """The opinion in a chat completion's text, or ``UnreadableAnswer``.

    Kinds outside ``kinds`` are dropped; an answer that says "signal" but names no known
    kind, or whose fields have the wrong types, cannot be read.
    """
    if not content:
        raise UnreadableAnswer("empty answer")
    text = content.strip()
    if text.startswith("```"):  # some models fence their JSON despite being asked not to
        text = text.strip("`").removeprefix("json").strip()
    try:
        found = json.loads(text)
    except ValueError as exc:
        raise UnreadableAnswer(f"not JSON ({exc})") from None
    if not isinstance(found, dict) or not isinstance(found.get("signal"), bool):
        raise UnreadableAnswer('no boolean "signal"')
    if not found["signal"]:
        return Opinion(())
    named = found.get("kinds")
    if not isinstance(named, list) or not all(isinstance(kind, str) for kind in named):
        raise UnreadableAnswer('"kinds" is not a list of strings')
    known = tuple(dict.fromkeys(kind for kind in named if kind in kinds))
    if not known:
        raise UnreadableAnswer("a signal of no known kind")
    title = found.get("title")
    date = found.get("date")
    return Opinion(
        known,
        title.strip()[:TITLE_CHARS] if isinstance(title, str) else "",
        date if isinstance(date, str) and _DATE.match(date) else None,
    )


@dataclass
class OpenAIAdvisor:
    """Asks an OpenAI-compatible chat completions endpoint through the official client."""

    settings: SecondOpinionSettings
    summaries: Mapping[str, str]  # kind -> the playbook's one-line summary
    _clients: dict[int, Any] = field(default_factory=dict, repr=False)

    def _client(self) -> Any:
        """One client per event loop (its connection pool belongs to the loop)."""
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            import openai  # the optional extra: only needed once a second opinion is on

            self._clients.clear()
            client = openai.AsyncOpenAI(
                base_url=self.settings.base_url,
                api_key=self.settings.api_key or "none",  # never the process's OPENAI_API_KEY
                timeout=self.settings.timeout,
                max_retries=0,  # a retry would not fit the budget: the local model decides
            )
            self._clients[loop] = client
        return client

    def instructions(self) -> str:
        lines = "\n".join(f"- {kind}: {summary}" for kind, summary in self.summaries.items())
        return INSTRUCTIONS.format(kinds=lines)

    async def ask(self, excerpt: str) -> Opinion:
        completion = await self._client().chat.completions.create(
            model=self.settings.model,
            messages=[
                {"role": "system", "content": self.instructions()},
                {"role": "user", "content": excerpt},
            ],
            temperature=0,
            max_tokens=120,
            response_format={"type": "json_object"},
        )
        choices = getattr(completion, "choices", None) or []
        if not choices:
            raise UnreadableAnswer("no choices")
        return read_answer(choices[0].message.content, tuple(self.summaries))


@dataclass
class SecondOpinion:
    """The configured second opinion (or none): who to ask, and when."""

    settings: SecondOpinionSettings = field(default_factory=SecondOpinionSettings)
    advisor: Advisor | None = None

    def wants(self, top_score: float) -> bool:
        low, high = self.settings.band
        return self.advisor is not None and low <= top_score < high

    async def reconsider(
        self, text: str, local: Signal | None, scores: Mapping[str, float]
    ) -> Signal | None:
        """The verdict on a borderline message: the advisor's when it answers in time with
        something readable, else the local model's (``local``)."""
        if self.advisor is None:
            return local
        excerpt = _excerpt(text)
        try:
            async with asyncio.timeout(self.settings.timeout):
                opinion = await self.advisor.ask(excerpt)
        except Exception as exc:  # an optional service that fails never fails detection
            log.warning(
                "second opinion unavailable, the local model decides",
                extra={"error": type(exc).__name__},
            )
            return local
        if not opinion.kinds:
            return None
        kind = opinion.kinds[0]
        score = round(min(max(scores.get(kind, 0.0), 0.0), 0.99), 2)
        if local is not None and local.kind == kind:
            return replace(local, kinds=opinion.kinds, title=opinion.title, date=opinion.date)
        return Signal(
            kind,
            local.cues if local is not None else (),
            score,
            excerpt,
            kinds=opinion.kinds,
            score=score,
            title=opinion.title,
            date=opinion.date,
        )


def build(settings: SecondOpinionSettings, summaries: Mapping[str, str]) -> SecondOpinion:
    """A second opinion from settings: none when disabled, or when the ``openai`` extra is
    not installed (said once in the log, not at every message)."""
    if not settings.enabled:
        return SecondOpinion(settings)
    try:
        import openai  # noqa: F401
    except ImportError:
        log.warning(
            "LIAISON_LLM_BASE_URL is set but the openai package is not installed "
            "(pip install 'it-liaison-bot[llm]'); detection uses the local model alone"
        )
        return SecondOpinion(settings)
    return SecondOpinion(settings, OpenAIAdvisor(settings, dict(summaries)))
