"""Typed commands about commitments, the same in Slack (`/commitments ...`), Teams and the shell.

    mine | help | ? | @person | stuck | overdue | unit <name> | initiative <number> | cycle
    ask @person <what> [by <when>]
    <action> <commitment number> [by <when> | <note>]

The act words, their grammar and their help lines come from the act table
(handlers.protocol.ACT_TABLE); only the queries and `ask` are written here.

Keywords are case-insensitive. Mentions may be typed ("@pat") or come as Slack ("<@U123|pat>")
or Teams ("<at>Pat Lee</at>") markup; a channel should remove the bot's own mention first.
Dates are left as text (`due_text`) for `handlers.dates.parse_due`, so the caller decides what
"today" is.
"""

import dataclasses
import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from handlers.protocol import ACT_TABLE, ACTS, TYPED_ACTS

MAX_COMMAND_TEXT = 4000
MAX_COMMITMENT_ID = 2**63 - 1

_HELP_QUERIES = """\
Here's what you can type:

See commitments
  mine                    what you've promised, and what you're waiting for
  @pat                    Pat's commitments
  stuck                   items that are overdue, quiet, or nobody answered
  overdue                 only the overdue ones
  unit Finance            everything for one unit
  initiative 12           the commitments of initiative #12
  initiatives Finance     open initiatives (of a unit, or all you may see)
  initiative 12 owner @kim
                          change its title, date or owner (history kept)
  initiative 12 role security consulted @dana
                          give, change or take a RASCI role ('... role
                          security none' drops it; history kept)
  cycle                   your units' planning conversations (input cycles)
  calendar                a private calendar link with your due dates and cycles
  stuck page 2            the next page of a list (of mine, @pat, stuck...)
  dashboard               a sign-in link to the liaisons' dashboard
  report unit Finance     how well promises are kept (or: report @pat,
                          report it this quarter, report business last 6 months)

Ask someone to do something
  ask @pat send the floor plan by Friday

Answer or update commitment #12"""


def _help_line(example: str, meaning: str) -> str:
    return f"  {example:<23} {meaning}".rstrip()


HELP_TEXT = "\n".join(
    [
        _HELP_QUERIES,
        *(_help_line(*spec.help) for spec in ACT_TABLE),
        _help_line("help", "this list"),
    ]
)


def _short(example: str) -> str:
    """An act's help example up to its number: "new date 12 by Friday" -> "new date 12"."""
    return example[: example.index(" 12") + 3]


_ACT_FORMS = [_short(spec.help[0]) for spec in ACT_TABLE]
_FORMS = (
    "mine, @pat, stuck, overdue, unit Finance, initiative 12, cycle, "
    "ask @pat send the floor plan by Friday, "
    "or an action and a commitment number, like "
    f"{', '.join(_ACT_FORMS[:-1])} or {_ACT_FORMS[-1]}"
)

_ACTS = TYPED_ACTS  # every word a person may type for an act -> the act
ACT_NAMES: tuple[str, ...] = tuple(spec.name for spec in ACT_TABLE)

# Every pattern that sees chat text runs in linear time: no part of a mention may contain "<", so
# a scan never runs past the next tag, and thousands of unclosed tags cost one pass, not n².
_SLACK_USER = r"<@(?P<slack_id>[UW][A-Z0-9]+)(?:\|(?P<slack_name>[^<>]*))?>"
_TEAMS_AT = r"(?i:<at(?:\s[^<>]*)?>)(?P<teams_name>[^<]*)(?i:</at>)"
_TYPED = r"(?<![\w@<|])@(?P<typed>\w(?:[\w.\-]*\w)?)"
_MENTION_RE = re.compile(f"{_SLACK_USER}|{_TEAMS_AT}|{_TYPED}", re.DOTALL)
_SLACK_USER_RE = re.compile(_SLACK_USER)
_SLACK_SPECIAL_RE = re.compile(r"<!(?:here|channel|everyone|subteam\^[^<>]*)>")
_TEAMS_AT_RE = re.compile(_TEAMS_AT, re.DOTALL)
_LEADING_TYPED_RE = re.compile(r"^(?:\s*@\w[\w.\-]*[\s,:;]*)+")
_ME_RE = re.compile(r"(?i:me|myself)\b")  # "ask me to ...": the same words as people.ME_WORDS
_PAGED_RE = re.compile(r"(?:(?P<list>.*\S)\s+)?page\s+(?P<page>\d{1,7})", re.IGNORECASE)
_PAGED_SCOPES = frozenset({"mine", "person", "stuck", "overdue", "unit"})
_NOT_PEOPLE = frozenset({"here", "channel", "everyone"})


@dataclass(frozen=True)
class Mention:
    """A person named in a message, however the channel wrote them."""

    handle: str | None
    external_id: str | None
    display: str | None
    is_me: bool = False  # "me"/"myself": the person typing

    @staticmethod
    def me() -> "Mention":
        return Mention(None, None, "me", is_me=True)

    @property
    def label(self) -> str:
        """How to name the person back in a reply."""
        if self.display:
            return self.display
        if self.handle:
            return f"@{self.handle}"
        return f"<@{self.external_id}>"


@dataclass(frozen=True)
class Query:
    """Show commitments. `scope` is one of: mine, person, stuck, overdue, unit, initiative, cycle,
    report (`arg`: whose and when, as typed).

    `mention` is set for "person"; `arg` is the unit name for "unit" and the initiative number
    (as digits) for "initiative".
    """

    scope: str
    mention: Mention | None = None
    arg: str | None = None
    page: int = 1  # "stuck page 2": which page of each section of the list


@dataclass(frozen=True)
class Help:
    """Show the list of commands."""


@dataclass(frozen=True)
class Ask:
    """Request that someone does something, optionally by a date (`due_text`, unparsed)."""

    mention: Mention
    what: str
    due_text: str | None = None


@dataclass(frozen=True)
class Act:
    """Move commitment `commitment_id` along; `act` is one of `ACT_NAMES`."""

    commitment_id: int
    act: str
    due_text: str | None = None
    note: str | None = None


Command = Query | Help | Ask | Act


class CommandError(ValueError):
    """A command that could not be understood; str(err) is a friendly sentence for the person."""


def parse_mention(token: str) -> Mention | None:
    """Read one mention ("@pat", "<@U123|pat>", "<@U123>", "<at>Pat Lee</at>"), else None."""
    token = token.strip().rstrip(".,:;!?")
    match = _MENTION_RE.fullmatch(token)
    return _mention_from(match) if match else None


def find_mentions(text: str) -> list[Mention]:
    """Every person mentioned in `text`, in order, each once."""
    found: dict[Mention, None] = {}
    for match in _MENTION_RE.finditer(text):
        mention = _mention_from(match)
        if mention is not None:
            found.setdefault(mention)
    return list(found)


def replace_mentions(text: str, name: Callable[[Mention], str]) -> str:
    """`text` with each mention written as a channel's markup (Slack's `<@U123>`, Teams'
    `<at>Name</at>`) replaced by `name(mention)`; typed @handles are words already."""

    def replaced(match: re.Match[str]) -> str:
        mention = None if match["typed"] else _mention_from(match)
        return name(mention) if mention is not None else match[0]

    return _MENTION_RE.sub(replaced, text)


def strip_mentions(text: str) -> str:
    """The message without mentions of people, so that signal detection reads only the words.

    Removes Slack and Teams mention markup anywhere, and typed @handles at the start.
    """
    text = _SLACK_USER_RE.sub(" ", text)
    text = _SLACK_SPECIAL_RE.sub(" ", text)
    text = _TEAMS_AT_RE.sub(" ", text)
    text = _LEADING_TYPED_RE.sub("", text.lstrip(" \t,:;"))
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text.strip().lstrip(",:;").strip()


def parse_commitments_command(text: str) -> Command:
    """Turn what a person typed into one command, or raise `CommandError` saying what to type."""
    if not isinstance(text, str):
        raise CommandError("I couldn't read that command. Type 'help' to see what I can do.")
    if len(text) > MAX_COMMAND_TEXT:
        raise CommandError(
            f"That's too long for a command ({len(text)} characters). Commands are short, "
            "like 'done 12' or 'ask @pat send the floor plan by Friday'. Type 'help' for more."
        )
    line = " ".join(text.split())
    if (paged := _PAGED_RE.fullmatch(line)) is not None:
        found = parse_commitments_command(paged["list"] or "")
        if isinstance(found, Query) and found.scope in _PAGED_SCOPES:
            return dataclasses.replace(found, page=max(1, min(int(paged["page"]), 10**6)))
    head, _, rest = line.partition(" ")
    keyword = head.lower()

    if line.lower() in ("", "mine", "me", "my", "myself"):
        return Query("mine")
    if line.lower() in ("help", "?", "h"):
        return Help()
    if line.lower() in ("stuck", "overdue"):
        return Query(line.lower())
    if line.lower() in ("cycle", "cycles"):
        return Query("cycle")
    if line.lower() in ("calendar", "ical", "ics"):
        return Query("calendar")
    if line.lower() in ("dashboard", "board"):
        return Query("dashboard")
    if (mention := parse_mention(line)) is not None:
        return Query("person", mention)
    if keyword in ("unit", "units"):
        return _parse_unit(rest)
    if keyword in ("report", "reports", "figures"):
        return Query("report", arg=rest)
    if keyword == "initiatives" and _commitment_number(rest.partition(" ")[0]) is None:
        return Query("initiatives", arg=rest or None)
    if keyword in ("initiative", "initiatives"):
        return _parse_initiative(rest)
    if keyword == "ask":
        return _parse_ask(rest)
    two_words = " ".join(line.lower().split(" ")[:2])
    if two_words in _ACTS:
        return _parse_act(_ACTS[two_words], line.split(" ", 2)[2:], two_words)
    if keyword in _ACTS:
        return _parse_act(_ACTS[keyword], [rest] if rest else [], keyword)
    if _commitment_number(head) is not None and (act_words := _leading_act(rest)):
        raise CommandError(
            f"Put the action first, then the commitment number, like '{act_words} {head}'."
        )
    raise CommandError(f"I didn't understand '{_shorten(line)}'. You can type {_FORMS}.")


# --- the forms -------------------------------------------------------------------------------


def _parse_unit(rest: str) -> Query:
    if not rest:
        raise CommandError("Which unit? Add its name, like 'unit Finance'.")
    return Query("unit", arg=rest)


def _parse_initiative(rest: str) -> Query:
    first, _, change = rest.partition(" ")
    if change.strip() and _commitment_number(first) is not None:
        return Query("initiative_edit", arg=rest)  # "initiative 3 owner @kim"
    number = _commitment_number(rest)
    if number is None:
        raise CommandError(
            "Which initiative? Add its number, like 'initiative 12'."
            if not rest
            else f"'{_shorten(rest)}' isn't an initiative number. Try 'initiative 12'."
        )
    return Query("initiative", arg=str(number))


def _parse_ask(rest: str) -> Ask:
    match = _MENTION_RE.match(rest) or _ME_RE.match(rest)
    mention = _mention_from(match) if match else None
    if match is None or mention is None:
        raise CommandError(
            "Who should I ask? Start with their @name, like "
            "'ask @pat send the floor plan by Friday'."
        )
    request = rest[match.end() :].strip()
    due_text = None
    if by := re.fullmatch(r"(?P<what>.*)\sby\s+(?P<due>\S.*)", " " + request, re.I | re.S):
        request, due_text = by["what"].strip(), by["due"].strip()
    elif re.fullmatch(r"(?:.*\s)?by", request, re.I | re.S):
        raise CommandError(
            "It looks like the date is missing after 'by'. "
            f"Try 'ask {mention.label} {request[:-2].strip() or 'send the floor plan'} by Friday'."
        )
    what = re.sub(r"^to(?:\s+|$)", "", request, flags=re.I).strip()
    if not what:
        raise CommandError(
            f"What should {mention.label} do? "
            f"Try 'ask {mention.label} send the floor plan by Friday'."
        )
    return Ask(mention, what, due_text)


def _parse_act(act: str, after: list[str], typed: str) -> Act:
    """`after` holds the text after the action word(s), if any."""
    rest = after[0].strip() if after else ""
    number_text, _, tail = rest.partition(" ")
    number = _commitment_number(number_text)
    if number is None:
        which = (
            f"Which commitment? Add its number, like '{typed} 12'."
            if not number_text
            else f"'{_shorten(number_text)}' isn't a commitment number. Try '{typed} 12'."
        )
        raise CommandError(which)
    tail = tail.strip()
    spec = ACTS[act]
    due_text, note = None, None
    if spec.reads == "due_or_note":
        if by := re.fullmatch(r"by\s+(?P<due>\S.*)", tail, re.I | re.S):
            due_text = by["due"]
        else:
            note = tail or None
    elif spec.reads == "due":
        due_text = re.sub(r"^(?:by|to)(?:\s+|$)", "", tail, flags=re.I) or None
    elif spec.reads == "until":
        due_text = _snooze_until(tail, number)
    else:
        note = tail or None
    if spec.typed_missing and due_text is None and note is None:
        raise CommandError(spec.typed_missing.format(typed=typed, n=number))
    return Act(number, act, due_text, note)


def _leading_act(text: str) -> str | None:
    """The action word(s) that `text` starts with, as typed, if any."""
    words = text.split(" ")
    for count in (2, 1):
        typed = " ".join(words[:count])
        if len(words) >= count and typed.lower() in _ACTS:
            return typed
    return None


def _snooze_until(tail: str, number: int) -> str | None:
    """ "for 3 days" becomes "in 3 days"; "until Monday" becomes "Monday"; nothing stays None."""
    if not tail:
        return None
    if match := re.fullmatch(r"for\s+(?P<span>\S.*)", tail, re.I | re.S):
        return f"in {match['span']}"
    if match := re.fullmatch(r"(?:until|till|til|to|by)\s+(?P<when>\S.*)", tail, re.I | re.S):
        return match["when"]
    if re.fullmatch(r"for|until|till|til|to|by", tail, re.I):
        raise CommandError(
            f"For how long? Try 'snooze {number} for 3 days' or 'snooze {number} until Monday'."
        )
    return tail


def _commitment_number(token: str) -> int | None:
    token = token.strip().rstrip(".,:;!?")
    if not re.fullmatch(r"#?[0-9]{1,19}", token):
        return None
    number = int(token.lstrip("#"))
    return number if 1 <= number <= MAX_COMMITMENT_ID else None


def _mention_from(match: re.Match[str]) -> Mention | None:
    if match.re is _ME_RE:
        return Mention.me()
    if match["slack_id"]:
        handle = (match["slack_name"] or "").strip().lstrip("@").strip() or None
        return Mention(handle=handle, external_id=match["slack_id"], display=None)
    if match["typed"]:
        if match["typed"].lower() in _NOT_PEOPLE:
            return None
        return Mention(handle=match["typed"], external_id=None, display=None)
    display = " ".join(html.unescape(match["teams_name"] or "").split())
    return Mention(handle=None, external_id=None, display=display) if display else None


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
