"""Allocation and attempts: appointment owner, time-of-day counts, latest attempt, partial break-offs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

cases.appointment_by_id: the caller who made the appointment held in next_call_at (offered to them first).
cases.last_attempt_at and attempts_morning/afternoon/evening: allocation varies the time of day of
attempts with a plain ORDER BY on the current band's count.
attempts.partial: a break-off that reached the questionnaire's partial point (1.2 rather than 2.12).
ix_cases_status_survey_report_date: allocation opens and closes fieldwork windows by report date.

Batch mode: SQLite cannot add a foreign key to an existing table, so "cases" is rebuilt there
(app.store.db.schema_change keeps foreign keys off meanwhile); PostgreSQL gets plain ALTER TABLEs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("appointment_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_attempt_at", sa.DateTime(), nullable=True))
        for band in ("morning", "afternoon", "evening"):
            batch.add_column(
                sa.Column(f"attempts_{band}", sa.Integer(), server_default=sa.text("0"), nullable=False)
            )
        batch.create_foreign_key(
            op.f("fk_cases_appointment_by_id_staff"), "staff", ["appointment_by_id"], ["id"]
        )
    op.create_index(op.f("ix_cases_status_survey_report_date"), "cases", ["status", "survey", "report_date"])
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("partial", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_index(op.f("ix_cases_status_survey_report_date"), table_name="cases")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("partial")
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint(op.f("fk_cases_appointment_by_id_staff"), type_="foreignkey")
        for band in ("evening", "afternoon", "morning"):
            batch.drop_column(f"attempts_{band}")
        batch.drop_column("last_attempt_at")
        batch.drop_column("appointment_by_id")
