"""A case taken away mid-interview (released as stale, closed, given to another caller): the interview
ends or moves on consistently, every answer is kept, the first caller's screen is refused in words,
and no resume offer is left that nobody can clear."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.domain.engine import Answer
from app.domain.permissions import Actor, Role
from app.domain.questionnaire import StopOutcome
from app.services import calls, cases, interviews, pending_exits
from app.services.runtime import Runtime, open_runtime
from app.services.settings import set_setting
from app.services.staff import add_staff
from app.store.models import Answer as AnswerRow
from app.store.models import Attempt, AuditEvent, Case, Interview
from tests.services.test_interviews import EXAMPLES

T = TypeVar("T")


@pytest.fixture
def runtime(db_url: str) -> Iterator[Runtime]:
    rt = open_runtime(db_url, EXAMPLES)
    with rt.sessions.begin() as session:
        set_setting(session, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
    yield rt
    rt.close()


@pytest.fixture
def staff(runtime: Runtime) -> dict[str, Actor]:
    with runtime.sessions.begin() as session:
        people = {
            name: add_staff(session, Actor.system(), username=name, role=role, password="correct horse")
            for name, role in (("ann", Role.CALLER), ("bob", Role.CALLER), ("sue", Role.SUPERVISOR))
        }
    return {name: record.actor() for name, record in people.items()}


def run(runtime: Runtime, work: Callable[[Session], T]) -> T:
    return runtime.transaction(work)


def interview_under_way(runtime: Runtime, caller: Actor, answers: int) -> tuple[int, int, int]:
    """A case allocated to the caller, dialled, and its interview `answers` questions in."""
    with runtime.sessions.begin() as session:
        session.add(
            Case(
                survey="example",
                crime_ref="CR/0096/26",
                victim_name="Alex Example",
                phone="+442079460096",
                report_date=date.fromordinal(utcnow().date().toordinal() - 60),
                division="North",
                district="Northtown",
                status="open",
                imported_at=utcnow(),
            )
        )
    allocation = run(runtime, lambda s: cases.next_case(s, caller, runtime.catalogue))
    assert allocation.case is not None
    case_id = allocation.case.case_id
    attempt_id = run(runtime, lambda s: cases.start_attempt(s, caller, case_id, "+442079460096"))
    state = run(
        runtime, lambda s: calls.start_interview_call(s, caller, runtime.catalogue, case_id, attempt_id)
    )
    script = [
        ("identity", Answer(code=1)),
        ("safe_to_talk", Answer(code=1)),
        ("kept_informed", Answer(code=1)),
    ]
    for qid, given in script[:answers]:
        answer(runtime, caller, state.interview_id, qid, given)
    return case_id, attempt_id, state.interview_id


def answer(runtime: Runtime, caller: Actor, interview_id: int, qid: str, given: Answer) -> None:
    run(runtime, lambda s: interviews.record_answer(s, caller, runtime.catalogue, interview_id, qid, given))


def stored(runtime: Runtime, interview_id: int) -> tuple[str, list[str]]:
    with runtime.readers() as session:
        status = session.get_one(Interview, interview_id).status
        answered = session.scalars(
            select(AnswerRow.question_id).where(AnswerRow.interview_id == interview_id).order_by(AnswerRow.id)
        ).all()
    return status, list(answered)


def no_offer(runtime: Runtime, caller: Actor) -> bool:
    return run(runtime, lambda s: interviews.resumable_interview(s, caller)) is None


def test_a_stale_release_mid_interview_holds_the_case_and_refuses_more_answers(
    runtime: Runtime, staff: dict[str, Actor]
) -> None:
    ann = staff["ann"]
    case_id, attempt_id, interview_id = interview_under_way(runtime, ann, answers=2)

    released = run(
        runtime, lambda s: cases.release_stale(s, runtime.catalogue, utcnow() + timedelta(hours=25))
    )

    assert released == 1
    assert stored(runtime, interview_id) == (interviews.IN_PROGRESS, ["identity", "safe_to_talk"])
    with runtime.readers() as session:
        assert session.get_one(Attempt, attempt_id).outcome == "break_off"
        assert session.get_one(Case, case_id).status == "held"
    with pytest.raises(interviews.InterviewError, match=f"case {case_id} is no longer allocated to you"):
        answer(runtime, ann, interview_id, "kept_informed", Answer(code=1))
    assert stored(runtime, interview_id)[1] == ["identity", "safe_to_talk"]
    assert no_offer(runtime, ann)
    # The supervisor closes it: the interview ends as broken off, every answer kept.
    run(runtime, lambda s: cases.close_held(s, staff["sue"], runtime.catalogue, case_id, "no contact"))
    assert stored(runtime, interview_id) == (interviews.PARTIAL, ["identity", "safe_to_talk"])


def test_a_stale_release_still_works_while_the_surveys_file_is_broken(
    runtime: Runtime, staff: dict[str, Actor]
) -> None:
    """A broken file makes its survey unavailable; a call already held is still released, from the
    version in use, and the minute's maintenance goes on."""
    from app.services.catalogue import Catalogue

    case_id, attempt_id, interview_id = interview_under_way(runtime, staff["ann"], answers=2)
    without = Catalogue()  # the example survey's file no longer loads

    released = run(runtime, lambda s: cases.release_stale(s, without, utcnow() + timedelta(hours=25)))

    assert released == 1
    with runtime.readers() as session:
        assert session.get_one(Attempt, attempt_id).outcome == "break_off"
        assert session.get_one(Case, case_id).status == "held"


def test_a_stale_release_before_any_answer_holds_the_case_and_refuses_the_screen(
    runtime: Runtime, staff: dict[str, Actor]
) -> None:
    ann, bob = staff["ann"], staff["bob"]
    case_id, attempt_id, interview_id = interview_under_way(runtime, ann, answers=0)

    run(runtime, lambda s: cases.release_stale(s, runtime.catalogue, utcnow() + timedelta(hours=25)))

    with runtime.readers() as session:
        assert session.get_one(Attempt, attempt_id).outcome == "no_answer"
        assert session.get_one(Case, case_id).allocated_to_id is None
    with pytest.raises(interviews.InterviewError, match=f"case {case_id} is no longer allocated to you"):
        answer(runtime, ann, interview_id, "identity", Answer(code=1))
    with pytest.raises(interviews.InterviewError, match="no longer allocated"):
        run(runtime, lambda s: interviews.add_note(s, ann, interview_id, "identity", "call back"))
    assert stored(runtime, interview_id) == (interviews.IN_PROGRESS, [])
    assert no_offer(runtime, ann)
    later = utcnow() + timedelta(hours=28)
    assert run(runtime, lambda s: cases.next_case(s, bob, runtime.catalogue, now=later)).case is None
    # A supervisor tries it again; the next caller to get it carries the interview on.
    run(
        runtime,
        lambda s: cases.retry_held(s, staff["sue"], case_id, later - timedelta(hours=1), "seen: safe to try"),
    )
    allocation = run(runtime, lambda s: cases.next_case(s, bob, runtime.catalogue, now=later))
    assert allocation.case is not None and allocation.case.case_id == case_id
    attempt = run(runtime, lambda s: cases.start_attempt(s, bob, case_id, "+442079460096"))
    state = run(runtime, lambda s: calls.start_interview_call(s, bob, runtime.catalogue, case_id, attempt))
    assert state.interview_id == interview_id
    answer(runtime, bob, interview_id, "identity", Answer(code=1))


@pytest.mark.parametrize("answers", [0, 3])
def test_a_quick_exit_kept_on_a_computer_past_the_stale_release_reaches_the_supervisor(
    runtime: Runtime,
    staff: dict[str, Actor],
    answers: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The database could not be reached when the caller pressed the quick exit, and they did not
    # sign in again before the case was released as stale: the case must not go back to the pool, and
    # the quick exit, recorded at their next sign-in, must reach the supervisor who decides.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    ann, sue = staff["ann"], staff["sue"]
    case_id, attempt_id, interview_id = interview_under_way(runtime, ann, answers=answers)
    pending_exits.keep(runtime.url, ann, attempt_id, interview_id)

    run(runtime, lambda s: cases.release_stale(s, runtime.catalogue, utcnow() + timedelta(hours=25)))
    later = utcnow() + timedelta(days=2)
    assert run(runtime, lambda s: cases.next_case(s, staff["bob"], runtime.catalogue, now=later)).case is None
    (held,) = run(runtime, lambda s: cases.list_held(s, sue, runtime.catalogue))
    assert held.why == "left unfinished"

    recorded = run(runtime, lambda s: pending_exits.record_waiting(s, ann, runtime.catalogue, runtime.url))

    assert len(recorded) == 1 and pending_exits.waiting(runtime.url, ann) == []
    # A crash between the commit and the file's update records it again: the note says it once.
    for _ in range(2):
        run(
            runtime,
            lambda s: calls.quick_exit(
                s,
                ann,
                runtime.catalogue,
                attempt_id=attempt_id,
                interview_id=interview_id,
                note="quick exit at 10:00",
            ),
        )
    (held,) = run(runtime, lambda s: cases.list_held(s, sue, runtime.catalogue))
    assert (held.case_id, held.why, held.answers) == (case_id, "quick exit", answers)
    with runtime.readers() as session:
        note = session.get_one(Attempt, attempt_id).note or ""
        assert cases.STALE_NOTE in note and "recorded later" in note
        assert note.count("quick exit at 10:00") == 1
        assert session.get_one(Interview, interview_id).status == interviews.IN_PROGRESS
        assert session.scalar(
            select(AuditEvent.entity_id).where(AuditEvent.action == "quick_exit_recorded_late")
        ) == str(case_id)


def test_a_supervisor_closing_a_case_ends_the_interview_kept_for_the_next_call(
    runtime: Runtime, staff: dict[str, Actor]
) -> None:
    ann = staff["ann"]
    case_id, attempt_id, interview_id = interview_under_way(runtime, ann, answers=3)
    # A check asked again stopped the call; the interview waits for the next one.
    run(
        runtime,
        lambda s: calls.end_call_keeping_interview(
            s, ann, runtime.catalogue, interview_id, attempt_id, StopOutcome.NOT_AVAILABLE
        ),
    )
    assert stored(runtime, interview_id)[0] == interviews.IN_PROGRESS

    run(runtime, lambda s: cases.close_case(s, staff["sue"], runtime.catalogue, case_id, "victim moved away"))

    assert stored(runtime, interview_id) == (
        interviews.PARTIAL,
        ["identity", "safe_to_talk", "kept_informed"],
    )
    with runtime.readers() as session:
        assert session.get_one(Interview, interview_id).ended_at is not None
    assert no_offer(runtime, ann)


def test_fieldwork_ending_ends_the_interview_kept_for_the_next_call(
    runtime: Runtime, staff: dict[str, Actor]
) -> None:
    ann = staff["ann"]
    case_id, attempt_id, interview_id = interview_under_way(runtime, ann, answers=1)
    run(
        runtime,
        lambda s: calls.end_call_keeping_interview(
            s, ann, runtime.catalogue, interview_id, attempt_id, StopOutcome.NOT_AVAILABLE
        ),
    )

    run(runtime, lambda s: cases.refresh_cases(s, runtime.catalogue, utcnow() + timedelta(days=30)))

    with runtime.readers() as session:
        assert session.get_one(Case, case_id).status == "closed"
    assert stored(runtime, interview_id) == (interviews.PARTIAL, ["identity"])


def test_a_case_given_to_another_caller_refuses_the_first_callers_screen(
    runtime: Runtime, staff: dict[str, Actor]
) -> None:
    ann, bob = staff["ann"], staff["bob"]
    case_id, attempt_id, interview_id = interview_under_way(runtime, ann, answers=2)
    run(
        runtime,
        lambda s: calls.end_call_keeping_interview(
            s, ann, runtime.catalogue, interview_id, attempt_id, StopOutcome.NOT_AVAILABLE
        ),
    )

    run(runtime, lambda s: cases.reassign(s, staff["sue"], case_id, "bob", "ann is off sick"))

    with pytest.raises(interviews.InterviewError, match="no longer allocated to you"):
        answer(runtime, ann, interview_id, "kept_informed", Answer(code=1))
    assert no_offer(runtime, ann)
    assert run(runtime, lambda s: interviews.resumable_interview(s, bob)) is None  # not bob's interview yet
    assert stored(runtime, interview_id) == (interviews.IN_PROGRESS, ["identity", "safe_to_talk"])
