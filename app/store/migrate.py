"""Bring a database's schema up to date with Alembic, from a checkout or an installed wheel."""

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.progress import SILENT, Progress
from app.store.db import READ_ONLY, DatabaseError, check_connection, make_engine, redact_url, schema_change


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
        config.attributes["progress"] = progress
        command.upgrade(config, revision)

    _run(url_or_engine, run)


def downgrade(url_or_engine: str | Engine, revision: str) -> None:
    """Migrate down to revision ("base" drops every table)."""
    _run(url_or_engine, lambda config: command.downgrade(config, revision))


def head_revision() -> str:
    head = ScriptDirectory.from_config(_script_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise DatabaseError("the migrations folder has no revisions: reinstall survey")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        return MigrationContext.configure(conn).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def ensure_schema(engine: Engine) -> None:
    """On start: create or upgrade the schema, and refuse a database made by a newer survey."""
    check_connection(engine)
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


def _script_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    return config
