"""Every command as every role and as nobody: allowed or refused as the permission table says.

Runs in-process (Typer's CliRunner) against one seeded SQLite file, one state folder per role. A new
command fails `test_every_command_has_an_entry` until it has a line in app/cli/access.py's COMMANDS
and sample arguments in ARGS below.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.testing
from sqlalchemy import func, select

from app.cli import cli
from app.cli.access import COMMANDS, NotSignedIn, allowed
from app.clock import utcnow
from app.domain.permissions import Actor, PermissionDenied, Role
from app.services.runtime import open_runtime
from app.store.models import AuditEvent, Staff
from tests.cli.conftest import InProcess, open_test_session, write_session_file
from tests.cli.test_sample_cli import extract
from tests.conftest import scratch_postgres
from tests.services.test_allocation import add_case, add_person

DATA = Path(__file__).parents[1] / "data"
YEAR = ("--from", "2025-04-01", "--to", "2026-03-31")

#: Arguments that make each command succeed for a role allowed to run it, on the seeded database.
#: "{role}" and "{tmp}" are filled in per cell; a command with "{role}" in its arguments runs as a new
#: thing each time (a user name, a file).
#: None: not run here (it starts a server or a full-screen app), allowed only for a public command.
ARGS: dict[str, list[str] | None] = {
    "login": ["login", "{login}", "--password-stdin"],
    "logout": ["logout"],
    "demo": ["demo", "--cases-per-survey", "10"],
    "db upgrade": ["db", "upgrade"],
    "serve": None,
    "questionnaire check": ["questionnaire", "check"],
    "questionnaire list": ["questionnaire", "list"],
    "questionnaire show": ["questionnaire", "show", "rape"],
    "questionnaire try": None,
    "questionnaire new": [
        "questionnaire",
        "new",
        "new_{role}",
        "--from",
        "rape",
        "--to",
        "{tmp}/new_{role}.yaml",
    ],
    "sample template": ["sample", "template"],
    "sample import": ["sample", "import", "{tmp}/extract.csv"],
    "responses import": ["responses", "import", str(DATA / "responses" / "historical.csv")],
    "case show": ["case", "show", "{show}"],
    "case reassign": ["case", "reassign", "{reassign}", "--to", "ann", "--reason", "leave"],
    "case reopen": ["case", "reopen", "{reopen}", "--reason", "asked to add a comment"],
    "case close": ["case", "close", "{close}", "--reason", "moved abroad"],
    "case release-stale": ["case", "release-stale"],
    "rates": ["rates", "hate_crime", *YEAR],
    "report": ["report", "hate_crime", *YEAR, "--format", "json"],
    "export": ["export", "hate_crime", *YEAR, "-o", "{tmp}/export-{role}.csv"],
    "export-changes": ["export-changes", "hate_crime", *YEAR, "-o", "{tmp}/changes-{role}.csv"],
    "settings show": ["settings", "show"],
    "settings set": ["settings", "set", "retry_gap_minutes", "120"],
    "user add": ["user", "add", "new_{role}", "--role", "caller", "--password-stdin"],
    "user list": ["user", "list"],
    "audit": ["audit", *YEAR, "--format", "json"],
    "purge": ["purge", "--dry-run"],
    "erase": ["erase", "{erase}", "--reason", "the victim asked"],
}
INPUT = {"login": "a test password\n", "user add": "a long password\n"}
# login and logout change who is signed in: they run last for each role.
LAST = ("login", "logout")
ROLES: list[Role | None] = [None, *Role]


def cli_commands() -> set[str]:
    """Every command the `survey` program has, by its words after `survey`."""
    found: set[str] = set()

    def walk(command: Any, words: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            found.add(" ".join(words))
            return
        for name, sub in subcommands.items():
            walk(sub, (*words, name))

    walk(typer.main.get_command(cli), ())
    return found


def test_every_command_has_an_entry() -> None:
    commands = cli_commands()
    assert commands - set(COMMANDS) == set(), "add these to COMMANDS in app/cli/access.py"
    assert commands - set(ARGS) == set(), "add sample arguments for these to ARGS in this test"
    assert set(COMMANDS) - commands == set(), "COMMANDS names commands that do not exist"
    assert all(COMMANDS[c].public for c, args in ARGS.items() if args is None)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('matrix-db') / 'matrix.db'}"
        return
    with scratch_postgres() as url:
        yield url


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[dict[str, Any]]:
    """A database with a caller, a few cases and one session per role; a state folder per role."""
    tmp = tmp_path_factory.mktemp("matrix")
    url = database_url
    runtime = open_runtime(url)
    try:
        with runtime.sessions.begin() as session:
            add_person(session, "ann")
            ids = {
                "show": add_case(session),
                "reassign": add_case(session),
                "close": add_case(session),
                "erase": add_case(session),
                "reopen": add_case(
                    session,
                    report_date=utcnow().date() - timedelta(days=60),
                    status="closed",
                    final_disposition="2.11",
                    closed_reason="refused",
                    closed_at=utcnow() - timedelta(days=2),
                ),
            }
    finally:
        runtime.close()
    extract(tmp)
    states: dict[Role | None, Path] = {None: tmp / "state-nobody"}
    staff: dict[Role | None, int | None] = {None: None}
    for role in Role:
        token, name = open_test_session(url, role.value)
        states[role] = tmp / f"state-{role.value}"
        write_session_file(states[role], url, token, name)
    engine_runtime = open_runtime(url, register=False)
    with engine_runtime.readers() as session:
        for role in Role:
            staff[role] = session.scalar(select(Staff.id).where(Staff.username == f"test_{role.value}"))
    yield {"url": url, "tmp": tmp, "ids": ids, "states": states, "staff": staff, "runtime": engine_runtime}
    engine_runtime.close()


def expected_allowed(role: Role | None, command: str) -> bool:
    access = COMMANDS[command]
    if access.public:
        return True
    if role is None:
        return False  # the database has staff, so no first-run exception applies
    return allowed(Actor(1, "x", role), access)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "nobody")
def test_every_command_as_every_role(role: Role | None, world: dict[str, Any], in_process: InProcess) -> None:
    name = role.value if role else "nobody"
    fill = {"role": name, "login": f"test_{role.value if role else 'caller'}", "tmp": str(world["tmp"])} | {
        k: str(v) for k, v in world["ids"].items()
    }
    order = [c for c in sorted(COMMANDS) if c not in LAST] + list(LAST)
    wrong: list[str] = []
    for command in order:
        sample = ARGS[command]
        if sample is None:
            continue
        args = [a.format(**fill) for a in sample]
        result = in_process(*args, db=world["url"], state=world["states"][role], input=INPUT.get(command))
        refused = isinstance(result.exception, PermissionDenied | NotSignedIn)
        if expected_allowed(role, command):
            if result.exit_code != 0:
                wrong.append(f"{command}: expected to run, got {result.exception!r} {result.output[-300:]}")
        elif not refused:
            wrong.append(f"{command}: expected a refusal, got exit {result.exit_code} {result.exception!r}")
        elif role is not None:
            with world["runtime"].readers() as session:
                audited = session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(
                        AuditEvent.action == "permission_denied",
                        AuditEvent.staff_id == world["staff"][role],
                        AuditEvent.entity_id == command,
                    )
                )
            if not audited:
                wrong.append(f"{command}: refused but not audited with the member of staff")
    assert wrong == []


@pytest.mark.parametrize(
    ("command", "roles"),
    [
        ("case show", {Role.SUPERVISOR}),
        ("case close", {Role.SUPERVISOR}),
        ("export", {Role.ANALYST}),
        ("sample import", {Role.ADMIN}),
        ("user add", {Role.ADMIN}),
        ("user list", {Role.ADMIN}),
        ("audit", {Role.ADMIN}),
        ("purge", {Role.ADMIN}),
        ("erase", {Role.ADMIN}),
    ],
)
def test_who_may_see_or_change_personal_data(command: str, roles: set[Role]) -> None:
    """The table's sensitive lines, spelled out: loosening one of them must be a deliberate change here."""
    assert {role for role in Role if expected_allowed(role, command)} == roles
    assert not expected_allowed(None, command)


def test_commands_never_act_as_the_system() -> None:
    """Commands act as the signed-in member of staff, so the audit log names who did what."""
    folder = Path(__file__).parents[2] / "app" / "cli"
    offenders = [path.name for path in folder.glob("*.py") if "Actor.system" in path.read_text()]
    assert offenders == []
