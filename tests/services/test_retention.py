"""Retention purge, erasure on request and the append-only audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.clock import utcnow
from app.domain.permissions import Actor, PermissionDenied, Role
from app.services.audit import audit_trail
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue, register
from app.services.rates import rates_report
from app.services.report import build_report
from app.services.retention import erase_case, purge
from app.services.tallies import rebuild_tallies
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import (
    Attempt,
    AuditEvent,
    Base,
    Case,
    CodeDayCount,
    Interview,
    SafeguardingAlert,
    ScreeningDecision,
    Staff,
    SurveyDayCount,
)
from tests.services.test_rates import END, START, seed
from tests.services.test_report import add_interview, utc

ADMIN = Actor(staff_id=None, username="admin", role=Role.ADMIN)
PERSONAL = ("Victim 0", "+442079460000", "CR/00000/25", "1980-02-03", "lives at 1 High St")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    url = (
        f"sqlite:///{tmp_path / 'retention.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    upgrade(url)
    engine = make_engine(url)
    yield engine, make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue(bundled_dir())


def populate(sessions: sessionmaker[Session], catalogue: Catalogue) -> None:
    """The rates example (closed 200 days ago, bar one closed 10 days ago), with calls, notes, an alert
    and completed interviews on the first cases."""
    seed(sessions)
    now = utcnow()
    with sessions.begin() as session:
        register(session, catalogue)
        caller = Staff(username="ann", display_name="Ann", role="caller", password_hash="x", created_at=now)
        session.add(caller)
        session.flush()
        session.execute(
            update(Case).where(Case.status == "closed").values(closed_at=now - timedelta(days=200))
        )
        session.execute(update(Case).where(Case.id == 2).values(closed_at=now - timedelta(days=10)))
        session.execute(update(Case).where(Case.id == 1).values(date_of_birth=date(1980, 2, 3)))
        for case_id in (1, 2, 3):
            session.add(
                Attempt(
                    case_id=case_id,
                    caller_id=caller.id,
                    started_at=now - timedelta(days=210),
                    number_dialled=f"+442079460{case_id - 1:03d}",  # the case's own number
                    outcome="completed",
                    note=f"partner {PERSONAL[4]}",
                )
            )
            session.add(
                ScreeningDecision(
                    case_id=case_id,
                    reason="vulnerable",
                    excluded=False,
                    decided_by="staff",
                    decided_at=now - timedelta(days=210),
                    note=PERSONAL[4],
                )
            )
            interview_id = add_interview(
                session,
                catalogue.get("hate_crime"),
                utc(2025, 5, 10 + case_id),
                {"overall": 1},
                case_id=case_id,
            )
            session.add(
                SafeguardingAlert(
                    case_id=case_id,
                    interview_id=interview_id,
                    raised_by_id=caller.id,
                    raised_at=now - timedelta(days=210),
                    note=PERSONAL[4],
                )
            )


def figures(sessions: sessionmaker[Session], catalogue: Catalogue) -> tuple[object, object]:
    with sessions() as session:
        rates = rates_report(session, catalogue, "hate_crime", START, END)
        report = build_report(session, ADMIN, catalogue, "hate_crime", START, END)
    return rates, report


def all_rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: [tuple(r) for r in conn.execute(table.select())]
            for table in Base.metadata.sorted_tables
        }


def test_purge_keeps_the_figures_and_deletes_the_personal_data(
    world: tuple[Engine, sessionmaker[Session]], catalogue: Catalogue
) -> None:
    engine, sessions = world
    populate(sessions, catalogue)
    before = figures(sessions, catalogue)
    with sessions.begin() as session:
        dry = purge(session, ADMIN, dry_run=True)
    with sessions.begin() as session:
        done = purge(session, ADMIN)
    with sessions.begin() as session:
        again = purge(session, ADMIN)

    assert dry.cases == done.cases > 0 and again.cases == 0
    assert figures(sessions, catalogue) == before
    with sessions() as session:
        cases = {c.id: c for c in session.scalars(select(Case))}
        notes = session.scalars(select(Attempt.note).where(Attempt.case_id != 2)).all()
    assert cases[1].victim_name is None and cases[1].phone is None and cases[1].date_of_birth is None
    assert cases[1].crime_ref == "(deleted)" and cases[1].personal_data_deleted_at is not None
    assert cases[1].final_disposition == "1.1" and cases[1].division == "North"
    assert cases[2].victim_name == "Victim 1"  # closed 10 days ago: kept for now
    assert notes == [None, None]
    kept = repr({name: rows for name, rows in all_rows(engine).items() if name not in ("cases", "attempts")})
    assert PERSONAL[4] in repr(all_rows(engine)["attempts"])  # only case 2's note, still in retention
    assert "Victim 0" not in kept and "+442079460000" not in repr(all_rows(engine)["cases"][0])


def test_erasure_leaves_nothing_of_the_case(
    world: tuple[Engine, sessionmaker[Session]], catalogue: Catalogue
) -> None:
    engine, sessions = world
    populate(sessions, catalogue)
    with sessions.begin() as session:
        removed = erase_case(session, ADMIN, 1, "the victim asked")
    with sessions.begin() as session, pytest.raises(Exception, match="does not exist"):
        erase_case(session, ADMIN, 1, "again")

    assert removed >= 6
    rows = all_rows(engine)
    dump = repr({name: table for name, table in rows.items() if name != "audit_events"})
    for value in PERSONAL[:3]:
        assert value not in dump
    with sessions() as session:
        assert session.get(Case, 1) is None
        for model in (Attempt, ScreeningDecision, Interview, SafeguardingAlert):
            assert not session.scalars(select(model).where(model.case_id == 1)).all(), model
        tallies = (session.scalars(select(SurveyDayCount)).all(), session.scalars(select(CodeDayCount)).all())
        tallied = sorted((t.survey, t.day, t.surveys) for t in tallies[0] if t.surveys)
        erased = session.scalar(
            select(AuditEvent.detail).where(AuditEvent.action == "case_erased", AuditEvent.entity_id == "1")
        )
    with sessions.begin() as session:
        rebuild_tallies(session)
    with sessions() as session:
        rebuilt = sorted((t.survey, t.day, t.surveys) for t in session.scalars(select(SurveyDayCount)))
    assert tallied == rebuilt  # the tallies lost the erased interview, as a rebuild would count
    assert erased is not None and "Victim" not in erased and '"reason": "the victim asked"' in erased


def test_only_administrators_purge_and_erase(world: tuple[Engine, sessionmaker[Session]]) -> None:
    _, sessions = world
    supervisor = Actor(staff_id=None, username="sam", role=Role.SUPERVISOR)
    with sessions.begin() as session, pytest.raises(PermissionDenied):
        purge(session, supervisor)
    with sessions.begin() as session, pytest.raises(PermissionDenied):
        erase_case(session, supervisor, 1, "x")


def test_the_audit_log_cannot_be_changed_or_deleted(world: tuple[Engine, sessionmaker[Session]]) -> None:
    engine, sessions = world
    with sessions.begin() as session:
        session.add(AuditEvent(at=utcnow(), action="sign_in", entity="staff", entity_id="1"))
    for statement in ("UPDATE audit_events SET action = 'nothing'", "DELETE FROM audit_events"):
        with (
            pytest.raises(DBAPIError, match="audit events cannot be changed or deleted"),
            engine.begin() as conn,
        ):
            conn.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="cannot be changed"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_events"))
    with sessions.begin() as session:
        rows = audit_trail(
            session, ADMIN, utcnow().date() - timedelta(days=1), utcnow().date() + timedelta(days=1)
        )
        only = audit_trail(session, ADMIN, date(2000, 1, 1), date(2000, 1, 2))
    assert [(r.action, r.entity_id) for r in rows] == [("sign_in", "1")] and only == []
    with sessions() as session:
        assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all() == [
            "sign_in",
            "audit_viewed",
            "audit_viewed",
        ]
