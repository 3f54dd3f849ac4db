"""Slack's escaping is undone once on the way in and done once on the way out."""

from __future__ import annotations

import pytest

from bot.channels.slack.blockkit import escape
from bot.channels.slack.text import SLACK_TEXT_LIMIT, readable_text


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("a new CRM for R&amp;D", "a new CRM for R&D"),
        ("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"),
        ("&amp;lt; stays what was typed", "&lt; stays what was typed"),
        ("ask <@U0SAM> for the plan", "ask <@U0SAM> for the plan"),
        ("ask <@U0SAM|sam> now", "ask <@U0SAM> now"),
        ("in <#C0PARKS|parks> today", "in #parks today"),
        ("in <#C0PARKS> today", "in #C0PARKS today"),
        (
            "see <https://x.example/a?b=1&amp;c=2|the plan>",
            "see the plan (https://x.example/a?b=1&c=2)",
        ),
        ("see <https://x.example>", "see https://x.example"),
        ("mail <mailto:pat@x.example|pat@x.example>", "mail pat@x.example"),
        ("<!here> the move", "@here the move"),
        ("<!subteam^S0IT|@it-team> help", "@it-team help"),
        ("<!date^1392734382^{date}|Feb 18th> call", "Feb 18th call"),
        ("unclosed <@U1 and &amp", "unclosed <@U1 and &amp"),
    ],
)
def test_slack_text_is_unescaped_once_and_its_markup_read(sent: str, read: str) -> None:
    assert readable_text(sent) == read


def test_slack_text_is_cut_to_slacks_limit_before_anything_reads_it() -> None:
    assert len(readable_text("&amp;" * SLACK_TEXT_LIMIT)) == SLACK_TEXT_LIMIT // len("&amp;")
    assert len(readable_text("a" * (SLACK_TEXT_LIMIT + 5))) == SLACK_TEXT_LIMIT


def test_what_a_person_typed_comes_back_as_they_typed_it() -> None:
    typed = "R&D <budget> & more > less"
    assert readable_text(escape(typed)) == typed
    assert escape(readable_text("R&amp;D")) == "R&amp;D"  # escaped once, not twice
