"""Shared fixtures: a migrated SQLite file per test, its engine and sessions, a scratch PostgreSQL DB."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from app.store.db import DatabaseError, check_connection, make_engine, make_session_factory
from app.store.migrate import upgrade

POSTGRES_URL_ENV = "SURVEY_TEST_POSTGRES_URL"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A SQLite file under tmp_path, migrated to head (a file, never :memory:, so threads share it)."""
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    upgrade(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (not migrated), dropped afterwards.

    The server and credentials come from SURVEY_TEST_POSTGRES_URL, e.g.
    postgresql://postgres@127.0.0.1:5432/test; that database is only used to create and drop ours.
    """
    with scratch_postgres() as url:
        yield url


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """pg_url's database, for fixtures of a wider scope; skips the test when there is no server."""
    admin_url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if not admin_url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    admin = make_engine(
        admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 5}
    )
    try:
        check_connection(admin)
    except DatabaseError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL from {POSTGRES_URL_ENV} is unreachable: {exc}")
    name = f"survey_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE (PostgreSQL 13+) ends connections that a test's engine still holds in its pool.
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
