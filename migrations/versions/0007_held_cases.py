"""Cases held for a supervisor after a quick exit mid-interview; notes kept before an answer.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

A quick exit in the middle of an interview is a safety event, not a refusal: the case is held
(`status` 'held', `held_at` the moment) until a supervisor retries it from a date or closes it as a
break-off or a partial. `interviews.draft_notes` keeps a caller's notes on questions not yet answered
(JSON, question id to note), so a note is durable the moment it is written.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("held_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("interviews") as batch:
        batch.add_column(sa.Column("draft_notes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.drop_column("draft_notes")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("held_at")
