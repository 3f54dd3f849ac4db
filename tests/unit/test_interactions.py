"""The channel-neutral UI rules: one answer for Slack, Teams and the shell."""

from __future__ import annotations

import json

import pytest

from bot.channels import interactions
from bot.channels.interactions import (
    GENERAL,
    TTLCache,
    act_form,
    field_errors,
    form_for_button,
    submission,
)
from bot.channels.slack import render_modal
from bot.channels.teams import render_form_card
from handlers.commitments import NEEDS_DATE, NEEDS_NOTE
from handlers.messages import Form, FormField, Outgoing, Reply, ReplyKind


class FakeLiaison:
    """Only the form builders a button may open, recording what they were given."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict]] = []

    def intake_form(self, data: dict) -> Form:
        self.asked.append(("intake", data))
        return Form("intake", "Plan it with IT", (FormField("title", "What is it?"),))

    def cycle_form(self, data: dict) -> Form | None:
        self.asked.append(("cycle", data))
        return Form("cycle", "Look-ahead", ()) if data.get("cycle") == "2027-03-01" else None


def test_every_act_that_needs_an_input_opens_a_form_asking_for_it() -> None:
    liaison = FakeLiaison()
    acts = sorted(NEEDS_DATE | NEEDS_NOTE)
    assert len(acts) >= 3
    for act in acts:
        form = form_for_button(liaison, f"commitment.{act}", {"id": 4}, {"ch": "C1"})
        assert isinstance(form, Form), act
        (field,) = form.fields
        assert field.key == ("due" if act in NEEDS_DATE else "note")
        assert json.loads(form.state) == {"id": 4, "act": act, "where": {"ch": "C1"}}
        # With its input already given, the core acts on the button itself.
        assert form_for_button(liaison, f"commitment.{act}", {"id": 4, field.key: "x"}) is None
    assert form_for_button(liaison, "commitment.accept", {"id": 4}) is None
    assert liaison.asked == []


def test_the_counter_form_is_titled_propose_a_date_on_every_channel() -> None:
    form = act_form("counter", 7)
    assert (form.title, form.fields[0].label) == ("Propose a date", "Which date would work?")
    assert render_modal(form)["title"]["text"] == "Propose a date"
    assert render_form_card(form)["body"][0]["text"] == "Propose a date"
    assert act_form("new_date", 7).title == "A new date"


def test_offer_and_cycle_buttons_open_their_forms_or_say_why_not() -> None:
    liaison = FakeLiaison()
    offer = {"kind": "office_move", "conv": "C1"}
    assert form_for_button(liaison, "offer.plan", offer).id == "intake"
    assert form_for_button(liaison, "cycle.open", {"cycle": "2027-03-01"}).id == "cycle"
    stale = form_for_button(liaison, "cycle.open", {"cycle": "not a date"})
    assert isinstance(stale, Reply) and stale.private and "out of date" in stale.text
    assert [name for name, _ in liaison.asked] == ["intake", "cycle", "cycle"]


def test_a_submitted_form_becomes_one_core_action() -> None:
    act = submission("act", {"id": 4, "act": "blocked", "where": {}}, {"note": "parts", "x": ""})
    assert (act.id, act.data()) == ("commitment.blocked", {"id": 4, "note": "parts"})
    intake = submission("intake", {"conv": "C1"}, {"title": "Move"})
    assert intake.id == "intake.submit"
    assert intake.data() == {"state": {"conv": "C1"}, "values": {"title": "Move"}}


PICK = "Pick a date."
PAST = "That date is in the past."


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ([Reply("x", kind=ReplyKind.FORM_ERRORS, errors=(("due", PICK),))], {"due": PICK}),
        ([Reply(PAST, private=True)], {GENERAL: PAST}),
        ([Reply("Saved.", private=True), Reply("Tracking it.")], {}),
        ([Reply("Saved.")], {}),
    ],
)  # fmt: skip
def test_one_rule_says_which_replies_refuse_a_form(replies, expected) -> None:
    outgoing = [Outgoing(r) for r in replies] + [Outgoing(Reply("DM", private=True), 9)]
    assert field_errors(outgoing) == expected


def test_sender_caches_are_bounded_and_expire() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=3600, size=3)
    for number in range(5):
        cache.put(f"U{number}", number)
    assert len(cache) == 3 and cache.get("U0") is None and cache.get("U4") == 4
    cache.get("U2")  # used: kept over the older U3
    cache.put("U5", 5)
    assert (cache.get("U2"), cache.get("U3")) == (2, None)
    stale: TTLCache[str, int] = TTLCache(ttl=0)
    stale.put("U1", 1)
    assert stale.get("U1") is None and len(stale) == 0


def test_both_channels_cache_senders_in_a_bounded_cache() -> None:
    from bot.channels.slack import SlackChannel
    from bot.channels.teams import TeamsChannel

    slack = SlackChannel(None, None, None)  # type: ignore[arg-type]
    teams = TeamsChannel(None, None)  # type: ignore[arg-type]
    for cache in (slack.users, teams._senders, teams._remembered):
        assert isinstance(cache, interactions.TTLCache) and cache.size <= 5000


# Client state is sealed


@pytest.fixture
def state_secret():
    """Sign with a known secret for the test, and with the process's own key afterwards."""
    interactions.use_state_secret("one secret")
    yield
    interactions.use_state_secret(None)


def test_sealed_state_comes_back_as_it_was_sent(state_secret) -> None:
    for text in ('{"id":4}', "", '{"excerpt":"R&D <b> \\u00e9 \U0001f600"}'):
        assert (
            interactions.unseal(interactions.seal(text, "commitment.promise"), "commitment.promise")
            == text
        )


def test_changed_unsigned_or_borrowed_state_is_refused(state_secret) -> None:
    sealed = interactions.seal('{"unit":"finance","kind":"office_move"}', "offer.plan")
    prefix, mac, text = sealed.split(".", 2)
    refused = [
        f"{prefix}.{mac}.{text.replace('finance', 'hr')}",  # changed, old signature
        text,  # unsigned
        f"{prefix}.{mac[:-1]}A.{text}" if not mac.endswith("A") else f"{prefix}.{mac[:-1]}B.{text}",
        f"{prefix}.{mac}",  # cut short
        "",
        None,
        42,
        {"unit": "finance"},
    ]
    assert [interactions.unseal(v, "offer.plan") for v in refused] == [None] * len(refused)
    assert interactions.unseal(sealed, "offer.dismiss") is None  # made for another button


def test_state_sealed_under_one_secret_is_refused_under_another() -> None:
    interactions.use_state_secret("one secret")
    sealed = interactions.seal('{"id":4}', "commitment.promise")
    try:
        interactions.use_state_secret("one secret")  # another replica, or after a restart
        assert interactions.unseal(sealed, "commitment.promise") == '{"id":4}'
        interactions.use_state_secret("another secret")
        assert interactions.unseal(sealed, "commitment.promise") is None
        interactions.use_state_secret(None)  # no secret: a key of this process only
        assert interactions.unseal(sealed, "commitment.promise") is None
    finally:
        interactions.use_state_secret(None)


def test_every_renderer_seals_buttons_and_forms(state_secret) -> None:
    form = act_form("counter", 4, {"ch": "C1"})
    modal = render_modal(form)
    card = render_form_card(form)
    assert modal["private_metadata"] != form.state
    assert interactions.unseal(modal["private_metadata"], "act") == form.state
    assert interactions.unseal(card["actions"][0]["data"]["state"], "act") == form.state
