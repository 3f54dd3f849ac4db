"""Pure rendering: a Reply or a Form as Block Kit (messages, the App Home, modals).

No I/O: the same reply (and the same people known for it, see people.py) always gives the
same blocks, which the contract test in tests/contract compares with the other channels'
renderers. Button values and a modal's private_metadata go out sealed
(bot.channels.interactions.seal).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from bot.channels.interactions import (
    MAX_ITEMS,
    clip,
    seal,
)
from bot.channels.slack.people import mentions_for
from handlers.messages import (
    Choice,
    Form,
    FormField,
    Item,
    Outgoing,
    Reply,
)


def clipped(text: str, limit: int = 3000) -> str:
    return clip(text, limit)


def escape(text: str) -> str:
    """Slack's three control characters, so people's words can't turn into mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fallback_text(reply: Reply) -> str:
    """The plain text Slack shows in notifications and to screen readers."""
    warnings = "".join(f"\n⚠ {w}" for w in reply.warnings)
    return clipped(mentions_for(escape(reply.text + warnings)), 3000)


def item_text(item: Item) -> str:
    """One list line in mrkdwn: a heading bold, a line no longer current struck through. (The
    core's older markup, `*heading*` and `~dropped~`, is mrkdwn already and passes as it is.)"""
    text = mentions_for(escape(item.text))
    if item.struck:
        text = f"~{text}~"
    return f"*{text}*" if item.heading else text


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clipped(text or " ")}}


def _buttons(choices: tuple[Choice, ...], block_id: str | None = None) -> dict:
    elements = []
    for index, choice in enumerate(choices[:25]):
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": clipped(choice.label, 75), "emoji": True},
            "action_id": f"{choice.action}#{index}",
            "value": seal(choice.value, choice.action)[:2000],
        }
        if choice.style:
            button["style"] = choice.style
        elements.append(button)
    block: dict[str, Any] = {"type": "actions", "elements": elements}
    if block_id:
        block["block_id"] = block_id[:255]
    return block


def render_blocks(reply: Reply, prefix: str = "") -> list[dict]:
    """A reply as Block Kit: its text, its facts, one line per item with that item's buttons,
    then the reply's own buttons."""
    blocks: list[dict] = [section(mentions_for(escape(reply.text)))]
    for warning in reply.warnings:
        blocks.append(section(f"⚠ *{escape(warning)}*"))
    if reply.facts:
        fields = [
            {
                "type": "mrkdwn",
                "text": clipped(f"*{escape(label)}*\n{mentions_for(escape(value))}", 2000),
            }
            for label, value in reply.facts[:10]
        ]
        blocks.append({"type": "section", "fields": fields})
    for index, item in enumerate(reply.items[:MAX_ITEMS]):
        blocks.append(section(item_text(item)))
        if item.choices:
            blocks.append(_buttons(item.choices, f"{prefix}item-{index}"))
    if len(reply.items) > MAX_ITEMS:
        more = len(reply.items) - MAX_ITEMS
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more."}]}
        )
    if reply.choices:
        blocks.append(_buttons(reply.choices, f"{prefix}choices"))
    return blocks[:50]


def render_home(sections: list[Outgoing], notice: Iterable[Outgoing] = ()) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "IT Liaison", "emoji": True}}
    ]
    for out in notice:
        line = f"{'⚠' if out.reply.private else '✓'} {fallback_text(out.reply)}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": clipped(line)}]})
    for index, out in enumerate(sections):
        blocks.append({"type": "divider"})
        blocks += render_blocks(out.reply, prefix=f"s{index}-")
    return {"type": "home", "blocks": blocks[:100]}


def title_of(view: dict) -> str:
    return ((view.get("title") or {}).get("text") or "IT Liaison")[:24]


def info_modal(title: str, blocks: list[dict]) -> dict:
    return {
        "type": "modal",
        "callback_id": "details",
        "title": {"type": "plain_text", "text": clipped(title, 24)},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": (blocks or [section(" ")])[:100],
    }


def saving_modal(view: dict) -> dict:
    text = "Saving… this is taking a little longer than usual. You can close this window."
    return info_modal(title_of(view), [section(text)])


def done_modal(view: dict, replies: list[Outgoing]) -> dict:
    mine = [r for r in replies if r.to_person is None]
    text = "\n".join(fallback_text(r.reply) for r in mine) or "Done."
    return info_modal(title_of(view), [section(text)])


def refill(view: dict, values: dict[str, Any], errors: dict[str, str]) -> dict:
    """The submitted form again, filled with what was typed, each error under its field
    (views.update cannot show response_action errors)."""
    blocks: list[dict] = []
    for block in copy.deepcopy(view.get("blocks") or []):
        key = block.get("block_id")
        if block.get("type") == "input" and values.get(key):
            _set_initial(block["element"], values[key])
        blocks.append(block)
        if key in errors:
            warning = f"⚠ {escape(errors[key])}"
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": warning}]})
    new_view = {
        k: view[k]
        for k in ("type", "callback_id", "title", "submit", "close", "private_metadata")
        if view.get(k) is not None
    }
    new_view["blocks"] = blocks[:100]
    return new_view


def _set_initial(element: dict, value: Any) -> None:
    kind = element.get("type")
    if kind == "datepicker":
        element["initial_date"] = value
    elif kind == "users_select":
        element["initial_user"] = value
    elif kind == "static_select":
        chosen = [o for o in element.get("options") or [] if o.get("value") == value]
        if chosen:
            element["initial_option"] = chosen[0]
    elif kind == "multi_static_select":
        kept = set(value)
        element["initial_options"] = [o for o in element.get("options") or [] if o["value"] in kept]
    elif kind == "plain_text_input":
        element["initial_value"] = str(value)[: element.get("max_length") or 3000]


def render_modal(form: Form) -> dict:
    return {
        "type": "modal",
        "callback_id": form.id,
        "title": {"type": "plain_text", "text": clipped(form.title, 24)},
        "submit": {"type": "plain_text", "text": clipped(form.submit_label, 24)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": seal(form.state, form.id)[:3000],
        "blocks": [_input_block(f) for f in form.fields][:100],
    }


def _option(value: str, label: str) -> dict:
    return {"text": {"type": "plain_text", "text": clipped(label, 75)}, "value": value[:150]}


def _input_block(field: FormField) -> dict:
    action_id = "value"
    hint = field.hint
    if field.kind == "date":
        element: dict[str, Any] = {"type": "datepicker", "action_id": action_id}
        if field.initial and re.fullmatch(r"\d{4}-\d{2}-\d{2}", field.initial):
            element["initial_date"] = field.initial
        hint = None  # the hints describe typed dates; a date picker needs none
    elif field.kind == "person":
        element = {"type": "users_select", "action_id": action_id}
        if field.initial and re.fullmatch(r"[UW][A-Z0-9]+", field.initial):
            element["initial_user"] = field.initial
    elif field.kind == "choice":
        options = [_option(v, label) for v, label in field.options[:100]]
        element = {"type": "static_select", "action_id": action_id, "options": options}
        chosen = [o for o in options if o["value"] == field.initial]
        if chosen:
            element["initial_option"] = chosen[0]
    elif field.kind == "roles":
        options = [_option(v, label) for v, label in field.options[:100]]
        kept = set((field.initial or "").split(","))
        element = {"type": "multi_static_select", "action_id": action_id, "options": options}
        initial = [o for o in options if o["value"] in kept]
        if initial:
            element["initial_options"] = initial
    else:
        limit = 3000 if field.kind == "long_text" else 200
        element = {
            "type": "plain_text_input",
            "action_id": action_id,
            "multiline": field.kind == "long_text",
            "max_length": limit,
        }
        if field.initial:
            element["initial_value"] = field.initial[:limit]
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.key[:255],
        "label": {"type": "plain_text", "text": clipped(field.label, 2000)},
        "element": element,
        "optional": field.optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": clipped(hint, 2000)}
    return block
