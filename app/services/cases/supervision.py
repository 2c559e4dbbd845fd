"""Supervisors' changes to cases: reassign, reopen and close, each with a recorded reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.domain.dispositions import (
    FINAL_DISPOSITIONS,
    ClosedReason,
    disposition_for_code,
    final_disposition,
)
from app.domain.permissions import Actor, Permission, Role, can, require
from app.services.cases.common import (
    CLOSED,
    CLOSED_BY_SUPERVISOR,
    OPEN,
    PENDING,
    CaseError,
    CaseState,
    _audit,
    _case_for_update,
    _close,
    _local_midnight,
    _reason_text,
    _records,
    _state,
    _to_pool,
    fieldwork_window,
    open_attempt_id,
)
from app.services.catalogue import Catalogue
from app.store.models import Case, Staff


def reassign(
    session: Session,
    actor: Actor,
    case_id: int,
    to_username: str,
    reason: str,
    *,
    now: datetime | None = None,
) -> CaseState:
    """Give an open case to another caller (MANAGE_CASES), with a reason that is recorded.

    A case with a future appointment keeps it, now offered first to the new caller; otherwise the new
    caller holds the case at once, so they must not hold another one. Refused during a call.
    """
    require(actor, Permission.MANAGE_CASES)
    text = _reason_text(reason)
    now = now or utcnow()
    target = session.scalar(select(Staff).where(Staff.username == to_username.strip().lower()))
    if target is None or not target.active:
        raise CaseError(f"no active member of staff called '{to_username}'")
    if not can(Actor(target.id, target.username, Role(target.role)), Permission.CALL_CASES):
        raise CaseError(f"{target.username} is {target.role}: only callers and supervisors take cases")
    case_row = _case_for_update(session, case_id)
    if case_row.status != OPEN:
        raise CaseError(f"case {case_id} is {case_row.status}: only an open case can be reassigned")
    if open_attempt_id(session, case_id) is not None:
        raise CaseError(f"case {case_id} has a call in progress: wait until its outcome is recorded")
    previous = case_row.allocated_to_id
    future_appointment = (
        case_row.appointment_by_id is not None
        and case_row.next_call_at is not None
        and case_row.next_call_at > now
    )
    if future_appointment:
        _to_pool(case_row, case_row.next_call_at, appointment_by_id=target.id)
    else:
        other = session.scalar(
            select(Case.id).where(Case.allocated_to_id == target.id, Case.status == OPEN, Case.id != case_id)
        )
        if other is not None:
            raise CaseError(
                f"{target.username} holds case {other} already: a caller holds one case at a time"
            )
        case_row.allocated_to_id = target.id
        case_row.allocated_at = now
        case_row.appointment_by_id = None if case_row.appointment_by_id is None else target.id
    case_row.last_activity_at = now
    _audit(
        session,
        actor.staff_id,
        "case_reassigned",
        case_id,
        reason=text,
        from_staff_id=previous,
        to_staff_id=target.id,
        appointment=future_appointment,
    )
    session.flush()
    return _state(session, case_row)


def reopen(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    case_id: int,
    reason: str,
    *,
    now: datetime | None = None,
) -> CaseState:
    """Put a closed case back in the field (MANAGE_CASES): its final disposition is cleared.

    Refused when its personal data has been deleted, or its fieldwork window is over (it would close
    again at once). Before the window opens it becomes pending. Its attempts stay: a case at the
    attempt limit gets one more attempt, and a later attempt's outcome decides its new code.
    """
    require(actor, Permission.MANAGE_CASES)
    text = _reason_text(reason)
    now = now or utcnow()
    case_row = _case_for_update(session, case_id)
    if case_row.status != CLOSED:
        raise CaseError(f"case {case_id} is {case_row.status}, not closed")
    if case_row.personal_data_deleted_at is not None:
        raise CaseError(f"case {case_id} cannot be reopened: its personal data has been deleted")
    first_day, last_day = fieldwork_window(catalogue.get(case_row.survey), case_row.report_date)
    today = now.astimezone(LOCAL).date()
    if today > last_day:
        raise CaseError(
            f"case {case_id} cannot be reopened: its fieldwork window ended on {last_day:%a %d %b %Y}"
        )
    previous = (case_row.final_disposition, case_row.closed_reason)
    case_row.status = PENDING if today < first_day else OPEN
    case_row.final_disposition = None
    case_row.closed_reason = None
    case_row.closed_at = None
    _to_pool(case_row, _local_midnight(first_day) if today < first_day else None)
    case_row.last_activity_at = now
    _audit(
        session,
        actor.staff_id,
        "case_reopened",
        case_id,
        reason=text,
        previous_disposition=previous[0],
        previous_closed_reason=previous[1],
    )
    session.flush()
    return _state(session, case_row)


def close_case(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    case_id: int,
    reason: str,
    disposition_code: str | None = None,
    *,
    now: datetime | None = None,
) -> CaseState:
    """Close an open or pending case (MANAGE_CASES), with a reason that is recorded.

    Its code is `disposition_code` when given (a final AAPOR code, e.g. "4.80" quota filled), else
    `final_disposition` as if fieldwork had ended: the latest final outcome, or 2.x / 3.x from the calls.
    An interview kept in progress for the next call ends as broken off, every answer kept.
    """
    require(actor, Permission.MANAGE_CASES)
    text = _reason_text(reason)
    now = now or utcnow()
    case_row = _case_for_update(session, case_id)
    if case_row.status == CLOSED:
        raise CaseError(f"case {case_id} is closed already")
    if open_attempt_id(session, case_id) is not None:
        raise CaseError(f"case {case_id} has a call in progress: wait until its outcome is recorded")
    if disposition_code is not None:
        try:
            disposition = disposition_for_code(disposition_code.strip())
        except KeyError:
            codes = ", ".join(d.code for d in FINAL_DISPOSITIONS)
            raise CaseError(f"unknown final disposition '{disposition_code}'; use one of {codes}") from None
    else:
        disposition = final_disposition(
            _records(session, case_id),
            max_attempts=catalogue.get(case_row.survey).calls.max_attempts,
            closed_reason=ClosedReason.FIELDWORK_ENDED,
        )
    holder = case_row.allocated_to_id
    _close(case_row, disposition, CLOSED_BY_SUPERVISOR, now)
    case_row.last_activity_at = now
    _audit(
        session,
        actor.staff_id,
        "case_closed",
        case_id,
        reason=text,
        disposition=disposition.code,
        from_staff_id=holder,
    )
    session.flush()
    return _state(session, case_row)
