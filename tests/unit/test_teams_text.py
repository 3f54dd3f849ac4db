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
