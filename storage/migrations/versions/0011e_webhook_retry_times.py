"""when a failed webhook delivery may be posted again

Revision ID: 0011e
Revises: 0010
Create Date: 2026-12-06 07:15:00

A webhook delivery that failed (no answer, 408, 429, 5xx) is posted again after a pause that
doubles with each attempt, with jitter, or after the receiver's Retry-After. The ledger row
keeps the time it may go again (`retry_at`), so no sweep posts it sooner, and none twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011e"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_column("retry_at")
