"""Pure rendering: a Reply or a Form as an Adaptive Card (or a dialog's task module).

No I/O and no state, like bot/channels/slack/blockkit.py; the contract test in tests/contract
compares the three renderers. A button's value and a form's state go out sealed
(bot.channels.interactions.seal).
"""

from __future__ import annotations

import re
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
    Outgoing,
    Reply,
)

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


CARD_VERSION = "1.5"


MAX_FACTS = 12


MAX_CARD_ACTIONS = 6


MAX_TEXT = 4000


WORKING = "Working on it… I'll post the result here in a moment."


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
    body = _escaped(body)
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


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
    return action


def _action_sets(choices: tuple[Choice, ...], size: int = 5) -> list[dict]:
    return [
        {"type": "ActionSet", "actions": [_action(c) for c in choices[i : i + size]]}
        for i in range(0, len(choices), size)
    ]


def render_card(reply: Reply) -> dict:
    """A reply as an Adaptive Card: text, facts, items with their buttons, choices."""
    if reply.form is not None:  # the form itself, not a button that would open it
        return render_form_card(reply.form, reply.errors or None, intro=reply.text)
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
    for item in reply.items[:MAX_ITEMS]:
        parts = _item_blocks(item) + _action_sets(item.choices)
        body.append({"type": "Container", "separator": True, "spacing": "Small", "items": parts})
    if len(reply.items) > MAX_ITEMS:
        more = len(reply.items) - MAX_ITEMS
        body.append({"type": "TextBlock", "text": f"…and {more} more.", "isSubtle": True})
    if len(reply.choices) <= MAX_CARD_ACTIONS:
        return _card(body, [_action(c) for c in reply.choices])
    return _card(body + _action_sets(reply.choices))


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
        {
            "type": "Action.Execute",
            "title": clip(form.submit_label, 40),
            "verb": verb,
            "style": "positive",
            "data": data,
            "associatedInputs": "auto",
        },
        {
            "type": "Action.Execute",
            "title": "Cancel",
            "verb": "form.cancel",
            "data": {"act": "form.cancel"},
            "associatedInputs": "none",
        },
    ]
    return _card(body, actions)


def task_form(
    form: Form, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None
) -> dict:
    """A form in a dialog (a task module): its card submits with Action.Submit, which is what
    dialogs take, and the dialog's own close button cancels."""
    card = render_form_card(form, errors, values)
    submit = card["actions"][0]
    card["actions"] = [
        {
            "type": "Action.Submit",
            "title": submit["title"],
            "style": "positive",
            "data": submit["data"],
        }
    ]
    attachment = {"contentType": CARD_TYPE, "content": card}
    size = "large" if len(form.fields) > 4 else "medium"
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": clip(form.title, 64),
                "height": size,
                "width": "medium",
                "card": attachment,
            },
        }
    }


def task_message(text: str) -> dict:
    """A short note in the dialog, which then closes."""
    return {"task": {"type": "message", "value": clip(text, 1000)}}


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


def split_replies(outgoing: list[Outgoing]) -> tuple[dict | None, list[Outgoing]]:
    """The first reply to this conversation becomes the refreshed card; the rest are sent."""
    card, rest = None, []
    for out in outgoing:
        if card is None and out.to_person is None:
            card = render_card(out.reply)
        else:
            rest.append(out)
    return card, rest
