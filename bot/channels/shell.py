"""The terminal channel: talk to the bot with no Slack or Teams account.

Commands (everything else is a chat message):
  /as @name       speak as someone else (they are created if new)
  /in #channel    move to a channel ('/in dm' talks to the bot directly)
  /who            show who and where you are
  /tick [time]    run the scheduled sweeps now (or as of an ISO time, e.g. 2027-03-01T09:30)
  /help           this list
  /quit           leave (Ctrl-D works too)
A number picks one of the choices the bot last offered you. Messages the bot sends to other
people are shown as DMs; switch to them with /as to answer.
Piped input works: each line is echoed, so a transcript reads like a conversation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
import textwrap
import zoneinfo
from collections.abc import Iterable
from typing import TextIO

from bot.channels.interactions import MAX_ITEMS, read_json, submission
from handlers.core import Liaison
from handlers.messages import Action, Choice, Form, Inbound, Item, Outgoing, Reply, Sender
from schedules.sweep import Sweeper
from storage.models import Address

SHELL_HELP = __doc__.split("\n\n", 1)[1].split("A number", 1)[0].rstrip()
WIDTH = 100


class Shell:
    def __init__(
        self,
        core: Liaison,
        *,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        user: str | None = None,
        conversation: str = "dm",
        sweeper: Sweeper | None = None,
    ) -> None:
        self.core = core
        self.sweeper = sweeper
        self.forms: dict[str, Form] = {}
        self.filling: tuple[Form, int, dict[str, str]] | None = None
        self.stdin, self.stdout = stdin, stdout
        self.user = (user or _default_user(core)).lstrip("@").lower()
        self.conversation = conversation
        self.choices: dict[str, list[Choice]] = {}
        self.counter = 0
        self.interactive = stdin.isatty()
        self._numbered: set[str] = set()  # whose choices were numbered in this turn

    def run(self) -> None:
        self.say(
            f"IT Liaison Bot, terminal edition. You are @{self.user}, talking to the bot directly. "
            "Type /help for shell commands, 'help' for what the bot does."
        )
        for line in self._lines():
            if not self.interactive:
                self.stdout.write(f"@{self.user} ({self.where}): {line}\n")
            if line.strip() in ("/quit", "/exit"):
                break
            self.step(line)
        self.stdout.flush()

    @property
    def where(self) -> str:
        return "dm" if self.conversation == "dm" else f"#{self.conversation}"

    def _lines(self) -> Iterable[str]:
        while True:
            try:
                if self.interactive:
                    line = input(f"@{self.user} {self.where}> ")
                else:
                    line = self.stdin.readline()
                    if not line:
                        return
                    line = line.rstrip("\n")
            except EOFError:
                return
            except KeyboardInterrupt:
                self.stdout.write("\n")
                return
            yield line

    def step(self, line: str) -> None:
        """Handle one line: a shell command, a picked number, or a chat message."""
        self._numbered = set()
        stripped = line.strip()
        if self.filling is not None and not stripped.startswith("/"):
            return self._fill(stripped)
        if stripped.startswith("/tick"):
            return self._tick(stripped[5:].strip())
        if stripped.startswith("/as"):
            return self._switch_user(stripped[3:].strip())
        if stripped.startswith("/in"):
            target = stripped[3:].strip().lstrip("#").lower()
            if not target:
                return self.say("Where to? For example '/in #finance', or '/in dm'.")
            self.conversation = target
            return self.say(f"You're now in {self.where}.")
        if stripped == "/who":
            return self.say(f"You are @{self.user}, in {self.where}.")
        if stripped == "/help":
            return self.say(SHELL_HELP)
        if stripped.startswith("/") and stripped.split()[0] not in ("/commitments",):
            return self.say(f"I don't know the shell command {stripped.split()[0]}. Try /help.")
        action = None
        options = self.choices.get(self.user, [])
        # A number picks one of the choices shown; any other number is what was typed (40 to
        # "how many people?", where the only choice is [1] Skip).
        if stripped.isdigit() and 1 <= int(stripped) <= len(options):
            index = int(stripped) - 1
            action = Action(options[index].action, options[index].value)
            form = self.forms.get(self.user)
            if action.id.endswith(".open") and form is not None:
                self.filling = (form, 0, {})
                return self.say(f"{form.title}: {form.fields[0].label} (or 'skip')")
        self.counter += 1
        inbound = Inbound(
            sender=Sender("shell", self.user, name=self.user),
            conversation=self.conversation,
            text="" if action else line,
            action=action,
            message_id=f"shell-{self.counter}",
            link=None,
            is_direct=self.conversation == "dm",
        )
        for outgoing in self.core.handle(inbound):
            self.render(outgoing)

    def _fill(self, answer: str) -> None:
        """Answer a form one question at a time, then submit it like a modal would."""
        form, index, values = self.filling
        values[form.fields[index].key] = "" if answer.lower() == "skip" else answer
        if index + 1 < len(form.fields):
            self.filling = (form, index + 1, values)
            return self.say(f"{form.fields[index + 1].label} (or 'skip')")
        self.filling = None
        inbound = Inbound(
            sender=Sender("shell", self.user, name=self.user),
            conversation=self.conversation,
            action=submission(form.id, read_json(form.state), values),
            is_direct=self.conversation == "dm",
        )
        for outgoing in self.core.handle(inbound):
            self.render(outgoing)

    def _tick(self, when: str) -> None:
        if self.sweeper is None:
            return self.say("There is no scheduler here.")
        now = None
        if when:
            try:
                now = dt.datetime.fromisoformat(when)
            except ValueError:
                return self.say(f"I couldn't read '{when}' as a time. Try 2027-03-01T09:30.")
            if now.tzinfo is None:
                now = now.replace(tzinfo=zoneinfo.ZoneInfo(self.core.org.timezone))
        lines = asyncio.run(self.sweeper.run(now))
        if not lines:
            self.say("Swept: nothing is due right now.")

    def _switch_user(self, name: str) -> None:
        handle = name.lstrip("@").strip().lower()
        if not handle or " " in handle:
            return self.say("Who? For example '/as @pat'.")
        self.user = handle
        waiting = len(self.choices.get(handle, []))
        extra = f" You have {waiting} choices waiting; pick one by number." if waiting else ""
        self.say(f"You are now @{handle}.{extra}")

    def render(self, outgoing: Outgoing) -> None:
        reply: Reply = outgoing.reply
        if outgoing.to_person is not None:
            handle = self.core.handle_of(outgoing.to_person)
            header = f"bot → DM to @{handle}"
            owner = handle
        else:
            header = "bot (only you)" if reply.private and self.conversation != "dm" else "bot"
            owner = self.user
        # Choices shown in one turn are numbered on, so two offers don't share numbers; a new
        # turn's message replaces them, so a number typed at a question with no choices ("how
        # many people?" "40") is the answer, not an old choice.
        flat: list[Choice] = self.choices.get(owner, []) if owner in self._numbered else []
        lines, choices = render_text(reply, first=len(flat) + 1)
        lines[0] = f"{header}: {lines[0]}"
        self.choices[owner] = flat + choices
        self._numbered.add(owner)
        if reply.form is not None:
            self.forms[owner] = reply.form
        self.say("\n".join(lines), raw=True)

    def say(self, text: str, raw: bool = False) -> None:
        if not raw:
            text = "\n".join(textwrap.fill(p, WIDTH) for p in text.split("\n"))
        self.stdout.write(text + "\n")
        self.stdout.flush()


HEADING = re.compile(r"\*([^*\n]+)\*(.*)")  # the core's older markup for a heading
STRUCK = re.compile(r"~([^~\n]+)~(.*)")  # ... and for a line no longer current


def item_line(item: Item) -> str:
    """One list line as plain text: a heading between `==`, a line no longer current between
    `~~` (the core's older `*heading*` and `~dropped~` markup read the same way)."""
    text, heading, struck = item.text, item.heading, item.struck
    if found := HEADING.fullmatch(text):
        text, heading = found[1] + found[2], True
    if found := STRUCK.fullmatch(text):
        text, struck = found[1] + found[2], True
    if struck:
        text = f"~~{text}~~"
    return f"== {text} ==" if heading else text


def render_text(reply: Reply, first: int = 1) -> tuple[list[str], list[Choice]]:
    """A reply as terminal lines, its choices numbered from `first`; and those choices, in
    the order of their numbers (a number typed picks one). Pure: the shell's renderer."""
    lines = [reply.text, *(f"    ⚠ {warning}" for warning in reply.warnings)]
    lines += [f"    {label}: {value}" for label, value in reply.facts]
    flat: list[Choice] = []

    def numbered(choices: tuple[Choice, ...]) -> str:
        start = first + len(flat)
        flat.extend(choices)
        return "  ".join(f"[{start + i}] {c.label}" for i, c in enumerate(choices))

    for item in reply.items[:MAX_ITEMS]:
        buttons = f"  {numbered(item.choices)}" if item.choices else ""
        lines.append(f"    {item_line(item)}{buttons}")
    if len(reply.items) > MAX_ITEMS:
        lines.append(f"    …and {len(reply.items) - MAX_ITEMS} more.")
    if reply.choices:
        lines.append(f"    {numbered(reply.choices)}")
    return lines, flat


class ShellOutbox:
    """The sweeps' messages, printed as DMs in the terminal."""

    channel = "shell"

    def __init__(self, shell: Shell) -> None:
        self.shell = shell

    async def send(self, address: Address, reply: Reply) -> None:
        self.shell.render(Outgoing(reply, to_person=address.person_id))


def _default_user(core: Liaison) -> str:
    """The first admin in the config, or a generic 'you' for a fresh install."""
    admins = sorted(core.org.admins)
    return admins[0] if admins else "you"
