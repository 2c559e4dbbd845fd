"""Verbatim redactions: what analysts may see of each free-text answer, once a supervisor reviewed it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
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
        "verbatim_redactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("redacted", sa.Text(), nullable=False),
        sa.Column("original_hash", sa.String(length=64), nullable=False),
        sa.Column("spans", sa.Integer(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["answers.id"],
            name=op.f("fk_verbatim_redactions_answer_id_answers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_verbatim_redactions_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["staff.id"], name=op.f("fk_verbatim_redactions_reviewed_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verbatim_redactions")),
        sa.UniqueConstraint("answer_id", name=op.f("uq_verbatim_redactions_answer_id")),
    )
    op.create_index(op.f("ix_verbatim_redactions_interview_id"), "verbatim_redactions", ["interview_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_verbatim_redactions_interview_id"), table_name="verbatim_redactions")
    op.drop_table("verbatim_redactions")
