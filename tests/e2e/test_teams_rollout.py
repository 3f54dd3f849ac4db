# ruff: noqa: F811  (the fixtures imported from test_teams are used as arguments)
"""Teams as its admins expect it, against the fake connector behaving as the real one: cards
that stay true for everyone, messages within the size limit, people reached who never talked
to the bot, and an uninstall that stops every send there without an error loop.

The bot and its fixtures are test_teams.py's: bootstrap on SQLite, the Teams route on
127.0.0.1, a fake connector that records every call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import time
import tomllib
import zipfile

import pytest
from sqlmodel import select

from bot.channels.interactions import COULD_NOT_SAVE
from bot.channels.teams import TeamsOutbox
from bot.channels.teams.cards import render_cards
from bot.channels.teams.reach import Unreachable
from handlers import commitments
from handlers.messages import Choice, Item, Reply
from handlers.people import by_handle
from schedules.outbox import DeliveryError
from schedules.sweep import Sweeper
from storage.db import make_engine, session_scope
from storage.models import Address, Person
from tests.conftest import EXAMPLE_CONFIG, ROOT
from tests.e2e.test_durable_acts import AWAY
from tests.e2e.test_teams import (  # noqa: F401  (fixtures)
    APP_ID,
    RunningBot,
    bot,
    connector,
    settings,
)
from tests.fakes.teams_connector import (
    CARD_TYPE,
    CHANNEL_ID,
    KIM,
    PAT,
    SAM,
    TENANT,
    FakeConnector,
    card_actions,
    card_invoke,
    card_text,
    channel_message,
    click,
    installation_update,
    personal_conversation,
    personal_message,
)

LIMIT = 28 * 1024


def wire_size(body: dict) -> int:
    return len(json.dumps(body, separators=(",", ":")).encode("utf-8"))


def digest(count: int) -> Reply:
    """A digest as the sweeps write it: one line per stuck item, with its owner's buttons."""
    items = tuple(
        Item(
            f"#{n} Send the badge list for the Elm Street move, floor {n} — @pat for @kim · "
            f"due Fri 4 Dec · overdue",
            (
                Choice.of("Done", "commitment.report_done", id=n),
                Choice.of("New date", "commitment.new_date", id=n),
                Choice.of("Blocked", "commitment.blocked", id=n),
                Choice.of("Drop", "commitment.cancel", id=n),
            ),
        )
        for n in range(1, count + 1)
    )
    return Reply(f"Good morning! {count} commitments could use a nudge.", items=items)


def teams_address(bot: RunningBot, user) -> Address | None:
    with bot.session() as session:
        return session.exec(select(Address).where(Address.external_id == user.aad)).first()


async def say_hello(bot: RunningBot, connector: FakeConnector, user) -> Address:
    """The person talks to the bot once, so it knows their 1:1 chat."""
    await bot.post(personal_message(connector.service_url, user, "hello"))
    await connector.wait_for(lambda c: c.messages(personal_conversation(user)))
    connector.calls.clear()
    return teams_address(bot, user)


def items_shown(calls) -> set[int]:
    """Which digest items (#n) the messages show."""
    found = set()
    for call in calls:
        for line in call.text.splitlines() + call.text.split("\n\n"):
            if line.startswith("#") and " Send the badge list" in line:
                found.add(int(line[1:].split()[0]))
    return found


# Size


def test_every_part_of_a_long_digest_is_a_card_within_the_limit():
    cards = render_cards(digest(80))

    assert len(cards) >= 4
    assert all(wire_size(card) < 26 * 1024 for card in cards)
    texts = [card_text(card) for card in cards]
    assert sum(text.count("Send the badge list") for text in texts) == 80
    assert "Good morning! 80 commitments" in texts[0]
    assert "…continued: items" in texts[1]
    assert not any("more." in text for text in texts)  # nothing cut: every item has a part
    for card in cards:  # a client that cannot draw the card still reads something
        assert card["fallbackText"].strip()
        for action in card_actions(card):  # and clients before 1.4 get Action.Submit
            assert action["fallback"] == {
                "type": "Action.Submit",
                "title": action["title"],
                "data": action["data"],
            }


async def test_a_digest_of_80_stuck_items_reaches_teams_in_parts_each_under_28_kb(bot, connector):
    address = await say_hello(bot, connector, PAT)

    await TeamsOutbox(bot.teams).send(address, digest(80))

    parts = connector.messages(personal_conversation(PAT))
    assert len(parts) >= 4 and not connector.of("send", ok=False)
    assert all(wire_size(part.body) < LIMIT for part in parts)
    assert items_shown(parts) == set(range(1, 81))


async def test_a_digest_whose_later_part_failed_resends_only_the_missing_parts(bot, connector):
    """The sweeps send a long digest in parts; Teams takes two and then fails. The parts
    delivered are recorded in the ledger, and the next sweep sends only the others: every item
    arrives, and none twice."""
    address = await say_hello(bot, connector, PAT)
    bot.app.liaison.defer(address.person_id, digest(80), "kept for the sweeps")
    sweeper = Sweeper(bot.app.engine, bot.app.org, {"teams": TeamsOutbox(bot.teams)})
    connector.fail_next(50, 502, kinds=("send",), after=2)

    first = [line for line in await sweeper.run() if line.handle == "pat"]

    assert [(line.kind, line.status) for line in first] == [("deferred", "failed")]
    delivered = connector.messages(personal_conversation(PAT))
    assert len(delivered) == 2 and connector.of("send", ok=False)
    shown_first = items_shown(delivered)
    assert shown_first and min(shown_first) == 1 and max(shown_first) < 80
    connector.clear_failures()
    connector.calls.clear()
    while bot.teams.breaker.remaining() > 0:  # the next sweep comes after Teams' back-off
        await asyncio.sleep(0.05)

    again = [line for line in await sweeper.run() if line.handle == "pat"]

    assert [(line.kind, line.status) for line in again] == [("deferred", "sent")]
    resent = connector.messages(personal_conversation(PAT))
    assert len(resent) >= 2 and not connector.of("send", ok=False)
    assert items_shown(resent).isdisjoint(shown_first)  # nothing delivered twice
    assert items_shown(resent) | shown_first == set(range(1, 81))
    assert [line for line in await sweeper.run() if line.handle == "pat"] == []  # done


async def test_a_part_teams_still_finds_too_large_is_split_and_never_sent_again_as_it_was(
    bot, connector
):
    address = await say_hello(bot, connector, PAT)
    connector.size_limit = 12 * 1024  # a stricter connector than the bot's budget assumes

    await TeamsOutbox(bot.teams).send(address, digest(40))

    refused = connector.of("send", ok=False)
    assert refused and {c.status for c in refused} == {413}
    sent = [json.dumps(c.body, sort_keys=True) for c in connector.calls]
    for call in refused:  # each refused payload was sent exactly once, never retried as it was
        assert sent.count(json.dumps(call.body, sort_keys=True)) == 1
    delivered = connector.messages(personal_conversation(PAT))
    assert all(wire_size(c.body) <= 12 * 1024 for c in delivered)
    assert items_shown(delivered) == set(range(1, 41))


# Cards that stay true for everyone


async def test_a_button_pressed_in_a_channel_updates_the_card_once_for_everyone_in_time(
    bot, connector
):
    post = channel_message(connector.service_url, KIM, "we're buying a new CRM for Parks")
    await bot.post(post)
    [offer] = connector.messages()
    assert {a["title"] for a in card_actions(offer.card)} >= {"Not now", "Plan it with IT"}
    verb, data = click(offer.card, "Not now")
    conversation = dict(post["conversation"])

    started = time.monotonic()
    status, body = await bot.post(
        card_invoke(
            connector.service_url,
            KIM,
            verb,
            data,
            reply_to_id=offer.response["id"],
            conversation=conversation,
        )
    )
    took = time.monotonic() - started

    assert status == 200 and body["type"] == CARD_TYPE
    assert took < 5.0  # Teams' invoke budget, update included
    [update] = connector.of("update", ok=None)
    assert update.ok and update.activity_id == offer.response["id"]
    assert update.conversation_id == conversation["id"]
    assert update.card == body["value"]  # everyone sees what the presser sees
    titles = {a["title"] for a in card_actions(update.card)}
    assert not titles & {"Not now", "Plan it with IT", "IT isn't needed"}  # no live buttons left
    assert connector.activities[offer.response["id"]]["attachments"][0]["content"] == update.card


async def press_not_now_while_the_database_is_away(bot, connector) -> tuple[int, dict]:
    """An offer in a channel, and "Not now" pressed on it while the database cannot be reached."""
    post = channel_message(connector.service_url, KIM, "we're buying a new CRM for Parks")
    await bot.post(post)
    [offer] = connector.messages()
    verb, data = click(offer.card, "Not now")
    core = bot.app.liaison
    real, core.engine = core.engine, make_engine(AWAY)
    try:
        status, body = await bot.post(
            card_invoke(
                connector.service_url,
                KIM,
                verb,
                data,
                reply_to_id=offer.response["id"],
                conversation=dict(post["conversation"]),
            )
        )
    finally:
        core.engine.dispose()
        core.engine = real
    return status, body


async def test_a_press_the_database_could_not_take_changes_no_one_elses_card(bot, connector):
    """ "Couldn't save, try again" is the presser's answer: the card everyone else sees keeps
    its live buttons, so someone can press again once the database is back."""
    status, body = await press_not_now_while_the_database_is_away(bot, connector)
    assert status == 200 and COULD_NOT_SAVE in json.dumps(body)
    assert connector.of("update", ok=None) == []


async def test_a_refused_press_is_told_apart_by_its_kind_not_its_sentence(
    bot, connector, monkeypatch
) -> None:
    """The refusal is a reply kind: reworded (or translated), it still leaves everyone
    else's card with its live buttons."""
    import bot.channels.interactions as interactions

    reworded = "The database is resting; press again in a minute. Nothing changed."
    monkeypatch.setattr(interactions, "COULD_NOT_SAVE", reworded)
    status, body = await press_not_now_while_the_database_is_away(bot, connector)
    assert status == 200 and reworded in json.dumps(body)
    assert COULD_NOT_SAVE not in json.dumps(body)
    assert connector.of("update", ok=None) == []


async def test_a_button_that_only_opens_a_form_changes_the_card_for_the_presser_alone(
    bot, connector
):
    post = channel_message(connector.service_url, KIM, "we're buying a new CRM for Parks")
    await bot.post(post)
    [offer] = connector.messages()
    verb, data = click(offer.card, "Plan it with IT")

    status, body = await bot.post(
        card_invoke(
            connector.service_url,
            KIM,
            verb,
            data,
            reply_to_id=offer.response["id"],
            conversation=dict(post["conversation"]),
        )
    )

    assert status == 200 and "Save" in {a["title"] for a in card_actions(body["value"])}
    assert connector.of("update", ok=None) == []  # the channel keeps the offer for the others


async def test_a_press_in_a_1on1_chat_needs_no_update(bot, connector):
    await bot.post(personal_message(connector.service_url, PAT, "We're moving buildings soon"))
    [offer] = connector.messages()
    verb, data = click(offer.card, "Not now")

    status, _ = await bot.post(
        card_invoke(connector.service_url, PAT, verb, data, reply_to_id=offer.response["id"])
    )

    assert status == 200 and connector.of("update", ok=None) == []


# Proactive reach


def add_config_only_person(bot: RunningBot, handle: str, user) -> None:
    """A person the organisation config names with their Azure AD object id only."""
    with bot.session() as session:
        person = session.exec(select(Person).where(Person.handle == handle)).one()
        session.add(Address(person_id=person.id, channel="teams", external_id=user.aad))
        session.commit()


async def test_someone_who_never_talked_to_the_bot_is_reached_in_a_new_1on1_chat(bot, connector):
    await say_hello(bot, connector, PAT)  # the bot knows the tenant's connector through Pat
    add_config_only_person(bot, "sam", SAM)

    await TeamsOutbox(bot.teams).send(teams_address(bot, SAM), Reply("Your digest is ready."))

    [created] = connector.of("create")
    assert created.body["members"] == [{"id": SAM.aad}]
    assert {k.lower(): v for k, v in created.body.items()}["tenantid"] == TENANT
    [sent] = connector.messages(connector.created[0])
    assert sent.text == "Your digest is ready."
    stored = json.loads(teams_address(bot, SAM).reference)
    assert stored["conversation"]["id"] == connector.created[0]  # opened once, then reused


async def test_the_asker_hears_when_someone_cannot_be_reached_on_teams(bot, connector):
    await say_hello(bot, connector, PAT)
    add_config_only_person(bot, "sam", SAM)
    connector.uninstall(SAM)  # Sam never installed the app: Teams refuses the 1:1 chat

    await bot.post(
        personal_message(
            connector.service_url, PAT, "commitments ask @sam to send the floor plan by Friday"
        )
    )

    told = await connector.wait_for(
        lambda c: [m for m in c.messages(personal_conversation(PAT)) if "can't reach" in m.text]
    )
    assert "@sam" in told[0].text and "other channels" in told[0].text
    assert [c.status for c in connector.of("create", ok=None)] == [403]
    assert teams_address(bot, SAM) is None  # not tried again there


# Uninstall


async def test_a_person_who_removed_the_app_is_forgotten_after_one_refusal(bot, connector):
    address = await say_hello(bot, connector, PAT)
    connector.uninstall(PAT)

    with pytest.raises(Unreachable):
        await TeamsOutbox(bot.teams).send(address, Reply("Your digest is ready."))
    assert teams_address(bot, PAT) is None
    assert issubclass(Unreachable, DeliveryError)  # the sweeps keep what was not delivered


async def test_a_person_who_left_the_organisation_is_forgotten_after_one_404(bot, connector):
    address = await say_hello(bot, connector, KIM)
    connector.remove_user(KIM)

    with pytest.raises(Unreachable):
        await TeamsOutbox(bot.teams).send(address, Reply("Your digest is ready."))
    assert [c.status for c in connector.of("send", ok=None)] == [404]
    assert teams_address(bot, KIM) is None


async def test_removing_the_app_forgets_the_conversation_reference(bot, connector):
    await say_hello(bot, connector, PAT)
    assert teams_address(bot, PAT).reference

    status, _ = await bot.post(installation_update(connector.service_url, PAT, "remove"))

    assert status < 300
    assert teams_address(bot, PAT) is None
    assert connector.messages() == []  # Teams would refuse anything sent now


async def test_removing_the_app_from_a_team_forgets_the_references_into_it(bot, connector):
    await bot.post(channel_message(connector.service_url, KIM, "we're buying a new CRM for Parks"))
    await bot.post(channel_message(connector.service_url, KIM, "commitments mine"))
    await bot.post(channel_message(connector.service_url, SAM, "hello"))
    sam = teams_address(bot, SAM)
    assert sam is not None and CHANNEL_ID in sam.reference

    status, _ = await bot.post(
        installation_update(connector.service_url, KIM, "remove", scope="team")
    )

    assert status < 300
    assert teams_address(bot, SAM).reference is None  # reached through a new 1:1 chat next
    assert CHANNEL_ID not in (teams_address(bot, KIM).reference or "")


async def test_after_an_uninstall_the_sweeps_fall_back_to_another_channel_without_a_loop(
    bot, connector
):
    await say_hello(bot, connector, PAT)
    now = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # Tuesday 9:30 in Chicago
    with session_scope(bot.app.engine) as session:
        for what in ("Send the badge list", "Book the movers"):
            commitments.create(
                session,
                requester=by_handle(session, "kim"),
                owner=by_handle(session, "pat"),
                what=what,
                due=now.date() - dt.timedelta(days=4),
                channel="teams",
                now=now - dt.timedelta(days=8),
            )
    connector.uninstall(PAT)
    shell_sent: list[tuple[int, str]] = []

    class ShellOutbox:
        channel = "shell"

        async def send(self, address: Address, reply: Reply) -> None:
            shell_sent.append((address.person_id, reply.text))

    outboxes = {"teams": TeamsOutbox(bot.teams), "shell": ShellOutbox()}
    sweeper = Sweeper(bot.app.engine, bot.app.org, outboxes, lambda: now)

    first = [line for line in await sweeper.run(now) if line.handle == "pat"]
    again = [
        line for line in await sweeper.run(now + dt.timedelta(minutes=5)) if line.handle == "pat"
    ]
    more = await sweeper.run(now + dt.timedelta(minutes=10))

    assert [(line.kind, line.channel, line.status) for line in first] == [
        ("digest", "teams", "failed")
    ]
    assert [(line.kind, line.channel, line.status) for line in again] == [
        ("digest", "shell", "sent")
    ]
    assert not [line for line in more if line.handle == "pat"]
    refused = connector.of("send", "create", ok=False)
    assert len(refused) == 1 and refused[0].status == 403  # one refusal, then no more tries
    assert len(shell_sent) == 1 and "nudge" in shell_sent[0][1]
    assert teams_address(bot, PAT) is None


# The app package


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def package(tmp_path, *args: str, env: dict[str, str] | None = None):
    """Run teams/package.py with the standard library alone (-I -S: no site-packages, no
    environment), as `make teams-package` does on a machine without the bot installed."""
    out = tmp_path / "teams-app.zip"
    script = str(ROOT / "teams" / "package.py")
    result = subprocess.run(
        [sys.executable, "-I", "-S", script, "--out", str(out), "--app-id", APP_ID, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env or {},
    )
    manifest = None
    if result.returncode == 0:
        with zipfile.ZipFile(out) as built:
            manifest = json.loads(built.read("manifest.json"))
    return result, manifest


def test_the_package_takes_names_links_and_version_from_the_config_and_arguments(tmp_path):
    config = tmp_path / "org.toml"
    config.write_text(
        "[teams_app]\n"
        'version = "2.3.4"\n'
        'developer_name = "Riverton IT"\n'
        'website_url = "https://it.riverton.test/liaison"\n'
        'privacy_url = "https://it.riverton.test/privacy"\n'
        'terms_url = "https://it.riverton.test/terms"\n'
        'short_name = "Riverton IT"\n',
        encoding="utf-8",
    )

    result, manifest = package(
        tmp_path, "--config", str(config), "--full-name", "Riverton IT Liaison", "--publish"
    )

    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    assert manifest["version"] == "2.3.4"
    assert manifest["developer"] == {
        "name": "Riverton IT",
        "websiteUrl": "https://it.riverton.test/liaison",
        "privacyUrl": "https://it.riverton.test/privacy",
        "termsOfUseUrl": "https://it.riverton.test/terms",
    }
    assert manifest["name"] == {"short": "Riverton IT", "full": "Riverton IT Liaison"}
    assert manifest["manifestVersion"] == "1.22"  # the current app manifest schema
    assert manifest["$schema"].endswith("/teams/v1.22/MicrosoftTeams.schema.json")
    # The organisation file with a [teams_app] table is still one the bot reads.
    from handlers.org import load_organisation

    (tmp_path / "full.toml").write_text(
        EXAMPLE_CONFIG.read_text(encoding="utf-8") + "\n" + config.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    load_organisation(str(tmp_path / "full.toml"))


def test_the_example_org_placeholders_warn_and_fail_a_package_for_publishing(tmp_path):
    result, manifest = package(tmp_path)

    assert result.returncode == 0, result.stderr
    assert "example.org placeholders remain" in result.stderr
    assert "privacyUrl" in result.stderr and "termsOfUseUrl" in result.stderr
    assert manifest["version"] == project_version()  # the bot's own, by default

    refused, _ = package(tmp_path, "--publish")
    assert refused.returncode == 2 and "example.org placeholders remain" in refused.stderr

    for args, complaint in (
        (("--privacy-url", "http://plain.test/privacy"), "https://"),
        (("--version", "1.0"), "major.minor.patch"),
        (("--short-name", "x" * 31), "at most 30"),
    ):
        bad, _ = package(tmp_path, *args)
        assert bad.returncode == 2 and complaint in bad.stderr, (args, bad.stderr)


def test_make_teams_package_needs_no_dev_install():
    result = subprocess.run(
        ["make", "-n", "teams-package", "ARGS=--app-id x", "VENV=/nonexistent-venv"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert "teams/package.py --app-id x" in result.stdout
    assert "pip" not in result.stdout and "/nonexistent-venv" not in result.stdout
