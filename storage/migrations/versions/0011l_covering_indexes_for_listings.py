"""covering partial indexes for the listings, and fresh planner statistics

Revision ID: 0011l
Revises: 0011f
Create Date: 2026-12-06 07:30:00

Each listing section reads a page of open commitments in the order it shows them and counts
them up to 1,000. The counts were the part that grew with the table: the index a count walked
lacked a column its WHERE tests, so each of up to 1,001 rows cost a read of the table. These
partial indexes (open rows only, as in 0008) hold what each section's WHERE tests, so a count
is read from the index alone and a page stops after its rows:

- `stuck` walks (due, id) and tests state and last_activity_at: both added;
- a liaison's `stuck` and `unit` walk (unit_id, due, id): state and last_activity_at added;
- "You owe" walks (owner_id, due, id) and "Owed to you" (requester_id, due, id), the latter
  testing owner_id; before, both read every item of the person, closed ones too, and sorted.

The two indexes of 0008 that the wider ones start with are dropped. The planner's statistics
are refreshed (ANALYZE) so that SQLite picks these indexes on a database that had none.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011l"
down_revision: str | None = "0011f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_SQL = "state IN ('requested', 'countered', 'promised', 'done_reported')"
INDEXES = {
    "ix_commitment_open_due_activity": ["due", "id", "state", "last_activity_at"],
    "ix_commitment_open_unit_activity": ["unit_id", "due", "id", "state", "last_activity_at"],
    "ix_commitment_open_owner_due": ["owner_id", "due", "id"],
    "ix_commitment_open_requester_due": ["requester_id", "due", "id", "owner_id"],
}
REPLACED = {
    "ix_commitment_open_due": ["due", "id"],
    "ix_commitment_open_unit_due": ["unit_id", "due", "id"],
}


def _where() -> dict:
    import sqlalchemy as sa

    return {"sqlite_where": sa.text(OPEN_SQL), "postgresql_where": sa.text(OPEN_SQL)}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "commitment", columns, unique=False, **_where())
    for name in REPLACED:
        op.drop_index(name, table_name="commitment")
    op.execute("ANALYZE commitment")


def downgrade() -> None:
    for name, columns in REPLACED.items():
        op.create_index(name, "commitment", columns, unique=False, **_where())
    for name in INDEXES:
        op.drop_index(name, table_name="commitment")
