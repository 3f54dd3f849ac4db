"""similar initiatives (pairs suggested and linked) and the history of an initiative's edits

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-06 04:10:00

When an initiative is saved, the bot looks for the same need in other units and tells both
units' liaisons. A pair is kept once (first_id < second_id); each side's liaison agrees, and
the pair is linked when both have. An initiative's title, date and owner can be edited
afterwards; each change is an initiativeevent row. Two indexes on the history serve the
promise-keeping figures.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "initiativelink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("second_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("first_agreed_by", sa.Integer(), nullable=True),
        sa.Column("second_agreed_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["first_id"], ["initiative.id"]),
        sa.ForeignKeyConstraint(["second_id"], ["initiative.id"]),
        sa.ForeignKeyConstraint(["first_agreed_by"], ["person.id"]),
        sa.ForeignKeyConstraint(["second_agreed_by"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("first_id", "second_id", name="uq_initiativelink_pair"),
    )
    with op.batch_alter_table("initiativelink", schema=None) as batch_op:
        batch_op.create_index("ix_initiativelink_first_id", ["first_id"], unique=False)
        batch_op.create_index("ix_initiativelink_second_id", ["second_id"], unique=False)
    op.create_table(
        "initiativeevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("before", sa.String(length=300), nullable=True),
        sa.Column("after", sa.String(length=300), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"]),
        sa.ForeignKeyConstraint(["actor_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("initiativeevent", schema=None) as batch_op:
        batch_op.create_index("ix_initiativeevent_initiative_id", ["initiative_id"], unique=False)


    # The promise-keeping figures: a commitment's last event into a state, one act in a period.
    with op.batch_alter_table("commitmentevent", schema=None) as batch_op:
        batch_op.create_index(
            "ix_commitmentevent_commitment_state_at",
            ["commitment_id", "to_state", "at"],
            unique=False,
        )
        batch_op.create_index("ix_commitmentevent_act_at", ["act", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("commitmentevent", schema=None) as batch_op:
        batch_op.drop_index("ix_commitmentevent_act_at")
        batch_op.drop_index("ix_commitmentevent_commitment_state_at")
    with op.batch_alter_table("initiativeevent", schema=None) as batch_op:
        batch_op.drop_index("ix_initiativeevent_initiative_id")
    op.drop_table("initiativeevent")
    with op.batch_alter_table("initiativelink", schema=None) as batch_op:
        batch_op.drop_index("ix_initiativelink_second_id")
        batch_op.drop_index("ix_initiativelink_first_id")
    op.drop_table("initiativelink")
