import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.commands import (
    ACT_NAMES,
    HELP_TEXT,
    Act,
    Ask,
    CommandError,
    Help,
    Mention,
    Query,
    find_mentions,
    parse_commitments_command,
    parse_mention,
    strip_mentions,
)

PAT = Mention(handle="pat", external_id=None, display=None)
PAT_SLACK = Mention(handle="pat", external_id="U123", display=None)


# --- mentions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("@pat", PAT),
        ("@pat,", PAT),
        ("@pat.lee", Mention("pat.lee", None, None)),
        ("<@U123|pat>", PAT_SLACK),
        ("<@U123>", Mention(None, "U123", None)),
        ("<@W42ABC>", Mention(None, "W42ABC", None)),
        ("<at>Pat Lee</at>", Mention(None, None, "Pat Lee")),
        ('<at id="0">Lee &amp; Co</at>', Mention(None, None, "Lee & Co")),
    ],
)
def test_parse_mention(token: str, expected: Mention) -> None:
    assert parse_mention(token) == expected


@pytest.mark.parametrize(
    "token", ["pat", "@", "@here", "<@C123>", "<@u123>", "pat@example.com", "<at></at>", ""]
)
def test_parse_mention_refuses_what_is_not_a_person(token: str) -> None:
    assert parse_mention(token) is None


def test_find_mentions_in_order_each_once() -> None:
    text = "hi <@U123|pat>, @sam and <at>Lee Chen</at>; mail pat@example.com cc @sam <@W9>"
    assert find_mentions(text) == [
        PAT_SLACK,
        Mention("sam", None, None),
        Mention(None, None, "Lee Chen"),
        Mention(None, "W9", None),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U0BOT> we're buying Zoom", "we're buying Zoom"),
        ("<at>Liaison Bot</at> we're hiring 10 interns", "we're hiring 10 interns"),
        ("@bot, @pat: we're moving to floor 3", "we're moving to floor 3"),
        ("<!here> launch on <@U1|pat>'s date", "launch on 's date"),
        ("we asked @pat about it", "we asked @pat about it"),
    ],
)
def test_strip_mentions(text: str, expected: str) -> None:
    assert strip_mentions(text) == expected


def test_mention_label() -> None:
    assert PAT.label == "@pat"
    assert Mention(None, None, "Pat Lee").label == "Pat Lee"
    assert Mention(None, "U1", None).label == "<@U1>"


# --- queries and help --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Query("mine")),
        ("   ", Query("mine")),
        ("mine", Query("mine")),
        ("MINE", Query("mine")),
        ("help", Help()),
        ("?", Help()),
        ("@pat", Query("person", PAT)),
        ("<@U123|pat>", Query("person", PAT_SLACK)),
        ("<at>Pat Lee</at>", Query("person", Mention(None, None, "Pat Lee"))),
        ("stuck", Query("stuck")),
        (" Overdue ", Query("overdue")),
        ("unit Parks and  Recreation", Query("unit", arg="Parks and Recreation")),
        ("initiative 12", Query("initiative", arg="12")),
        ("initiative #12", Query("initiative", arg="12")),
        ("cycle", Query("cycle")),
        ("Cycles", Query("cycle")),
    ],
)
def test_queries(text: str, expected: Query | Help) -> None:
    assert parse_commitments_command(text) == expected


# --- asking ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ask @pat send the floor plan by Friday",
            Ask(PAT, "send the floor plan", "Friday"),
        ),
        (
            "ask @pat sign off by the board by Friday",
            Ask(PAT, "sign off by the board", "Friday"),
        ),
        ("ask @pat to send the floor plan", Ask(PAT, "send the floor plan", None)),
        ("ASK <@U123|pat> To order laptops BY March 1", Ask(PAT_SLACK, "order laptops", "March 1")),
        (
            "ask <at>Pat Lee</at> book the room by tomorrow",
            Ask(Mention(None, None, "Pat Lee"), "book the room", "tomorrow"),
        ),
        ("ask @pat check standby power", Ask(PAT, "check standby power", None)),
        ("ask myself to book the room", Ask(Mention.me(), "book the room", None)),
        ("ask Me book the room by Friday", Ask(Mention.me(), "book the room", "Friday")),
    ],
)
def test_ask(text: str, expected: Ask) -> None:
    assert parse_commitments_command(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ask", "Who should I ask?"),
        ("ask pat to send it", "Who should I ask?"),
        ("ask @pat", "What should @pat do?"),
        ("ask @pat to", "What should @pat do?"),
        ("ask @pat by Friday", "What should @pat do?"),
        ("ask @pat send it by", "the date is missing after 'by'"),
    ],
)
def test_ask_errors(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_commitments_command(text)


# --- acting on a commitment --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("promise 12", Act(12, "promise")),
        ("yes 12", Act(12, "promise")),
        ("commit #12 by Friday", Act(12, "promise", due_text="Friday")),
        ("decline 12", Act(12, "decline")),
        ("no 12 we don't own the printers", Act(12, "decline", note="we don't own the printers")),
        ("counter 12 by March 1", Act(12, "counter", due_text="March 1")),
        ("counter 12 laptops only", Act(12, "counter", note="laptops only")),
        ("done 12", Act(12, "report_done")),
        ("Finished 12.", Act(12, "report_done")),
        ("complete 12 see the shared folder", Act(12, "report_done", note="see the shared folder")),
        ("accept 12", Act(12, "accept")),
        ("reject 12 the link is broken", Act(12, "reject", note="the link is broken")),
        ("cancel 12", Act(12, "cancel")),
        ("release 12", Act(12, "release")),
        ("newdate 12 by Friday", Act(12, "new_date", due_text="Friday")),
        ("new-date 12 Friday", Act(12, "new_date", due_text="Friday")),
        ("new date 12 by Friday", Act(12, "new_date", due_text="Friday")),
        ("reschedule 12 to March 1", Act(12, "new_date", due_text="March 1")),
        ("blocked 12 waiting for the vendor", Act(12, "blocked", note="waiting for the vendor")),
        ("snooze 12", Act(12, "snooze")),
        ("snooze 12 for 3 days", Act(12, "snooze", due_text="in 3 days")),
        ("snooze 12 until Monday", Act(12, "snooze", due_text="Monday")),
        ("snooze 12 tomorrow", Act(12, "snooze", due_text="tomorrow")),
        ("notmine 12", Act(12, "not_mine")),
        ("not-mine 12", Act(12, "not_mine")),
        ("Not Mine 12 ask @sam", Act(12, "not_mine", note="ask @sam")),
        ("note 4 waiting on facilities", Act(4, "note", note="waiting on facilities")),
    ],
)
def test_acts(text: str, expected: Act) -> None:
    assert parse_commitments_command(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("done", r"Which commitment\? Add its number, like 'done 12'\."),
        ("done twelve", r"'twelve' isn't a commitment number\. Try 'done 12'\."),
        ("done 0", r"'0' isn't a commitment number"),
        ("counter 12", r"What would you offer instead\?"),
        ("new date 12", r"What's the new date\? Try 'new date 12 by Friday'\."),
        ("reschedule 12 by", r"What's the new date\?"),
        ("blocked 12", r"What's blocking it\?"),
        ("note 12", r"What's the note\? Add a few words, like 'note 12 waiting on facilities'\."),
        ("snooze 12 for", r"For how long\?"),
        ("12 done", r"Put the action first, then the commitment number, like 'done 12'\."),
        ("12 not mine", r"like 'not mine 12'"),
        ("unit", r"Which unit\?"),
        ("initiative", r"Which initiative\?"),
        ("initiative payroll", r"'payroll' isn't an initiative number"),
    ],
)
def test_act_and_query_errors(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_commitments_command(text)


def test_unknown_commands_name_the_text_and_list_the_forms() -> None:
    with pytest.raises(CommandError) as err:
        parse_commitments_command("frobnicate 12")
    message = str(err.value)
    assert message.startswith("I didn't understand 'frobnicate 12'. You can type mine, @pat")
    for form in ("stuck", "unit Finance", "ask @pat", "done 12", "new date 12", "not mine 12"):
        assert form in message


def test_very_long_commands_are_refused() -> None:
    with pytest.raises(CommandError, match=r"too long for a command \(4001 characters\)"):
        parse_commitments_command("done 12 " + "x" * 3993)


def test_help_text_lists_every_form() -> None:
    for example in (
        "mine",
        "@pat",
        "stuck",
        "overdue",
        "unit Finance",
        "initiative 12",
        "cycle",
        "ask @pat send the floor plan by Friday",
        "yes 12",
        "no 12",
        "counter 12 by",
        "done 12",
        "accept 12",
        "reject 12",
        "new date 12 by Friday",
        "blocked 12",
        "snooze 12 for 3 days",
        "not mine 12",
        "cancel 12",
        "release 12",
        "help",
    ):
        assert example in HELP_TEXT
    for example_line in HELP_TEXT.splitlines():
        assert len(example_line) <= 80


def test_act_names_are_the_canonical_ones() -> None:
    assert set(ACT_NAMES) == {
        "promise",
        "decline",
        "counter",
        "report_done",
        "accept",
        "reject",
        "cancel",
        "release",
        "new_date",
        "blocked",
        "snooze",
        "not_mine",
        "note",
    }


# --- properties --------------------------------------------------------------------------------

COMMAND_WORDS = [
    "ask", "@pat", "<@U1|pat>", "<at>Pat</at>", "<@", ">", "by", "to", "for", "until", "done",
    "new", "date", "not", "mine", "help", "unit", "initiative", "#", "#12", "12", "0", "-1",
    "99999999999999999999", "snooze", "counter", "blocked", "yes", "no", "cycle", "stuck", "?",
]  # fmt: skip

command_like_text = st.lists(st.sampled_from(COMMAND_WORDS), max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), command_like_text))
def test_parse_commitments_command_only_raises_command_error(text: str) -> None:
    try:
        result = parse_commitments_command(text)
    except CommandError as err:
        assert str(err)
    else:
        assert isinstance(result, Query | Help | Ask | Act)


slack_ids = st.from_regex(r"[UW][A-Z0-9]{2,12}", fullmatch=True)
handles = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(external_id=slack_ids, handle=handles)
def test_slack_mentions_round_trip(external_id: str, handle: str) -> None:
    mention = parse_mention(f"<@{external_id}|{handle}>")
    assert mention == Mention(handle=handle, external_id=external_id, display=None)
    assert parse_commitments_command(f"ask <@{external_id}|{handle}> call me") == Ask(
        mention, "call me"
    )


TYPED_ACTS = {
    "promise": "",
    "yes": "",
    "decline": "",
    "counter": " by Friday",
    "done": "",
    "accept": "",
    "reject": "",
    "cancel": "",
    "release": "",
    "new date": " by Friday",
    "blocked": " waiting for the vendor",
    "snooze": "",
    "not mine": "",
}


@settings(max_examples=100, deadline=None)
@given(
    number=st.integers(min_value=1, max_value=2**63 - 1),
    typed=st.sampled_from(sorted(TYPED_ACTS)),
    hash_sign=st.booleans(),
)
def test_act_ids_round_trip(number: int, typed: str, hash_sign: bool) -> None:
    text = f"{typed} {'#' if hash_sign else ''}{number}{TYPED_ACTS[typed]}"
    act = parse_commitments_command(text)
    assert isinstance(act, Act)
    assert act.commitment_id == number
    assert act.act in ACT_NAMES


def test_mentions_written_as_markup_are_replaced_by_a_name_and_typed_ones_kept():
    from handlers.commands import replace_mentions

    def name(mention):
        return f"@{mention.handle or mention.external_id or mention.display}"

    text = "brief <@U0KIM> and <@U0SAM|sam> with <at>Pat Lee</at>, cc @lee"
    assert replace_mentions(text, name) == "brief @U0KIM and @sam with @Pat Lee, cc @lee"
    assert replace_mentions("unclosed <@U1 and <at>x", name) == "unclosed <@U1 and <at>x"
