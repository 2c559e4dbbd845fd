"""Retention and erasure: personal data of closed cases is deleted after the retention period, and
everything about one victim on request.

Purge keeps what the statistics need and nothing that names anyone: the case row (survey, report date,
Division, district, its final disposition and counts), its attempts' outcomes and times, the interviews
and their coded answers. It empties the name, numbers, date of birth and crime reference, and every
free text a person wrote about the case (call and screening notes, answer notes, the closing reason,
safeguarding notes, follow-up notes). Reports and response rates are the same before and after.

Erasure (a victim's request) deletes the case and every row that hangs from it: attempts, screening
decisions, interviews with their answers and history, safeguarding alerts; the daily tallies lose its
completed interviews. The audit log keeps its ids and counts (it never held personal data) and records
the erasure with its reason.

Both leave a fingerprint of the case's key (app.services.withdrawn), so that an overlapping extract
imported later does not create the case again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.domain.permissions import Actor, Permission, require
from app.errors import SurveyError
from app.services.settings import get_settings
from app.services.tallies import tally_interviews
from app.services.withdrawn import ERASED, PURGED, withdraw
from app.store.models import (
    Answer,
    AnswerChange,
    Attempt,
    AuditEvent,
    Case,
    Interview,
    SafeguardingAlert,
    ScreeningDecision,
    VerbatimRedaction,
)

#: What a purged case's crime reference becomes: nothing that leads back to the police record.
DELETED = "(deleted)"


class RetentionError(SurveyError):
    """Erasure or purge could not be done."""


@dataclass(frozen=True)
class PurgeResult:
    cases: int
    closed_before: datetime
    dry_run: bool


def purge(
    session: Session, actor: Actor, *, dry_run: bool = False, now: datetime | None = None
) -> PurgeResult:
    """Delete the personal data of cases closed more than retention_days ago (not already purged)."""
    require(actor, Permission.DELETE_PERSONAL_DATA)
    now = now or utcnow()
    cutoff = now - timedelta(days=get_settings(session).retention_days)
    due = (
        select(Case.id)
        .where(Case.status == "closed", Case.closed_at < cutoff, Case.personal_data_deleted_at.is_(None))
        .order_by(Case.id)
    )
    ids = list(session.scalars(due))
    if not dry_run and ids:
        for start in range(0, len(ids), 500):
            _purge_cases(session, ids[start : start + 500], now)
    session.add(
        AuditEvent(
            at=now,
            staff_id=actor.staff_id,
            action="purge_dry_run" if dry_run else "personal_data_purged",
            entity="cases",
            detail=json.dumps({"cases": len(ids), "closed_before": cutoff.isoformat(timespec="seconds")}),
        )
    )
    return PurgeResult(cases=len(ids), closed_before=cutoff, dry_run=dry_run)


def _purge_cases(session: Session, ids: list[int], now: datetime) -> None:
    keys = session.execute(select(Case.survey, Case.crime_ref, Case.victim_name).where(Case.id.in_(ids)))
    withdraw(session, [tuple(key) for key in keys], PURGED, now)
    session.execute(
        update(Case)
        .where(Case.id.in_(ids))
        .values(
            victim_name=None,
            phone=None,
            alt_phone=None,
            date_of_birth=None,
            crime_ref=DELETED,
            closed_reason=None,
            personal_data_deleted_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Attempt)
        .where(Attempt.case_id.in_(ids))
        .values(number_dialled=None, note=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ScreeningDecision)
        .where(ScreeningDecision.case_id.in_(ids))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    interviews = select(Interview.id).where(Interview.case_id.in_(ids))
    session.execute(
        update(Interview)
        .where(Interview.case_id.in_(ids))
        .values(follow_up_note=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Answer)
        .where(Answer.interview_id.in_(interviews))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(SafeguardingAlert)
        .where(or_(SafeguardingAlert.case_id.in_(ids), SafeguardingAlert.interview_id.in_(interviews)))
        .values(note=DELETED, action_taken=None)
        .execution_options(synchronize_session=False)
    )


def erase_case(session: Session, actor: Actor, case_id: int, reason: str) -> int:
    """Delete every row about one case (a victim's request to erase); returns how many rows went."""
    require(actor, Permission.DELETE_PERSONAL_DATA)
    reason = " ".join(reason.split())
    if not reason:
        raise RetentionError("a reason is required")
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise RetentionError(f"case {case_id} does not exist")
    survey = case.survey
    withdraw(session, [(case.survey, case.crime_ref, case.victim_name)], ERASED, utcnow())
    interview_ids = list(session.scalars(select(Interview.id).where(Interview.case_id == case_id)))
    completed = list(
        session.scalars(
            select(Interview.id).where(Interview.case_id == case_id, Interview.status == "completed")
        )
    )
    tally_interviews(session, completed, sign=-1)
    removed = 0
    statements = [
        delete(SafeguardingAlert).where(
            or_(SafeguardingAlert.case_id == case_id, SafeguardingAlert.interview_id.in_(interview_ids))
        ),
        delete(VerbatimRedaction).where(VerbatimRedaction.interview_id.in_(interview_ids)),
        delete(AnswerChange).where(AnswerChange.interview_id.in_(interview_ids)),
        delete(Answer).where(Answer.interview_id.in_(interview_ids)),
        delete(Interview).where(Interview.id.in_(interview_ids)),
        delete(ScreeningDecision).where(ScreeningDecision.case_id == case_id),
        delete(Attempt).where(Attempt.case_id == case_id),
        delete(Case).where(Case.id == case_id),
    ]
    session.expunge(case)
    for statement in statements:
        removed += session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action="case_erased",
            entity="case",
            entity_id=str(case_id),
            detail=json.dumps(
                {"survey": survey, "rows": removed, "interviews": len(interview_ids), "reason": reason}
            ),
        )
    )
    return removed


def cases_awaiting_purge(session: Session, now: datetime | None = None) -> int:
    """How many closed cases are past the retention period and still hold personal data."""
    cutoff = (now or utcnow()) - timedelta(days=get_settings(session).retention_days)
    return (
        session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.status == "closed", Case.closed_at < cutoff, Case.personal_data_deleted_at.is_(None))
        )
        or 0
    )
