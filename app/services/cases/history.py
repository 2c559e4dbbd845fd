"""A case's whole history for a supervisor (or the caller holding it): a view that is audited."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.dispositions import (
    Outcome,
)
from app.domain.permissions import Actor, Permission, can, require
from app.services.cases.common import (
    AttemptSummary,
    CaseError,
    CaseHistory,
    EventSummary,
    InterviewSummary,
    ScreeningSummary,
    _audit,
    _state,
    _usernames,
)
from app.store.models import Answer, Attempt, AuditEvent, Case, Interview, ScreeningDecision


def case_history(session: Session, actor: Actor, case_id: int) -> CaseHistory:
    """Attempts, screening decisions, allocation, interviews and recorded changes of one case.

    For REVIEW_CALLS, or the caller holding the case. The view is audited (it shows personal data).
    """
    case_row = session.get(Case, case_id)
    if case_row is None:
        raise CaseError(f"case {case_id} does not exist")
    holder = (
        actor.staff_id is not None
        and case_row.allocated_to_id == actor.staff_id
        and can(actor, Permission.CALL_CASES)
    )
    if not holder:
        require(actor, Permission.REVIEW_CALLS)
    attempts = session.scalars(select(Attempt).where(Attempt.case_id == case_id).order_by(Attempt.id)).all()
    decisions = session.scalars(
        select(ScreeningDecision).where(ScreeningDecision.case_id == case_id).order_by(ScreeningDecision.id)
    ).all()
    interviews = session.execute(
        select(
            Interview.id,
            Interview.status,
            Interview.caller_id,
            Interview.started_at,
            Interview.ended_at,
            func.count(Answer.id),
        )
        .outerjoin(Answer, Answer.interview_id == Interview.id)
        .where(Interview.case_id == case_id)
        .group_by(Interview.id)
        .order_by(Interview.id)
    ).all()
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "case", AuditEvent.entity_id == str(case_id))
        .order_by(AuditEvent.id)
    ).all()
    names = _usernames(
        session,
        [a.caller_id for a in attempts]
        + [d.staff_id for d in decisions]
        + [row[2] for row in interviews]
        + [e.staff_id for e in events],
    )
    _audit(session, actor.staff_id, "case_history_viewed", case_id)
    return CaseHistory(
        state=_state(session, case_row),
        crime_ref=case_row.crime_ref,
        victim_name=case_row.victim_name,
        phone=case_row.phone,
        alt_phone=case_row.alt_phone,
        report_date=case_row.report_date,
        division=case_row.division,
        district=case_row.district,
        allocated_at=case_row.allocated_at,
        last_activity_at=case_row.last_activity_at,
        closed_at=case_row.closed_at,
        personal_data_deleted=case_row.personal_data_deleted_at is not None,
        attempts=tuple(
            AttemptSummary(
                attempt_id=a.id,
                caller=names.get(a.caller_id, str(a.caller_id)),
                started_at=a.started_at,
                ended_at=a.ended_at,
                number_dialled=a.number_dialled,
                outcome=Outcome(a.outcome) if a.outcome else None,
                message_left=a.message_left,
                appointment_at=a.appointment_at,
                refusal_by=a.refusal_by,
                ineligible_reason=a.ineligible_reason,
                partial=a.partial,
                note=a.note,
            )
            for a in attempts
        ),
        screening=tuple(
            ScreeningSummary(
                reason=d.reason,
                excluded=d.excluded,
                decided_by=names.get(d.staff_id, "staff") if d.staff_id else d.decided_by,
                decided_at=d.decided_at,
                note=d.note,
            )
            for d in decisions
        ),
        interviews=tuple(
            InterviewSummary(
                interview_id=row[0],
                status=row[1],
                caller=names.get(row[2]) if row[2] else None,
                started_at=row[3],
                ended_at=row[4],
                answers=int(row[5]),
            )
            for row in interviews
        ),
        events=tuple(
            EventSummary(
                at=e.at,
                action=e.action,
                by=names.get(e.staff_id, "system") if e.staff_id else "system",
                detail=json.loads(e.detail) if e.detail else {},
            )
            for e in events
        ),
    )
