"""Listings answer from SQL: each section has its own count and its own next page, what the
viewer may not see is left out by the query, and `stuck` costs the same few statements at any
size of the table."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import replace

from sqlalchemy import event, update
from sqlmodel import select

from handlers import commitments
from handlers.messages import section_size
from storage.db import session_scope
from storage.models import Commitment, Person
from tests.integration.test_conversation import choice, press, say


def people(bot) -> dict[str, int]:
    say(bot, "dana", "help")  # every sender is known by the time they list anything
    with session_scope(bot.engine) as session:
        return {p.handle: p.id for p in session.exec(select(Person)).all()}


def add(bot, owner: int, requester: int, n: int, **columns) -> None:
    """`n` open commitments, straight into the table (the protocol is tested elsewhere)."""
    now = bot.clock()
    fields = {"state": "promised", "created_at": now, "updated_at": now, "last_activity_at": now}
    fields.update(columns)
    with session_scope(bot.engine) as session:
        for i in range(n):
            due = fields.get("due")
            row = {**fields, "due": due + dt.timedelta(days=i) if due else None}
            session.add(Commitment(what=f"item {i}", owner_id=owner, requester_id=requester, **row))


def lines(outgoing) -> list[str]:
    return [i.text for o in outgoing for i in o.reply.items]


def test_you_owe_does_not_crowd_out_owed_to_you(liaison, clock):
    ids = people(liaison)
    today = clock().date()
    add(liaison, ids["pat"], ids["lee"], 25, due=today + dt.timedelta(days=3))
    add(liaison, ids["lee"], ids["pat"], 3, due=today + dt.timedelta(days=3))
    shown = say(liaison, "pat", "commitments mine")
    text = lines(shown)
    size = section_size(2)
    assert "You owe (25)" in text and "Owed to you (3)" in text
    owed_to = text[text.index("Owed to you (3)") + 1 :]
    assert len(owed_to) == 3 and all("@lee for @pat" in line for line in owed_to)
    owe = text[1 : text.index("Owed to you (3)")]
    assert len(owe) == size + 1 and owe[-1].startswith(f"{size + 1}–{2 * size} of 25")
    assert "commitments mine page 2" in owe[-1]
    # Its button pages that section alone, on from where the first page stopped.
    following = lines(press(liaison, "pat", choice(shown, f"Next {size}")))
    assert following[0] == "You owe (25)"
    assert [line.split(" ")[2] for line in following[1 : size + 1]] == [
        f"{i}" for i in range(size, 2 * size)
    ]
    page3 = lines(say(liaison, "pat", "commitments mine page 4"))
    assert page3[0] == "You owe (25)" and page3[1].startswith("#") and " item 24 " in page3[1]
    assert len(page3) == 3  # the last of 25, its section's heading, and no more lines


def test_a_page_past_the_end_says_so(liaison, clock):
    ids = people(liaison)
    add(liaison, ids["pat"], ids["pat"], 2)
    out = say(liaison, "pat", "commitments mine page 3")
    assert out[0].reply.text == "Your open commitments: there is no page 3; 2 in all."


def test_stuck_counts_only_what_the_viewer_may_see(liaison, clock):
    ids = people(liaison)
    old = clock() - dt.timedelta(days=30)
    add(liaison, ids["pat"], ids["lee"], 30, last_activity_at=old)  # no unit: pat's and lee's
    add(liaison, ids["kim"], ids["lee"], 5, last_activity_at=old, unit_id="finance")
    size = section_size(1)
    admin = lines(say(liaison, "dana", "commitments stuck"))
    assert admin[-1].startswith(f"{size + 1}–35 of 35 next")
    liaison_sees = lines(say(liaison, "sam", "commitments stuck"))  # sam is finance's liaison
    assert len(liaison_sees) == 5 and all("@kim for @lee" in line for line in liaison_sees)
    kim = lines(say(liaison, "kim", "commitments stuck"))
    assert len(kim) == 5
    pat = lines(say(liaison, "pat", "commitments stuck"))
    assert pat[-1].startswith(f"{size + 1}–30 of 30 next")


def test_stuck_pages_agree_with_the_sweeps_reading_across_time_zones(liaison, clock, org):
    ids = people(liaison)
    now = clock()
    quiet = dt.timedelta(days=org.thresholds.stale_days)
    # Due dates around everyone's today (some zones are a day ahead or behind), quiet items
    # due near the end of the quiet week, and requests near the unanswered threshold.
    for days in range(-3, 4):
        due = now.date() + dt.timedelta(days=days)
        for owner in ("kim", "pat", "lee"):
            add(liaison, ids[owner], ids["sam"], 1, due=due, unit_id="parks")
            add(
                liaison,
                ids[owner],
                ids["sam"],
                1,
                due=due + quiet,
                last_activity_at=now - quiet * 2,
            )
    for hours in range(0, 24 * 8, 7):
        add(
            liaison,
            ids["kim"],
            ids["lee"],
            1,
            state="requested",
            last_activity_at=now - dt.timedelta(hours=hours),
        )
    with session_scope(liaison.engine) as session:
        everything = commitments.stuck(session, org, now)
        pages, offset = [], 0
        while True:
            page = commitments.stuck_page(session, org, now, limit=7, offset=offset)
            assert page.total == len(everything)
            if not page.items:
                break
            pages += [(row.id, page.reasons[row.id]) for row in page.items]
            offset += 7
        counts = commitments.stuck_counts(session, org, now)  # the metrics' gauge
    assert len(everything) > 20
    assert pages == [(row.id, why) for row, why in everything]
    assert counts == Counter(row.unit_id for row, _ in everything)


def shown_ids(outgoing) -> list[int]:
    return [int(m[1]) for line in lines(outgoing) if (m := re.match(r"#(\d+) ", line))]


def close(bot, item_id: int) -> None:
    with session_scope(bot.engine) as session:
        session.execute(update(Commitment).where(Commitment.id == item_id).values(state="accepted"))


def walk(bot, who: str, typed: str, owner: int | None = None) -> tuple[list[int], list[int]]:
    """Every page of a listing by its "Next" buttons, closing the first item of each page
    once it is shown (a promise kept while someone reads the list): the ids shown, in order,
    and the ids the first page's order had."""
    out = say(bot, who, typed)
    first_order = _all_open_in_order(bot, owner)
    seen: list[int] = []
    while True:
        page = shown_ids(out)
        assert page, lines(out)
        seen += page
        close(bot, page[0])
        try:
            button = choice(out, "Next")
        except AssertionError:
            return seen, first_order
        out = press(bot, who, button)


def _all_open_in_order(bot, owner: int | None) -> list[int]:
    with session_scope(bot.engine) as session:
        rows = session.exec(select(Commitment).where(Commitment.state == "promised")).all()
        rows = [c for c in rows if owner is None or c.owner_id == owner]
        return [c.id for c in sorted(rows, key=lambda c: (c.due is None, c.due, c.id))]


def test_next_pages_neither_repeat_nor_skip_when_items_close_meanwhile(liaison, clock):
    ids = people(liaison)
    old = clock() - dt.timedelta(days=30)
    # Stale items, dated (a few sharing a due date) and undated: a page crosses from one to
    # the other, and items close between the pages.
    add(liaison, ids["pat"], ids["lee"], 25, last_activity_at=old, due=old.date())
    add(liaison, ids["kim"], ids["lee"], 3, last_activity_at=old, due=old.date())
    add(liaison, ids["pat"], ids["lee"], 20, last_activity_at=old)
    seen, expected = walk(liaison, "dana", "commitments stuck")
    assert len(expected) == 48 and len(seen) > 2 * section_size(1)
    assert seen == expected  # every item once, in order, though one closed before each page
    mine, expected = walk(liaison, "pat", "commitments mine", ids["pat"])
    assert mine == expected and len(expected) == 48 - 3 - 3  # not kim's; three closed above


def test_a_next_button_with_a_mangled_place_pages_by_count(liaison, clock):
    ids = people(liaison)
    add(liaison, ids["pat"], ids["lee"], 20, due=clock().date())
    out = say(liaison, "pat", "commitments mine")
    button = choice(out, "Next")
    mangled = replace(button, value=button.value.replace('"k":"', '"k":"x'))
    assert shown_ids(press(liaison, "pat", mangled)) == shown_ids(press(liaison, "pat", button))


def test_counts_stop_past_a_thousand_and_say_so(liaison, clock):
    ids = people(liaison)
    now = clock()
    long_ago = (now - dt.timedelta(days=60)).date()
    add(liaison, ids["pat"], ids["lee"], 1001, due=long_ago - dt.timedelta(days=1001))
    # Due around today: overdue in some zones and not in others (judged one by one).
    add(liaison, ids["pat"], ids["lee"], 3, due=now.date() - dt.timedelta(days=1))
    stuck = lines(say(liaison, "dana", "commitments stuck"))
    assert stuck[-1].startswith(f"{section_size(1) + 1}–{2 * section_size(1)} of more than 1,000")
    assert all(line.endswith(" · overdue") for line in stuck[:-1])
    mine = lines(say(liaison, "pat", "commitments mine"))
    assert mine[0] == "You owe (more than 1,000)" and mine[-1] == "Owed to you (0)"


def test_stuck_costs_a_few_statements_at_any_size(engine, org, clock):
    from handlers.core import Liaison
    from handlers.playbooks import load_catalogue

    bot = Liaison(engine=engine, org=org, catalogue=load_catalogue(org), clock=clock)
    bot.sync()
    ids = people(bot)
    old = clock() - dt.timedelta(days=30)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def cost() -> int:
        statements.clear()
        out = say(bot, "dana", "commitments stuck")
        assert len(out[0].reply.items) == section_size(1) + 1
        return len(statements)

    add(bot, ids["pat"], ids["lee"], 30, last_activity_at=old, due=old.date())
    small = cost()
    with session_scope(bot.engine) as session:  # many people, each owing a few stuck items
        for i in range(300):
            session.add(Person(handle=f"p{i}", display_name=f"P {i}", timezone="Asia/Tokyo"))
    many = [p for h, p in people(bot).items() if h.startswith("p") and h[1:].isdigit()]
    for owner in many:
        add(bot, owner, ids["lee"], 3, last_activity_at=old, due=old.date() - dt.timedelta(days=1))
    assert cost() == small <= 12


def test_the_partial_indexes_and_the_queries_say_open_the_same_way() -> None:
    from pathlib import Path

    from storage.models import OPEN_SQL, OPEN_STATES

    states = ", ".join(f"'{state.value}'" for state in OPEN_STATES)
    assert f"state IN ({states})" == OPEN_SQL
    migration = Path(__file__).resolve().parents[2] / "storage" / "migrations" / "versions"
    for prefix in ("0008_", "0011l_"):  # the migrations that create partial indexes
        [found] = migration.glob(f"{prefix}*.py")
        assert f'OPEN_SQL = "{OPEN_SQL}"' in found.read_text(encoding="utf-8")
