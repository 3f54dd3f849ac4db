"""Saved initiatives listed and edited (title, date, owner), with their history kept."""

from __future__ import annotations

from handlers.commands import Query, parse_commitments_command
from handlers.messages import Inbound, ReplyKind, Sender
from tests.integration.test_similar import submit


def ask(bot, who, text):
    inbound = Inbound(Sender("shell", who, name=who), "dm", text=text, is_direct=True)
    return bot.handle(inbound)[0].reply


def saved(bot):
    submit(bot, "pat", "finance", "software_purchase", "New CRM", "2027-03-01", "Acme")
    submit(bot, "kim", "parks", "office_move", "Move the crews", "2027-02-01")


def test_the_list_shows_what_each_person_may_see(liaison):
    saved(liaison)
    admin = ask(liaison, "dana", "commitments initiatives")
    assert admin.kind == ReplyKind.LIST and admin.text == "Open initiatives (2):"
    assert [i.text.split(" —")[0] for i in admin.items] == ["#2 Move the crews", "#1 New CRM"]
    mine = ask(liaison, "pat", "commitments initiatives")
    assert [i.text.split(" —")[0] for i in mine.items] == ["#1 New CRM"]
    unit = ask(liaison, "sam", "commitments initiatives parks")
    assert unit.text == "Open initiatives of Parks and Recreation (1):"
    assert ask(liaison, "lee", "commitments initiatives").text == (
        "Open initiatives: none that you can see."
    )


def test_an_edit_keeps_the_history_and_is_refused_to_others(liaison):
    saved(liaison)
    assert ask(liaison, "lee", "commitments initiative 1 owner @lee").text == (
        "I can't find initiative #1."
    )
    changed = ask(liaison, "sam", "commitments initiative 1 owner @kim")
    assert changed.text == "Changed the owner of #1: @pat → @kim."
    assert ask(liaison, "pat", "commitments initiative 1 date by 2027-04-15").text == (
        "Changed the date of #1: 2027-03-01 → 2027-04-15."
    )
    assert ask(liaison, "pat", "commitments initiative 1 title Acme CRM").text.startswith(
        "Changed the title of #1: New CRM → Acme CRM"
    )
    shown = ask(liaison, "kim", "commitments initiative 1")  # the new owner may see it now
    assert shown.text == "Initiative #1: Acme CRM"
    history = [i.text[17:] for i in shown.items if " changed the " in i.text]
    assert history == [
        "@sam changed the owner: @pat → @kim",
        "@pat changed the date: 2027-03-01 → 2027-04-15",
        "@pat changed the title: New CRM → Acme CRM",
    ]
    assert ask(liaison, "pat", "commitments initiative 1 date by Fryday").text.startswith(
        "I couldn't read"
    )


def test_the_words_for_listing_and_editing():
    assert parse_commitments_command("initiatives") == Query("initiatives")
    assert parse_commitments_command("initiatives finance") == Query("initiatives", arg="finance")
    assert parse_commitments_command("initiative 3") == Query("initiative", arg="3")
    assert parse_commitments_command("initiative 3 owner @kim") == Query(
        "initiative_edit", arg="3 owner @kim"
    )
