"""No second offer in a thread where that initiative was already planned or dismissed, and
"IT isn't needed" is remembered for its message (issue 13, "noise that makes people mute a
bot")."""

from __future__ import annotations

from handlers.messages import Action, Inbound, Sender

MOVE = "We're moving to a new building in ten months"
AGAIN = "Reminder: we are moving to the new building in ten months"


def said(bot, text: str, message_id: str, thread: str | None = None, who: str = "pat"):
    inbound = Inbound(
        Sender("shell", who), "finance-room", text=text, message_id=message_id, thread_id=thread
    )
    return bot.handle(inbound)


def press(bot, offer, label: str, who: str = "pat"):
    choice = next(c for c in offer[0].reply.choices if c.label == label)
    inbound = Inbound(
        Sender("shell", who), "finance-room", action=Action(choice.action, choice.value)
    )
    return bot.handle(inbound)


def kinds(replies) -> list[str]:
    return [r.reply.kind for r in replies]


def test_it_isnt_needed_ends_offers_of_that_kind_in_the_thread(liaison):
    offer = said(liaison, MOVE, "100.1")  # starts thread 100.1
    assert kinds(offer) == ["offer"]
    assert kinds(press(liaison, offer, "IT isn't needed")) == ["dismissed"]
    assert said(liaison, AGAIN, "100.2", thread="100.1") == []  # a reply in that thread
    assert said(liaison, MOVE, "100.1") == []  # the message itself, delivered again
    assert kinds(said(liaison, AGAIN, "200.1")) == ["offer"]  # elsewhere, still offered


def test_a_reply_in_a_thread_dismissed_closes_that_thread(liaison):
    offer = said(liaison, MOVE, "300.2", thread="300.1")
    press(liaison, offer, "IT isn't needed")
    assert said(liaison, AGAIN, "300.3", thread="300.1") == []


def test_a_plan_started_from_an_offer_ends_offers_in_its_thread(liaison):
    offer = said(liaison, MOVE, "400.1")
    assert kinds(press(liaison, offer, "Plan it with IT")) == ["intake"]
    # Someone else mentions it again in that thread (pat's own text would answer the intake).
    assert said(liaison, AGAIN, "400.2", thread="400.1", who="sam") == []


def test_a_dismissal_someone_may_not_make_closes_nothing(liaison):
    offer = said(liaison, MOVE, "500.1")
    (refused,) = press(liaison, offer, "IT isn't needed", who="kim")
    assert "offer stays open" in refused.reply.text
    assert kinds(said(liaison, AGAIN, "500.2", thread="500.1")) == ["offer"]
