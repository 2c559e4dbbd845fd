"""Run the real `survey` command in a subprocess, as a user would: signed in as a role, or as nobody.

- `survey(*args, input=None, db=None, env=None)`: nobody is signed in.
- `signed_in("supervisor")`: a runner like `survey`, signed in to the same database as a member of
  staff with that role (added the first time, user name "test_supervisor" unless given). Each signed-in
  runner keeps its own state folder, so several roles can take turns in one test.

A module whose commands all run as one role may override `survey` itself:

    @pytest.fixture
    def survey(signed_in: SignIn) -> Runner:
        return signed_in("analyst")
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
import typer
import typer.testing
from argon2 import PasswordHasher
from sqlalchemy import select
from typer.testing import CliRunner, Result

from app.cli import cli
from app.clock import utcnow
from app.domain.permissions import Role
from app.services import catalogue
from app.services.signin import token_digest
from app.store.db import make_engine, make_session_factory, normalise_url, redact_url
from app.store.migrate import upgrade
from app.store.models import Staff, StaffSession

Runner = Callable[..., subprocess.CompletedProcess[str]]
TEST_PASSWORD = "a test password"


class InProcess(Protocol):
    def __call__(self, *args: str, db: str, state: Path, input: str | None = None) -> Result: ...


class SignIn(Protocol):
    def __call__(self, role: str, username: str | None = None, *, db: str | None = None) -> Runner: ...


def _runner(tmp_path: Path, state: Path) -> Runner:
    default_db = f"sqlite:///{tmp_path / 'cli.db'}"

    def run(
        *args: str,
        input: str | None = None,
        db: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        inherited = {k: v for k, v in os.environ.items() if k != "SURVEY_QUESTIONNAIRES"}
        environment = {
            **inherited,
            "SURVEY_DATABASE_URL": db or default_db,
            "SURVEY_LOG_DIR": str(tmp_path / "logs"),
            "XDG_STATE_HOME": str(state),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            input=input,
            capture_output=True,
            text=True,
            env=environment,
            timeout=timeout,
        )

    return run


@pytest.fixture
def survey(tmp_path: Path) -> Runner:
    """`survey(*args, input=None, db=None)` runs the command with a private database and log folder."""
    return _runner(tmp_path, tmp_path / "state")


@pytest.fixture(scope="module")
def in_process() -> Iterator[InProcess]:
    """`in_process(*args, db=URL, state=FOLDER, input=None)`: the command run in this process (Typer's
    CliRunner), the questionnaires parsed once per module: for tests that run many commands."""
    cached = functools.lru_cache(maxsize=None)(catalogue.load_catalogue)
    program = typer.main.get_command(cli)
    runner = CliRunner()

    def invoke(*args: str, db: str, state: Path, input: str | None = None) -> Result:
        env = {
            "SURVEY_DATABASE_URL": db,
            "XDG_STATE_HOME": str(state),
            "SURVEY_QUESTIONNAIRES": "",
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
        return runner.invoke(cli, list(args), env=env, input=input)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalogue, "load_catalogue", cached)
        patch.setattr(typer.testing, "_get_command", lambda app: program)
        yield invoke


@functools.cache
def test_password_hash() -> str:
    """One Argon2 hash of TEST_PASSWORD per test process: hashing is slow on purpose."""
    return PasswordHasher().hash(TEST_PASSWORD)


def open_test_session(url: str, role: str, username: str | None = None) -> tuple[str, str]:
    """Add (once) a member of staff with this role, password TEST_PASSWORD, and open a session for them.

    Returns (token, username). The database is migrated first if it is new.
    """
    name = username or f"test_{role}"
    upgrade(url)
    engine = make_engine(url)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    try:
        with make_session_factory(engine).begin() as session:
            staff_id = session.scalar(select(Staff.id).where(Staff.username == name))
            if staff_id is None:
                staff = Staff(
                    username=name,
                    display_name=name,
                    role=Role(role).value,
                    password_hash=test_password_hash(),
                    created_at=now,
                )
                session.add(staff)
                session.flush()
                staff_id = staff.id
            session.add(
                StaffSession(
                    staff_id=staff_id, token_hash=token_digest(token), started_at=now, last_seen_at=now
                )
            )
    finally:
        engine.dispose()
    return token, name


def write_session_file(state: Path, url: str, token: str, username: str) -> None:
    """What `survey login` leaves in the state folder (XDG_STATE_HOME) for this database."""
    path = state / "survey" / "session.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    sessions = json.loads(path.read_text()) if path.exists() else {}
    sessions[redact_url(normalise_url(url))] = {"token": token, "username": username}
    path.write_text(json.dumps(sessions))


@pytest.fixture
def signed_in(tmp_path: Path) -> SignIn:
    def sign_in(role: str, username: str | None = None, *, db: str | None = None) -> Runner:
        url = db or f"sqlite:///{tmp_path / 'cli.db'}"
        token, name = open_test_session(url, role, username)
        state = tmp_path / f"state-{name}"
        write_session_file(state, url, token, name)
        return _runner(tmp_path, state)

    return sign_in
