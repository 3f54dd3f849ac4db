"""partial indexes on open commitments, in the order listings show them

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06 04:30:00

Listings ("commitments stuck", "unit", the App Home) show a page of open items, soonest due
first. These indexes hold only the open rows (a fraction of the table), in that order, so a
page is read by walking an index and stopping, not by sorting every open row. Measured with
EXPLAIN (ANALYZE) on PostgreSQL and EXPLAIN QUERY PLAN on SQLite (README, performance).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_SQL = "state IN ('requested', 'countered', 'promised', 'done_reported')"
INDEXES = {
    "ix_commitment_open_due": ["due", "id"],
    "ix_commitment_open_unit_due": ["unit_id", "due", "id"],
    "ix_commitment_open_activity": ["last_activity_at"],
}


def upgrade() -> None:
    where = {"sqlite_where": sa.text(OPEN_SQL), "postgresql_where": sa.text(OPEN_SQL)}
    for name, columns in INDEXES.items():
        op.create_index(name, "commitment", columns, unique=False, **where)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="commitment")
