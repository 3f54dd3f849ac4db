"""The work after Slack's acknowledgements waits in a bounded backlog
(bot/channels/slack/backlog.py). When it is full, nothing is dropped silently: a message event
is kept in the spool and handled again later, and a command is answered, privately, "try
again in a minute"; both are logged and counted. Through the real server and a fake Slack."""

from __future__ import annotations

from collections import Counter

from bot.channels.slack.backlog import BUSY
from tests.e2e.test_slack import TOKEN, USERS, serve
from tests.e2e.test_spool import SIGNALS, offers, send_signals, until
from tests.fakes import FakeSlack
from tests.fakes import slack_requests as sr


async def metrics_of(srv) -> str:
    async with srv.http.get(f"{srv.base}/metrics") as response:
        return await response.text()


async def test_signals_past_the_bound_are_spooled_then_offered_once(tmp_path) -> None:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as srv,
    ):
        backlog, spool = srv.app.slack.backlog, srv.app.spool
        backlog.limit = 0  # full: every job overflows
        sent = await send_signals(srv)  # each acknowledged (200)
        await until(lambda: spool.waiting() == len(SIGNALS))
        assert offers(fake) == Counter() and len(backlog.jobs) == 0
        assert 'outcome="spooled"} 5.0' in await metrics_of(srv)
        backlog.limit = 1000
        assert await spool.drain() == len(SIGNALS)
        await until(lambda: set(offers(fake)) == sent)
        assert max(offers(fake).values()) == 1


async def test_a_command_past_the_bound_is_told_to_try_again(tmp_path) -> None:
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as srv,
    ):
        srv.app.slack.backlog.limit = 0
        assert (await srv.slash("mine"))[0] == 200
        (answer,) = await fake.wait_for("response_url")
        assert answer.payload["text"] == BUSY and answer.payload["response_type"] == "ephemeral"
        assert 'liaison_spool_events_total{channel="slack",outcome="shed"} 1.0' in (
            await metrics_of(srv)
        )
        srv.app.slack.backlog.limit = 1000
        assert (await srv.slash("mine", key="again"))[0] == 200
        answers = await fake.wait_for("response_url", count=2)
        assert answers[1].payload["text"] != BUSY  # with room, the command is answered


async def test_chatter_with_the_backlog_full_is_read_first_and_kept_nowhere(tmp_path) -> None:
    """Past the bound, a plain channel message is read before its acknowledgement (as before
    the backlog): chatter is answered 200 and leaves no trace, a signal goes to the spool."""
    async with (
        FakeSlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, tmp_path / "liaison.db") as srv,
    ):
        srv.app.slack.backlog.limit = 0
        chatter = sr.message_event("lunch at noon anyone? the usual place")
        assert (await srv.event(chatter))[0] == 200
        signal = sr.message_event(SIGNALS[0])
        assert (await srv.event(signal))[0] == 200
        await until(lambda: srv.app.spool.waiting() == 1)
        kept = srv.app.spool.path.read_text(encoding="utf-8")
        assert signal["ts"] in kept and chatter["ts"] not in kept
        assert offers(fake) == Counter()
