"""When the cases were last maintained (fieldwork windows refreshed, stale allocations released).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

One row per periodic job. The app runs the job at most once a minute: a conditional UPDATE of the row
(`last_run_at` older than a minute) decides which one of the running apps does it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "maintenance_runs",
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_maintenance_runs")),
    )
    op.bulk_insert(table, [{"job": "cases", "last_run_at": None}])


def downgrade() -> None:
    op.drop_table("maintenance_runs")
