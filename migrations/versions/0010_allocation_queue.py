"""Allocation's queue as partial indexes: the next case is a walk down an index, not a sort.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

Finding a caller's next case sorted every open case in the pool (10,000 of them: about 9 ms of a
write transaction, with sixteen callers waiting for that transaction). One partial index per kind of
case, in the order allocation offers them, holds only open cases that nobody holds: appointments by
time, untried cases by report date, and retries by their count in each time of day (morning,
afternoon, evening), then by how long they have waited.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POOL = "status = 'open' AND allocated_to_id IS NULL"
_INDEXES = {
    "ix_cases_queue_appointments": (("next_call_at", "id"), f"{_POOL} AND appointment_by_id IS NOT NULL"),
    "ix_cases_queue_untried": (
        ("report_date", "id"),
        f"{_POOL} AND appointment_by_id IS NULL AND attempt_count = 0",
    ),
    **{
        f"ix_cases_queue_{band}": (
            (f"attempts_{band}", "last_attempt_at", "id"),
            f"{_POOL} AND appointment_by_id IS NULL AND attempt_count > 0",
        )
        for band in ("morning", "afternoon", "evening")
    },
}


def upgrade() -> None:
    for name, (columns, where) in _INDEXES.items():
        op.create_index(
            name, "cases", list(columns), sqlite_where=sa.text(where), postgresql_where=sa.text(where)
        )


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="cases")
