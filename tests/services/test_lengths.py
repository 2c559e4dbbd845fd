"""Observed interview length: medians of the stored timings of recent completed interviews."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.domain.questionnaire import load_questionnaire
from app.services.lengths import observed_times, questionnaire_length
from app.store.models import Answer as AnswerRow
from app.store.models import Interview

EXAMPLE = load_questionnaire(Path(__file__).parents[1] / "domain" / "data" / "example.yaml")
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


def add_interview(session: Session, k: int, status: str = "completed", imported: bool = False) -> None:
    interview = Interview(
        survey="example",
        questionnaire_version=1,
        questionnaire_hash="x" * 64,
        status=status,
        started_at=T0 + timedelta(hours=k),
        ended_at=T0 + timedelta(hours=k, minutes=2 + k % 3),
        imported=imported,
    )
    session.add(interview)
    session.flush()
    for question in EXAMPLE.questions():
        seconds = {"overall": 60 + k, "comments": None}.get(question.id, 10 + k % 3)
        session.add(
            AnswerRow(
                interview_id=interview.id,
                question_id=question.id,
                code=1,
                answered_at=interview.started_at,
                duration_ms=None if seconds is None else seconds * 1000,
            )
        )


def test_observed_medians_of_completed_interviews_only(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        for k in range(6):
            add_interview(session, k)
        add_interview(session, 50, status="partial")  # not a complete interview
        add_interview(session, 60, imported=True)  # historical results carry no real timings
    with session_factory() as session:
        observed = observed_times(session, "example")
        assert observed.interviews == 6
        assert observed.median_seconds["overall"] == 62.5  # 60..65
        assert observed.counts["overall"] == 6 and "comments" not in observed.counts
        assert observed.median_interview_seconds == 180  # 2, 3, 4, 2, 3, 4 minutes
        length = questionnaire_length(session, EXAMPLE)
        assert length.observed_questions == 6 and length.interviews == 6
        assert "for 6 of 7 questions (from 6 interviews)" in length.basis
        assert observed_times(session, "example", recent=3).interviews == 3
        assert questionnaire_length(None, EXAMPLE).observed_questions == 0
