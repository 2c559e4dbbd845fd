"""What the case modules share: the case's states, its records for screens, errors and helpers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, object_session

from app.clock import LOCAL, utcnow
from app.domain.dispositions import (
    OPEN_NOT_YET_CALLED,
    TEMPORARY_DISPOSITIONS,
    AttemptRecord,
    Category,
    Disposition,
    Outcome,
    disposition_for_code,
    final_disposition,
)
from app.domain.permissions import Actor, Permission, require
from app.domain.questionnaire import Questionnaire
from app.errors import SurveyError
from app.store.models import Attempt, AuditEvent, Case, Interview, Staff

PENDING = "pending"
OPEN = "open"
CLOSED = "closed"

CLOSED_FINAL_OUTCOME = "final_outcome"
CLOSED_MAX_ATTEMPTS = "max_attempts"
CLOSED_NO_USABLE_NUMBER = "no_usable_number"
CLOSED_BY_SUPERVISOR = "supervisor"
OUT_OF_FIELD_PERIOD = "out_of_field_period"

#: Note on an attempt that `release_stale` closed because its caller went away.
STALE_NOTE = "closed automatically: caller inactive"
#: PostgreSQL advisory lock key: one app at a time refreshes windows and releases stale cases.
_MAINTENANCE_LOCK_KEY = int.from_bytes(b"survcase", "big") & 0x7FFF_FFFF_FFFF_FFFF


class CaseError(SurveyError):
    """A case action that is not allowed now (not your case, closed, wrong number, ...)."""


class OutsideCallingHours(CaseError):
    """A call or an appointment outside the bureau's calling hours."""


class VoicemailForbidden(CaseError):
    """A message was left on an answerphone although the questionnaire forbids it."""


class Band(StrEnum):
    """Time of day of an attempt, in local time: allocation varies it between attempts on a case."""

    MORNING = "morning"  # before 12:00
    AFTERNOON = "afternoon"  # 12:00 to 17:00
    EVENING = "evening"  # from 17:00


def time_band(moment: datetime) -> Band:
    hour = moment.astimezone(LOCAL).hour
    if hour < 12:
        return Band.MORNING
    return Band.AFTERNOON if hour < 17 else Band.EVENING


_BAND_COLUMNS: dict[Band, InstrumentedAttribute[int]] = {
    Band.MORNING: Case.attempts_morning,
    Band.AFTERNOON: Case.attempts_afternoon,
    Band.EVENING: Case.attempts_evening,
}


@dataclass(frozen=True)
class AllocatedCase:
    """The case a caller holds, with the victim's details: only ever given to that caller."""

    case_id: int
    survey: str
    crime_ref: str
    victim_name: str | None
    phone: str | None
    alt_phone: str | None
    date_of_birth: date | None
    report_date: date
    division: str
    district: str
    risk_level: str | None
    attempt_count: int
    last_outcome: Outcome | None
    last_attempt_at: datetime | None
    appointment_at: datetime | None  # the appointment this allocation honours, if any
    disposition: Disposition  # the temporary code to show
    open_attempt_id: int | None  # an attempt started and not finished (resume after a crash)
    allocated_at: datetime | None


@dataclass(frozen=True)
class Allocation:
    """The answer to "next case, please": a case, or None with a reason the screen can show."""

    case: AllocatedCase | None
    reason: str | None = None
    resumed: bool = False  # the caller already held this case


@dataclass(frozen=True)
class CaseState:
    """Where a case stands after an action."""

    case_id: int
    survey: str
    status: str  # pending | open | closed
    disposition: Disposition | None  # temporary while open; None for a case never released
    attempt_count: int
    allocated_to: str | None  # user name of the caller holding it
    next_call_at: datetime | None
    appointment_at: datetime | None
    appointment_by: str | None
    closed_reason: str | None

    @property
    def closed(self) -> bool:
        return self.status == CLOSED


@dataclass(frozen=True)
class RefreshResult:
    opened: int = 0  # pending cases whose fieldwork window opened
    expired: int = 0  # open cases closed because their window closed (fieldwork_ended)
    not_released: int = 0  # pending cases whose window closed before they were offered


@dataclass(frozen=True)
class AttemptSummary:
    attempt_id: int
    caller: str
    started_at: datetime
    ended_at: datetime | None
    number_dialled: str | None
    outcome: Outcome | None
    message_left: bool | None
    appointment_at: datetime | None
    refusal_by: str | None
    ineligible_reason: str | None
    partial: bool
    note: str | None


@dataclass(frozen=True)
class ScreeningSummary:
    reason: str
    excluded: bool
    decided_by: str  # "automatic" or the member of staff's user name
    decided_at: datetime
    note: str | None


@dataclass(frozen=True)
class InterviewSummary:
    interview_id: int
    status: str
    caller: str | None
    started_at: datetime
    ended_at: datetime | None
    answers: int


@dataclass(frozen=True)
class EventSummary:
    at: datetime
    action: str
    by: str  # user name, or "system"
    detail: dict[str, Any]


@dataclass(frozen=True)
class CaseHistory:
    """Everything that happened to one case, for a supervisor (or the caller holding it)."""

    state: CaseState
    crime_ref: str
    victim_name: str | None
    phone: str | None
    alt_phone: str | None
    report_date: date
    division: str
    district: str
    allocated_at: datetime | None
    last_activity_at: datetime | None
    closed_at: datetime | None
    personal_data_deleted: bool
    attempts: tuple[AttemptSummary, ...]
    screening: tuple[ScreeningSummary, ...]
    interviews: tuple[InterviewSummary, ...]
    events: tuple[EventSummary, ...]


def _staff_id(actor: Actor) -> int:
    if actor.staff_id is None:
        raise CaseError("only a signed-in member of staff can hold and call cases")
    return actor.staff_id


def _audit(session: Session, actor_id: int | None, action: str, case_id: int, **detail: Any) -> None:
    """Note an action on a case in the audit log (`detail`: never personal data)."""
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor_id,
            action=action,
            entity="case",
            entity_id=str(case_id),
            detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
        )
    )


audit_case = _audit


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _case_for_update(session: Session, case_id: int) -> Case:
    found = session.scalar(
        select(Case)
        .where(Case.id == case_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise CaseError(f"case {case_id} does not exist")
    return found


def _records(session: Session, case_id: int) -> list[AttemptRecord]:
    """The finished attempts of a case, as final_disposition reads them."""
    rows = session.execute(
        select(Attempt.outcome, Attempt.started_at, Attempt.partial)
        .where(Attempt.case_id == case_id, Attempt.outcome.is_not(None))
        .order_by(Attempt.started_at, Attempt.id)
    )
    return [AttemptRecord(Outcome(outcome), at, partial) for outcome, at, partial in rows]


def _open_disposition(records: list[AttemptRecord]) -> Disposition:
    """The temporary code of an open case: that of its latest attempt's outcome."""
    if not records:
        return OPEN_NOT_YET_CALLED
    latest = max(records, key=lambda r: r.at)
    temporary = TEMPORARY_DISPOSITIONS.get(latest.outcome)
    if temporary is not None:
        return temporary
    # Reopened after a final outcome: show that outcome's code, marked as not final.
    final = final_disposition(records, max_attempts=len(records) + 1)
    return Disposition(final.code, f"{final.label} (reopened)", Category.TEMPORARY)


def _disposition(
    session: Session, case_row: Case, records: list[AttemptRecord] | None = None
) -> Disposition | None:
    if case_row.status == CLOSED:
        return disposition_for_code(case_row.final_disposition) if case_row.final_disposition else None
    return _open_disposition(_records(session, case_row.id) if records is None else records)


def case_disposition(session: Session, case_id: int) -> Disposition | None:
    """The case's code for screens: final once closed, else the temporary code of its latest attempt.

    None for a case closed without ever being released (out of the field period): it has no AAPOR code.
    """
    case_row = session.get(Case, case_id)
    if case_row is None:
        raise CaseError(f"case {case_id} does not exist")
    return _disposition(session, case_row)


def _usernames(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(Staff.id, Staff.username).where(Staff.id.in_(wanted))).all())


def _state(session: Session, case_row: Case, records: list[AttemptRecord] | None = None) -> CaseState:
    """What the screens show of a case; `records`: its finished attempts, when the caller has them."""
    names = _usernames(session, (case_row.allocated_to_id, case_row.appointment_by_id))
    appointment = case_row.next_call_at if case_row.appointment_by_id is not None else None
    return CaseState(
        case_id=case_row.id,
        survey=case_row.survey,
        status=case_row.status,
        disposition=_disposition(session, case_row, records),
        attempt_count=case_row.attempt_count,
        allocated_to=names.get(case_row.allocated_to_id) if case_row.allocated_to_id else None,
        next_call_at=case_row.next_call_at,
        appointment_at=appointment,
        appointment_by=names.get(case_row.appointment_by_id) if case_row.appointment_by_id else None,
        closed_reason=case_row.closed_reason,
    )


def fieldwork_window(questionnaire: Questionnaire, report_date: date) -> tuple[date, date]:
    """The first and last day (inclusive) on which a case reported on `report_date` may be called."""
    fieldwork = questionnaire.fieldwork
    return (
        report_date + timedelta(days=fieldwork.from_days_after_report),
        report_date + timedelta(days=fieldwork.to_days_after_report),
    )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL)


def _close(case_row: Case, disposition: Disposition, reason: str, now: datetime) -> None:
    """Close the case with its final code; an interview left in progress on it ends (end_interviews)."""
    if not disposition.is_final:
        raise AssertionError(f"closing case {case_row.id} with temporary code {disposition}")
    case_row.status = CLOSED
    case_row.final_disposition = disposition.code
    case_row.closed_reason = reason
    case_row.closed_at = now
    case_row.allocated_to_id = None
    case_row.allocated_at = None
    case_row.next_call_at = None
    case_row.appointment_by_id = None
    session = object_session(case_row)
    if session is not None:
        end_interviews(session, [case_row.id], now)


def _to_pool(case_row: Case, next_call_at: datetime | None, appointment_by_id: int | None = None) -> None:
    case_row.allocated_to_id = None
    case_row.allocated_at = None
    case_row.next_call_at = next_call_at
    case_row.appointment_by_id = appointment_by_id


def _reason_text(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise CaseError("a reason is required")
    if len(text) > 500:
        raise CaseError("the reason is too long (500 characters at most)")
    return text


def open_attempt_id(session: Session, case_id: int) -> int | None:
    return session.scalar(
        select(Attempt.id).where(Attempt.case_id == case_id, Attempt.outcome.is_(None)).order_by(Attempt.id)
    )


def end_interviews(session: Session, case_ids: Iterable[int], now: datetime) -> int:
    """End the interviews left in progress on cases that closed, as broken off ("partial"), every answer
    kept and the question reached noted; returns how many. An interview never stays in progress on a
    closed case, where nobody could carry it on or clear it."""
    ids = list(case_ids)
    if not ids:
        return 0
    ended = session.execute(
        update(Interview)
        .where(Interview.case_id.in_(ids), Interview.status == "in_progress")
        .values(status="partial", ended_at=now)
        .execution_options(synchronize_session="evaluate")
    )
    return _rowcount(ended)


def _when(moment: datetime) -> str:
    return moment.astimezone(LOCAL).strftime("%H:%M on %a %d %b")


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


def _closed_values(disposition: Disposition, reason: str, now: datetime) -> dict[str, Any]:
    return {
        "status": CLOSED,
        "final_disposition": disposition.code,
        "closed_reason": reason,
        "closed_at": now,
        "next_call_at": None,
        "appointment_by_id": None,
    }


def held_case(session: Session, actor: Actor, case_id: int) -> Case:
    """The case, locked, if the actor holds it."""
    require(actor, Permission.CALL_CASES)
    me = _staff_id(actor)
    case_row = _case_for_update(session, case_id)
    if case_row.allocated_to_id != me or case_row.status != OPEN:
        raise CaseError(f"case {case_id} is not allocated to you")
    return case_row
