"""People as real Teams mentions: the core writes people as @handle; Teams shows a person as
a mention (clickable, and it notifies them) only when the text says <at>Name</at> and the
message carries a mention entity naming their id. Pure: the names come from the caller."""

from __future__ import annotations

import re
from typing import Any

from bot.channels.teams.cards import text_blocks
from handlers.messages import Reply

# A handle as the core writes it (handlers.people.unique_handle), not the domain of an email.
HANDLE = re.compile(r"(?<![\w@.])@([a-z0-9][a-z0-9._-]{0,99})", re.IGNORECASE)


def handles_in(reply: Reply) -> set[str]:
    """Every @handle a reply names, in its text, facts and items."""
    texts = [reply.text, *(value for _, value in reply.facts), *(i.text for i in reply.items)]
    return {m.group(1).rstrip("._-").lower() for text in texts for m in HANDLE.finditer(text)}


def handles_in_card(card: dict) -> set[str]:
    """Every @handle a card's TextBlocks name."""
    return {
        m.group(1).rstrip("._-").lower()
        for text in text_blocks(card)
        for m in HANDLE.finditer(text)
    }


def _markup(name: str) -> str:
    return f"<at>{name.replace('<', '').replace('>', '')}</at>"


def mention_text(text: str, people: dict[str, tuple[str, str]], used: dict[str, dict]) -> str:
    """`text` with each known @handle as <at>Name</at>; the entities it needs go to `used`."""

    def swap(match: re.Match[str]) -> str:
        handle = match.group(1).rstrip("._-").lower()
        person = people.get(handle)
        if person is None:
            return match.group(0)
        external_id, name = person
        markup = _markup(name)
        used.setdefault(external_id, mention_entity(external_id, name))
        rest = match.group(1)[len(handle) :]  # a full stop after a handle stays
        return markup + rest

    return HANDLE.sub(swap, text)


def mention_entity(external_id: str, name: str) -> dict[str, Any]:
    """The entity Teams needs for one mention (in a message, or in a card's msteams)."""
    return {
        "type": "mention",
        "text": _markup(name),
        "mentioned": {"id": external_id, "name": name},
    }


def mention_card(card: dict, people: dict[str, tuple[str, str]]) -> dict:
    """A card whose TextBlocks name known people as mentions, with the entities Teams needs."""
    if not people:
        return card
    used: dict[str, dict] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(child) for child in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) if k in ("body", "items", "columns") else v for k, v in node.items()}
        if node.get("type") == "TextBlock" and isinstance(node.get("text"), str):
            out["text"] = mention_text(node["text"], people, used)
        return out

    card = walk(card)
    if used:
        card["msteams"] = {**card.get("msteams", {}), "entities": list(used.values())}
    return card
