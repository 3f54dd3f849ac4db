"""One corpus of replies and forms through the three renderers: Block Kit, Adaptive Card and
terminal text. Each draws them its own way; all of them must say the same things.

- every choice reaches the output with its action and its value;
- headings, lines no longer current and warnings are marked on every channel (the new fields,
  and the core's older `*heading*` / `~dropped~` markup while it still emits it);
- the list limit and its "…and N more." agree;
- every form field reaches the form, and the form submits as the same core action.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.channels.interactions import MAX_ITEMS, act_form, read_json, submission, unseal
from bot.channels.shell import render_text
from bot.channels.slack import render_blocks, render_modal
from bot.channels.teams import render_card, render_form_card
from handlers.messages import Choice, Form, FormField, Item, Reply
from tests.fakes.teams_connector import card_actions, card_inputs

PLAN = Choice.of("Plan it with IT", "offer.plan", "primary", kind="office_move", unit="finance")
LATER = Choice.of("Not now", "offer.later")
DONE = Choice.of("Done", "commitment.report_done", id=4)
NEW_DATE = Choice.of("New date", "commitment.new_date", id=4)
DROP = Choice.of("Cancel", "commitment.cancel", "danger", id=5)


CORPUS: dict[str, Reply] = {
    "plain": Reply("Got it, I'll leave this one alone.", private=True),
    "offer": Reply(
        "Sounds like an office move. Want to plan it together?",
        choices=(PLAN, LATER, Choice("IT isn't needed", "offer.dismiss")),
        facts=(("Roles IT often plays", "Network, Phones"),),
        kind="offer",
    ),
    "listing": Reply(
        "Your open commitments:",
        items=(
            Item("You owe (2)", heading=True),
            Item("#4 Phones for the move — @sam for @pat", (DONE, NEW_DATE)),
            Item("#5 Badge access — @sam", (DROP,)),
            Item("#3 Old laptop swap", struck=True),
        ),
        warnings=("One of them is overdue.",),
        kind="list",
    ),
    "older markup": Reply(
        "Your open commitments:",
        items=(Item("*You owe* (1)"), Item("#4 Phones", (DONE,)), Item("~#3 Old laptop swap~")),
    ),
    "long list": Reply(
        "Everything stuck in Finance:",
        items=tuple(
            Item(f"#{n} Task {n}", (Choice.of("Done", DONE.action, id=n),)) for n in range(25)
        ),
    ),
}
HEADINGS = {"listing": ["You owe (2)"], "older markup": ["You owe"]}
STRUCK = {"listing": ["#3 Old laptop swap"], "older markup": ["#3 Old laptop swap"]}
WARNINGS = {"listing": ["One of them is overdue."]}


@dataclass
class Drawn:
    """What one renderer drew, read back the way a person (or the platform) would see it."""

    choices: list[tuple[str, dict]]  # (action, value), in order
    lines: list[str]  # every line of text, in order
    is_heading: Callable[[str], bool]
    is_struck: Callable[[str], bool]
    is_warning: Callable[[str], bool]


def _line(lines: list[str], text: str) -> str:
    (found,) = [line for line in lines if text in line]
    return found


def draw_block_kit(reply: Reply) -> Drawn:
    blocks = render_blocks(reply)
    texts: list[str] = []
    choices: list[tuple[str, dict]] = []
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            texts.append(block["text"]["text"])
        if block["type"] == "section" and "fields" in block:
            texts += [f["text"] for f in block["fields"]]
        if block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
        if block["type"] == "actions":
            for button in block["elements"]:
                action = button["action_id"].split("#", 1)[0]
                choices.append((action, read_json(unseal(button["value"], action))))

    def heading(text: str) -> bool:
        line = _line(texts, text)
        return line.startswith("*") and f"*{text}" in line

    def struck(text: str) -> bool:
        return f"~{text}~" in _line(texts, text)

    def warning(text: str) -> bool:
        return _line(texts, text).startswith("⚠")

    return Drawn(choices, texts, heading, struck, warning)


def draw_adaptive_card(reply: Reply) -> Drawn:
    card = json.loads(json.dumps(render_card(reply)))  # what goes over the wire
    blocks: list[dict] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("TextBlock", "RichTextBlock", "FactSet"):
                blocks.append(node)
            for key in ("body", "items", "columns"):
                walk(node.get(key))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)

    def text_of(block: dict) -> str:
        if block["type"] == "FactSet":
            return "\n".join(f"{f['title']}: {f['value']}" for f in block["facts"])
        if block["type"] == "RichTextBlock":
            return "".join(run["text"] for run in block["inlines"])
        return block["text"]

    def block_of(text: str) -> dict:
        (found,) = [b for b in blocks if text in text_of(b)]
        return found

    def heading(text: str) -> bool:
        block = block_of(text)
        runs = block.get("inlines") or [block]
        return all(r.get("weight") == "Bolder" for r in runs) or f"**{text}**" in text_of(block)

    def struck(text: str) -> bool:
        block = block_of(text)
        runs = block.get("inlines") or []
        return any(r.get("strikethrough") for r in runs) or f"({text})" in text_of(block)

    def warning(text: str) -> bool:
        return block_of(text).get("color") == "Attention"

    choices = [
        (a["verb"], read_json(unseal(a["data"].get("value"), a["verb"])))
        for a in card_actions(card)
    ]  # fmt: skip
    return Drawn(choices, [text_of(b) for b in blocks], heading, struck, warning)


def draw_text(reply: Reply) -> Drawn:
    lines, picked = render_text(reply)
    numbered = [(c.action, read_json(c.value)) for c in picked]
    for number, choice in enumerate(picked, start=1):  # a number shows each pick's label
        assert f"[{number}] {choice.label}" in "\n".join(lines)

    def heading(text: str) -> bool:
        line = _line(lines, text).strip()
        return line.startswith("== ") and line.endswith(" ==")

    def struck(text: str) -> bool:
        return "~~" in _line(lines, text)

    def warning(text: str) -> bool:
        return _line(lines, text).strip().startswith("⚠")

    return Drawn(numbered, lines, heading, struck, warning)


RENDERERS = {"block kit": draw_block_kit, "adaptive card": draw_adaptive_card, "text": draw_text}


def shown_choices(reply: Reply) -> list[tuple[str, dict]]:
    """The choices a person can press: those of the items within the limit, then the reply's."""
    pressable = [c for item in reply.items[:MAX_ITEMS] for c in item.choices] + list(reply.choices)
    return [(c.action, read_json(c.value)) for c in pressable]


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("name", CORPUS)
def test_every_choice_reaches_the_output_with_its_action_and_value(renderer, name) -> None:
    reply = CORPUS[name]
    drawn = RENDERERS[renderer](reply)
    assert sorted(map(repr, drawn.choices)) == sorted(map(repr, shown_choices(reply)))
    assert drawn.lines and reply.text.split("\n")[0] in drawn.lines[0]


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("name", ["listing", "older markup"])
def test_headings_struck_lines_and_warnings_are_marked_on_every_channel(renderer, name) -> None:
    reply = CORPUS[name]
    drawn = RENDERERS[renderer](reply)
    for text in HEADINGS[name]:
        assert drawn.is_heading(text), text
    for text in STRUCK[name]:
        assert drawn.is_struck(text) and not drawn.is_heading(text), text
    for text in WARNINGS.get(name, []):
        assert drawn.is_warning(text), text
    plain = "#4 Phones"
    assert not (drawn.is_heading(plain) or drawn.is_struck(plain) or drawn.is_warning(plain))


@pytest.mark.parametrize("renderer", RENDERERS)
def test_the_list_limit_and_its_remainder_agree(renderer) -> None:
    reply = CORPUS["long list"]
    drawn = RENDERERS[renderer](reply)
    shown = [n for n in range(len(reply.items)) if any(f"#{n} Task" in x for x in drawn.lines)]
    assert shown == list(range(MAX_ITEMS))
    assert sum("…and 5 more." in line for line in drawn.lines) == 1


FORMS = [
    Form(
        "intake",
        "Plan it with IT",
        (
            FormField("title", "What is it?", initial="Office move"),
            FormField("details", "Anything else?", "long_text", optional=True),
            FormField("due", "By when?", "date", initial="2027-03-01"),
            FormField("owner", "Who leads it?", "person"),
            FormField("unit", "Which unit?", "choice", options=(("finance", "Finance"),)),
            FormField("roles", "What should IT do?", "roles", options=(("net", "Network"),)),
        ),
        submit_label="Save",
        state=json.dumps({"conv": "C1", "mid": "1.2"}),
    ),
    act_form("counter", 4, {"ch": "C1"}),
    act_form("blocked", 4),
]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.title)
def test_every_form_field_reaches_the_form_and_submits_as_one_action(form: Form) -> None:
    keys = [f.key for f in form.fields]
    action = submission(form.id, read_json(form.state), {})

    modal = render_modal(form)
    assert modal["title"]["text"] == form.title[:24] and modal["callback_id"] == form.id
    assert [b["block_id"] for b in modal["blocks"]] == keys
    assert unseal(modal["private_metadata"], form.id) == form.state

    card = render_form_card(form)
    assert card["body"][0]["text"] == form.title
    assert list(card_inputs(card)) == [f"f:{k}" for k in keys]
    submit = card_actions(card)[0]
    assert submit["verb"] == action.id and unseal(submit["data"]["state"], form.id) == form.state
