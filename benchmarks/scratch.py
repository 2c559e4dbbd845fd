"""A scratch PostgreSQL database for a benchmark, created beside the one named and dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.pool import NullPool

from app.store.db import make_engine


def scratch_postgres(admin_url: str) -> tuple[str, Callable[[], None]]:
    """(URL of a new empty database, a function that drops it)."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"survey_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return admin.url.set(database=name).render_as_string(hide_password=False), drop
