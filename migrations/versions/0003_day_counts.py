"""Daily counts of completed interviews and of the codes given, which the quarterly report sums.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

A report over many years counted every interview and looked up its measure answers: five index look-ups
per interview, 2.5 s over a million. These two tables hold the same counts per survey, Division and
local day, kept up to date by app.services.tallies as interviews complete, are imported or corrected.
Upgrading fills them from the interviews already stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_day_counts",
        sa.Column("survey", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("division", sa.String(length=64), nullable=False),
        sa.Column("surveys", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("survey", "day", "division", name=op.f("pk_survey_day_counts")),
    )
    op.create_table(
        "code_day_counts",
        sa.Column("survey", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("division", sa.String(length=64), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "survey", "question_id", "day", "division", "code", name=op.f("pk_code_day_counts")
        ),
    )
    from app.progress import SILENT
    from app.services.tallies import rebuild_tallies_on

    # `survey db upgrade` passes its progress bar in the Alembic config (app.store.migrate.upgrade).
    config = op.get_context().config
    rebuild_tallies_on(op.get_bind(), config.attributes.get("progress", SILENT) if config else SILENT)


def downgrade() -> None:
    op.drop_table("code_day_counts")
    op.drop_table("survey_day_counts")
