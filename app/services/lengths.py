"""Interview length from what callers actually took: the median time per question of recent interviews.

Every answer is stored with the time the caller spent on its question (`answers.duration_ms`). The median
of the most recent `RECENT_INTERVIEWS` completed interviews of a survey is a steady figure that a few
slow calls do not move, and reading a bounded number of interviews keeps the query cheap however many
years of interviews the database holds. Imported historical results carry no timings and are left out.
Medians are computed in Python: SQLite has no median, and the rows are few.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.length import LengthEstimate, ObservedTimes, estimate_length
from app.domain.questionnaire import Questionnaire
from app.store.models import Answer as AnswerRow
from app.store.models import Interview

RECENT_INTERVIEWS = 500
COMPLETED = "completed"


def observed_times(session: Session, survey: str, *, recent: int = RECENT_INTERVIEWS) -> ObservedTimes:
    """Median seconds per question over the survey's most recent completed interviews."""
    recent_ids = (
        select(Interview.id)
        .where(Interview.survey == survey, Interview.status == COMPLETED, Interview.imported.is_(False))
        .order_by(Interview.id.desc())
        .limit(recent)
        .subquery()
    )
    rows = session.execute(
        select(AnswerRow.interview_id, AnswerRow.question_id, AnswerRow.duration_ms).where(
            AnswerRow.interview_id.in_(select(recent_ids.c.id)),
            AnswerRow.duration_ms.is_not(None),
            AnswerRow.duration_ms > 0,
        )
    )
    timings: dict[str, list[int]] = defaultdict(list)
    interviews: set[int] = set()
    for interview_id, question_id, duration_ms in rows:
        timings[question_id].append(duration_ms)
        interviews.add(interview_id)
    spans = [
        (ended - started).total_seconds()
        for started, ended in session.execute(
            select(Interview.started_at, Interview.ended_at).where(
                Interview.id.in_(select(recent_ids.c.id)), Interview.ended_at.is_not(None)
            )
        )
        if ended is not None and ended > started
    ]
    return ObservedTimes(
        median_seconds={qid: median(values) / 1000 for qid, values in timings.items()},
        counts={qid: len(values) for qid, values in timings.items()},
        interviews=len(interviews),
        median_interview_seconds=median(spans) if spans else None,
    )


def questionnaire_length(session: Session | None, questionnaire: Questionnaire) -> LengthEstimate:
    """The length estimate, with observed times where the database has them (None: estimate only)."""
    if session is None:
        return estimate_length(questionnaire)
    return estimate_length(questionnaire, observed_times(session, questionnaire.id))
