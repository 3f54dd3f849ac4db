"""the promise-keeping figures read a digest of the history and indexes that cover them

Revision ID: 0011f
Revises: 0011e
Create Date: 2026-12-06 07:30:00

Each figure was one query, but it looked up each commitment's history (its last "done", its
owner's first answer): tens of thousands of index probes for a unit's six months, seconds at
1M commitments. Now:

- commitment.done_at (the last event into done_reported) and commitment.answered_at (the
  owner's first event out of requested) are kept by a trigger on commitmentevent, in the
  database, for every writer of the history; existing rows are filled from the history here.
- four indexes let a unit's or a person's commitments due in a period (or asked for in one)
  be read from the index alone (the "asked" ones end with the id, so a scope's ids, to join
  with the history, are read from an index too);
- on the history: (act, at, commitment_id, id) for one act in a period, (commitment_id, at, id)
  for the act after a given one, and a partial index on the due-date changes alone.
  (commitment_id, to_state, at), which served the per-item lookups, is dropped.

Measured with bench/figures_scale.py on SQLite and PostgreSQL (README, Figures).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011f"
down_revision: str | None = "0011e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE_MOVED_SQL = "due_before <> due_after"
COMMITMENT_INDEXES = {
    "ix_commitment_unit_due_figures": ["unit_id", "due", "state", "done_at"],
    "ix_commitment_owner_due_figures": ["owner_id", "due", "state", "done_at", "unit_id"],
    "ix_commitment_unit_asked_figures": [
        *("unit_id", "created_at", "state", "owner_id", "requester_id", "answered_at", "id"),
    ],
    "ix_commitment_owner_asked_figures": [
        *("owner_id", "created_at", "state", "requester_id", "answered_at", "unit_id", "id"),
    ],
}

# The digest of one new history row, as the figures define it (handlers.figures), written out
# in full for each database (no SQL is assembled at run time).
SQLITE_TRIGGERS = {
    "commitmentevent_done_at": """
CREATE TRIGGER commitmentevent_done_at AFTER INSERT ON commitmentevent
WHEN NEW.to_state = 'done_reported' BEGIN
  UPDATE commitment SET done_at = NEW.at WHERE id = NEW.commitment_id
    AND (done_at IS NULL OR done_at < NEW.at);
END
""",
    "commitmentevent_answered_at": """
CREATE TRIGGER commitmentevent_answered_at AFTER INSERT ON commitmentevent
WHEN NEW.from_state = 'requested' BEGIN
  UPDATE commitment SET answered_at = NEW.at WHERE id = NEW.commitment_id
    AND owner_id = NEW.actor_id AND (answered_at IS NULL OR answered_at > NEW.at);
END
""",
}
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION commitment_digest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.to_state = 'done_reported' THEN
    UPDATE commitment SET done_at = NEW.at WHERE id = NEW.commitment_id
      AND (done_at IS NULL OR done_at < NEW.at);
  END IF;
  IF NEW.from_state = 'requested' THEN
    UPDATE commitment SET answered_at = NEW.at WHERE id = NEW.commitment_id
      AND owner_id = NEW.actor_id AND (answered_at IS NULL OR answered_at > NEW.at);
  END IF;
  RETURN NULL;
END
$$
"""
POSTGRES_TRIGGER = (
    "CREATE TRIGGER commitmentevent_digest AFTER INSERT ON commitmentevent "
    "FOR EACH ROW EXECUTE FUNCTION commitment_digest()"
)
BACKFILL = """
UPDATE commitment SET
  done_at = (SELECT max(e.at) FROM commitmentevent e
             WHERE e.commitment_id = commitment.id AND e.to_state = 'done_reported'),
  answered_at = (SELECT min(e.at) FROM commitmentevent e
                 WHERE e.commitment_id = commitment.id AND e.from_state = 'requested'
                   AND e.actor_id = commitment.owner_id)
"""


def upgrade() -> None:
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    for name, columns in COMMITMENT_INDEXES.items():
        op.create_index(name, "commitment", columns, unique=False)
    op.drop_index("ix_commitmentevent_commitment_state_at", table_name="commitmentevent")
    op.drop_index("ix_commitmentevent_act_at", table_name="commitmentevent")
    op.create_index(
        "ix_commitmentevent_act_at", "commitmentevent", ["act", "at", "commitment_id", "id"]
    )
    op.create_index(
        "ix_commitmentevent_commitment_at", "commitmentevent", ["commitment_id", "at", "id"]
    )
    where = {"sqlite_where": sa.text(DUE_MOVED_SQL), "postgresql_where": sa.text(DUE_MOVED_SQL)}
    op.create_index(
        "ix_commitmentevent_due_moved", "commitmentevent", ["at", "commitment_id"], **where
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS commitmentevent_digest ON commitmentevent")
        op.execute("DROP FUNCTION IF EXISTS commitment_digest()")
    else:
        op.execute("DROP TRIGGER IF EXISTS commitmentevent_done_at")
        op.execute("DROP TRIGGER IF EXISTS commitmentevent_answered_at")
    op.drop_index("ix_commitmentevent_due_moved", table_name="commitmentevent")
    op.drop_index("ix_commitmentevent_commitment_at", table_name="commitmentevent")
    op.drop_index("ix_commitmentevent_act_at", table_name="commitmentevent")
    op.create_index("ix_commitmentevent_act_at", "commitmentevent", ["act", "at"])
    op.create_index(
        "ix_commitmentevent_commitment_state_at",
        "commitmentevent",
        ["commitment_id", "to_state", "at"],
    )
    for name in COMMITMENT_INDEXES:
        op.drop_index(name, table_name="commitment")
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
        batch_op.drop_column("done_at")
