"""Opening the app's world: the database (migrated), its sessions, and the questionnaires."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.services import catalogue as catalogue_service
from app.services.catalogue import Catalogue
from app.store.db import (
    check_connection,
    default_database_url,
    make_engine,
    make_session_factory,
    redact_url,
    run_transaction,
)
from app.store.migrate import ensure_schema

T = TypeVar("T")


@dataclass
class Runtime:
    """What every command and screen works with; built once at start-up."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]  # read-only: never takes SQLite's write lock
    catalogue: Catalogue

    @property
    def display_url(self) -> str:
        return redact_url(self.engine.url)

    def transaction(self, work: Callable[[Session], T], *, write: bool = True) -> T:
        """`work(session)` in one transaction (read-only unless `write`), committed.

        A lock conflict the database could not wait out (SQLite busy beyond its timeout, a PostgreSQL
        deadlock) runs the whole transaction again, a few times, before it is reported.
        """
        return run_transaction(self.sessions if write else self.readers, work)

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(
    db_url: str | None = None,
    questionnaires: str | Path | None = None,
    *,
    migrate: bool = True,
    register: bool = True,
) -> Runtime:
    """Open (and by default migrate) the database and load the questionnaires.

    Errors are SurveyErrors with one clear line: a database that cannot be reached, a questionnaire
    that does not validate, or changed content under an old version.
    """
    url = db_url or default_database_url()
    engine = make_engine(url)
    try:
        check_connection(engine)
        if migrate:
            ensure_schema(engine)
        catalogue = catalogue_service.load_catalogue(catalogue_service.questionnaire_dir(questionnaires))
        sessions = make_session_factory(engine)
        if register:
            with sessions.begin() as session:
                catalogue_service.register(session, catalogue)
    except BaseException:
        engine.dispose()
        raise
    return Runtime(
        url=url,
        engine=engine,
        sessions=sessions,
        readers=make_session_factory(engine, read_only=True),
        catalogue=catalogue,
    )
