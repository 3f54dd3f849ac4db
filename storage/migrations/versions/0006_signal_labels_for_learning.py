"""signal labels: answers to offers, kept as excerpts for the organisation's model

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 01:20:00

"Plan it with IT", "Not now" and "IT isn't needed" are labels. Each is kept as the
280-character excerpt privacy already allows, the kind offered and the answer, so that
`liaison-bot train` can refit the organisation's signal model.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signallabel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("excerpt", sa.String(length=280), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signallabel", schema=None) as batch_op:
        batch_op.create_index("ix_signallabel_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signallabel", schema=None) as batch_op:
        batch_op.drop_index("ix_signallabel_created_at")
    op.drop_table("signallabel")
