"""Supervisors' review against a real SQLite file: call log, callers' work, corrections, feedback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.domain.permissions import Actor, Role
from app.services import review
from app.services.runtime import Runtime, open_runtime
from app.services.staff import add_staff
from app.store.models import Answer as AnswerRow
from app.store.models import AnswerChange, Attempt, Case, Interview

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def runtime(db_url: str) -> Iterator[Runtime]:
    rt = open_runtime(db_url)
    yield rt
    rt.close()


@pytest.fixture
def people(runtime: Runtime) -> dict[str, Actor]:
    with runtime.sessions.begin() as session:
        made = {
            name: add_staff(
                session, Actor.system(), username=name, role=role, password="long enough pw"
            ).actor()
            for name, role in (
                ("alice", Role.CALLER),
                ("bob", Role.CALLER),
                ("sue", Role.SUPERVISOR),
                ("ann", Role.ANALYST),
            )
        }
    return made


def seed(runtime: Runtime, people: dict[str, Actor]) -> int:
    """Alice: 3 calls on Monday (1 complete); Bob: 2 on Tuesday (1 refusal). Returns the interview id."""
    with runtime.sessions.begin() as session:
        case = Case(
            survey="burglary",
            crime_ref="BU/1/26",
            victim_name="Sky Testvictim",
            phone="+442079460321",
            report_date=date(2026, 10, 1),
            division="North",
            district="Northtown",
            status="closed",
            imported_at=T0,
        )
        session.add(case)
        session.flush()
        calls = [
            ("alice", T0, "no_answer"),
            ("alice", T0 + timedelta(hours=2), "engaged"),
            ("alice", T0 + timedelta(hours=4), "completed"),
            ("bob", T0 + timedelta(days=1), "answerphone"),
            ("bob", T0 + timedelta(days=1, hours=1), "refusal"),
        ]
        for who, at, outcome in calls:
            session.add(
                Attempt(
                    case_id=case.id,
                    caller_id=people[who].staff_id,
                    started_at=at,
                    ended_at=at + timedelta(minutes=1),
                    number_dialled=case.phone,
                    outcome=outcome,
                )
            )
        interview = Interview(
            case_id=case.id,
            survey="burglary",
            questionnaire_version=runtime.catalogue.get("burglary").version,
            questionnaire_hash="x" * 64,
            status="completed",
            caller_id=people["alice"].staff_id,
            started_at=T0 + timedelta(hours=4),
            ended_at=T0 + timedelta(hours=4, minutes=12),
            division="North",
            district="Northtown",
        )
        session.add(interview)
        session.flush()
        for qid, code, value in (
            ("identity", 1, None),
            ("overall_sat", 2, None),
            ("comments", None, "The officer was kind"),
            ("consent_feedback", 1, None),
        ):
            session.add(
                AnswerRow(
                    interview_id=interview.id,
                    question_id=qid,
                    code=code,
                    value=value,
                    answered_at=T0,
                    duration_ms=4000,
                )
            )
        return interview.id


def test_call_log_filters_and_sorts(runtime: Runtime, people: dict[str, Actor]) -> None:
    seed(runtime, people)
    with runtime.readers() as session:
        rows = review.call_log(session, people["sue"])
        assert [r.outcome for r in rows][:2] == ["refusal", "answerphone"]
        assert len(review.call_log(session, people["sue"], caller="alice")) == 3
        assert [r.outcome for r in review.call_log(session, people["sue"], outcome="completed")] == [
            "completed"
        ]
        monday = review.call_log(session, people["sue"], start=date(2026, 11, 23), end=date(2026, 11, 23))
        assert {r.caller for r in monday} == {"alice"}
        by_caller = review.call_log(session, people["sue"], sort="caller", descending=False)
        assert by_caller[0].caller == "alice" and by_caller[-1].caller == "bob"
        with pytest.raises(Exception, match="may not review calls"):
            review.call_log(session, people["alice"])


def test_callers_work_by_day_and_week(runtime: Runtime, people: dict[str, Actor]) -> None:
    seed(runtime, people)
    with runtime.readers() as session:
        days = review.callers_work(session, people["sue"], start=date(2026, 11, 23), end=date(2026, 11, 29))
        weeks = review.callers_work(
            session, people["sue"], start=date(2026, 11, 23), end=date(2026, 11, 29), by="week"
        )
    alice = next(w for w in days if w.caller == "alice")
    assert (alice.attempts, alice.contacts, alice.completes, alice.refusals) == (3, 1, 1, 0)
    assert alice.average_interview_minutes == 12.0
    bob = next(w for w in days if w.caller == "bob")
    assert (bob.period_start, bob.attempts, bob.contacts, bob.refusals) == (date(2026, 11, 24), 2, 1, 1)
    assert {(w.caller, w.period_start, w.attempts) for w in weeks} == {
        ("alice", date(2026, 11, 23), 3),
        ("bob", date(2026, 11, 23), 2),
    }


def test_correction_keeps_the_original_and_needs_a_reason(runtime: Runtime, people: dict[str, Actor]) -> None:
    interview_id = seed(runtime, people)
    with runtime.sessions.begin() as session, pytest.raises(review.ReviewError, match="reason"):
        review.correct_answer(
            session, people["sue"], runtime.catalogue, interview_id, "overall_sat", "3", " "
        )
    with runtime.sessions.begin() as session:
        review.correct_answer(
            session,
            people["sue"],
            runtime.catalogue,
            interview_id,
            "overall_sat",
            "3",
            "caller pressed 2 for fairly satisfied",
        )
    with runtime.readers() as session:
        detail = review.interview_detail(session, people["sue"], runtime.catalogue, interview_id)
        change = session.scalar(select(AnswerChange).where(AnswerChange.kind == "corrected"))
    assert next(a for a in detail.answers if a.question_id == "overall_sat").code == 3
    assert change is not None and change.old_code == 2 and change.new_code == 3
    assert detail.changes[0].reason == "caller pressed 2 for fairly satisfied"
    with runtime.sessions.begin() as session, pytest.raises(Exception, match="may not correct answers"):
        review.correct_answer(
            session, people["alice"], runtime.catalogue, interview_id, "overall_sat", "1", "x"
        )


def test_feedback_only_where_the_victim_agreed(runtime: Runtime, people: dict[str, Actor]) -> None:
    interview_id = seed(runtime, people)
    with runtime.sessions.begin() as session:
        (item,) = review.feedback_to_pass_on(session, people["sue"], runtime.catalogue)
    assert item.interview_id == interview_id and item.comments[0][1] == "The officer was kind"
    with runtime.sessions.begin() as session:
        row = session.scalar(select(AnswerRow).where(AnswerRow.question_id == "consent_feedback"))
        row.code = 2
    with runtime.sessions.begin() as session:
        assert review.feedback_to_pass_on(session, people["sue"], runtime.catalogue) == []


def test_flag_for_follow_up(runtime: Runtime, people: dict[str, Actor]) -> None:
    interview_id = seed(runtime, people)
    with runtime.sessions.begin() as session:
        review.flag_interview(session, people["sue"], interview_id, "ring the OIC")
    with runtime.readers() as session:
        (row,) = review.interviews_for_review(session, people["sue"], flagged_only=True)
        assert row.interview_id == interview_id
        assert review.interview_detail(
            session, people["sue"], runtime.catalogue, interview_id
        ).follow_up_note == ("ring the OIC")


def test_feedback_follows_the_consent_question_the_file_declares(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.services.catalogue import bundled_dir

    folder = tmp_path / "questionnaires"
    folder.mkdir()
    text = (bundled_dir() / "burglary.yaml").read_text().replace("consent_feedback", "pass_on_ok")
    assert "feedback: pass_on_ok" in text
    (folder / "burglary.yaml").write_text(text)
    rt = open_runtime(db_url, folder)
    try:
        with rt.sessions.begin() as session:
            sue = add_staff(
                session, Actor.system(), username="sue", role=Role.SUPERVISOR, password="long enough pw"
            )
            alice = add_staff(
                session, Actor.system(), username="alice", role=Role.CALLER, password="long enough pw"
            )
            bob = add_staff(
                session, Actor.system(), username="bob", role=Role.CALLER, password="long enough pw"
            )
        interview_id = seed(rt, {"alice": alice.actor(), "bob": bob.actor()})
        with rt.sessions.begin() as session:
            # An answer to a question named like the old convention no longer counts as consent.
            assert review.feedback_to_pass_on(session, sue.actor(), rt.catalogue) == []
            assert not review.interview_detail(
                session, sue.actor(), rt.catalogue, interview_id
            ).feedback_consent
            row = session.scalar(select(AnswerRow).where(AnswerRow.question_id == "consent_feedback"))
            row.question_id = "pass_on_ok"
        with rt.sessions.begin() as session:
            (item,) = review.feedback_to_pass_on(session, sue.actor(), rt.catalogue)
            assert item.interview_id == interview_id
            assert review.interview_detail(session, sue.actor(), rt.catalogue, interview_id).feedback_consent
    finally:
        rt.close()
