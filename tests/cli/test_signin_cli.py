"""Signing in on the command line, as a new bureau does it: first administrator, login, logout, idle time."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from app.clock import utcnow
from app.store.db import make_engine
from app.store.models import AuditEvent, StaffSession
from tests.cli.conftest import InProcess, Runner, open_test_session, write_session_file

PASSWORD = "a long password\n"


def audit(url: str, action: str) -> list[tuple[int | None, str | None]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(AuditEvent.staff_id, AuditEvent.entity_id).where(AuditEvent.action == action)
            )
            return [(staff_id, entity_id) for staff_id, entity_id in rows]
    finally:
        engine.dispose()


def test_a_new_bureau_signs_in(survey: Runner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    nobody = survey("user", "list")
    assert (nobody.returncode, nobody.stderr) == (1, "survey: not signed in: run `survey login NAME` first\n")

    caller_first = survey("user", "add", "ann", "--role", "caller", "--password-stdin", input=PASSWORD)
    assert caller_first.returncode == 1
    assert "the first account must be an administrator" in caller_first.stderr
    first = survey("user", "add", "boss", "--role", "admin", "--password-stdin", input=PASSWORD)
    assert (first.returncode, first.stdout) == (0, "added boss (admin)\n"), first.stderr

    wrong = survey("login", "boss", "--password-stdin", input="not the password\n")
    assert (wrong.returncode, wrong.stderr) == (1, "survey: wrong user name or password\n")
    login = survey("login", "boss", "--password-stdin", input=PASSWORD)
    assert login.returncode == 0 and login.stdout.startswith("signed in as boss (admin) to sqlite:///"), login
    session_file = tmp_path / "state" / "survey" / "session.json"
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(session_file.parent.stat().st_mode) == 0o700
    token = next(iter(json.loads(session_file.read_text()).values()))["token"]
    assert token not in (tmp_path / "cli.db").read_bytes().decode("latin-1")  # only its digest is stored

    added = survey("user", "add", "ann", "--role", "caller", "--password-stdin", input=PASSWORD)
    assert added.returncode == 0, added.stderr
    staff_added = audit(url, "staff_added")
    assert [staff_id for staff_id, _ in staff_added] == [None, 1]  # the bootstrap, then boss

    assert survey("logout").stdout == "signed out boss\n"
    after = survey("user", "list")
    assert after.returncode == 1 and "not signed in" in after.stderr


def test_a_session_ends_after_the_idle_time(in_process: InProcess, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    token, name = open_test_session(url, "admin")
    write_session_file(tmp_path / "state", url, token, name)
    assert (
        in_process("settings", "set", "idle_minutes", "20", db=url, state=tmp_path / "state").exit_code == 0
    )
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=21)))
    finally:
        engine.dispose()

    result = in_process("user", "list", db=url, state=tmp_path / "state")
    again = in_process("user", "list", db=url, state=tmp_path / "state")

    assert str(result.exception) == (
        "your sign-in ended after 20 minutes without use: run `survey login test_admin` first"
    )
    assert str(again.exception) == "not signed in: run `survey login NAME` first"
    assert [staff_id for staff_id, _ in audit(url, "session_expired")] == [1]


def test_refusals_name_the_member_of_staff(in_process: InProcess, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    token, name = open_test_session(url, "caller", "carol")
    write_session_file(tmp_path / "state", url, token, name)

    result = in_process("case", "show", "1", db=url, state=tmp_path / "state")

    assert str(result.exception) == "carol (caller) may not review calls: `survey case show` refused"
    assert audit(url, "permission_denied") == [(1, "case show")]


def test_demo_says_how_to_sign_in_and_never_joins_real_staff(in_process: InProcess, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    nobody, supervisor = tmp_path / "nobody", tmp_path / "supervisor"
    demo = in_process("demo", "--cases-per-survey", "10", db=url, state=nobody)
    assert demo.exit_code == 0, demo.output
    assert "`survey login supervisor`" in demo.output and "password 'demo password'" in demo.output

    login = in_process(
        "login", "supervisor", "--password-stdin", db=url, state=supervisor, input="demo password\n"
    )
    assert login.exit_code == 0, login.output
    assert in_process("case", "show", "1", db=url, state=supervisor).exit_code == 0
    again = in_process("demo", db=url, state=supervisor)
    assert str(again.exception) == "supervisor (supervisor) may not manage staff: `survey demo` refused"
    refused = in_process("demo", db=url, state=nobody)
    assert str(refused.exception) == "not signed in: run `survey login NAME` first"


def test_the_demo_never_joins_real_staff(in_process: InProcess, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    token, name = open_test_session(url, "admin")
    write_session_file(tmp_path / "state", url, token, name)

    result = in_process("demo", "--cases-per-survey", "10", db=url, state=tmp_path / "state")

    assert (
        result.output
        == "demo: nothing to do (the database already has staff; the demo fills only a new one)\n"
    )
