"""Fingerprints of erased and purged cases, so a later extract cannot bring them back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

An erased case leaves no row, and a purged one keeps no crime reference or name, so an import of an
extract that still lists the victim (weekly extracts overlap) would create the case again, and an
erased victim would be called. `withdrawn_cases` keeps, for each, a SHA-256 fingerprint of the case's
key (survey, crime reference, name) and nothing else; the import skips rows whose key has one. Cases
purged or erased before this revision left nothing to fingerprint.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "withdrawn_cases",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("survey", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("withdrawn_cases")
