"""unanswered nudges as an append-only log; an index for retention

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 05:00:00

The per-commitment counter (`nudges_unanswered`, `last_nudged_at`) becomes a `nudge` table with
a row per unanswered nudge. Existing counts are carried over as that many rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nudge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["commitment_id"], ["commitment.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("nudge", schema=None) as batch_op:
        batch_op.create_index("ix_nudge_commitment_id", ["commitment_id"], unique=False)

    connection = op.get_bind()
    counted = connection.execute(
        sa.text(
            "SELECT id, nudges_unanswered, COALESCE(last_nudged_at, updated_at) FROM commitment "
            "WHERE nudges_unanswered > 0 AND closed_at IS NULL"
        )
    ).all()
    rows = [
        {"commitment_id": cid, "sent_at": at} for cid, count, at in counted for _ in range(count)
    ]
    if rows:
        connection.execute(
            sa.text("INSERT INTO nudge (commitment_id, sent_at) VALUES (:commitment_id, :sent_at)"),
            rows,
        )

    # Plain ALTER TABLE (SQLite has dropped columns in place since 3.35), not a batch copy of
    # the whole commitment table.
    op.drop_index("ix_commitment_nudges_unanswered", table_name="commitment")
    op.drop_column("commitment", "nudges_unanswered")
    op.drop_column("commitment", "last_nudged_at")
    op.create_index("ix_commitment_closed_at", "commitment", ["closed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_commitment_closed_at", table_name="commitment")
    op.add_column("commitment", sa.Column("last_nudged_at", sa.DateTime(timezone=True)))
    op.add_column(
        "commitment",
        sa.Column("nudges_unanswered", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_commitment_nudges_unanswered", "commitment", ["nudges_unanswered"])
    op.execute(
        "UPDATE commitment SET nudges_unanswered = "
        "(SELECT COUNT(*) FROM nudge WHERE nudge.commitment_id = commitment.id), "
        "last_nudged_at = (SELECT MAX(sent_at) FROM nudge WHERE nudge.commitment_id = commitment.id)"
    )
    with op.batch_alter_table("nudge", schema=None) as batch_op:
        batch_op.drop_index("ix_nudge_commitment_id")
    op.drop_table("nudge")
