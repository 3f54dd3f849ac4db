"""The tables. Every timestamp is aware UTC; channels convert to local time at the edge.

Units come from the organisation config and are synced in on start. People appear either
from the config or the first time they talk to the bot, and each has one address per channel.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    """Aware UTC now: every timestamp in the database is UTC."""
    return dt.datetime.now(dt.UTC)


EXCERPT_LIMIT = 280


class Unit(SQLModel, table=True):
    """A business unit, mirrored from the organisation config."""

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    lead_id: int | None = Field(default=None, foreign_key="person.id")
    liaison_id: int | None = Field(default=None, foreign_key="person.id")
    cycle_months: str = Field(default="3,9", max_length=64)


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(index=True, unique=True, max_length=120)
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, index=True, max_length=320)
    timezone: str | None = Field(default=None, max_length=64)
    home_unit: str | None = Field(default=None, max_length=64)
    calendar_token: str | None = Field(default=None, unique=True, index=True, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Address(SQLModel, table=True):
    """How to reach a person on one channel (a Slack user, a Teams user, a shell handle)."""

    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_address_channel_ext"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=200)
    tenant: str | None = Field(default=None, max_length=200)
    # The installation the bot reaches this address through: a Slack workspace (team id) and,
    # on Enterprise Grid, its organisation (enterprise id). Sends use that installation's token.
    workspace: str | None = Field(default=None, max_length=32)
    enterprise: str | None = Field(default=None, max_length=32)
    dm_channel: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: dt.datetime = Field(default_factory=utcnow)


class InitiativeStatus(StrEnum):
    PLANNING = "planning"
    ACTIVE = "active"
    DONE = "done"
    CANCELLED = "cancelled"


class Initiative(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True, max_length=64)
    title: str = Field(max_length=200)
    unit_id: str | None = Field(default=None, foreign_key="unit.id", index=True)
    requester_id: int = Field(foreign_key="person.id")
    owner_id: int | None = Field(default=None, foreign_key="person.id")
    target_date: dt.date | None = None
    status: str = Field(default=InitiativeStatus.PLANNING, max_length=16, index=True)
    source_excerpt: str | None = Field(default=None, max_length=EXCERPT_LIMIT)
    source_link: str | None = Field(default=None, max_length=1000)
    source_channel: str | None = Field(default=None, max_length=16)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    closed_at: dt.datetime | None = None


class Party(StrEnum):
    BUSINESS = "business"
    IT = "it"
    VENDOR = "vendor"


class Letter(StrEnum):
    RESPONSIBLE = "R"
    ACCOUNTABLE = "A"
    SUPPORTING = "S"
    CONSULTED = "C"
    INFORMED = "I"


class RoleAssignment(SQLModel, table=True):
    """One cell of the RASCI matrix: for a role, a party (and maybe a person) holds a letter."""

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    role_key: str = Field(max_length=64)
    role_title: str = Field(max_length=200)
    party: str = Field(max_length=16)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    letter: str = Field(max_length=1)


class CommitmentState(StrEnum):
    REQUESTED = "requested"
    COUNTERED = "countered"
    PROMISED = "promised"
    DONE_REPORTED = "done_reported"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    RELEASED = "released"


OPEN_STATES = (
    CommitmentState.REQUESTED,
    CommitmentState.COUNTERED,
    CommitmentState.PROMISED,
    CommitmentState.DONE_REPORTED,
)


# The WHERE of the partial indexes on open commitments, with the states written out: a query
# must say the same (handlers.commitment_queries.OPEN) for SQLite to use them.
OPEN_SQL = "state IN ('requested', 'countered', 'promised', 'done_reported')"  # OPEN_STATES
OPEN_ONLY = {"sqlite_where": text(OPEN_SQL), "postgresql_where": text(OPEN_SQL)}
OPEN_WALK = ("due", "id", "state", "last_activity_at")  # a stuck listing's order, and its tests


class Commitment(SQLModel, table=True):
    """A promise by an owner to a requester: what, by when.

    The (state, due) and (state, last_activity_at) indexes let the sweeps find stuck items by
    range scans, so their cost follows the stuck items and not the size of the table.

    `done_at` and `answered_at` are a digest of the history, kept by the database itself (a
    trigger on commitmentevent, migration 0011f) for whatever writes the history: the last
    time the owner said it was done, and the owner's first answer to the request (their first
    act on it while it was requested). The figures read them instead of a lookup per item.
    """

    __table_args__ = (
        Index("ix_commitment_state_due", "state", "due"),
        Index("ix_commitment_state_activity", "state", "last_activity_at"),
        # Open items only (a fraction of the table): listings walk these in the order they
        # show, soonest due first, and stop at a page; each holds what its listing's WHERE
        # tests, so the capped counts read no table rows (migrations 0008 and 0011l).
        Index("ix_commitment_open_due_activity", *OPEN_WALK, **OPEN_ONLY),
        Index("ix_commitment_open_unit_activity", "unit_id", *OPEN_WALK, **OPEN_ONLY),
        Index("ix_commitment_open_owner_due", "owner_id", "due", "id", **OPEN_ONLY),
        Index(
            "ix_commitment_open_requester_due", "requester_id", "due", "id", "owner_id", **OPEN_ONLY
        ),
        Index("ix_commitment_open_activity", "last_activity_at", **OPEN_ONLY),
        # The promise-keeping figures (handlers.figures, migration 0011f): a unit's or a
        # person's commitments due in a period, or asked for in one, read from the index alone.
        Index("ix_commitment_unit_due_figures", "unit_id", "due", "state", "done_at"),
        Index("ix_commitment_owner_due_figures", "owner_id", "due", "state", "done_at", "unit_id"),
        Index(
            "ix_commitment_unit_asked_figures",
            *("unit_id", "created_at", "state", "owner_id", "requester_id", "answered_at", "id"),
        ),
        Index(
            "ix_commitment_owner_asked_figures",
            *("owner_id", "created_at", "state", "requester_id", "answered_at", "unit_id", "id"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    what: str = Field(max_length=500)
    owner_id: int = Field(foreign_key="person.id", index=True)
    requester_id: int = Field(foreign_key="person.id", index=True)
    unit_id: str | None = Field(default=None, foreign_key="unit.id", index=True)
    initiative_id: int | None = Field(default=None, foreign_key="initiative.id", index=True)
    role_key: str | None = Field(default=None, max_length=64)
    due: dt.date | None = Field(default=None, index=True)
    proposed_due: dt.date | None = None
    state: str = Field(default=CommitmentState.REQUESTED, max_length=16, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    last_activity_at: dt.datetime = Field(default_factory=utcnow, index=True)
    closed_at: dt.datetime | None = Field(default=None, index=True)
    snoozed_until: dt.date | None = None
    done_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None


class Nudge(SQLModel, table=True):
    """One nudge the owner of a commitment has not answered yet.

    Sweeps append a row per item in each digest they send; the owner's next act on the item (or
    its closing) deletes them. Escalation counts them. An append-only table, so recording a
    sweep costs a few sequential pages, not a write to every nudged row of the commitment table.
    """

    id: int | None = Field(default=None, primary_key=True)
    commitment_id: int = Field(foreign_key="commitment.id", index=True)
    sent_at: dt.datetime = Field(default_factory=utcnow)


# The WHERE of the partial index on due-date changes: the figure says the same.
DUE_MOVED_SQL = "due_before <> due_after"
DUE_MOVED_ONLY = {"sqlite_where": text(DUE_MOVED_SQL), "postgresql_where": text(DUE_MOVED_SQL)}


class CommitmentEvent(SQLModel, table=True):
    """One act in a commitment's history: who did what, when, and from which channel.

    Three indexes serve the promise-keeping figures (handlers.figures): one act in a period is
    a range scan (act, at), the due dates changed in a period another (a partial index on the
    changes alone), and the act after a given one a lookup (commitment_id, at).
    """

    __table_args__ = (
        Index("ix_commitmentevent_act_at", "act", "at", "commitment_id", "id"),
        Index("ix_commitmentevent_commitment_at", "commitment_id", "at", "id"),
        Index("ix_commitmentevent_due_moved", "at", "commitment_id", **DUE_MOVED_ONLY),
    )

    id: int | None = Field(default=None, primary_key=True)
    commitment_id: int = Field(foreign_key="commitment.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    act: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    due_before: dt.date | None = None
    due_after: dt.date | None = None
    note: str | None = Field(default=None, max_length=1000)
    channel: str | None = Field(default=None, max_length=16)
    at: dt.datetime = Field(default_factory=utcnow)


class IntakeStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class IntakeSession(SQLModel, table=True):
    """A half-finished intake conversation, so it survives a restart and runs on any replica.

    `source_key` identifies what started it (a message, or a person's on-demand request);
    it is unique, so the same signal can never open two intakes.
    """

    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(unique=True, max_length=300)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    conversation: str = Field(max_length=200, index=True)
    unit_id: str | None = Field(default=None, foreign_key="unit.id")
    kind: str | None = Field(default=None, max_length=64)
    step: str = Field(default="", max_length=64)
    answers: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    status: str = Field(default=IntakeStatus.OPEN, max_length=16, index=True)
    source_excerpt: str | None = Field(default=None, max_length=EXCERPT_LIMIT)
    source_link: str | None = Field(default=None, max_length=1000)
    initiative_id: int | None = Field(default=None, foreign_key="initiative.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class LedgerStatus(StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"


class Ledger(SQLModel, table=True):
    """Side effects that must happen at most once: an offer for a message, a nudge for a day.

    The unique key is written before the side effect, so a retried event, a second sweep or a
    second replica finds it taken. A failed send keeps its row, marked failed, to be retried.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    kind: str = Field(max_length=32, index=True)
    status: str = Field(default=LedgerStatus.CLAIMED, max_length=16, index=True)
    attempts: int = Field(default=0)
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None
    retry_at: dt.datetime | None = None  # a failed delivery goes again no sooner (webhooks)


class Cycle(SQLModel, table=True):
    """One input cycle of a unit: its date, the lead's answers, and the liaison's notes."""

    __table_args__ = (UniqueConstraint("unit_id", "cycle_date", name="uq_cycle_unit_date"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(foreign_key="unit.id", index=True)
    cycle_date: dt.date
    six_months: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    twelve_months: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: int | None = Field(default=None, foreign_key="person.id")
    answered_at: dt.datetime | None = None


class SignalLabel(SQLModel, table=True):
    """What someone answered to an offer: a label the organisation's model learns from.

    Only the excerpt privacy already allows is kept (280 characters), with the kind offered
    and the answer: "plan" ("Plan it with IT"), "later" ("Not now") or "not_it" ("IT isn't
    needed"). ``liaison-bot train`` refits the organisation's detector on these.
    """

    id: int | None = Field(default=None, primary_key=True)
    excerpt: str = Field(max_length=EXCERPT_LIMIT)
    kind: str = Field(max_length=64)
    answer: str = Field(max_length=16)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)


class InitiativeLink(SQLModel, table=True):
    """Two initiatives of different units that look like the same need (handlers.similar).

    Found when one is saved; each unit's liaison is told and may agree to link them. Only when
    both sides agreed (`linked_at`) does either initiative show the other to its people.
    `first_id` < `second_id`, unique, so a pair is suggested once.
    """

    __table_args__ = (UniqueConstraint("first_id", "second_id", name="uq_initiativelink_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    first_id: int = Field(foreign_key="initiative.id", index=True)
    second_id: int = Field(foreign_key="initiative.id", index=True)
    score: float = 0.0
    first_agreed_by: int | None = Field(default=None, foreign_key="person.id")
    second_agreed_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    linked_at: dt.datetime | None = None


class InitiativeEvent(SQLModel, table=True):
    """One change to a saved initiative (its title, date or owner): who, when, before, after."""

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    field: str = Field(max_length=32)
    before: str | None = Field(default=None, max_length=300)
    after: str | None = Field(default=None, max_length=300)
    at: dt.datetime = Field(default_factory=utcnow)


from storage import slack_installations  # noqa: E402,F401  (registers Slack's OAuth tables)
