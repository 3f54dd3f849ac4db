"""Pure rendering of dialogs (task modules) and of a card action's answer: what a message
action's dialog shows, and which reply becomes the refreshed card."""

from __future__ import annotations

from typing import Any

from bot.channels.interactions import clip
from bot.channels.teams.cards import CARD_TYPE, render_card, render_form_card
from handlers.messages import Form, Outgoing


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


def split_replies(outgoing: list[Outgoing]) -> tuple[dict | None, list[Outgoing]]:
    """The first reply to this conversation becomes the refreshed card; the rest are sent."""
    card, rest = None, []
    for out in outgoing:
        if card is None and out.to_person is None:
            card = render_card(out.reply)
        else:
            rest.append(out)
    return card, rest
