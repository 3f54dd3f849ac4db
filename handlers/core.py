"""The core: one entry point that turns an Inbound into Outgoing replies.

Channels call `Liaison.handle()`. Most chat is not a signal and needs no write at all: the
person is only looked up (never created) until a signal, a command or a button needs them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Engine
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlmodel import Session, select

from handlers import calendar, commitments, intake, nudges
from handlers.commands import (
    HELP_TEXT,
    Act,
    Ask,
    CommandError,
    Help,
    Query,
    find_mentions,
    parse_commitments_command,
    strip_mentions,
)
from handlers.dates import DateParseError, describe_date, parse_due
from handlers.messages import (
    SURROGATES,
    Choice,
    Form,
    FormField,
    Inbound,
    Item,
    Outgoing,
    Reply,
    Sender,
    clean_text,
)
from handlers.org import Organisation
from handlers.people import find_person, name_of, person_for, sync_organisation
from handlers.playbooks import Catalogue
from handlers.promises import Promise, find_promise, may_hold_promise
from handlers.signals import Signal, Speaker, detect
from handlers.signals import feedback as signal_feedback
from storage import ledger
from storage.db import session_scope
from storage.models import (
    Address,
    Commitment,
    CommitmentState,
    Cycle,
    Initiative,
    IntakeSession,
    IntakeStatus,
    Person,
    RoleAssignment,
    Unit,
    utcnow,
)

MAX_TEXT = 4000
log = logging.getLogger("liaison.core")
S = CommitmentState

BOT_HELP = """Here's what I can do:
• I listen for plans with an IT side ("we're buying a new CRM", "we're moving buildings
  in May") and offer to plan them with IT.
• plan — start planning an initiative with IT yourself (or "plan office move").
• commitments … — see and act on who promised what (type "commitments help").
• history <id> — the full history of a commitment.
• home — what you owe, what is owed to you, and your initiatives, in one place.
• Say "I'll send the floor plans by Friday" and I'll offer to keep track of it."""

NEEDS_DATE = {"counter", "new_date"}
ACT_PAST = {
    "promise": "promised",
    "decline": "declined",
    "counter": "proposed another date for",
    "accept": "accepted",
    "reject": "sent back",
    "report_done": "marked done",
    "cancel": "cancelled",
    "release": "released",
    "new_date": "set a new date for",
    "blocked": "is blocked on",
    "note": "added a note to",
    "snooze": "snoozed",
    "not_mine": "says this isn't theirs",
}
NEEDS_NOTE = {"blocked"}
# An answer to an offer is a label for the organisation's signal model (`liaison-bot train`).
_OFFER_ANSWERS = {
    "offer.plan": signal_feedback.PLAN,
    "offer.later": signal_feedback.LATER,
    "offer.dismiss": signal_feedback.NOT_IT,
}


@dataclass
class Liaison:
    """The channel-agnostic bot. One instance serves every channel and every request."""

    engine: Engine
    org: Organisation
    catalogue: Catalogue
    clock: Callable[[], dt.datetime] = utcnow
    public_url: str = "http://localhost:3000"
    # Told of what happened ("acted.offer", "funnel.started"...) with the channel, after the
    # transaction: the composition root counts these as metrics.
    on_event: Callable[[str, str], None] = lambda event, channel: None

    def sync(self) -> None:
        """Mirror the organisation config (units, people) into the database."""
        with session_scope(self.engine) as session:
            sync_organisation(session, self.org)

    # Entry point

    def handle(self, inbound: Inbound) -> list[Outgoing]:
        """Decide what to say back; every write happens in one transaction."""
        text = inbound.text or ""
        if inbound.action is None and len(text) > MAX_TEXT:
            if not inbound.is_direct:
                return []
            return _say(
                f"That message is {len(text):,} characters long; I can read up to "
                f"{MAX_TEXT:,}. Nothing was changed. Could you say it more briefly?"
            )
        if inbound.action is None and not text.strip():
            return (
                _say("I didn't get any text. Type 'help' to see what I can do.")
                if (inbound.is_direct)
                else []
            )
        inbound = _cleaned(inbound)
        try:
            with session_scope(self.engine) as session:
                turn = Turn(self, session, inbound)
                replies = turn.run()
        except (OperationalError, DisconnectionError):
            raise  # the database is away: the channel reports it, readiness shows it
        except Exception:  # a bug must not become silence or a half-done change
            log.exception("could not handle a %s message", inbound.sender.channel)
            return _say(SORRY, private=True)
        if replies:
            self.on_event(f"acted.{replies[0].reply.kind}", inbound.sender.channel)
        for event in turn.events:
            self.on_event(event, inbound.sender.channel)
        return replies

    def cycle_form(self, data: dict) -> Form | None:
        """The look-ahead questionnaire for a unit's cycle (from a 'cycle.open' button), or
        None when the button's data is not a unit and a date."""
        unit = self.org.units.get(str(data.get("unit") or ""))
        try:
            day = dt.date.fromisoformat(str(data.get("cycle")))
        except ValueError:
            return None
        if unit is None:
            return None
        return nudges.cycle_form(str(data.get("unit")), unit.name, day)

    def intake_form(self, data: dict) -> Form:
        """The intake as one form, from an offer's or a shortcut's data. Touches no database."""
        self.on_event("funnel.started", "form")
        excerpt = data.get("excerpt")
        return intake.form(
            self.catalogue,
            self.org,
            kind=data.get("kind"),
            unit_id=data.get("unit"),
            suggested_title=intake.suggest_title(excerpt) if excerpt else None,
            state=json.dumps(data, separators=(",", ":")),
        )

    def commitment_form(self, what: str = "", state: str = "") -> Form:
        """The small 'Track as commitment' form."""
        fields = (
            FormField("what", "What will be done?", "long_text", initial=what[:500] or None),
            FormField("owner", "Who will do it?", "person", hint="Leave empty for yourself."),
            FormField("due", "By when?", "date", optional=True),
        )
        return Form("commitment", "Track a commitment", fields, submit_label="Track", state=state)

    def register(self, sender: Sender) -> int:
        """Make sure a sender is a known person (e.g. someone picked in a form); their id."""
        with session_scope(self.engine) as session:
            return person_for(session, sender).id

    def address_of(self, person_id: int, channel: str) -> Address | None:
        """How to reach a person on a channel, if they are reachable there."""
        with session_scope(self.engine) as session:
            query = select(Address).where(
                Address.person_id == person_id, Address.channel == channel
            )
            return session.exec(query.order_by(Address.updated_at.desc())).first()

    def remember_dm(self, address_id: int, dm_channel: str) -> None:
        """Cache a person's DM channel so it is opened once, not per message."""
        with session_scope(self.engine) as session:
            address = session.get(Address, address_id)
            if address is not None:
                address.dm_channel = dm_channel
                session.add(address)

    def remember_reference(self, sender: Sender, reference: str) -> int:
        """Keep how to reach a person proactively (a Teams conversation reference); their id."""
        with session_scope(self.engine) as session:
            person = person_for(session, sender)
            address = session.exec(
                select(Address).where(
                    Address.channel == sender.channel, Address.external_id == sender.external_id
                )
            ).one()
            address.reference = reference
            address.tenant = sender.tenant or address.tenant
            address.updated_at = self.clock()
            session.add(address)
            return person.id

    def first_time(self, key: str) -> bool:
        """True the first time a key is seen, ever, on any replica (e.g. greeting a new user)."""
        with session_scope(self.engine) as session:
            return ledger.claim(session, key, "once", now=self.clock())

    def calendar_feed(self, token: str) -> bytes | None:
        """The ICS feed behind a calendar token, or None for a token nobody has."""
        with session_scope(self.engine) as session:
            person = calendar.person_by_token(session, token)
            if person is None:
                return None
            return calendar.feed(session, person, self.today_for(person), self.clock())

    def defer(self, person_id: int, reply: Reply, why: str) -> None:
        """Keep a reply a channel could not deliver: the sweeps retry it as a DM (ledger rows
        that failed are retried), so it arrives late rather than never."""
        due = nudges.Due(
            key=f"deferred:{person_id}:{uuid.uuid4().hex}",
            kind="deferred",
            person_id=person_id,
            reply=replace(reply, private=False),
        )
        with session_scope(self.engine) as session:
            ledger.claim(session, due.key, due.kind, payload=due.to_json(), now=self.clock())
            ledger.mark_failed(session, due.key, why[:200], self.clock())

    def handle_of(self, person_id: int) -> str:
        """A person's handle, for channels that show DMs to other people (the shell)."""
        with session_scope(self.engine) as session:
            return name_of(session, person_id).lstrip("@")

    def detect(self, text: str, speaker: Speaker | None = None) -> Signal | None:
        return detect(strip_mentions(text), self._cues, speaker=speaker)

    def may_answer(self, text: str) -> bool:
        """Whether a channel message not addressed to the bot may get an answer: a signal to
        offer for planning, or a promise ("I'll send it by Friday") to offer to track."""
        return self.detect(text) is not None or self.finds_promise(text)

    def finds_promise(self, text: str) -> bool:
        """Whether the text holds a promise with a date (most chat fails the cheap look)."""
        text = strip_mentions(text)
        return may_hold_promise(text) and find_promise(text, self.today_for(None)) is not None

    @functools.cached_property
    def _cues(self):
        """The catalogue's cue sets, built once (detection runs on every message)."""
        return self.catalogue.cues()

    def today_for(self, person: Person | None, unit_id: str | None = None) -> dt.date:
        """Today in the person's time zone (or the unit's, or the organisation's)."""
        zone = (person.timezone if person else None) or self.org.unit_timezone(unit_id)
        return self.clock().astimezone(zoneinfo.ZoneInfo(zone)).date()


def _cleaned(inbound: Inbound) -> Inbound:
    sender = inbound.sender
    if SURROGATES.search(inbound.text or "") or SURROGATES.search(sender.name or ""):
        sender = replace(sender, name=clean_text(sender.name))
        return replace(inbound, sender=sender, text=clean_text(inbound.text))
    return inbound


class Turn:
    """One inbound message or action, handled inside one database session."""

    def __init__(self, bot: Liaison, session: Session, inbound: Inbound) -> None:
        self.bot, self.session, self.inbound = bot, session, inbound
        self.channel = inbound.sender.channel
        self._person: Person | None = None
        self.events: list[str] = []

    @property
    def person(self) -> Person:
        if self._person is None:
            self._person = person_for(self.session, self.inbound.sender)
        return self._person

    def known_person(self) -> Person | None:
        """The sender if we already know them, without creating anything."""
        sender = self.inbound.sender
        address = self.session.exec(
            select(Address).where(
                Address.channel == sender.channel, Address.external_id == sender.external_id
            )
        ).first()
        return self.session.get(Person, address.person_id) if address else None

    @property
    def today(self) -> dt.date:
        return self.bot.today_for(self.person)

    def unit_here(self) -> str | None:
        """The unit of the channel we are in, or else the person's own unit."""
        return self.bot.org.unit_for_channel(self.inbound.conversation) or self.person.home_unit

    def ctx(self) -> intake.Context:
        return intake.Context(
            self.session, self.bot.org, self.bot.catalogue, self.today, self.channel
        )

    def run(self) -> list[Outgoing]:
        if self.inbound.action is not None:
            return self.on_action()
        return self.on_text(" ".join(self.inbound.text.split()))

    # Text

    def on_text(self, text: str) -> list[Outgoing]:
        lowered = strip_mentions(text).strip().lower()
        word = lowered.split(" ", 1)[0].lstrip("/")
        if word in ("help", "?") and lowered.lstrip("/") in ("help", "?"):
            return _say(BOT_HELP)
        if word == "commitments":
            # Only a leading mention (of the bot) goes: "ask <@U1|pat> ..." keeps its person.
            command = LEADING_MENTIONS.sub("", text).strip().lstrip("/")
            return self.on_command(command[len("commitments") :])
        if word == "history":
            return self.on_history(lowered[len("history") :].strip(" #"))
        if word == "plan":
            return self.on_plan(lowered[len("plan") :].strip())
        if lowered.lstrip("/") == "home":
            return self.home()
        person = self.known_person()
        open_one = (
            intake.open_intake(self.session, person.id, self.inbound.conversation)
            if person
            else None
        )
        if open_one is not None:
            self._person = person
            return self.intake_answer(open_one, text)
        speaker = Speaker(
            is_it=self.bot.org.is_it(person.handle if person else None, self.inbound.conversation)
        )
        signal = self.bot.detect(text, speaker=speaker)
        if signal is None:
            plain = strip_mentions(text)
            # Chat that holds no promise must not touch the sender (nor create them).
            today = self.bot.today_for(person) if may_hold_promise(plain) else None
            promise = find_promise(plain, today) if today is not None else None
            if promise is not None:
                return self.offer_to_track(promise)
            if self.inbound.is_direct:
                return _say(
                    "I'm here to help plan things that have an IT side. Tell me what's coming up "
                    "(\"we're hiring 12 nurses in March\"), or type 'help'."
                )
            return []
        return self.offer(signal)

    # Signals and offers

    def offer(
        self, signal: Signal, unit_id: str | None = None, message_id: str | None = None
    ) -> list[Outgoing]:
        """Offer to plan it; a redelivered message (a channel's retry) is offered only once."""
        message_id = message_id or self.inbound.message_id
        if message_id:
            key = f"offer:{self.channel}:{self.inbound.conversation}:{message_id}"
            if not ledger.claim(self.session, key, "offer", now=self.bot.clock()):
                return []
        playbook = self.bot.catalogue[signal.kind]
        unit_id = unit_id or self.bot.org.unit_for_channel(self.inbound.conversation)
        who = self.bot.org.units[unit_id].name if unit_id else "you"
        has = "has" if unit_id else "have"
        roles = ", ".join(r.title for r in playbook.roles[:6])
        text = (
            f"Sounds like {who} {has} {_article(playbook.title)} {playbook.title.lower()} "
            f"coming up. {playbook.offer} Want to plan it together?"
        )
        value = {
            "kind": signal.kind,
            "unit": unit_id,
            "excerpt": signal.excerpt,
            "link": self.inbound.link,
            "mid": message_id,
            "conv": self.inbound.conversation,
        }
        label = {"kind": signal.kind, "excerpt": signal.excerpt}  # the answer is a label
        choices = (
            Choice.of("Plan it with IT", "offer.plan", "primary", **value),
            Choice.of("Not now", "offer.later", mid=message_id, **label),
            Choice.of("IT isn't needed", "offer.dismiss", mid=message_id, **label),
        )
        facts = (("Roles IT often plays", roles),)
        reply = Reply(text, choices=choices, facts=facts, kind="offer")
        self.events.append("funnel.offered")
        return [Outgoing(reply, meta={"signal": signal})]

    def offer_to_track(self, promise: Promise) -> list[Outgoing]:
        """Someone said they will do something by a date: offer (to them only) to track it.
        Nothing is stored unless they press the button, which carries what and when."""
        message_id = self.inbound.message_id
        if message_id:
            key = f"promise-offer:{self.channel}:{self.inbound.conversation}:{message_id}"
            if not ledger.claim(self.session, key, "promise-offer", now=self.bot.clock()):
                return []
        when = describe_date(promise.due, self.today)
        who = "We'll" if promise.by_us else "You'll"
        value = {
            "what": promise.what,
            "due": promise.due.isoformat(),
            "conv": self.inbound.conversation,
            "mid": message_id,
        }
        choices = (
            Choice.of("Track it", "promise.track", "primary", **value),
            Choice.of("No thanks", "promise.dismiss"),
        )
        text = (
            f"Want me to keep track of that? {who} {promise.what}, by {when}. "
            "I'll remind you if it gets close or stuck."
        )
        self.events.append("promise.offered")
        return [Outgoing(Reply(text, choices=choices, private=True, kind="promise_offer"))]

    def track_promise(self, data: dict) -> list[Outgoing]:
        """The speaker pressed "Track it": their promise becomes a commitment, promised."""
        what = " ".join(str(data.get("what") or "").split())[:500]
        try:
            due = dt.date.fromisoformat(str(data.get("due") or ""))
        except ValueError:
            due = None
        if not what or due is None:
            return _say("That offer is out of date. Nothing was saved.", private=True)
        conv, mid = str(data.get("conv") or ""), str(data.get("mid") or "")
        if mid:
            key = f"promise:{self.channel}:{conv}:{mid}:{self.person.id}"
            if not ledger.claim(self.session, key, "promise", now=self.bot.clock()):
                return _say("You're already tracking that one.", private=True)
        item = commitments.create(
            self.session,
            requester=self.person,
            owner=self.person,
            what=what,
            due=due,
            channel=self.channel,
            unit_id=self.bot.org.unit_for_channel(conv) if conv else self.unit_here(),
            promised=True,
        )
        self.events.append("promise.tracked")
        text = f"Tracking it: {self.describe(item)}. I'll nudge you if it gets stuck."
        return [Outgoing(Reply(text, private=True, kind="ack"))]

    def on_plan(self, rest: str) -> list[Outgoing]:
        kind = None
        rest = re.sub(r"^(an?|the|my|our)\s+", "", rest)
        if rest:
            wanted = rest.replace(" ", "_")
            kind = next(
                (
                    k
                    for k, pb in self.bot.catalogue.items()
                    if wanted in (k, pb.title.lower().replace(" ", "_"))
                ),
                None,
            )
            if kind is None:
                kinds = ", ".join(pb.title.lower() for pb in self.bot.catalogue.values())
                return _say(f"I don't have a playbook for '{rest}'. I know: {kinds}.")
        existing = intake.open_intake(self.session, self.person.id, self.inbound.conversation)
        if existing is not None:
            return self.prompt(existing, prefix="Let's carry on where we left off.")
        source_key = f"demand:{self.channel}:{self.person.id}:{self.bot.clock().isoformat()}"
        unit_id = self.unit_here()
        new, _ = intake.start(
            self.ctx(),
            self.person,
            conversation=self.inbound.conversation,
            source_key=source_key,
            kind=kind,
            unit_id=unit_id,
        )
        self.events.append("funnel.started")
        return self.prompt(new, prefix="Let's plan it. Say 'cancel' at any time to stop.")

    # Intake

    def start_from_offer(self, data: dict) -> list[Outgoing]:
        mid = data.get("mid") or f"{self.bot.clock().timestamp()}"
        source_key = f"{self.channel}:{self.inbound.conversation}:{mid}"
        found, is_new = intake.start(
            self.ctx(),
            self.person,
            conversation=self.inbound.conversation,
            source_key=source_key,
            kind=data.get("kind"),
            unit_id=data.get("unit"),
            excerpt=data.get("excerpt"),
            link=data.get("link"),
        )
        if found.status == IntakeStatus.DONE:
            return _say(f"This one is already planned as initiative #{found.initiative_id}.")
        if found.status == IntakeStatus.CANCELLED:
            return _say("That plan was cancelled. Type 'plan' to start a new one.")
        if found.person_id != self.person.id:
            owner = name_of(self.session, found.person_id)
            return _say(f"{owner} is already planning this one with IT. Ask them to add you.")
        if is_new:
            self.events.append("funnel.started")
            return self.prompt(
                found, prefix="Great, let's plan it. Say 'cancel' at any time to stop."
            )
        return self.prompt(found, prefix="Let's carry on where we left off.")

    def submit_intake(self, data: dict) -> list[Outgoing]:
        """A whole intake form came back: save it, or say what to fix in which field."""
        state = data.get("state") or {}
        values = data.get("values") or {}
        conversation = str(state.get("conv") or self.inbound.conversation)
        mid = state.get("mid") or f"form-{self.bot.clock().timestamp()}"
        result = intake.submit(
            self.ctx(),
            self.person,
            values,
            conversation=conversation,
            source_key=f"{self.channel}:{conversation}:{mid}",
            kind=state.get("kind"),
            unit_id=state.get("unit"),
            excerpt=state.get("excerpt"),
            link=state.get("link"),
        )
        if isinstance(result, dict):
            reply = Reply(
                "Please check the form.", errors=tuple(result.items()), kind="form_errors"
            )
            return [Outgoing(reply)]
        if result.initiative is None:
            return _say(
                f"This one is already planned as initiative #{result.intake.initiative_id}."
            )
        return self.completed(result)

    def submit_cycle(self, data: dict) -> list[Outgoing]:
        """A unit's look-ahead answers: keep them for the next briefing, and offer to plan
        every initiative they mention."""
        state = data.get("state") or {}
        values = data.get("values") or {}
        unit = self.session.get(Unit, str(state.get("unit") or ""))
        try:
            day = dt.date.fromisoformat(str(state.get("cycle") or ""))
        except ValueError:
            day = None
        if unit is None or day is None:
            return _say("That questionnaire is out of date. Nothing was saved.", private=True)
        me = self.person
        if me.id not in (unit.lead_id, unit.liaison_id) and me.handle not in self.bot.org.admins:
            return _say(
                f"Only {unit.name}'s lead or liaison can answer its look-ahead.", private=True
            )
        answers = {k: " ".join(str(values.get(k) or "").split())[:4000] for k in CYCLE_FIELDS}
        cycle = self.session.exec(
            select(Cycle).where(Cycle.unit_id == unit.id, Cycle.cycle_date == day)
        ).first() or Cycle(unit_id=unit.id, cycle_date=day)
        cycle.six_months = answers["six_months"] or None
        cycle.twelve_months = answers["twelve_months"] or None
        cycle.answered_by, cycle.answered_at = me.id, self.bot.clock()
        self.session.add(cycle)
        self.session.flush()
        found = []
        for field, text in answers.items():
            for index, sentence in enumerate(_sentences(text)):
                signal = self.bot.detect(sentence)
                for number, kind in enumerate(signal.kinds if signal else ()):  # every kind
                    mid = f"cycle-{cycle.id}-{field}-{index}" + (f"-{number}" if number else "")
                    found.append((mid, replace(signal, kind=kind)))
        if not found:
            return _say(
                f"Thanks! I've kept your answers for {unit.name}'s cycle. I didn't spot anything "
                "with an IT side; your liaison will read them all the same."
            )
        out = _say(
            f"Thanks! I spotted {len(found)} thing{'s' if len(found) > 1 else ''} where IT can "
            "help. Want to plan any of them now?"
        )
        for mid, signal in found:
            out += self.offer(signal, unit_id=unit.id, message_id=mid)
        return out

    def submit_commitment(self, values: dict) -> list[Outgoing]:
        """The 'Track as commitment' form: what, who, by when."""
        errors: dict[str, str] = {}
        what = " ".join(str(values.get("what") or "").split())
        if not what:
            errors["what"] = "What will be done? A few words are enough."
        owner = None
        mentions = find_mentions(str(values.get("owner") or ""))
        if str(values.get("owner") or "").strip().lower() in ("", "me"):
            owner = self.person
        elif mentions:
            owner = find_person(self.session, mentions[0], self.channel)
        if owner is None:
            typed = " ".join(str(values.get("owner") or "").split())[:60]
            errors["owner"] = (
                f"I don't know {typed} yet. Check the spelling, or leave it empty for yourself."
            )
        due = None
        if values.get("due"):
            try:
                due = parse_due(str(values["due"]), self.today)
            except DateParseError as exc:
                errors["due"] = str(exc)
        if errors:
            return [
                Outgoing(
                    Reply(
                        "Please check the form.", errors=tuple(errors.items()), kind="form_errors"
                    )
                )
            ]
        unit_id = self.unit_here()
        try:
            item = commitments.create(
                self.session,
                requester=self.person,
                owner=owner,
                what=what,
                due=due,
                channel=self.channel,
                unit_id=unit_id,
                promised=owner.id == self.person.id,
            )
        except commitments.CommitmentError as exc:
            return [
                Outgoing(
                    Reply(
                        "Please check the form.", errors=(("what", str(exc)),), kind="form_errors"
                    )
                )
            ]
        out = [Outgoing(Reply(f"Tracking it: {self.describe(item)}", kind="ack"))]
        if owner.id != self.person.id:
            out.append(self.commitment_dm(item, owner.id, "asks you for"))
        return out

    def intake_answer(self, current: IntakeSession, answer: str) -> list[Outgoing]:
        outcome = intake.feed(self.ctx(), current, answer, self.person)
        if outcome.error:
            return self.prompt(current, prefix=outcome.error, private=True)
        if outcome.initiative is not None:
            return self.completed(outcome)
        if outcome.finished:
            return _say("OK, I've dropped that plan. Nothing was saved.")
        return self.prompt(current)

    def prompt(
        self, current: IntakeSession, prefix: str = "", private: bool = False
    ) -> list[Outgoing]:
        """Ask the current step's question, with its choices."""
        ctx = self.ctx()
        step = intake.current_step(ctx, current)
        data = intake.answers(current)

        def ans(label, answer):
            return Choice.of(label, "intake.answer", intake=current.id, answer=answer)

        choices: list[Choice] = []
        items: list[Item] = []
        facts: tuple[tuple[str, str], ...] = ()
        text = step.prompt
        if step.kind == "kind":
            choices = [ans(pb.title, k) for k, pb in self.bot.catalogue.items()]
        elif step.kind == "unit":
            choices = [ans(u.name, k) for k, u in self.bot.org.units.items()]
        elif step.key == "title" and data.get("suggested_title"):
            choices = [ans(f"Keep “{data['suggested_title']}”", data["suggested_title"])]
        elif step.kind == "person":
            choices = [ans("Me", "me")]
        elif step.optional:
            choices = [ans("Skip", "skip")]
        elif step.kind == "roles":
            rows = intake.roles_view(ctx, current)
            items = [
                Item(f"{n}. {'' if kept else '~dropped~ '}{title} — {cells}")
                for n, title, kept, cells in rows
            ]
            text = (
                f"{step.prompt} Say 'ok' to keep them, 'drop 3' to drop one, or "
                "'assign 2 @pat' to name who's responsible."
            )
            choices = [ans("Looks good", "ok")]
        elif step.kind == "confirm":
            facts = tuple(intake.summary_facts(ctx, current))
            warnings = intake.gaps(ctx, current)
            if warnings:
                text = (
                    "Before you save, a heads-up:\n"
                    + "\n".join(f"⚠ {w}" for w in warnings)
                    + f"\n{step.prompt}"
                )
            choices = [
                ans("Save", "save"),
                Choice.of("Cancel", "intake.answer", "danger", intake=current.id, answer="cancel"),
            ]
        body = f"{prefix}\n{text}" if prefix else text
        return [
            Outgoing(
                Reply(body, tuple(choices), tuple(items), facts, private=private, kind="intake"),
                meta={"intake": current.id, "step": step.key},
            )
        ]

    def completed(self, outcome: intake.Outcome) -> list[Outgoing]:
        """The summary for the planner, and one DM per new owner listing what they were asked."""
        initiative = outcome.initiative
        lines = [f"Saved initiative #{initiative.id}: {initiative.title}."]
        lines += [f"⚠ {warning}" for warning in outcome.warnings]
        if outcome.new_commitments:
            lines.append(f"Commitments I'll keep track of ({len(outcome.new_commitments)}):")
        items = []
        per_owner: dict[int, list[Commitment]] = {}
        for cid in outcome.new_commitments:
            item = self.session.get(Commitment, cid)
            items.append(Item(self.describe(item)))
            if item.owner_id != self.person.id:
                per_owner.setdefault(item.owner_id, []).append(item)
        reply = Reply("\n".join(lines), items=tuple(items), kind="summary")
        self.events.append("funnel.completed")
        out = [Outgoing(reply, meta={"initiative": initiative.id})]
        for owner_id, owed in per_owner.items():
            text = (
                f"{name_of(self.session, self.person.id)} is planning “{initiative.title}” and "
                f"asks you for {len(owed)} thing{'s' if len(owed) > 1 else ''}:"
            )
            dm_items = tuple(Item(self.describe(c), self.buttons(c, owner_id)) for c in owed)
            dm = Reply(text, items=dm_items, kind="commitment")
            out.append(Outgoing(dm, to_person=owner_id, meta={"initiative": initiative.id}))
        return out

    # Actions (buttons and picked choices)

    def on_action(self) -> list[Outgoing]:
        action = self.inbound.action
        data = action.data()
        # Button values come from outside: read them by type, never trust their shape.
        for key in ("state", "values"):
            if key in data and not isinstance(data[key], dict):
                data[key] = {}
        texts = ("due", "note", "answer", "excerpt", "link", "kind", "unit", "mid", "conv", "what")
        for key in texts:
            if key in data and data[key] is not None and not isinstance(data[key], str):
                data[key] = None
        if action.id in _OFFER_ANSWERS and data.get("kind") and data.get("excerpt"):
            known = self.known_person()
            signal_feedback.record_label(
                self.session,
                data["excerpt"],
                data["kind"],
                _OFFER_ANSWERS[action.id],
                self.bot.clock(),
                known.id if known else None,
            )
        if action.id == "offer.plan":
            return self.start_from_offer(data)
        if action.id == "home.open":
            return self.home()
        if action.id == "cycle.submit":
            return self.submit_cycle(data)
        if action.id == "home.initiative":
            return self.initiative(_record_id(data.get("id")))
        if action.id == "intake.submit":
            return self.submit_intake(data)
        if action.id == "commitment.submit":
            return self.submit_commitment(data.get("values") or {})
        if action.id == "offer.later":
            return _say("No problem. Type 'plan' whenever you're ready.", private=True)
        if action.id == "offer.dismiss":
            return _say("Got it, I'll leave this one alone.", private=True)
        if action.id == "promise.track":
            return self.track_promise(data)
        if action.id == "promise.dismiss":
            return _say("OK, I won't track it.", private=True)
        if action.id == "intake.answer":
            found = self.session.get(IntakeSession, _record_id(data.get("intake")))
            if found is None or found.person_id != self.person.id:
                return _say("That plan belongs to someone else, or it has gone.", private=True)
            if found.status != IntakeStatus.OPEN:
                return _say("That plan is already finished.", private=True)
            return self.intake_answer(found, str(data.get("answer", "")))
        if action.id.startswith("commitment."):
            act = action.id.split(".", 1)[1]
            return self.act(Act(_record_id(data.get("id")), act, data.get("due"), data.get("note")))
        return _say(
            "I didn't recognise that button. It may be from an older message.", private=True
        )

    # Commitments

    def on_command(self, rest: str) -> list[Outgoing]:
        try:
            command = parse_commitments_command(rest)
        except CommandError as exc:
            return _say(str(exc), private=True)
        if isinstance(command, Help):
            return _say(HELP_TEXT, private=True)
        if isinstance(command, Ask):
            return self.ask(command)
        if isinstance(command, Act):
            return self.act(command)
        return self.query(command)

    def ask(self, command: Ask) -> list[Outgoing]:
        owner = find_person(self.session, command.mention, self.channel)
        if owner is None:
            shown = command.mention.handle or command.mention.display or command.mention.external_id
            return _say(
                f"I don't know @{shown} yet. Check the spelling; nothing was saved.", private=True
            )
        due = None
        if command.due_text:
            try:
                due = parse_due(command.due_text, self.today)
            except DateParseError as exc:
                return _say(f"{exc} Nothing was saved.", private=True)
        unit_id = self.unit_here()
        try:
            item = commitments.create(
                self.session,
                requester=self.person,
                owner=owner,
                what=command.what,
                due=due,
                channel=self.channel,
                unit_id=unit_id,
            )
        except commitments.CommitmentError as exc:
            return _say(str(exc), private=True)
        out = [
            Outgoing(
                Reply(f"Asked {name_of(self.session, owner.id)}: {self.describe(item)}", kind="ack")
            )
        ]
        if owner.id != self.person.id:
            out.append(self.commitment_dm(item, owner.id, "asks you for"))
        return out

    def act(self, command: Act) -> list[Outgoing]:
        if command.act in NEEDS_DATE and not command.due_text:
            return _say(
                f"Which date would work? Type: {command.act.replace('_', '')} "
                f"{command.commitment_id} by <date>, e.g. 'by next Friday'.",
                private=True,
            )
        if command.act in NEEDS_NOTE and not command.note:
            return _say(
                f"What's it blocked on? Type: blocked {command.commitment_id} <reason>.",
                private=True,
            )
        due = None
        if command.due_text:
            try:
                due = parse_due(command.due_text, self.today)
            except DateParseError as exc:
                return _say(f"{exc} Nothing was changed.", private=True)
        act = command.act
        try:
            item = commitments.apply(
                self.session,
                self.bot.org,
                command.commitment_id,
                self.person,
                act,
                channel=self.channel,
                due=due,
                note=command.note,
                now=self.bot.clock(),
            )
        except commitments.CommitmentError as exc:
            return _say(str(exc), private=True)
        if act == "snooze":
            until = describe_date(item.snoozed_until, self.today)
            return _say(f"Snoozed #{item.id} until {until}. I won't nudge you about it before.")
        out = [Outgoing(Reply(f"Got it. {self.describe(item)}", kind="ack"))]
        others = {item.owner_id, item.requester_id} - {self.person.id}
        if act == "not_mine":
            # The requester and the unit's liaison should know it has no owner now.
            others |= {self.liaison_of(item.unit_id)} - {None, self.person.id}
        note = f" ({command.note})" if command.note else ""
        out += [self.commitment_dm(item, other, f"{ACT_PAST[act]}{note}") for other in others]
        return out

    def liaison_of(self, unit_id: str | None) -> int | None:
        unit = self.session.get(Unit, unit_id) if unit_id else None
        return unit.liaison_id if unit else None

    def commitment_dm(self, item: Commitment, to_person: int, what_happened: str) -> Outgoing:
        """A DM about a commitment, with the buttons that person can use next."""
        actor = name_of(self.session, self.person.id)
        text = f"{actor} {what_happened}: {self.describe(item)}"
        choices = self.buttons(item, to_person)
        return Outgoing(
            Reply(text, choices=choices, kind="commitment"),
            to_person=to_person,
            meta={"commitment": item.id},
        )

    def buttons(self, item: Commitment, viewer_id: int) -> tuple[Choice, ...]:
        return commitments.buttons(item, viewer_id)

    def describe(self, item: Commitment) -> str:
        return commitments.describe(self.session, item, self.today)

    def query(self, command: Query) -> list[Outgoing]:
        org, me = self.bot.org, self.person
        now = self.bot.clock()
        if command.scope == "mine":
            mine = commitments.owed_by(self.session, me.id)
            theirs = commitments.owed_to(self.session, me.id)
            sections = [("You owe", mine), ("Owed to you", theirs)]
            return self.listing("Your open commitments", sections)
        if command.scope == "person":
            other = find_person(self.session, command.mention, self.channel)
            if other is None:
                return _say("I don't know that person yet. Check the spelling.", private=True)
            found = commitments.involving(self.session, other.id)
            return self.listing(f"Open commitments of @{other.handle}", [("", found)])
        if command.scope == "unit":
            unit_id = org.unit_key(command.arg or "")
            if unit_id is None:
                names = ", ".join(u.name for u in org.units.values()) or "none configured"
                return _say(f"I don't know the unit '{command.arg}'. Units: {names}.", private=True)
            found = commitments.for_unit(self.session, unit_id)
            return self.listing(f"Open commitments of {org.units[unit_id].name}", [("", found)])
        if command.scope == "stuck":
            found = [c for c, reason in commitments.stuck(self.session, org, now)]
            return self.listing("Stuck commitments", [("", found)], reasons=True)
        if command.scope == "overdue":
            found = commitments.overdue(self.session, self.today)
            return self.listing("Overdue commitments", [("", found)])
        if command.scope == "initiative":
            return self.initiative(int(command.arg or 0))
        if command.scope == "cycle":
            return self.cycles()
        if command.scope == "calendar":
            token = calendar.token_for(self.session, self.person)
            url = f"{self.bot.public_url.rstrip('/')}/calendar/{token}.ics"
            return _say(
                f"Your private calendar link (due dates and input cycles): {url}\n"
                "Add it to Outlook or Google Calendar as a subscription. Keep it to yourself: "
                "anyone with the link can read it.",
                private=True,
            )
        return _say(HELP_TEXT, private=True)

    def home(self) -> list[Outgoing]:
        """A person's home: what they owe, what is owed to them, their initiatives, and for a
        liaison the stuck items of their units."""
        me, org = self.person, self.bot.org
        out = self.listing(
            "Your open commitments",
            [
                ("You owe", commitments.owed_by(self.session, me.id)),
                ("Owed to you", commitments.owed_to(self.session, me.id)),
            ],
        )
        mine = self.session.exec(
            select(Initiative)
            .where((Initiative.requester_id == me.id) | (Initiative.owner_id == me.id))
            .where(Initiative.status.in_(["planning", "active"]))
            .order_by(Initiative.id.desc())
        ).all()
        items = tuple(
            Item(
                f"#{i.id} {i.title}"
                + (f", {describe_date(i.target_date, self.today)}" if i.target_date else ""),
                (Choice.of("Details", "home.initiative", id=i.id),),
            )
            for i in mine[:20]
        )
        text = (
            "Your initiatives:"
            if items
            else "Your initiatives: none yet. Type 'plan' to start one."
        )
        out.append(Outgoing(Reply(text, items=items, private=True, kind="list")))
        units = org.liaison_units(me.handle)
        if units:
            stuck = commitments.stuck(self.session, org, self.bot.clock(), units)
            out += self.listing("Stuck in your units", [("", [c for c, _ in stuck])], reasons=True)
        return out

    def listing(self, title: str, sections, reasons: bool = False) -> list[Outgoing]:
        org, me, now = self.bot.org, self.person, self.bot.clock()
        items: list[Item] = []
        hidden = 0
        for heading, found in sections:
            visible = [c for c in found if commitments.can_see(org, me, c)]
            hidden += len(found) - len(visible)
            if heading:
                items.append(Item(f"*{heading}* ({len(visible)})"))
            for c in visible:
                why = commitments.stuck_reason(c, now, org, self.today) if reasons else None
                text = self.describe(c) + (f" · {why}" if why else "")
                items.append(Item(text, self.buttons(c, me.id)))
        if not any(i.choices or not i.text.startswith("*") for i in items):
            if hidden:
                return _say(
                    f"{title}: none that you can see. You see the commitments you are part of; "
                    "a unit's liaison sees the unit's, and admins see all.",
                    private=True,
                )
            return _say(f"{title}: nothing open. 🎉", private=True)
        return [Outgoing(Reply(f"{title}:", items=tuple(items), private=True, kind="list"))]

    def on_history(self, rest: str) -> list[Outgoing]:
        if not rest.isdigit():
            return _say("Which commitment? Type 'history 12'.", private=True)
        item = self.session.get(Commitment, int(rest))
        if item is None or not commitments.can_see(self.bot.org, self.person, item):
            return _say(f"I can't find commitment #{rest}.", private=True)
        items = []
        for event in commitments.history(self.session, item.id):
            when = event.at.strftime("%Y-%m-%d %H:%M")
            due = (
                f", due {event.due_after}"
                if event.due_after != event.due_before and event.due_after
                else ""
            )
            note = f" — {event.note}" if event.note else ""
            items.append(
                Item(
                    f"{when} {name_of(self.session, event.actor_id)} {event.act} → "
                    f"{event.to_state}{due}{note} ({event.channel})"
                )
            )
        return [
            Outgoing(Reply(self.describe(item), items=tuple(items), private=True, kind="history"))
        ]

    def initiative(self, initiative_id: int) -> list[Outgoing]:
        found = self.session.get(Initiative, initiative_id)
        me = self.person
        if found is None or not self._may_see_initiative(found, me):
            return _say(f"I can't find initiative #{initiative_id}.", private=True)
        rows = self.session.exec(
            select(RoleAssignment)
            .where(RoleAssignment.initiative_id == found.id)
            .order_by(RoleAssignment.id)
        ).all()
        roles: dict[str, list[str]] = {}
        titles: dict[str, str] = {}
        for row in rows:
            titles[row.role_key] = row.role_title
            who = f"{row.party}" + (
                f" {name_of(self.session, row.person_id)}" if row.person_id else ""
            )
            roles.setdefault(row.role_key, []).append(f"{row.letter}: {who}")
        items = [Item(f"{titles[k]} — {' · '.join(v)}") for k, v in roles.items()]
        visible = (
            c
            for c in commitments.for_initiative(self.session, found.id)
            if commitments.can_see(self.bot.org, me, c)
        )
        for c in visible:
            items.append(Item(self.describe(c), self.buttons(c, me.id)))
        facts = [
            (
                "Kind",
                self.bot.catalogue[found.kind].title
                if found.kind in self.bot.catalogue
                else found.kind,
            )
        ]
        if found.unit_id:
            facts.append(
                (
                    "Unit",
                    self.bot.org.units.get(found.unit_id).name
                    if found.unit_id in self.bot.org.units
                    else found.unit_id,
                )
            )
        if found.target_date:
            facts.append(("When", describe_date(found.target_date, self.today)))
        facts.append(("Status", found.status))
        if found.source_link:
            facts.append(("Source", found.source_link))
        return [
            Outgoing(
                Reply(
                    f"Initiative #{found.id}: {found.title}",
                    items=tuple(items),
                    facts=tuple(facts),
                    private=True,
                    kind="initiative",
                )
            )
        ]

    def _may_see_initiative(self, found: Initiative, me: Person) -> bool:
        if me.id in (found.requester_id, found.owner_id) or commitments.can_oversee(
            self.bot.org, me, found.unit_id
        ):
            return True
        return (
            self.session.exec(
                select(RoleAssignment).where(
                    RoleAssignment.initiative_id == found.id, RoleAssignment.person_id == me.id
                )
            ).first()
            is not None
        )

    def cycles(self) -> list[Outgoing]:
        units = self.session.exec(select(Unit).order_by(Unit.name)).all()
        if not units:
            return _say("No units are configured yet, so there are no input cycles.", private=True)
        items = []
        for unit in units:
            today = self.bot.today_for(None, unit.id)
            upcoming = nudges.next_cycle(unit, today)
            items.append(
                Item(
                    f"{unit.name}: {describe_date(upcoming, today)} "
                    f"with {name_of(self.session, unit.liaison_id)}"
                )
            )
        return [
            Outgoing(Reply("Next input cycles:", items=tuple(items), private=True, kind="list"))
        ]


CYCLE_FIELDS = ("six_months", "twelve_months")
LEADING_MENTIONS = re.compile(r"^(?:\s*(?:<@[^>]+>|<at(?:\s[^>]*)?>.*?</at>|@[\w.\-]+)[\s,:;]*)+")


def _sentences(text: str) -> list[str]:
    """Split free-text answers into sentences and list items, for detection one by one."""
    parts = re.split(r"(?<=[.!?;])\s+|\n+|\s+[•·-]\s+|^\s*[-•*]\s*", text or "")
    return [p.strip(" -•*") for p in parts if p and len(p.strip()) > 3]


def _record_id(value: object) -> int:
    """A database id from a button's value: a positive 63-bit integer, or 0 (found nowhere)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if 0 < value < 2**63 else 0
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return 0


SORRY = (
    "Sorry, something went wrong on my side and nothing was changed. "
    "Please try again, or tell your IT liaison if it keeps happening."
)


def _say(text: str, private: bool = False) -> list[Outgoing]:
    return [Outgoing(Reply(text, private=private))]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
