"""The data folder, the SQLite file with its WAL and SHM, the log folder and log files: owner-only,
whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app import logs
from app.store.db import default_database_url, make_engine
from app.store.migrate import upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The usual umask, under which files come out world-readable unless the app says otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_database_files_are_owner_only(
    lax_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SURVEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = default_database_url()
    folder = tmp_path / "data" / "survey"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:  # a write, so that the WAL and SHM exist while connected
            conn.execute(text("CREATE TABLE scratch (x INTEGER)"))
            conn.execute(text("INSERT INTO scratch VALUES (1)"))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            files = sorted(p.name for p in folder.iterdir())
            assert files == ["survey.db", "survey.db-shm", "survey.db-wal"]
            assert {name: mode(folder / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        engine.dispose()
    assert mode(folder) == 0o700


def test_an_existing_readable_database_is_tightened(lax_umask: None, tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    engine = make_engine(f"sqlite:///{path}")
    engine.dispose()
    assert mode(path) == 0o600


def test_log_files_are_owner_only_after_rollover(
    lax_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logs.ENV_LOG_DIR, str(tmp_path / "log"))
    root = logging.getLogger("app")
    before = list(root.handlers)
    try:
        for handler in before:
            root.removeHandler(handler)
        path = logs.setup_logging()
        assert path is not None
        handler = next(h for h in root.handlers if isinstance(h, logs.PrivateRotatingFileHandler))
        logging.getLogger("app.test").info("counts only")
        handler.doRollover()
        logging.getLogger("app.test").info("after the rollover")
        handler.close()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in before:
            root.addHandler(handler)
    assert mode(tmp_path / "log") == 0o700
    assert mode(path) == 0o600 and mode(path.with_name("survey.log.1")) == 0o600
