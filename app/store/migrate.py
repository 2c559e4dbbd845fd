"""Bring a database's schema up to date with Alembic, from a checkout or an installed wheel.

Starting the app checks the schema with one query (the revision stored in alembic_version against the
newest revision among the migration files, read as text); Alembic itself is imported only when a
migration must run or the two cannot be compared simply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from app.progress import SILENT, Progress
from app.store.db import READ_ONLY, DatabaseError, check_connection, make_engine, redact_url, schema_change

if TYPE_CHECKING:
    from alembic.config import Config


def migrations_dir() -> Path:
    """The Alembic folder: app/_bundled/migrations in a wheel, <repo>/migrations in a checkout."""
    package = Path(__file__).resolve().parents[1]
    # The bundled copy first: next to an installed package, "../migrations" could be anybody's.
    for candidate in (package / "_bundled" / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise DatabaseError(f"cannot find the database migrations next to {package}: reinstall survey")


def alembic_config(url: str) -> Config:
    """An Alembic Config built in code, independent of the working directory and of alembic.ini."""
    config = _script_config()
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolates "%"
    return config


def upgrade(url_or_engine: str | Engine, revision: str = "head", progress: Progress = SILENT) -> None:
    """Migrate up to revision; nothing happens when the database is there already.

    `progress` is shown the migrations' long work, such as counting a million interviews into new
    tallies (migrations find it in the Alembic config's attributes).
    """

    def run(config: Config) -> None:
        from alembic import command

        config.attributes["progress"] = progress
        command.upgrade(config, revision)

    _run(url_or_engine, run)


def downgrade(url_or_engine: str | Engine, revision: str) -> None:
    """Migrate down to revision ("base" drops every table)."""
    from alembic import command

    _run(url_or_engine, lambda config: command.downgrade(config, revision))


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_script_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise DatabaseError("the migrations folder has no revisions: reinstall survey")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        return MigrationContext.configure(conn).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def ensure_schema(engine: Engine) -> None:
    """On start: create or upgrade the schema, and refuse a database made by a newer survey."""
    stored = _stored_revisions(engine)
    if stored is not None and stored == _file_heads():
        return  # the usual start: up to date, and Alembic never imported
    from alembic.script import ScriptDirectory

    current = current_revision(engine)
    script = ScriptDirectory.from_config(_script_config())
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise DatabaseError(
            f"database {redact_url(engine.url)} is at schema revision {current}, which this version of "
            "survey does not know: install the newer survey that created it"
        )
    if current != script.get_current_head():
        upgrade(engine)


def _run(url_or_engine: str | Engine, alembic_command: Callable[[Config], None]) -> None:
    # Alembic gets a connection from make_engine (so the SQLite settings apply) inside schema_change
    # (one transaction; on SQLite foreign keys checked at the end rather than enforced mid-way).
    owned = not isinstance(url_or_engine, Engine)
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        check_connection(engine)
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with schema_change(engine) as conn:
            config.attributes["connection"] = conn
            alembic_command(config)
    finally:
        if owned:
            engine.dispose()


def _stored_revisions(engine: Engine) -> set[str] | None:
    """The revisions in alembic_version, with one query; None where there is no such table yet."""
    try:
        with engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            return {row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
    except DBAPIError:
        check_connection(engine)  # a database that cannot be reached says so, in one line
        return None


_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:['\"](\w+)['\"]|None)", re.M)


def _file_heads() -> set[str] | None:
    """The newest revisions of the migration files, read as text (None if any file is not simple)."""
    revisions: set[str] = set()
    replaced: set[str] = set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        found = dict((name, value) for name, value in _REVISION.findall(path.read_text(encoding="utf-8")))
        if not found.get("revision") or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            replaced.add(found["down_revision"])
    return revisions - replaced or None


def _script_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    return config
