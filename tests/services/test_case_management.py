"""Supervisors' reassign, reopen and close; a case's history; stale allocations returning to the pool."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import LOCAL
from app.domain.dispositions import Outcome
from app.domain.permissions import Actor, PermissionDenied, Role
from app.services import cases
from app.services.catalogue import Catalogue
from app.services.settings import set_setting
from app.store.models import Answer, Attempt, AuditEvent, Case, Interview, ScreeningDecision
from tests.services.test_allocation import (
    IN_WINDOW,
    NOW,
    allocate,
    attempt,
    bundled_catalogue,
    call,
    make_cases,
    people,
)

SYSTEM = Actor.system()


@pytest.fixture
def catalogue() -> Catalogue:
    return bundled_catalogue()


@pytest.fixture
def staff(session_factory: sessionmaker[Session]) -> dict[str, Actor]:
    # Any time of day will do here: the stale-allocation tests start calls in the small hours.
    call(session_factory, set_setting, SYSTEM, "calling_hours", "Mon-Sun 00:00-24:00")
    callers = people(session_factory, "ann", "bob")
    (sue,) = people(session_factory, "sue", role=Role.SUPERVISOR)
    (ana,) = people(session_factory, "ana", role=Role.ANALYST)
    return {"ann": callers[0], "bob": callers[1], "sue": sue, "ana": ana}


def events(factory: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def row(factory: sessionmaker[Session], case_id: int) -> Case:
    with factory() as session:
        return session.get_one(Case, case_id)


# ------------------------------------------------------------------ reassign


def test_a_supervisor_reassigns_a_held_case_with_a_reason(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    (case_id,) = make_cases(session_factory)
    allocate(session_factory, catalogue, staff["ann"])

    state = call(session_factory, cases.reassign, staff["sue"], case_id, "bob", "Ann is off sick", now=NOW)

    assert state.allocated_to == "bob"
    assert allocate(session_factory, catalogue, staff["bob"]).case.case_id == case_id  # type: ignore[union-attr]
    (event,) = events(session_factory, "case_reassigned")
    assert event.staff_id == staff["sue"].staff_id and event.entity_id == str(case_id)
    assert json.loads(event.detail or "{}") == {
        "appointment": False,
        "from_staff_id": staff["ann"].staff_id,
        "reason": "Ann is off sick",
        "to_staff_id": staff["bob"].staff_id,
    }
    with pytest.raises(cases.CaseError, match="not allocated to you"):
        call(
            session_factory,
            cases.start_attempt,
            staff["ann"],
            case_id,
            row(session_factory, case_id).phone,
            now=NOW,
        )


def test_reassigning_a_future_appointment_moves_it_to_the_new_caller(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    (case_id,) = make_cases(session_factory)
    allocate(session_factory, catalogue, staff["ann"])
    later = NOW + timedelta(hours=4)
    attempt(session_factory, catalogue, staff["ann"], case_id, Outcome.APPOINTMENT, NOW, appointment_at=later)

    state = call(session_factory, cases.reassign, staff["sue"], case_id, "bob", "Ann is on leave", now=NOW)

    assert (state.allocated_to, state.appointment_by, state.appointment_at) == (None, "bob", later)


@pytest.mark.parametrize(
    ("who", "to", "reason", "error", "message"),
    [
        ("ann", "bob", "why", PermissionDenied, "may not manage cases"),
        ("sue", "bob", "   ", cases.CaseError, "a reason is required"),
        ("sue", "nobody", "why", cases.CaseError, "no active member of staff called 'nobody'"),
        ("sue", "ana", "why", cases.CaseError, "ana is analyst: only callers and supervisors take cases"),
    ],
)
def test_reassign_refusals(
    session_factory: sessionmaker[Session],
    staff: dict[str, Actor],
    who: str,
    to: str,
    reason: str,
    error: type[Exception],
    message: str,
) -> None:
    (case_id,) = make_cases(session_factory)
    with pytest.raises(error, match=message):
        call(session_factory, cases.reassign, staff[who], case_id, to, reason, now=NOW)


def test_reassign_keeps_one_case_per_caller_and_waits_for_a_call_to_end(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    first, _second = make_cases(session_factory, 2)
    allocate(session_factory, catalogue, staff["ann"])
    allocate(session_factory, catalogue, staff["bob"])

    with pytest.raises(cases.CaseError, match="bob holds case .* already"):
        call(session_factory, cases.reassign, staff["sue"], first, "bob", "why", now=NOW)
    call(
        session_factory, cases.start_attempt, staff["ann"], first, row(session_factory, first).phone, now=NOW
    )
    with pytest.raises(cases.CaseError, match="call in progress"):
        call(session_factory, cases.reassign, staff["sue"], first, "sue", "why", now=NOW)


# ------------------------------------------------------------------ close and reopen


def test_a_supervisor_closes_a_case_from_its_calls_or_with_a_code(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    derived, quota = make_cases(session_factory, 2)
    allocate(session_factory, catalogue, staff["ann"])
    attempt(session_factory, catalogue, staff["ann"], derived, Outcome.ENGAGED, NOW)

    by_calls = call(
        session_factory, cases.close_case, staff["sue"], catalogue, derived, "victim moved abroad", now=NOW
    )
    by_code = call(
        session_factory, cases.close_case, staff["sue"], catalogue, quota, "enough interviews", "4.80"
    )

    assert by_calls.closed and by_calls.disposition is not None and by_calls.disposition.code == "3.12"
    assert by_code.disposition is not None and by_code.disposition.code == "4.80"
    assert by_calls.closed_reason == by_code.closed_reason == "supervisor"
    details = [json.loads(e.detail or "{}") for e in events(session_factory, "case_closed")]
    assert [(d["reason"], d["disposition"]) for d in details] == [
        ("victim moved abroad", "3.12"),
        ("enough interviews", "4.80"),
    ]


def test_close_refusals(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    held, other = make_cases(session_factory, 2)
    allocate(session_factory, catalogue, staff["ann"])
    call(session_factory, cases.start_attempt, staff["ann"], held, row(session_factory, held).phone, now=NOW)

    with pytest.raises(cases.CaseError, match="call in progress"):
        call(session_factory, cases.close_case, staff["sue"], catalogue, held, "why")
    with pytest.raises(cases.CaseError, match="unknown final disposition '9.9'"):
        call(session_factory, cases.close_case, staff["sue"], catalogue, other, "why", "9.9")
    with pytest.raises(PermissionDenied):
        call(session_factory, cases.close_case, staff["ann"], catalogue, other, "why")
    call(session_factory, cases.close_case, staff["sue"], catalogue, other, "why")
    with pytest.raises(cases.CaseError, match="closed already"):
        call(session_factory, cases.close_case, staff["sue"], catalogue, other, "why")
    with pytest.raises(cases.CaseError, match="case 999 does not exist"):
        call(session_factory, cases.close_case, staff["sue"], catalogue, 999, "why")


def test_a_reopened_case_is_called_again_and_its_code_is_cleared(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    (case_id,) = make_cases(session_factory)
    allocate(session_factory, catalogue, staff["ann"])
    attempt(session_factory, catalogue, staff["ann"], case_id, Outcome.REFUSAL, NOW, refusal_by="partner")

    state = call(
        session_factory,
        cases.reopen,
        staff["sue"],
        catalogue,
        case_id,
        "the victim rang to take part",
        now=NOW,
    )

    assert (state.status, state.closed_reason, state.attempt_count) == ("open", None, 1)
    assert state.disposition is not None and not state.disposition.is_final
    assert state.disposition.label == "Refusal (reopened)"
    assert row(session_factory, case_id).final_disposition is None
    later = NOW + timedelta(minutes=5)
    again = allocate(session_factory, catalogue, staff["bob"], later)
    assert again.case is not None and again.case.case_id == case_id
    done = attempt(session_factory, catalogue, staff["bob"], case_id, Outcome.COMPLETED, later)
    assert done.disposition is not None and done.disposition.code == "1.1"
    (event,) = events(session_factory, "case_reopened")
    assert json.loads(event.detail or "{}") == {
        "previous_closed_reason": "final_outcome",
        "previous_disposition": "2.11",
        "reason": "the victim rang to take part",
    }


def test_an_excluded_case_reopened_before_its_window_waits_for_it(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    today = NOW.astimezone(LOCAL).date()
    (case_id,) = make_cases(
        session_factory,
        status="closed",
        final_disposition="4.10",
        closed_reason="excluded",
        report_date=today,
    )

    state = call(
        session_factory, cases.reopen, staff["sue"], catalogue, case_id, "screened out by mistake", now=NOW
    )

    assert state.status == "pending"
    assert state.next_call_at is not None and state.next_call_at.astimezone(
        LOCAL
    ).date() == today + timedelta(days=42)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"status": "open"}, "is open, not closed"),
        ({"status": "closed", "personal_data_deleted_at": NOW}, "its personal data has been deleted"),
        (
            {"status": "closed", "report_date": IN_WINDOW - timedelta(days=30)},
            "its fieldwork window ended on",
        ),
    ],
)
def test_reopen_refusals(
    session_factory: sessionmaker[Session],
    catalogue: Catalogue,
    staff: dict[str, Actor],
    values: dict[str, object],
    message: str,
) -> None:
    (case_id,) = make_cases(session_factory, **values)
    with pytest.raises(cases.CaseError, match=message):
        call(session_factory, cases.reopen, staff["sue"], catalogue, case_id, "why", now=NOW)


# ------------------------------------------------------------------ history


def test_a_supervisor_sees_the_whole_history(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    (case_id,) = make_cases(session_factory)
    with session_factory.begin() as session:
        session.add(
            ScreeningDecision(
                case_id=case_id,
                reason="vulnerable",
                excluded=False,
                decided_by="staff",
                staff_id=staff["ann"].staff_id,
                decided_at=NOW,
            )
        )
    allocate(session_factory, catalogue, staff["ann"])
    attempt(session_factory, catalogue, staff["ann"], case_id, Outcome.NO_ANSWER, NOW)
    with session_factory.begin() as session:
        interview = Interview(
            case_id=case_id,
            survey="hate_crime",
            questionnaire_version=1,
            questionnaire_hash="0" * 64,
            status="in_progress",
            caller_id=staff["ann"].staff_id,
            started_at=NOW,
        )
        interview.answers.extend(Answer(question_id=q, code=1, answered_at=NOW) for q in ("a", "b"))
        session.add(interview)
    call(session_factory, cases.reassign, staff["sue"], case_id, "bob", "balancing work", now=NOW)

    history = call(session_factory, cases.case_history, staff["sue"], case_id)

    assert history.state.allocated_to == "bob" and history.state.attempt_count == 1
    assert [(a.caller, a.outcome) for a in history.attempts] == [("ann", Outcome.NO_ANSWER)]
    assert [(s.reason, s.excluded, s.decided_by) for s in history.screening] == [("vulnerable", False, "ann")]
    assert [(i.status, i.caller, i.answers) for i in history.interviews] == [("in_progress", "ann", 2)]
    assert [e.action for e in history.events] == ["case_allocated", "case_reassigned"]
    assert history.events[1].by == "sue" and history.events[1].detail["reason"] == "balancing work"
    assert history.victim_name is not None and not history.personal_data_deleted
    assert [e.staff_id for e in events(session_factory, "case_history_viewed")] == [staff["sue"].staff_id]


def test_history_is_for_reviewers_and_the_caller_holding_the_case(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    (case_id,) = make_cases(session_factory)
    allocate(session_factory, catalogue, staff["ann"])

    assert call(session_factory, cases.case_history, staff["ann"], case_id).state.case_id == case_id
    for who in ("bob", "ana"):
        with pytest.raises(PermissionDenied, match="may not review calls"):
            call(session_factory, cases.case_history, staff[who], case_id)


# ------------------------------------------------------------------ stale allocations


def hold(factory: sessionmaker[Session], catalogue: Catalogue, who: Actor, hours_ago: float) -> int:
    (case_id,) = make_cases(factory)
    assert allocate(factory, catalogue, who, NOW - timedelta(hours=hours_ago)).case is not None
    return case_id


def test_a_case_left_for_a_day_returns_to_the_pool(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    stale = hold(session_factory, catalogue, staff["ann"], hours_ago=24.5)
    fresh = hold(session_factory, catalogue, staff["bob"], hours_ago=23.5)

    released = call(session_factory, cases.release_stale, catalogue, NOW)

    assert released == 1
    assert row(session_factory, stale).allocated_to_id is None
    assert row(session_factory, fresh).allocated_to_id == staff["bob"].staff_id
    (event,) = events(session_factory, "case_released_stale")
    assert event.staff_id is None and json.loads(event.detail or "{}") == {"caller_id": staff["ann"].staff_id}


def test_the_stale_limit_is_a_setting_and_maintenance_applies_it(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    call(session_factory, set_setting, SYSTEM, "stale_allocation_hours", "2")
    stale = hold(session_factory, catalogue, staff["ann"], hours_ago=3)

    assert call(session_factory, cases.maintain_if_due, catalogue, NOW)
    allocation = allocate(session_factory, catalogue, staff["bob"])

    assert allocation.case is not None and allocation.case.case_id == stale


def test_a_call_left_open_without_answers_becomes_no_answer_and_waits_for_a_supervisor(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    # Nobody knows how the call ended: it may have been a quick exit that never reached the database.
    started = NOW - timedelta(hours=25)
    case_id = hold(session_factory, catalogue, staff["ann"], hours_ago=25)
    attempt_id = call(
        session_factory,
        cases.start_attempt,
        staff["ann"],
        case_id,
        row(session_factory, case_id).phone,
        now=started,
    )

    assert call(session_factory, cases.release_stale, catalogue, NOW) == 1

    with session_factory() as session:
        closed = session.get_one(Attempt, attempt_id)
        case_row = session.get_one(Case, case_id)
    assert (closed.outcome, closed.ended_at, closed.note) == ("no_answer", started, cases.STALE_NOTE)
    assert (case_row.status, case_row.allocated_to_id, case_row.attempt_count) == ("held", None, 1)
    assert allocate(session_factory, catalogue, staff["bob"], NOW + timedelta(days=2)).case is None
    (held,) = call(session_factory, cases.list_held, staff["sue"], catalogue)
    assert (held.case_id, held.why, held.answers, held.caller) == (case_id, "left unfinished", 0, "Ann")
    (event,) = events(session_factory, "case_released_stale")
    assert json.loads(event.detail or "{}") == {
        "caller_id": staff["ann"].staff_id,
        "attempt_id": attempt_id,
        "outcome": "no_answer",
        "held": True,
    }


@pytest.mark.parametrize(
    ("answered", "partial"), [(("first_contact",), False), (("first_contact_sat",), True)]
)
def test_a_call_left_open_mid_interview_becomes_a_break_off_and_waits_for_a_supervisor(
    session_factory: sessionmaker[Session],
    catalogue: Catalogue,
    staff: dict[str, Actor],
    answered: tuple[str, ...],
    partial: bool,
) -> None:
    # hate_crime's partial point is first_contact_sat.
    started = NOW - timedelta(hours=26)
    case_id = hold(session_factory, catalogue, staff["ann"], hours_ago=26)
    attempt_id = call(
        session_factory,
        cases.start_attempt,
        staff["ann"],
        case_id,
        row(session_factory, case_id).phone,
        now=started,
    )
    questionnaire = catalogue.get("hate_crime")
    with session_factory.begin() as session:
        interview = Interview(
            case_id=case_id,
            attempt_id=attempt_id,
            survey="hate_crime",
            questionnaire_version=questionnaire.version,
            questionnaire_hash=questionnaire.content_hash(),
            status="in_progress",
            caller_id=staff["ann"].staff_id,
            started_at=started,
        )
        interview.answers.extend(Answer(question_id=q, code=1, answered_at=started) for q in answered)
        session.add(interview)
        session.get_one(Case, case_id).last_activity_at = started + timedelta(minutes=7)

    call(session_factory, cases.release_stale, catalogue, NOW)

    with session_factory() as session:
        closed = session.get_one(Attempt, attempt_id)
        case_row = session.get_one(Case, case_id)
        interview_status = session.scalar(select(Interview.status).where(Interview.case_id == case_id))
    assert (closed.outcome, closed.partial) == ("break_off", partial)
    assert closed.ended_at == started + timedelta(minutes=7)
    assert (case_row.status, case_row.final_disposition, interview_status) == ("held", None, "in_progress")
    (held,) = call(session_factory, cases.list_held, staff["sue"], catalogue)
    assert (held.why, held.answers, held.partial) == ("left unfinished", 1, partial)
    closed_state = call(session_factory, cases.close_held, staff["sue"], catalogue, case_id, "no contact")
    assert closed_state.disposition is not None
    assert closed_state.disposition.code == ("1.2" if partial else "2.12")


def test_a_caller_can_give_a_case_back(
    session_factory: sessionmaker[Session], catalogue: Catalogue, staff: dict[str, Actor]
) -> None:
    (case_id,) = make_cases(session_factory)
    allocate(session_factory, catalogue, staff["ann"])

    state = call(session_factory, cases.return_case, staff["ann"], case_id, now=NOW)

    assert state.allocated_to is None and state.status == "open"
    assert allocate(session_factory, catalogue, staff["bob"]).case.case_id == case_id  # type: ignore[union-attr]


# ------------------------------------------------------------------ the same SQL on PostgreSQL


@pytest.mark.postgres
def test_the_case_workflow_on_postgresql(pg_url: str, catalogue: Catalogue) -> None:
    # Every statement of the case services once, on PostgreSQL: same code, same migrations.
    from app.services.rates import rates_report
    from app.store.db import make_engine, make_session_factory
    from app.store.migrate import upgrade

    upgrade(pg_url)
    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    try:
        call(factory, set_setting, SYSTEM, "calling_hours", "Mon-Sun 00:00-24:00")
        ann, bob = people(factory, "ann", "bob")
        (sue,) = people(factory, "sue", role=Role.SUPERVISOR)
        first, second = make_cases(factory, 2)
        (pending,) = make_cases(
            factory, status="pending", report_date=NOW.astimezone(LOCAL).date() - timedelta(days=70)
        )

        assert call(factory, cases.refresh_cases, catalogue, NOW).opened == 1
        got = allocate(factory, catalogue, ann)
        assert got.case is not None and got.case.case_id == pending  # the oldest report first
        later = NOW + timedelta(hours=3)
        attempt(factory, catalogue, ann, pending, Outcome.APPOINTMENT, NOW, appointment_at=later)
        call(factory, cases.reassign, sue, pending, "bob", "Ann is away", now=NOW)
        assert allocate(factory, catalogue, bob, later).case.case_id == pending  # type: ignore[union-attr]
        assert attempt(factory, catalogue, bob, pending, Outcome.COMPLETED, later).disposition.code == "1.1"  # type: ignore[union-attr]

        allocate(factory, catalogue, ann, later)
        call(factory, cases.start_attempt, ann, first, row(factory, first).phone, now=later)
        assert call(factory, cases.release_stale, catalogue, later + timedelta(hours=25)) == 1
        assert call(factory, cases.close_case, sue, catalogue, second, "duplicate", "4.80").closed
        assert (
            call(factory, cases.reopen, sue, catalogue, second, "not a duplicate", now=later).status == "open"
        )
        history = call(factory, cases.case_history, sue, first)
        assert [a.outcome for a in history.attempts] == [Outcome.NO_ANSWER]
        with factory() as session:
            report = rates_report(session, catalogue, "hate_crime", IN_WINDOW - timedelta(days=30), IN_WINDOW)
        assert (report.categories.complete, report.open_cases) == (1, 2)
    finally:
        engine.dispose()
