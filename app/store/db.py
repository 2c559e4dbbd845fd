"""Engines, sessions and connection checks: the one place that knows SQLite from PostgreSQL."""

import contextlib
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import SurveyError
from app.files import private_dir, private_file
from app.store.turns import writer_turn

log = logging.getLogger(__name__)

T = TypeVar("T")

DATABASE_URL_ENV = "SURVEY_DATABASE_URL"

# Execution option: a transaction that only reads. On SQLite it begins DEFERRED instead of IMMEDIATE,
# so long reads (reports, exports, lists on screen) never hold the one write lock.
READ_ONLY = "survey_read_only"

# SQLite settings for every new connection. busy_timeout comes first so that switching a new file to
# WAL waits for other connections instead of failing. synchronous=FULL: a committed answer survives a
# power cut, not only a crash of the program.
_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=10000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA cache_size=-65536",  # 64 MiB of page cache: faster bulk imports and reports
)

# How long opening a SQLite file waits out a lock that SQLite does not wait for itself.
_SQLITE_OPEN_PATIENCE_S = 20.0

# Key of the PostgreSQL advisory lock that makes concurrent migrations (two app starts) take turns.
_MIGRATION_LOCK_KEY = int.from_bytes(b"surveydb", "big")

# A transaction that meets a lock conflict (SQLite still busy after busy_timeout; a PostgreSQL
# deadlock or serialisation failure) is rolled back and run again this many times in all.
TRANSACTION_TRIES = 3
_CONFLICT_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
# How long a SQLite writer waits for its turn before going on to SQLite's own waiting (app.store.turns).
_WRITER_PATIENCE_S = 10.0

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SCHEME_WITHOUT_SLASHES = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}


class DatabaseError(SurveyError):
    """The database cannot be named, opened, reached or migrated."""


def default_database_url() -> str:
    """SURVEY_DATABASE_URL, else a SQLite file in the user's data directory (created if missing)."""
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    if configured:
        return configured
    data_dir = Path(platformdirs.user_data_dir("survey", appauthor=False))
    try:
        private_dir(data_dir)
    except OSError as exc:
        raise DatabaseError(f"cannot create the data directory {data_dir}: {exc.strerror or exc}") from exc
    return URL.create("sqlite", database=str(data_dir / "survey.db")).render_as_string(hide_password=False)


def normalise_url(url: str) -> str:
    """A URL SQLAlchemy can use: PostgreSQL through psycopg 3, a bare path as a SQLite file."""
    raw = url.strip()
    if not raw:
        raise DatabaseError("no database URL given")
    scheme = _SCHEME.match(raw)
    if scheme is None:
        if _SCHEME_WITHOUT_SLASHES.match(raw):
            raise DatabaseError(f"malformed database URL {_redact(raw)}: expected SCHEME://...")
        path = Path(raw).expanduser().absolute()
        return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
    name = scheme.group(1).lower()
    if name not in _POSTGRES_SCHEMES | _SQLITE_SCHEMES:
        raise DatabaseError(
            f"unsupported database URL scheme {name!r}: use sqlite:///PATH or postgresql://USER@HOST/DATABASE"
        )
    if name in _POSTGRES_SCHEMES:
        # make_url does not know the old "postgres" name; swap the scheme before parsing.
        raw = "postgresql+psycopg://" + raw[scheme.end() :]
    try:
        parsed = make_url(raw)
        parsed.port  # noqa: B018 - a non-numeric port fails here, not at connect time
    except (ArgumentError, ValueError) as exc:
        raise DatabaseError(f"malformed database URL {_redact(raw)}") from exc
    if name in _SQLITE_SCHEMES:
        parsed = parsed.set(drivername=name)
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str | URL) -> str:
    """The URL without its password, for messages and logs."""
    parsed = make_url(url) if isinstance(url, str) else url
    # URL.set(password=None) means "leave it"; URL is a NamedTuple, so replace the field itself.
    return parsed._replace(password=None).render_as_string(hide_password=False)


def make_engine(url: str, **kw: Any) -> Engine:
    """An Engine for a SQLite file or a PostgreSQL database; keyword arguments go to create_engine."""
    parsed = make_url(normalise_url(url))
    # Statement parameters are answers, names and notes: never in an exception's text, so never in a
    # log or on a screen.
    kw.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        _private_sqlite_files(parsed)
        engine = create_engine(parsed, **kw)
        engine.dialect.statement_compiler = _SQLiteCompiler
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kw.setdefault("pool_pre_ping", True)
    connect_args = dict(kw.pop("connect_args", {}))
    # A firewalled host must give a one-line error, not hang the CLI for minutes.
    for name, value in (("connect_timeout", 10), ("application_name", "survey")):
        if name not in parsed.query:
            connect_args.setdefault(name, value)
    return create_engine(parsed, connect_args=connect_args, **kw)


class _SQLiteCompiler(SQLiteCompiler):
    """SQLite's statement compiler, writing out table hints such as `INDEXED BY`, which it leaves out.

    `select(...).with_hint(Case, "INDEXED BY ix_name", "sqlite")` then tells SQLite's planner which
    index to walk (and fails loudly, rather than sorting, if that index cannot serve the query).
    """

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


def _private_sqlite_files(url: URL) -> None:
    """The database file readable by its owner only, created so before SQLite first opens it.

    SQLite gives the -wal and -shm files the database file's permissions, so they follow. Files left
    readable by an earlier version are tightened. Anything odd (no such folder) is left for SQLite to
    report in its own words.
    """
    name = url.database or ""
    if not name or name == ":memory:" or name.startswith("file:") or url.query.get("mode") == "memory":
        return
    path = Path(name)
    with contextlib.suppress(OSError):
        private_file(path)
        for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if companion.exists():
                private_file(companion)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # sqlite3 (Python < 3.12) starts transactions itself, late and never for SELECT or DDL; turning that
    # off lets the "begin" hook below emit BEGIN, as SQLAlchemy's SQLite docs recommend.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
    finally:
        cursor.close()
    if mode.lower() not in ("wal", "memory"):
        log.warning("SQLite could not use WAL here (journal_mode is %s): readers will wait for writers", mode)


def _sqlite_on_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN, where busy_timeout applies, so concurrent writers queue.
    # A DEFERRED transaction that reads and then writes fails at once with "database is locked" when
    # another connection wrote in between, whatever the busy timeout.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN DEFERRED")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit; read_only ones never take SQLite's write lock."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


def is_lock_conflict(exc: BaseException) -> bool:
    """True when the database refused for a moment because of other transactions (worth trying again)."""
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _CONFLICT_SQLSTATES:
        return True
    text = str(orig).lower()
    return type(orig).__name__ == "OperationalError" and (
        "database is locked" in text or "database table is locked" in text or "database is busy" in text
    )


def run_transaction(
    sessions: sessionmaker[Session], work: Callable[[Session], T], *, tries: int = TRANSACTION_TRIES
) -> T:
    """`work(session)` in one transaction, committed; run again from the start on a lock conflict.

    Everything `work` did in a failed try was rolled back, so running it again changes nothing twice.
    After the last try the conflict is raised. A write to a SQLite file first waits for its turn
    (`_sqlite_writer_turn`).
    """
    for attempt in range(1, tries + 1):
        try:
            with _sqlite_writer_turn(sessions), sessions.begin() as session:
                return work(session)
        except DBAPIError as exc:
            if attempt == tries or not is_lock_conflict(exc):
                raise
            log.warning("lock conflict (try %d of %d), trying again: %s", attempt, tries, _reason(exc))
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def _sqlite_writer_turn(sessions: sessionmaker[Session]) -> Iterator[None]:
    """Writers to one SQLite file (in any process or thread) take turns in order (app.store.turns).

    Nothing for PostgreSQL, read-only sessions or a database in memory.
    """
    path = _writer_lock_path(sessions)
    if path is None:
        yield
        return
    with writer_turn(path, _WRITER_PATIENCE_S):
        yield


def _writer_lock_path(sessions: sessionmaker[Session]) -> str | None:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return None
    if bind.get_execution_options().get(READ_ONLY):
        return None
    name = bind.url.database or ""
    if not name or name == ":memory:" or name.startswith("file:") or bind.url.query.get("mode") == "memory":
        return None
    return name + "-writer"


def check_connection(engine: Engine) -> None:
    """Open the database once, so a bad URL or a server that is down gives one clear line.

    SQLite answers "database is locked" without waiting in a few moments of a new file's life (while
    another program turns on WAL or recovers the log); those are tried again for a while.
    """
    deadline = time.monotonic() + _SQLITE_OPEN_PATIENCE_S
    pause = 0.05
    while True:
        try:
            with engine.connect() as conn:
                conn.execution_options(**{READ_ONLY: True})
                conn.execute(text("SELECT 1"))
            return
        except (SQLAlchemyError, OSError) as exc:
            locked = engine.dialect.name == "sqlite" and "locked" in _reason(exc)
            if locked and time.monotonic() + pause < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            raise DatabaseError(f"cannot open database {redact_url(engine.url)}: {_reason(exc)}") from exc


@contextmanager
def schema_change(engine: Engine) -> Iterator[Connection]:
    """One connection and one transaction for changing the schema (used by the migrations).

    SQLite: foreign keys are off meanwhile, because Alembic's batch mode rebuilds a table by dropping
    the old one, and with foreign keys on that DROP deletes the answers of every interview (ON DELETE
    CASCADE); they are checked before commit instead. PostgreSQL: an advisory lock makes two programs
    that start at once migrate one after the other.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _sqlite_pragma_outside_transaction(conn, "PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                yield conn
                if sqlite:
                    _check_sqlite_foreign_keys(conn)
        finally:
            if sqlite:
                try:
                    _sqlite_pragma_outside_transaction(conn, "PRAGMA foreign_keys=ON")
                except Exception:
                    conn.invalidate()  # never return a connection without foreign keys to the pool
                    raise


def _sqlite_pragma_outside_transaction(conn: Connection, pragma: str) -> None:
    # PRAGMA foreign_keys is ignored inside a transaction, and SQLAlchemy would begin one; the DBAPI
    # connection is in autocommit mode (see _sqlite_on_connect), so run it there.
    conn.connection.driver_connection.execute(pragma)  # type: ignore[union-attr]


def _check_sqlite_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({f"{row[0]} -> {row[2]}" for row in broken})
        raise DatabaseError(
            f"schema change left {len(broken)} rows with broken foreign keys: {', '.join(tables)}"
        )


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return "; ".join(lines) or type(cause).__name__


def _redact(raw: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", raw)
