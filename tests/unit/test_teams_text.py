"""Teams text is cut to Teams' own limit before anything reads it, and a message's HTML is read
as its words."""

from __future__ import annotations

from botbuilder.schema import Activity, ChannelAccount

from bot.channels.teams.activities import (
    TEAMS_TEXT_LIMIT,
    message_payload_text,
    strip_bot_mention,
    within_teams_limit,
)


def test_teams_text_is_cut_to_28_kb_before_anything_reads_it() -> None:
    assert within_teams_limit("short") == "short"
    cut = within_teams_limit("é" * TEAMS_TEXT_LIMIT)  # two bytes each: half of them fit
    assert len(cut.encode("utf-8")) <= TEAMS_TEXT_LIMIT and len(cut) == TEAMS_TEXT_LIMIT // 2
    bot = ChannelAccount(id="28:bot", name="IT Liaison")
    text, mentioned = strip_bot_mention(
        Activity(type="message", text="<at>IT Liaison</at> " + "a" * 100_000, recipient=bot)
    )
    assert mentioned and len(text.encode("utf-8")) <= TEAMS_TEXT_LIMIT


def test_a_teams_message_is_read_as_its_words() -> None:
    html = "<p>We&#39;re buying a CRM for R&amp;D</p><div>by <b>March</b><br>thanks</div>"
    payload = {"body": {"contentType": "html", "content": html}}
    assert message_payload_text(payload) == "We're buying a CRM for R&D\nby March\nthanks"
    unclosed = {"body": {"contentType": "html", "content": "1 < 2 and <at never closed"}}
    assert message_payload_text(unclosed) == "1 < 2 and <at never closed"


def _texts(node: object) -> list[str]:
    """Every string a card shows as markdown: TextBlock texts and facts."""
    if isinstance(node, list):
        return [t for n in node for t in _texts(n)]
    if not isinstance(node, dict):
        return []
    found = [t for v in node.values() for t in _texts(v)]
    if node.get("type") == "TextBlock":
        found.append(node["text"])
    if node.get("type") == "FactSet":
        found += [f["value"] for f in node["facts"]] + [f["title"] for f in node["facts"]]
    return found


def test_a_persons_text_in_a_card_cannot_become_a_disguised_link() -> None:
    from bot.channels.teams.cards import render_card, render_form_card
    from handlers.messages import Form, FormField, Item, Reply

    link = "[Approve the budget](https://evil.example)"
    reply = Reply(
        f"Pat asked you: *{link}* by Friday",
        facts=(("Title", link),),
        items=(Item(f"#3 {link}"),),
        warnings=(link,),
    )
    form = Form("intake", f"Plan: {link}", (FormField("title", "Title", initial=link),), "{}")
    for card in (render_card(reply), render_form_card(form, {"title": link}, intro=link)):
        shown = _texts(card["body"])
        assert any("Approve the budget" in t for t in shown)
        assert all("](" not in t.replace("\\](", "") for t in shown), shown
    assert "**\\[Approve the budget\\](https://evil.example)**" in _texts(render_card(reply))[0]


def test_people_become_mentions_and_nothing_else_does() -> None:
    from bot.channels.teams.mentions import handles_in, mention_card, mention_text
    from handlers.messages import Item, Reply

    people = {"pat": ("aad-pat", "Pat Lee"), "alex.newcomer": ("aad-alex", "Alex <Newcomer>")}
    used: dict[str, dict] = {}
    text = mention_text(
        "Asked @alex.newcomer for @pat. Mail pat@riverton.example; @kim isn't on Teams.",
        people,
        used,
    )

    assert text == (
        "Asked <at>Alex Newcomer</at> for <at>Pat Lee</at>. Mail pat@riverton.example; "
        "@kim isn't on Teams."
    )
    assert used == {
        "aad-alex": {
            "type": "mention",
            "text": "<at>Alex Newcomer</at>",
            "mentioned": {"id": "aad-alex", "name": "Alex <Newcomer>"},
        },
        "aad-pat": {
            "type": "mention",
            "text": "<at>Pat Lee</at>",
            "mentioned": {"id": "aad-pat", "name": "Pat Lee"},
        },
    }
    reply = Reply("For @pat:", items=(Item("#3 from @kim."),), facts=(("Owner", "@sam"),))
    assert handles_in(reply) == {"pat", "kim", "sam"}
    card = {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "Over to @pat"}]}
    mentioned = mention_card(card, people)
    assert mentioned["body"][0]["text"] == "Over to <at>Pat Lee</at>"
    assert [e["mentioned"]["id"] for e in mentioned["msteams"]["entities"]] == ["aad-pat"]
    assert card["body"][0]["text"] == "Over to @pat"  # the card given is left as it was
