"""Verbatim review: free-text answers reach analysts only after a supervisor replaced names and places.

A supervisor reads each free-text answer of a completed or partial interview, marks what identifies
someone ([name], [place], [other]) and approves. The original stays in `answers` for supervisors; the
text analysts may see goes to `verbatim_redactions`, with the hash of the original it was made from,
so a later correction sends the verbatim back for review. Exports write a reviewed verbatim's redacted
text and leave an unreviewed one empty (see app.services.export).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.domain.permissions import Actor, Permission, require
from app.domain.questionnaire import TextQuestion
from app.domain.text import redact
from app.errors import SurveyError
from app.services.catalogue import Catalogue
from app.store.models import Answer, AuditEvent, Interview, VerbatimRedaction

REVIEWED_STATUSES = ("completed", "partial")


class RedactionError(SurveyError):
    """A redaction that cannot be recorded."""


@dataclass(frozen=True)
class Verbatim:
    """One free-text answer awaiting review (only supervisors see the original)."""

    answer_id: int
    interview_id: int
    survey: str
    question_id: str
    question: str
    text: str
    ended_at: datetime | None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_questions(catalogue: Catalogue) -> dict[str, dict[str, str]]:
    """Per survey, the free-text questions of its current questionnaire: id -> short label."""
    return {
        q.id: {
            question.id: question.short_label()
            for question in q.questions()
            if isinstance(question, TextQuestion)
        }
        for q in catalogue
    }


def pending_verbatims(
    session: Session, actor: Actor, catalogue: Catalogue, *, limit: int = 200
) -> list[Verbatim]:
    """Free-text answers with no review, or whose review was made from a different text, oldest first."""
    require(actor, Permission.REDACT_VERBATIMS)
    wanted = text_questions(catalogue)
    rows = session.execute(
        select(
            Answer.id,
            Answer.interview_id,
            Answer.question_id,
            Answer.value,
            Interview.survey,
            Interview.ended_at,
        )
        .join(Interview, Interview.id == Answer.interview_id)
        .where(Interview.status.in_(REVIEWED_STATUSES), Answer.value.is_not(None), Answer.value != "")
        .order_by(Interview.ended_at, Answer.id)
    ).all()
    candidates = [r for r in rows if r.question_id in wanted.get(r.survey, {})]
    reviewed = _reviews(session, [r.id for r in candidates])
    pending = []
    for r in candidates:
        review = reviewed.get(r.id)
        if review is not None and review[1] == digest(r.value):
            continue
        pending.append(
            Verbatim(
                r.id,
                r.interview_id,
                r.survey,
                r.question_id,
                wanted[r.survey][r.question_id],
                r.value,
                r.ended_at,
            )
        )
        if len(pending) >= limit:
            break
    return pending


def approve(session: Session, actor: Actor, answer_id: int, spans: list[tuple[int, int, str]]) -> str:
    """Record the supervisor's review of one verbatim; returns the text analysts will see."""
    require(actor, Permission.REDACT_VERBATIMS)
    answer = session.get(Answer, answer_id)
    if answer is None or not answer.value:
        raise RedactionError(f"answer {answer_id} is not a verbatim that can be reviewed")
    try:
        redacted = redact(answer.value, spans)
    except ValueError as exc:
        raise RedactionError(str(exc)) from None
    now = utcnow()
    row = session.scalar(select(VerbatimRedaction).where(VerbatimRedaction.answer_id == answer_id))
    if row is None:
        row = VerbatimRedaction(
            answer_id=answer_id, interview_id=answer.interview_id, question_id=answer.question_id
        )
        session.add(row)
    row.redacted = redacted
    row.original_hash = digest(answer.value)
    row.spans = len(spans)
    row.reviewed_by_id = actor.staff_id  # type: ignore[assignment]
    row.reviewed_at = now
    session.add(
        AuditEvent(
            at=now,
            staff_id=actor.staff_id,
            action="verbatim_redacted",
            entity="answer",
            entity_id=str(answer_id),
            detail=json.dumps({"interview_id": answer.interview_id, "spans": len(spans)}),
        )
    )
    return redacted


def redacted_texts(
    session: Session, answers: Iterable[tuple[int, int, str, str]]
) -> dict[tuple[int, str], str]:
    """For (answer id, interview id, question id, original value): the redacted text where the review is
    current, keyed by (interview id, question id)."""
    answers = list(answers)
    reviews = _reviews(session, [a[0] for a in answers])
    found = {}
    for answer_id, interview_id, question_id, value in answers:
        review = reviews.get(answer_id)
        if review is not None and review[1] == digest(value):
            found[(interview_id, question_id)] = review[0]
    return found


def _reviews(session: Session, answer_ids: list[int]) -> dict[int, tuple[str, str]]:
    reviews: dict[int, tuple[str, str]] = {}
    for start in range(0, len(answer_ids), 900):
        chunk = answer_ids[start : start + 900]
        for answer_id, redacted, original_hash in session.execute(
            select(
                VerbatimRedaction.answer_id, VerbatimRedaction.redacted, VerbatimRedaction.original_hash
            ).where(VerbatimRedaction.answer_id.in_(chunk))
        ):
            reviews[answer_id] = (redacted, original_hash)
    return reviews
