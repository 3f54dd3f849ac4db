"""Pure rendering: a Reply or a Form as an Adaptive Card (or a dialog's task module).

No I/O and no state, like bot/channels/slack/blockkit.py (the contract test in tests/contract
compares the renderers). Button values and form state go out sealed (bot.channels.sealing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from bot.channels.interactions import (
    MAX_ITEMS,
    clip,
    read_json,
    seal,
)
from handlers.messages import (
    Choice,
    Form,
    FormField,
    Item,
    Reply,
)

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


CARD_VERSION = "1.5"


MAX_FACTS = 12


MAX_CARD_ACTIONS = 6


MAX_TEXT = 4000


WORKING = "Working on it… I'll post the result here in a moment."


# Teams refuses a message over about 28 KB of JSON (HTTP 413). A card may take 26 KB of it,
# leaving room for the activity around it (conversation, sender, ids, summary).
CARD_BUDGET = 26 * 1024


FALLBACK_TEXT = 400  # characters of plain text a client that cannot draw the card shows instead


def invoke_body(card: dict) -> dict:
    return {"statusCode": 200, "type": CARD_TYPE, "value": card}


def is_plain(reply: Reply) -> bool:
    return (
        not (reply.choices or reply.items or reply.facts or reply.form or reply.errors)
        and not reply.warnings
        and "\n" not in reply.text.strip()
    )


def markdown(text: str) -> str:
    """The core's light markup, as Teams' markdown: *bold* and ~dropped~."""
    text = re.sub(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])", r"**\1**", text)
    return re.sub(r"~([^~\n]+)~", r"(\1)", text)


# A link in Teams' markdown needs "[", "]" and "(" in a row; with its brackets escaped, a
# person's "[click](https://…)" shows as typed, and the only links a card has are the ones a
# person can see (a bare address, which Teams links as it is).
_LINK_MARKUP = re.compile(r"[\\\[\]]")


def escape_markdown(text: str) -> str:
    """Text for a TextBlock or a fact, with the markdown that could disguise a link escaped
    (backslashes and square brackets); the core's own *bold* (now **bold**) stays."""
    return _LINK_MARKUP.sub(lambda m: "\\" + m[0], text)


def _escaped(node: Any) -> Any:
    """Every TextBlock's text and every fact in a card, escaped once (`escape_markdown`)."""
    if isinstance(node, list):
        return [_escaped(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _escaped(v) for k, v in node.items()}
    if node.get("type") == "TextBlock" and isinstance(node.get("text"), str):
        out["text"] = escape_markdown(node["text"])
    if node.get("type") == "FactSet":
        out["facts"] = [
            {k: escape_markdown(v) if isinstance(v, str) else v for k, v in fact.items()}
            for fact in node.get("facts") or []
        ]
    return out


def _card(body: list[dict], actions: list[dict] | None = None) -> dict:
    """A card in the version Teams renders (1.5), with `fallbackText` for a client that cannot
    draw it, and each Action.Execute falling back to an Action.Submit of the same data for a
    client before 1.4 (older mobile apps), which the bot reads the same way."""
    body = _escaped(body)
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "fallbackText": clip(_plain(body), FALLBACK_TEXT),
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def text_blocks(node: Any) -> Iterator[str]:
    """The text of every TextBlock in a card, its body or any part of it, in order."""
    if isinstance(node, list):
        for child in node:
            yield from text_blocks(child)
    elif isinstance(node, dict):
        if node.get("type") == "TextBlock" and isinstance(node.get("text"), str):
            yield node["text"]
        for key in ("body", "items", "columns"):
            yield from text_blocks(node.get(key))


def _plain(body: list[dict]) -> str:
    """The first lines of a card's text, without markdown, for `fallbackText`."""
    lines = (re.sub(r"[*\\]", "", text).strip() for text in text_blocks(body))
    text = "\n".join(line for line in lines if line)
    return text[: FALLBACK_TEXT * 2] or "A card from IT Liaison."


def card_size(card: dict) -> int:
    """Bytes of a card as JSON on the wire (non-ASCII escaped, as the connector sends it)."""
    return len(json.dumps(card, separators=(",", ":")).encode("ascii"))


def note_card(text: str) -> dict:
    return _card(_text_blocks(text))


def _text_blocks(text: str, **style: Any) -> list[dict]:
    """One TextBlock per line: Teams does not keep single line breaks inside a TextBlock."""
    blocks = []
    for line in clip(text or " ", MAX_TEXT).split("\n"):
        if not line.strip():
            continue
        block: dict[str, Any] = {"type": "TextBlock", "text": markdown(line), "wrap": True, **style}
        if line.lstrip().startswith("⚠"):
            block["color"] = "Attention"
        if blocks:
            block["spacing"] = "None"
        blocks.append(block)
    return blocks or [{"type": "TextBlock", "text": " ", "wrap": True}]


def _warning_block(text: str) -> dict:
    return {"type": "TextBlock", "text": f"⚠ {clip(text, MAX_TEXT)}", "wrap": True,
            "color": "Attention", "weight": "Bolder"}  # fmt: skip


def _item_blocks(item: Item) -> list[dict]:
    """One list line: a heading in bold, a line no longer current struck through (the older
    `*heading*` and `~dropped~` markup is translated by `markdown`)."""
    if item.struck:
        run = {"type": "TextRun", "text": clip(item.text, MAX_TEXT), "strikethrough": True}
        if item.heading:
            run["weight"] = "Bolder"
        return [{"type": "RichTextBlock", "inlines": [run]}]
    if item.heading:
        return _text_blocks(item.text, weight="Bolder")
    return _text_blocks(item.text)


def _action(choice: Choice) -> dict:
    data: dict[str, Any] = {"act": choice.action, "value": seal(choice.value, choice.action)}
    action: dict[str, Any] = {
        "type": "Action.Execute",
        "title": clip(choice.label, 80),
        "verb": choice.action,
        "data": data,
    }
    if choice.style:
        action["style"] = "positive" if choice.style == "primary" else "destructive"
    return with_submit_fallback(action)


def with_submit_fallback(action: dict) -> dict:
    """An Action.Execute with an Action.Submit of the same title and data as its fallback, for
    clients that cannot render Universal Actions (Adaptive Cards before 1.4)."""
    fallback = {"type": "Action.Submit", "title": action["title"], "data": action["data"]}
    return {**action, "fallback": fallback}


def _action_sets(choices: tuple[Choice, ...], size: int = 5) -> list[dict]:
    return [
        {"type": "ActionSet", "actions": [_action(c) for c in choices[i : i + size]]}
        for i in range(0, len(choices), size)
    ]


def render_card(reply: Reply) -> dict:
    """A reply as one Adaptive Card: text, facts, its first items with their buttons (and how
    many more there are), choices. `render_cards` gives every item, in cards that fit."""
    if reply.form is not None:  # the form itself, not a button that would open it
        return render_form_card(reply.form, reply.errors or None, intro=reply.text)
    return render_page(reply, 0, min(len(reply.items), MAX_ITEMS), more=True)


def render_cards(reply: Reply, budget: int = CARD_BUDGET) -> list[dict]:
    """A reply as the cards that carry all of it, each within Teams' size limit: a long list
    (a digest of 80 items) goes in parts, every item in one of them."""
    if reply.form is not None:
        return [render_card(reply)]
    return [render_page(reply, start, end) for start, end in pages(reply, budget)]


def pages(reply: Reply, budget: int = CARD_BUDGET) -> list[tuple[int, int]]:
    """The item ranges [start, end) of the cards a reply needs: at most MAX_ITEMS items each,
    and as many as fit in `budget` bytes (at least one)."""
    count = len(reply.items)
    if count == 0:
        return [(0, 0)]
    ranges, start = [], 0
    while start < count:
        end = start + 1
        while (
            end < count
            and end - start < MAX_ITEMS
            and card_size(render_page(reply, start, end + 1)) <= budget
        ):
            end += 1
        ranges.append((start, end))
        start = end
    return ranges


def render_page(reply: Reply, start: int, end: int, *, more: bool = False) -> dict:
    """The card for items [start, end) of a reply: the first carries the text, warnings and
    facts, later ones say which items they continue with; the last carries the choices. With
    `more`, a card that stops early says how many items it leaves out."""
    count = len(reply.items)
    if start == 0:
        body = _header(reply)
    else:
        body = [
            {
                "type": "TextBlock",
                "text": f"…continued: items {start + 1}–{end} of {count}",
                "isSubtle": True,
                "wrap": True,
            }
        ]
    for item in reply.items[start:end]:
        parts = _item_blocks(item) + _action_sets(item.choices)
        body.append({"type": "Container", "separator": True, "spacing": "Small", "items": parts})
    if more and end < count:
        body.append({"type": "TextBlock", "text": f"…and {count - end} more.", "isSubtle": True})
    elif not more and end < count:
        return _card(body)
    if len(reply.choices) <= MAX_CARD_ACTIONS:
        return _card(body, [_action(c) for c in reply.choices])
    return _card(body + _action_sets(reply.choices))


def _header(reply: Reply) -> list[dict]:
    body = _text_blocks(reply.text)
    for warning in reply.warnings:
        body.append(_warning_block(warning))
    for key, sentence in reply.errors:
        body.append(
            {"type": "TextBlock", "text": f"{key}: {sentence}", "wrap": True, "color": "Attention"}
        )
    if reply.facts:
        facts = [
            {"title": clip(label, 100), "value": clip(markdown(value), 1000)}
            for label, value in reply.facts[:MAX_FACTS]
        ]
        body.append({"type": "FactSet", "facts": facts})
    return body


def render_form_card(
    form: Form,
    errors: tuple[tuple[str, str], ...] | dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    intro: str = "",
) -> dict:
    """A form as an Adaptive Card; errors show under their fields, values refill the inputs."""
    errors = dict(errors or {})
    values = values or {}
    keys = {f.key for f in form.fields}
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": form.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    body += _text_blocks(intro) if intro else []
    if errors:
        body.append(
            {
                "type": "TextBlock",
                "text": "Please check the form.",
                "color": "Attention",
                "wrap": True,
            }
        )
    for key, sentence in errors.items():
        if key not in keys:
            body.append({"type": "TextBlock", "text": sentence, "color": "Attention", "wrap": True})
    for field_ in form.fields:
        if field_.key in values:
            shown = values[field_.key]
            shown = ",".join(shown) if isinstance(shown, list) else str(shown or "")
            field_ = replace(field_, initial=shown)
        body.append(_input(field_))
        if field_.key in errors:
            body.append(
                {
                    "type": "TextBlock",
                    "text": errors[field_.key],
                    "color": "Attention",
                    "size": "Small",
                    "spacing": "None",
                    "wrap": True,
                }
            )
    if form.id == "act":
        verb = f"commitment.{read_json(form.state).get('act') or 'new_date'}"
    else:
        verb = f"{form.id}.submit"
    data: dict[str, Any] = {"act": verb, "form": form.id, "state": seal(form.state, form.id)}
    multi = [f.key for f in form.fields if f.kind == "roles"]
    if multi:
        data["multi"] = multi
    actions = [
        with_submit_fallback(
            {
                "type": "Action.Execute",
                "title": clip(form.submit_label, 40),
                "verb": verb,
                "style": "positive",
                "data": data,
                "associatedInputs": "auto",
            }
        ),
        with_submit_fallback(
            {
                "type": "Action.Execute",
                "title": "Cancel",
                "verb": "form.cancel",
                "data": {"act": "form.cancel"},
                "associatedInputs": "none",
            }
        ),
    ]
    return _card(body, actions)


def _input(field_: FormField) -> dict:
    element: dict[str, Any] = {"id": f"f:{field_.key}", "label": clip(field_.label, 300)}
    initial = field_.initial
    if field_.kind == "date":
        element["type"] = "Input.Date"
        if initial and re.fullmatch(r"\d{4}-\d{2}-\d{2}", initial):
            element["value"] = initial
    elif field_.kind in ("choice", "roles"):
        element.update(
            type="Input.ChoiceSet",
            choices=[{"title": clip(label, 100), "value": v} for v, label in field_.options],
        )
        if field_.kind == "roles":
            element.update(isMultiSelect=True, style="expanded")
        else:
            element.update(style="compact", placeholder="Pick one")
        if initial:
            element["value"] = initial
    else:
        element["type"] = "Input.Text"
        if field_.kind == "long_text":
            element.update(isMultiline=True, maxLength=3000)
        else:
            element["maxLength"] = 200
        if field_.kind == "person":
            element["placeholder"] = field_.hint or "me, or an @name"
        elif field_.hint:
            element["placeholder"] = clip(field_.hint, 200)
        if initial:
            element["value"] = initial[:3000]
    return element
