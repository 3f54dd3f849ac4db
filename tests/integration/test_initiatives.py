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


def roles_shown(bot, who, number):
    """The role lines of `commitments initiative N`, by role title."""
    shown = ask(bot, who, f"commitments initiative {number}")
    lines = [i.text for i in shown.items if " — " in i.text and not i.text.startswith("#")]
    return dict(line.split(" — ", 1) for line in lines)


def test_a_role_is_given_changed_and_taken_with_the_history_kept(liaison):
    saved(liaison)
    assert roles_shown(liaison, "sam", 1)["Security review"] == (
        "R: IT @sam · A: IT @sam · S: vendor · C: business @pat"
    )
    consulted = ask(liaison, "sam", "commitments initiative 1 role security consulted @dana")
    assert consulted.text == (
        "Changed the role “Security review” of #1: R: IT @sam · A: IT @sam · S: vendor · "
        "C: business @pat → R: IT @sam · A: IT @sam · S: vendor · C: business @pat · "
        "C: IT @dana."
    )
    accountable = ask(liaison, "dana", "commitments initiative 1 role security_review A @pat")
    assert accountable.text.endswith(
        "→ R: IT @sam · A: business @pat · S: vendor · C: business @pat · C: IT @dana."
    )
    assert ask(liaison, "sam", "commitments initiative 1 role security C none").text.endswith(
        "→ R: IT @sam · A: business @pat · S: vendor."
    )
    dropped = ask(liaison, "sam", "commitments initiative 1 role implementation none")
    assert dropped.text == (
        "Changed the role “Implementation” of #1: R: vendor · A: business @pat · S: IT @sam → none."
    )
    given = ask(liaison, "sam", "commitments initiative 1 role implementation responsible it")
    assert given.text.endswith("none → R: IT.")
    roles = roles_shown(liaison, "sam", 1)
    assert roles["Security review"] == "R: IT @sam · A: business @pat · S: vendor"
    assert roles["Implementation"] == "R: IT"
    shown = ask(liaison, "sam", "commitments initiative 1")
    history = [i.text[17:] for i in shown.items if " changed the " in i.text]
    assert history == [
        "@sam changed the role: Security review: R: IT @sam · A: IT @sam · S: vendor · "
        "C: business @pat → Security review: R: IT @sam · A: IT @sam · S: vendor · "
        "C: business @pat · C: IT @dana",
        "@dana changed the role: Security review: R: IT @sam · A: IT @sam · S: vendor · "
        "C: business @pat · C: IT @dana → Security review: R: IT @sam · A: business @pat · "
        "S: vendor · C: business @pat · C: IT @dana",
        "@sam changed the role: Security review: R: IT @sam · A: business @pat · S: vendor · "
        "C: business @pat · C: IT @dana → Security review: R: IT @sam · A: business @pat · "
        "S: vendor",
        "@sam changed the role: Implementation: R: vendor · A: business @pat · S: IT @sam "
        "→ Implementation: none",
        "@sam changed the role: Implementation: none → Implementation: R: IT",
    ]


def test_a_new_responsible_person_makes_the_roles_commitment_and_the_old_one_is_named(
    liaison,
):
    saved(liaison)
    before = ask(liaison, "kim", "commitments mine")
    assert "Security review" not in " ".join(i.text for i in before.items)
    changed = ask(liaison, "sam", "commitments initiative 1 role security responsible @kim")
    new_id = int(changed.text.split("New: #")[1].split(".")[0])
    assert changed.text.endswith(
        f"New: #{new_id}. Still open: #4 (@sam); its owner can say 'not mine 4', or the "
        "requester 'cancel 4'."
    )
    mine = [i.text for i in ask(liaison, "kim", "commitments mine").items]
    assert any(
        t.startswith(f"#{new_id} Security review for “New CRM” — @kim for @pat") for t in mine
    )
    again = ask(liaison, "sam", "commitments initiative 1 role security responsible @kim")
    assert again.text == "“Security review” of #1 already stands like that."


def test_role_edits_are_refused_to_others_and_explain_what_to_type(liaison):
    saved(liaison)
    assert ask(liaison, "lee", "commitments initiative 1 role security consulted @lee").text == (
        "I can't find initiative #1."
    )
    assert ask(liaison, "sam", "commitments initiative 1 role").text.startswith(
        "Change a role like 'initiative 1 role security consulted @dana'"
    )
    assert ask(liaison, "sam", "commitments initiative 1 role review consulted @kim").text == (
        "I couldn't tell which role of #1 you mean. Its roles: business_case, "
        "vendor_management, contract_review, security_review, data_ownership, sso_accounts, "
        "integration, requirements, implementation, helpdesk_support, reporting, monitoring, "
        "training."
    )
    assert (
        ask(liaison, "sam", "commitments initiative 1 role security consulted @nobodyhere").text
        == "I don't know that person yet. Check the spelling."
    )
    # a role title with a letter word in it ("support") still reads
    assert ask(
        liaison, "sam", "commitments initiative 1 role helpdesk support consulted @kim"
    ).text.startswith("Changed the role “Helpdesk first-, second- and third-level")
    assert parse_commitments_command("initiative 3 role network none") == Query(
        "initiative_edit", arg="3 role network none"
    )
