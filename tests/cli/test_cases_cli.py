"""`survey case ...` and `survey settings ...` as a supervisor or administrator runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import utcnow
from app.domain.dispositions import Outcome
from app.domain.permissions import Actor
from app.services import cases
from app.services.runtime import Runtime, open_runtime
from app.services.settings import set_setting
from app.store.models import AuditEvent, Case
from tests.cli.conftest import Runner, SignIn
from tests.services.test_allocation import add_case, add_person, call


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """The database the `survey` fixture's commands use, opened here to seed it."""
    rt = open_runtime(f"sqlite:///{tmp_path / 'cli.db'}")
    yield rt
    rt.close()


@pytest.fixture
def seeded(runtime: Runtime) -> dict[str, int]:
    """Ann holds case "held" (one unanswered call); "free" is in the pool; Bob completed "done"."""
    factory: sessionmaker[Session] = runtime.sessions
    report_date = utcnow().date() - timedelta(days=60)
    call(factory, set_setting, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
    with factory.begin() as session:
        ann = add_person(session, "ann")
        bob = add_person(session, "bob")
        held = add_case(session, report_date=report_date, allocated_to_id=ann.staff_id, allocated_at=utcnow())
        free = add_case(session, report_date=report_date)
        done = add_case(session, report_date=report_date, allocated_to_id=bob.staff_id, allocated_at=utcnow())
    for who, case_id, outcome in ((ann, held, Outcome.NO_ANSWER), (bob, done, Outcome.COMPLETED)):
        with factory() as session:
            phone = session.get_one(Case, case_id).phone
        attempt_id = call(factory, cases.start_attempt, who, case_id, phone)
        call(factory, cases.finish_attempt, who, runtime.catalogue, attempt_id, outcome)
    with factory.begin() as session:
        session.get_one(Case, held).allocated_to_id = ann.staff_id  # Ann took it again
    return {"held": held, "free": free, "done": done}


@pytest.fixture
def survey(signed_in: SignIn) -> Runner:
    """Every command here runs as a supervisor."""
    return signed_in("supervisor")


def one_line_error(result: object, text: str) -> None:
    assert result.returncode == 1, result.stdout  # type: ignore[attr-defined]
    assert result.stderr.strip() == f"survey: {text}"  # type: ignore[attr-defined]


def test_reassign(survey: Runner, runtime: Runtime, seeded: dict[str, int]) -> None:
    result = survey("case", "reassign", str(seeded["held"]), "--to", "bob", "--reason", "Ann is off sick")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"case {seeded['held']} is now held by bob"
    with runtime.sessions() as session:
        detail = session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "case_reassigned"))
    assert json.loads(detail or "{}")["reason"] == "Ann is off sick"


def test_a_reason_is_required(survey: Runner, seeded: dict[str, int]) -> None:
    missing = survey("case", "close", str(seeded["free"]))
    blank = survey("case", "close", str(seeded["free"]), "--reason", "  ")

    assert missing.returncode == 2 and "--reason" in missing.stderr
    one_line_error(blank, "a reason is required")


def test_close_and_reopen(survey: Runner, runtime: Runtime, seeded: dict[str, int]) -> None:
    closed = survey("case", "close", str(seeded["held"]), "--reason", "moved abroad")
    quota = survey("case", "close", str(seeded["free"]), "--reason", "enough", "--disposition", "4.80")
    reopened = survey("case", "reopen", str(seeded["done"]), "--reason", "asked to add a comment")

    assert closed.stdout.strip() == f"case {seeded['held']} closed: 3.13 No answer", closed.stderr
    assert quota.stdout.strip() == f"case {seeded['free']} closed: 4.80 Quota filled", quota.stderr
    assert reopened.stdout.strip() == f"case {seeded['done']} reopened (open)", reopened.stderr
    with runtime.sessions() as session:
        rows = {c.id: c for c in session.scalars(select(Case))}
    assert rows[seeded["done"]].final_disposition is None and rows[seeded["done"]].status == "open"


def test_errors_are_one_line(survey: Runner, seeded: dict[str, int]) -> None:
    one_line_error(
        survey("case", "reopen", str(seeded["free"]), "--reason", "x"),
        f"case {seeded['free']} is open, not closed",
    )
    one_line_error(survey("case", "close", "999", "--reason", "x"), "case 999 does not exist")
    one_line_error(
        survey("case", "close", str(seeded["free"]), "--reason", "x", "--disposition", "7"),
        "unknown final disposition '7'; use one of 1.1, 1.2, 2.11, 2.12, 2.20, 2.21, 2.22, 3.11, 3.12, 3.13,"
        " 3.14, 3.90, 4.10, 4.70, 4.80",
    )
    one_line_error(
        survey("case", "reassign", str(seeded["free"]), "--to", "zed", "--reason", "x"),
        "no active member of staff called 'zed'",
    )


def test_show(survey: Runner, seeded: dict[str, int]) -> None:
    table = survey("case", "show", str(seeded["held"]))
    data = survey("case", "show", str(seeded["held"]), "--format", "json")

    assert table.returncode == 0, table.stderr
    for text in ("hate_crime", "3.13 No answer", "no_answer", "ann", "Attempts"):
        assert text in table.stdout
    history = json.loads(data.stdout)
    assert history["state"]["disposition"] == {"code": "3.13", "label": "No answer"}
    assert [a["outcome"] for a in history["attempts"]] == ["no_answer"]
    assert history["state"]["allocated_to"] == "ann"
    assert [e["action"] for e in history["events"]] == ["case_history_viewed"]  # the table's view, audited


def test_release_stale(survey: Runner, runtime: Runtime, seeded: dict[str, int]) -> None:
    with runtime.sessions.begin() as session:
        session.get_one(Case, seeded["held"]).last_activity_at = utcnow() - timedelta(hours=30)

    result = survey("case", "release-stale")
    again = survey("case", "release-stale")

    assert (result.stdout.strip(), again.stdout.strip()) == ("released 1 case", "released 0 cases")
    with runtime.sessions() as session:
        assert session.get_one(Case, seeded["held"]).allocated_to_id is None


def test_settings_show_and_set(survey: Runner) -> None:
    changed = survey("settings", "set", "calling_hours", "mon-fri 10:00-19:00")
    shown = survey("settings", "show", "--format", "json")
    bad = survey("settings", "set", "retry_gap_minutes", "soon")

    assert changed.stdout.strip() == "calling_hours = Mon-Fri 10:00-19:00", changed.stderr
    values = {row["key"]: row["value"] for row in json.loads(shown.stdout)}
    assert values["calling_hours"] == "Mon-Fri 10:00-19:00" and values["stale_allocation_hours"] == "24"
    one_line_error(bad, "setting retry_gap_minutes: 'soon' is not a whole number")
