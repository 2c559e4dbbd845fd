"""The interview service against a real SQLite file: durable answers, back navigation, resume, finish."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.clock import utcnow
from app.domain.dispositions import Outcome
from app.domain.engine import Answer
from app.domain.permissions import Actor, Role
from app.services import interviews
from app.services.runtime import Runtime, open_runtime
from app.services.staff import add_staff
from app.store.models import Answer as AnswerRow
from app.store.models import AnswerChange, Case, Interview

EXAMPLES = Path(__file__).parents[1] / "domain" / "data"


@pytest.fixture
def runtime(db_url: str) -> Runtime:
    rt = open_runtime(db_url, EXAMPLES)
    yield rt
    rt.close()


@pytest.fixture
def caller(runtime: Runtime) -> Actor:
    with runtime.sessions.begin() as session:
        record = add_staff(
            session, Actor.system(), username="ccaller", role=Role.CALLER, password="correct horse"
        )
    return record.actor()


@pytest.fixture
def case_id(runtime: Runtime, caller: Actor) -> int:
    with runtime.sessions.begin() as session:
        case = Case(
            survey="example",
            crime_ref="CR/0001/26",
            victim_name="Alex Example",
            phone="+442079460001",
            report_date=date(2026, 9, 1),
            division="North",
            district="Northtown",
            status="open",
            allocated_to_id=caller.staff_id,
            allocated_at=utcnow(),
            imported_at=utcnow(),
        )
        session.add(case)
        session.flush()
        return case.id


def answer(
    runtime: Runtime, caller: Actor, interview_id: int, qid: str, given: Answer
) -> interviews.InterviewState:
    with runtime.sessions.begin() as session:
        return interviews.record_answer(session, caller, runtime.catalogue, interview_id, qid, given)


def test_answers_are_stored_as_given_and_survive_reopening(
    runtime: Runtime, caller: Actor, case_id: int
) -> None:
    with runtime.sessions.begin() as session:
        state = interviews.start_interview(
            session, caller, runtime.catalogue, case_id=case_id, attempt_id=None
        )
    assert state.current_question == "identity"
    state = answer(runtime, caller, state.interview_id, "identity", Answer(code=1))
    state = answer(runtime, caller, state.interview_id, "safe_to_talk", Answer(code=1))
    assert state.current_question == "kept_informed"

    # a new process would see exactly this: reopen the database from scratch
    fresh = open_runtime(runtime.url, EXAMPLES)
    try:
        with fresh.sessions() as session:
            assert interviews.resumable_interview(session, caller) == state.interview_id
            resumed = interviews.load_interview(session, caller, fresh.catalogue, state.interview_id)
            rows = session.scalars(
                select(AnswerRow).where(AnswerRow.interview_id == state.interview_id)
            ).all()
    finally:
        fresh.close()
    assert resumed.current_question == "kept_informed"
    assert resumed.answers == {"identity": Answer(code=1), "safe_to_talk": Answer(code=1)}
    assert {(r.question_id, r.code) for r in rows} == {("identity", 1), ("safe_to_talk", 1)}


def test_starting_again_resumes_the_interview_in_progress(
    runtime: Runtime, caller: Actor, case_id: int
) -> None:
    with runtime.sessions.begin() as session:
        first = interviews.start_interview(
            session, caller, runtime.catalogue, case_id=case_id, attempt_id=None
        )
    answer(runtime, caller, first.interview_id, "identity", Answer(code=1))
    with runtime.sessions.begin() as session:
        again = interviews.start_interview(
            session, caller, runtime.catalogue, case_id=case_id, attempt_id=None
        )
    assert again.interview_id == first.interview_id
    assert again.current_question == "safe_to_talk"


def test_change_records_history_and_discards_routed_away_answers(
    runtime: Runtime, caller: Actor, case_id: int
) -> None:
    with runtime.sessions.begin() as session:
        state = interviews.start_interview(
            session, caller, runtime.catalogue, case_id=case_id, attempt_id=None
        )
    iid = state.interview_id
    for qid, given in [
        ("identity", Answer(code=1)),
        ("safe_to_talk", Answer(code=1)),
        ("kept_informed", Answer(code=2)),
        ("why_not", Answer(value="never heard back")),
    ]:
        state = answer(runtime, caller, iid, qid, given)
    state = answer(runtime, caller, iid, "kept_informed", Answer(code=1))
    assert set(state.discarded) == {"why_not"}
    with runtime.sessions() as session:
        rows = {
            r.question_id for r in session.scalars(select(AnswerRow).where(AnswerRow.interview_id == iid))
        }
        changes = session.scalars(select(AnswerChange).where(AnswerChange.interview_id == iid)).all()
    assert "why_not" not in rows
    kinds = sorted((c.question_id, c.kind) for c in changes)
    assert kinds == [("kept_informed", "changed"), ("why_not", "discarded")]


def test_invalid_answer_is_refused_and_nothing_is_written(
    runtime: Runtime, caller: Actor, case_id: int
) -> None:
    with runtime.sessions.begin() as session:
        state = interviews.start_interview(
            session, caller, runtime.catalogue, case_id=case_id, attempt_id=None
        )
    with pytest.raises(Exception, match="not one of the options"):
        answer(runtime, caller, state.interview_id, "identity", Answer(code=7))
    with runtime.sessions() as session:
        assert session.scalars(select(AnswerRow)).all() == []


def test_stop_rule_finishes_with_its_outcome(runtime: Runtime, caller: Actor, case_id: int) -> None:
    with runtime.sessions.begin() as session:
        state = interviews.start_interview(
            session, caller, runtime.catalogue, case_id=case_id, attempt_id=None
        )
    answer(runtime, caller, state.interview_id, "identity", Answer(code=1))
    state = answer(runtime, caller, state.interview_id, "safe_to_talk", Answer(code=2))
    assert state.finished and state.stop_outcome == "unsafe_to_talk"
    assert state.stop_say and "let you go" in state.stop_say
    with runtime.sessions.begin() as session:
        final, outcome, partial = interviews.finish_interview(
            session, caller, runtime.catalogue, state.interview_id
        )
    assert outcome is Outcome.UNSAFE_TO_TALK and not partial
    assert final.status == interviews.STOPPED


def test_break_off_keeps_answers_and_knows_partial(runtime: Runtime, caller: Actor, case_id: int) -> None:
    with runtime.sessions.begin() as session:
        state = interviews.start_interview(
            session, caller, runtime.catalogue, case_id=case_id, attempt_id=None
        )
    iid = state.interview_id
    for qid, given in [
        ("identity", Answer(code=1)),
        ("safe_to_talk", Answer(code=1)),
        ("kept_informed", Answer(code=1)),
        ("contacts", Answer(value=2)),
        ("overall", Answer(code=2)),
    ]:
        answer(runtime, caller, iid, qid, given)
    with runtime.sessions.begin() as session:
        final, outcome, partial = interviews.finish_interview(
            session, caller, runtime.catalogue, iid, broken_off=True
        )
    assert outcome is Outcome.BREAK_OFF and partial
    assert final.status == interviews.PARTIAL
    assert len(final.answers) == 5
    with runtime.sessions() as session:
        assert session.get(Interview, iid).ended_at is not None


def test_complete_interview(runtime: Runtime, caller: Actor, case_id: int) -> None:
    with runtime.sessions.begin() as session:
        state = interviews.start_interview(
            session, caller, runtime.catalogue, case_id=case_id, attempt_id=None
        )
    iid = state.interview_id
    for qid, given in [
        ("identity", Answer(code=1)),
        ("safe_to_talk", Answer(code=1)),
        ("kept_informed", Answer(code=1)),
        ("contacts", Answer(value=2)),
        ("overall", Answer(code=2)),
        ("comments", Answer()),
    ]:
        state = answer(runtime, caller, iid, qid, given)
    assert state.complete
    with runtime.sessions.begin() as session:
        final, outcome, _ = interviews.finish_interview(session, caller, runtime.catalogue, iid)
    assert outcome is Outcome.COMPLETED and final.status == interviews.COMPLETED
    with pytest.raises(interviews.InterviewError):
        answer(runtime, caller, iid, "overall", Answer(code=1))


def test_another_caller_cannot_touch_the_interview(runtime: Runtime, caller: Actor, case_id: int) -> None:
    with runtime.sessions.begin() as session:
        state = interviews.start_interview(
            session, caller, runtime.catalogue, case_id=case_id, attempt_id=None
        )
        other = add_staff(
            session, Actor.system(), username="other", role=Role.CALLER, password="another horse"
        ).actor()
    with pytest.raises(interviews.InterviewError, match="another caller"):
        answer(runtime, other, state.interview_id, "identity", Answer(code=1))
    analyst = Actor(staff_id=None, username="ana", role=Role.ANALYST)
    with pytest.raises(Exception, match="may not call cases"):
        answer(runtime, analyst, state.interview_id, "identity", Answer(code=1))


def test_safeguarding_alert_reaches_supervisors(runtime: Runtime, caller: Actor, case_id: int) -> None:
    with runtime.sessions.begin() as session:
        alert_id = interviews.raise_alert(
            session, caller, case_id=case_id, interview_id=None, note="ex-partner outside"
        )
        supervisor = add_staff(
            session, Actor.system(), username="sup", role=Role.SUPERVISOR, password="supervisor pw"
        ).actor()
    with runtime.sessions() as session:
        (alert,) = interviews.list_alerts(session, supervisor)
    assert alert.id == alert_id and alert.note == "ex-partner outside" and alert.survey == "example"
    with pytest.raises(Exception, match="may not handle safeguarding"), runtime.sessions() as session:
        interviews.list_alerts(session, caller)
    with runtime.sessions.begin() as session:
        interviews.resolve_alert(session, supervisor, alert_id, "Rang 999 control room; officer attended")
    with runtime.sessions() as session:
        assert interviews.list_alerts(session, supervisor) == []
