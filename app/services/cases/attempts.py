"""Call attempts: dialling a number, recording what happened, and moving the case on."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.domain.dispositions import (
    FINAL_OUTCOMES,
    ClosedReason,
    Outcome,
    final_disposition,
)
from app.domain.permissions import Actor, Permission, require
from app.domain.questionnaire import Questionnaire
from app.domain.text import clean_note
from app.services.cases.common import (
    _BAND_COLUMNS,
    CLOSED_FINAL_OUTCOME,
    CLOSED_MAX_ATTEMPTS,
    CLOSED_NO_USABLE_NUMBER,
    CaseError,
    CaseState,
    OutsideCallingHours,
    VoicemailForbidden,
    _close,
    _records,
    _staff_id,
    _state,
    _to_pool,
    _when,
    fieldwork_window,
    held_case,
    open_attempt_id,
    time_band,
)
from app.services.catalogue import Catalogue
from app.services.settings import BureauSettings, get_settings
from app.store.models import Attempt, Case


def start_attempt(
    session: Session, actor: Actor, case_id: int, number_dialled: str, *, now: datetime | None = None
) -> int:
    """Record that the caller is dialling one of the case's numbers; returns the attempt id.

    The caller must hold the case, within calling hours, with no other attempt on it unfinished.
    """
    now = now or utcnow()
    case_row = held_case(session, actor, case_id)
    settings = get_settings(session)
    if not settings.calling_hours.contains(now):
        raise OutsideCallingHours(f"no calls outside calling hours ({settings.calling_hours})")
    dialled = "".join(number_dialled.split())
    numbers = [n for n in (case_row.phone, case_row.alt_phone) if n]
    match = next((n for n in numbers if "".join(n.split()) == dialled), None)
    if match is None:
        raise CaseError(f"that number is not one of case {case_id}'s numbers")
    unfinished = open_attempt_id(session, case_id)
    if unfinished is not None:
        raise CaseError(f"attempt {unfinished} on case {case_id} is unfinished: record its outcome first")
    attempt = Attempt(case_id=case_id, caller_id=actor.staff_id, started_at=now, number_dialled=match)
    session.add(attempt)
    case_row.last_activity_at = now
    session.flush()
    return attempt.id


def finish_attempt(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    attempt_id: int,
    outcome: Outcome | str,
    *,
    message_left: bool | None = None,
    appointment_at: datetime | None = None,
    refusal_by: str | None = None,
    ineligible_reason: str | None = None,
    partial: bool = False,
    note: str | None = None,
    now: datetime | None = None,
) -> CaseState:
    """Record the outcome of the caller's unfinished attempt, and move the case on.

    - answerphone: `message_left` (default False); True is refused where the questionnaire says
      leave_voicemail: false.
    - appointment: `appointment_at` (aware) in the future, within calling hours and the fieldwork window;
      the case goes back to the pool until then, offered first to this caller.
    - refusal: `refusal_by` (who refused, optional); ineligible: `ineligible_reason` (required);
      break_off: `partial` when the interview had reached the questionnaire's partial point.
    - A final outcome closes the case with `final_disposition`; so does reaching the attempt limit, or a
      wrong number when every number of the case has proved wrong. Otherwise the case returns to the pool
      after the retry gap (`retry_gap_minutes`; `unsafe_retry_gap_hours` after unsafe to talk).
    """
    now = now or utcnow()
    require(actor, Permission.CALL_CASES)
    me = _staff_id(actor)
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.caller_id != me:
        raise CaseError(f"attempt {attempt_id} is not one of your calls")
    case_row = held_case(session, actor, attempt.case_id)
    session.refresh(attempt)
    if attempt.outcome is not None:
        raise CaseError(f"attempt {attempt_id} is finished already ({attempt.outcome})")
    try:
        chosen = Outcome(outcome)
    except ValueError:
        raise CaseError(
            f"unknown outcome '{outcome}'; use one of {', '.join(o.value for o in Outcome)}"
        ) from None
    questionnaire = catalogue.get(case_row.survey)
    settings = get_settings(session)
    _check_details(
        chosen,
        questionnaire,
        settings,
        case_row,
        now,
        message_left=message_left,
        appointment_at=appointment_at,
        refusal_by=refusal_by,
        ineligible_reason=ineligible_reason,
        partial=partial,
    )
    attempt.outcome = chosen.value
    attempt.ended_at = now
    attempt.message_left = (bool(message_left)) if chosen is Outcome.ANSWERPHONE else None
    attempt.appointment_at = appointment_at
    attempt.refusal_by = (refusal_by or "").strip() or None
    attempt.ineligible_reason = (ineligible_reason or "").strip() or None
    attempt.partial = partial
    attempt.note = clean_note(note)
    return _apply_outcome(session, questionnaire, settings, case_row, attempt, now)


def _check_details(
    outcome: Outcome,
    questionnaire: Questionnaire,
    settings: BureauSettings,
    case_row: Case,
    now: datetime,
    *,
    message_left: bool | None,
    appointment_at: datetime | None,
    refusal_by: str | None,
    ineligible_reason: str | None,
    partial: bool,
) -> None:
    given = {
        "message_left": (message_left is not None, Outcome.ANSWERPHONE),
        "appointment_at": (appointment_at is not None, Outcome.APPOINTMENT),
        "refusal_by": (bool(refusal_by and refusal_by.strip()), Outcome.REFUSAL),
        "ineligible_reason": (bool(ineligible_reason and ineligible_reason.strip()), Outcome.INELIGIBLE),
        "partial": (partial, Outcome.BREAK_OFF),
    }
    for name, (present, belongs_to) in given.items():
        if present and outcome is not belongs_to:
            raise CaseError(f"{name} goes with the outcome {belongs_to.value}, not {outcome.value}")
    if message_left and not questionnaire.calls.leave_voicemail:
        raise VoicemailForbidden(
            f"no message may be left for survey {questionnaire.id}"
            " (its questionnaire says leave_voicemail: false)"
        )
    if refusal_by is not None and len(refusal_by.strip()) > 32:
        raise CaseError("refusal_by is too long (32 characters at most)")
    if outcome is Outcome.INELIGIBLE:
        if not (ineligible_reason and ineligible_reason.strip()):
            raise CaseError("found ineligible needs a reason")
        if len(ineligible_reason.strip()) > 64:
            raise CaseError("the ineligible reason is too long (64 characters at most)")
    if outcome is Outcome.APPOINTMENT:
        if appointment_at is None:
            raise CaseError("an appointment needs its date and time")
        if appointment_at.tzinfo is None or appointment_at.utcoffset() is None:
            raise CaseError("the appointment time needs a time zone")
        last_day = fieldwork_window(questionnaire, case_row.report_date)[1]
        problem = appointment_problem(appointment_at, now, settings, last_day)
        if problem is not None:
            error = OutsideCallingHours if "calling hours" in problem else CaseError
            raise error(problem)


def appointment_problem(at: datetime, now: datetime, settings: BureauSettings, last_day: date) -> str | None:
    """Why an appointment at `at` cannot be made (None when it can): past, outside hours or fieldwork.

    The appointment dialog asks this before it closes, so a caller never loses what was agreed.
    """
    if at <= now:
        return f"the appointment ({_when(at)}) is not in the future"
    if not settings.calling_hours.contains(at):
        return f"the appointment ({_when(at)}) is outside calling hours ({settings.calling_hours})"
    if at.astimezone(LOCAL).date() > last_day:
        return f"the appointment ({_when(at)}) is after this case's fieldwork ends ({last_day:%a %d %b %Y})"
    return None


def _apply_outcome(
    session: Session,
    questionnaire: Questionnaire,
    settings: BureauSettings,
    case_row: Case,
    attempt: Attempt,
    now: datetime,
) -> CaseState:
    """Count a finished attempt on its case, then close the case or return it to the pool."""
    outcome = Outcome(attempt.outcome)
    count_attempt(case_row, attempt, now)
    session.flush()
    records = _records(session, case_row.id)
    limit = questionnaire.calls.max_attempts
    if outcome in FINAL_OUTCOMES:
        _close(case_row, final_disposition(records, max_attempts=limit), CLOSED_FINAL_OUTCOME, now)
    elif outcome is Outcome.APPOINTMENT:
        _to_pool(case_row, attempt.appointment_at, appointment_by_id=attempt.caller_id)
    elif len(records) >= limit:
        _close(case_row, final_disposition(records, max_attempts=limit), CLOSED_MAX_ATTEMPTS, now)
    elif outcome is Outcome.WRONG_NUMBER and _no_usable_number(session, case_row):
        disposition = final_disposition(
            records, max_attempts=limit, closed_reason=ClosedReason.FIELDWORK_ENDED
        )
        _close(case_row, disposition, CLOSED_NO_USABLE_NUMBER, now)
    else:
        gap = (
            timedelta(hours=settings.unsafe_retry_gap_hours)
            if outcome is Outcome.UNSAFE_TO_TALK
            else timedelta(minutes=settings.retry_gap_minutes)
        )
        _to_pool(case_row, now + gap)
    session.flush()
    return _state(session, case_row, records)


def count_attempt(case_row: Case, attempt: Attempt, now: datetime) -> None:
    """Count a finished attempt on its case: in all, in its time of day, and when it was."""
    case_row.attempt_count += 1
    case_row.last_attempt_at = attempt.started_at
    band = _BAND_COLUMNS[time_band(attempt.started_at)].key
    setattr(case_row, band, getattr(case_row, band) + 1)
    case_row.last_activity_at = now


def _no_usable_number(session: Session, case_row: Case) -> bool:
    numbers = {n for n in (case_row.phone, case_row.alt_phone) if n}
    wrong = set(
        session.scalars(
            select(Attempt.number_dialled).where(
                Attempt.case_id == case_row.id, Attempt.outcome == Outcome.WRONG_NUMBER.value
            )
        )
    )
    return numbers <= wrong
