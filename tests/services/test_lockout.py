"""The lock-out holds when many wrong passwords arrive at the same moment, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from app.clock import utcnow
from app.domain.permissions import Actor, Role
from app.services import staff
from app.services.staff import LOCKOUT, MAX_FAILURES, SignInRefused, add_staff, sign_in
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import Staff

ATTEMPTS = 16


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lockout.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The password hashes checked, in order."""
    checked: list[str] = []
    real = staff._verify

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(staff, "_verify", counting)
    yield checked


def test_sixteen_wrong_passwords_at_once_lock_the_account(url: str, checks: list[str]) -> None:
    upgrade(url)
    engine = make_engine(url, poolclass=NullPool)  # one connection per attempt, as on many machines
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        add_staff(session, Actor.system(), username="casey", role=Role.CALLER, password="right password")
    start = threading.Barrier(ATTEMPTS)
    outcomes: list[object] = []

    def attempt() -> None:
        start.wait()
        outcomes.append(sign_in(sessions, "casey", "wrong password"))

    threads = [threading.Thread(target=attempt) for _ in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        with sessions() as session:
            row = session.scalar(select(Staff).where(Staff.username == "casey"))
            assert row is not None
            locked_until = row.locked_until
        still_locked = sign_in(sessions, "casey", "right password")
    finally:
        engine.dispose()

    assert len(outcomes) == ATTEMPTS and all(isinstance(o, SignInRefused) for o in outcomes)
    assert len(checks) <= MAX_FAILURES
    assert locked_until is not None and locked_until > utcnow() + LOCKOUT - timedelta(minutes=1)
    assert still_locked == SignInRefused("too many wrong passwords: try again in 5 minutes")
    assert len(checks) <= MAX_FAILURES  # the right password was not checked either


def test_the_minutes_in_the_message_and_an_unknown_name(session_factory, checks: list[str]) -> None:  # type: ignore[no-untyped-def]
    with session_factory.begin() as session:
        add_staff(session, Actor.system(), username="casey", role=Role.CALLER, password="right password")
    now = utcnow()
    for _ in range(MAX_FAILURES):
        last = sign_in(session_factory, "casey", "wrong password", now=now)
    assert last == SignInRefused("too many wrong passwords: try again in 5 minutes")
    for elapsed, minutes in ((timedelta(seconds=61), "4 minutes"), (timedelta(seconds=299), "1 minute")):
        refused = sign_in(session_factory, "casey", "right password", now=now + elapsed)
        assert refused == SignInRefused(f"too many wrong passwords: try again in {minutes}")
    assert len(checks) == MAX_FAILURES
    unknown = sign_in(session_factory, "nobody", "wrong password")
    assert unknown == SignInRefused("wrong user name or password")
    assert len(checks) == MAX_FAILURES + 1  # an unknown name costs a password check too


def test_no_transaction_is_open_while_the_password_is_checked(
    db_url: str,
    session_factory,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """Argon2 is slow: while it works, other callers must be able to write (SQLite has one write lock)."""
    import sqlite3

    with session_factory.begin() as session:
        add_staff(session, Actor.system(), username="casey", role=Role.CALLER, password="right password")
    real = staff._verify
    writes: list[str] = []

    def verify_while_another_caller_writes(password_hash: str, password: str) -> bool:
        other = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once with "database is locked" if a writer holds it
            other.execute("UPDATE settings SET value = value WHERE 0")
            other.execute("COMMIT")
            writes.append("written")
        finally:
            other.close()
        return real(password_hash, password)

    monkeypatch.setattr(staff, "_verify", verify_while_another_caller_writes)
    assert isinstance(sign_in(session_factory, "casey", "wrong password"), SignInRefused)
    assert sign_in(session_factory, "casey", "right password").username == "casey"  # type: ignore[union-attr]
    assert writes == ["written", "written"]
