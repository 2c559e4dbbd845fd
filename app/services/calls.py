"""One call, as the caller's screens live it: screening, dialling, the outcome, the interview's end.

These use cases combine the case rules (app.services.cases) with the interview rules
(app.services.interviews) so that a screen makes one call per step, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import today, utcnow
from app.domain.dispositions import FINAL_OUTCOMES, Outcome
from app.domain.eligibility import CallerCheck, SampleFields, screen
from app.domain.permissions import Actor
from app.domain.questionnaire import ExclusionReason, StopOutcome
from app.errors import SurveyError
from app.services import cases, interviews
from app.services.audit import case_viewed
from app.services.catalogue import Catalogue
from app.services.settings import BureauSettings, CallingHours, get_settings
from app.store.models import Attempt, Case, Interview, ScreeningDecision


@dataclass(frozen=True)
class Number:
    label: str  # "Main" or "Alternative"
    e164: str
    display: str  # as dialled in the UK: 020 7946 0123


@dataclass(frozen=True)
class AutomaticDecision:
    reason: str
    excluded: bool
    explanation: str


@dataclass(frozen=True)
class ScreeningView:
    """What the screening screen shows for the case a caller holds (personal data: that caller only)."""

    case_id: int
    survey: str
    survey_title: str
    victim_name: str
    crime_ref: str
    report_date: date
    division: str
    district: str
    risk_level: str | None
    attempt_count: int
    max_attempts: int
    disposition: str
    decisions: tuple[AutomaticDecision, ...]
    checks: tuple[CallerCheck, ...]
    excluded_reason: str | None  # decided automatically today (e.g. still under 16)
    numbers: tuple[Number, ...]
    leave_voicemail: bool
    voicemail_message: str | None
    open_attempt_id: int | None
    sample: dict[str, object]  # for piping into read-out text


class ScreeningError(SurveyError):
    """Screening answers that do not match the case's checks."""


def _display_number(e164: str) -> str:
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, "GB"), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def _fields(case: Case) -> SampleFields:
    return SampleFields(
        report_date=case.report_date,
        date_of_birth=case.date_of_birth,
        opted_out=case.opted_out,
        vulnerable=case.vulnerable,
        nfa_requested=case.nfa_requested,
        not_cooperating=case.not_cooperating,
    )


def sample_fields(case: Case) -> dict[str, object]:
    """Fields that read-out text may insert ({sample.first_name} and so on)."""
    name = case.victim_name or ""
    return {
        "first_name": name.split()[0] if name else "",
        "victim_name": name,
        "report_date": case.report_date,
        "division": case.division,
        "district": case.district,
    }


def screening_for(session: Session, actor: Actor, catalogue: Catalogue, case_id: int) -> ScreeningView:
    """The screening screen's content; only for the caller holding the case (the view is audited)."""
    case = cases.held_case(session, actor, case_id)
    questionnaire = catalogue.get(case.survey)
    result = screen(questionnaire, _fields(case), today())
    disposition = cases.case_disposition(session, case_id)
    numbers = [Number("Main", case.phone, _display_number(case.phone))] if case.phone else []
    if case.alt_phone:
        numbers.append(Number("Alternative", case.alt_phone, _display_number(case.alt_phone)))
    case_viewed(session, actor, case_id, "screening")
    return ScreeningView(
        case_id=case.id,
        survey=case.survey,
        survey_title=questionnaire.title,
        victim_name=case.victim_name or "",
        crime_ref=case.crime_ref,
        report_date=case.report_date,
        division=case.division,
        district=case.district,
        risk_level=case.risk_level,
        attempt_count=case.attempt_count,
        max_attempts=questionnaire.calls.max_attempts,
        disposition=str(disposition) if disposition else "",
        decisions=tuple(
            AutomaticDecision(d.reason.value, d.excluded, d.explanation) for d in result.decisions
        ),
        checks=result.caller_checks,
        excluded_reason=result.exclusion_reason.value if result.exclusion_reason else None,
        numbers=tuple(numbers),
        leave_voicemail=questionnaire.calls.leave_voicemail,
        voicemail_message=questionnaire.calls.voicemail_message,
        open_attempt_id=cases.open_attempt_id(session, case_id),
        sample=sample_fields(case),
    )


def record_screening(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    case_id: int,
    answers: Mapping[str, bool],
) -> str | None:
    """Record the caller's answers to the checks; close the case if one excludes it.

    Returns the exclusion reason, or None when the case may be dialled.
    """
    case = cases.held_case(session, actor, case_id)
    questionnaire = catalogue.get(case.survey)
    result = screen(questionnaire, _fields(case), today())
    now = utcnow()
    expected = {check.reason.value: check for check in result.caller_checks}
    missing = sorted(set(expected) - set(answers))
    if missing:
        raise ScreeningError(f"answer every check first ({', '.join(missing)})")
    excluded: str | None = result.exclusion_reason.value if result.exclusion_reason else None
    for reason, check in expected.items():
        excludes = check.excludes(answers[reason])
        session.add(
            ScreeningDecision(
                case_id=case_id,
                reason=reason,
                excluded=excludes,
                decided_by="staff",
                staff_id=actor.staff_id,
                decided_at=now,
                note=check.question,
            )
        )
        if excludes and excluded is None:
            excluded = reason
    for decision in result.decisions:
        if decision.excluded:
            session.add(
                ScreeningDecision(
                    case_id=case_id,
                    reason=decision.reason.value,
                    excluded=True,
                    decided_by="automatic",
                    decided_at=now,
                    note=decision.note,
                )
            )
    if excluded is not None:
        cases.exclude_held_case(session, actor, case_id, ExclusionReason(excluded).value, now)
    else:
        case.last_activity_at = now
    return excluded


@dataclass(frozen=True)
class AppointmentRules:
    """What an appointment for one case must respect; the dialog checks it before it closes."""

    calling_hours: CallingHours
    last_day: date  # of the case's fieldwork window
    settings: BureauSettings

    def problem(self, at: datetime) -> str | None:
        return cases.appointment_problem(at, utcnow(), self.settings, self.last_day)

    def describe(self) -> str:
        return (
            f"Calling hours: {self.calling_hours}. Fieldwork for this case ends {self.last_day:%a %d %b %Y}."
        )


def appointment_rules(session: Session, actor: Actor, catalogue: Catalogue, case_id: int) -> AppointmentRules:
    """The rules for a call-back on a case the caller holds."""
    case = cases.held_case(session, actor, case_id)
    settings = get_settings(session)
    last_day = cases.fieldwork_window(catalogue.get(case.survey), case.report_date)[1]
    return AppointmentRules(calling_hours=settings.calling_hours, last_day=last_day, settings=settings)


@dataclass(frozen=True)
class CallEnded:
    outcome: Outcome
    partial: bool
    state: cases.CaseState
    held: bool = False  # quick exit mid-interview: the case waits for a supervisor's decision


def end_interview_call(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    interview_id: int,
    *,
    broken_off: bool = False,
    appointment_at: datetime | None = None,
    refusal_by: str | None = None,
    note: str | None = None,
) -> CallEnded:
    """Close the interview and record the call's outcome on its attempt, in one transaction."""
    state, outcome, partial = interviews.finish_interview(
        session, actor, catalogue, interview_id, broken_off=broken_off
    )
    attempt_id = state.attempt_id
    if attempt_id is None:
        raise interviews.InterviewError("this interview has no call attempt to record")
    ineligible_reason = None
    if outcome is Outcome.INELIGIBLE:
        stopped_at = state.engine.route(state.answers).stop
        ineligible_reason = (
            f"found ineligible at question {stopped_at.question_id}" if stopped_at else "found ineligible"
        )
    if outcome is Outcome.APPOINTMENT and appointment_at is None:
        raise interviews.InterviewError("an appointment needs a date and time")
    case_state = cases.finish_attempt(
        session,
        actor,
        catalogue,
        attempt_id,
        outcome,
        appointment_at=appointment_at if outcome is Outcome.APPOINTMENT else None,
        refusal_by=refusal_by if outcome is Outcome.REFUSAL else None,
        ineligible_reason=ineligible_reason,
        partial=partial,
        note=note,
    )
    return CallEnded(outcome=outcome, partial=partial, state=case_state)


def quick_exit(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    *,
    attempt_id: int | None,
    interview_id: int | None,
    note: str = "quick exit",
) -> CallEnded | None:
    """End the call at once, keeping every answer given.

    A quick exit is a safety event, not a refusal. The call is recorded as unsafe to talk. Once the
    victim had started the questions proper, the case is held for a supervisor's decision (retry from
    a date, or close as a break-off or partial) with the interview left in progress and every answer
    kept; before that (only the identity or safety check answered) the interview ends and the case
    is tried again later, as after any unsafe-to-talk call. Returns None when there was nothing to record.

    A quick exit recorded late (kept on the caller's computer while the database could not be
    reached) may find its call taken back meanwhile: released after a long pause and held for a
    supervisor, or closed. The call is not touched then, but the quick exit is written on its note,
    where the supervisor deciding what to do with the case reads it, and in the audit log.
    """
    taken_back = _taken_back(session, actor, attempt_id, interview_id)
    if taken_back is not None:
        attempt_row, case_id = taken_back
        if attempt_row is not None and note not in (attempt_row.note or ""):  # recorded twice: once
            attempt_row.note = f"{attempt_row.note}\n{note}" if attempt_row.note else note
        cases.audit_case(session, actor.staff_id, "quick_exit_recorded_late", case_id, note=note)
        return None
    if interview_id is not None:
        interview = session.get(Interview, interview_id)
        if interview is not None and interview.status == interviews.IN_PROGRESS:
            state = interviews.load_interview(session, actor, catalogue, interview_id)
            opening = {q.id for q in state.questionnaire.sections[0].questions}
            started = any(qid not in opening for qid in state.answers)
            attempt_id = attempt_id or state.attempt_id
            if started and state.case_id is not None:
                if attempt_id is not None and _unfinished(session, attempt_id):
                    cases.finish_attempt(
                        session, actor, catalogue, attempt_id, Outcome.UNSAFE_TO_TALK, note=note
                    )
                held = cases.hold_case(session, state.case_id, utcnow())
                return CallEnded(outcome=Outcome.UNSAFE_TO_TALK, partial=False, state=held, held=True)
            interviews.finish_interview(session, actor, catalogue, interview_id, broken_off=True)
    if attempt_id is None or not _unfinished(session, attempt_id):
        return None
    case_state = cases.finish_attempt(
        session, actor, catalogue, attempt_id, Outcome.UNSAFE_TO_TALK, note=note
    )
    return CallEnded(outcome=Outcome.UNSAFE_TO_TALK, partial=False, state=case_state)


def end_call_keeping_interview(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    interview_id: int,
    attempt_id: int,
    stop: StopOutcome,
    *,
    appointment_at: datetime | None = None,
) -> CallEnded:
    """A check asked again when an interrupted interview is carried on stopped this call.

    The attempt gets the stop rule's outcome (not available, unsafe to talk, an appointment...), while
    the interview stays in progress with every answer it had, for the next call to carry on with.
    """
    interviews.load_interview(session, actor, catalogue, interview_id)  # the caller's own interview
    outcome = interviews.STOP_OUTCOMES[stop]
    if outcome in FINAL_OUTCOMES:
        interviews.finish_interview(session, actor, catalogue, interview_id, broken_off=True)
    case_state = cases.finish_attempt(
        session,
        actor,
        catalogue,
        attempt_id,
        outcome,
        appointment_at=appointment_at if outcome is Outcome.APPOINTMENT else None,
        refusal_by="the victim" if outcome is Outcome.REFUSAL else None,
        ineligible_reason="found ineligible when the interview was carried on"
        if outcome is Outcome.INELIGIBLE
        else None,
    )
    return CallEnded(outcome=outcome, partial=False, state=case_state)


def _taken_back(
    session: Session, actor: Actor, attempt_id: int | None, interview_id: int | None
) -> tuple[Attempt | None, int] | None:
    """The call's attempt and case when its case is no longer this caller's; None while it still is."""
    interview = session.get(Interview, interview_id) if interview_id is not None else None
    if attempt_id is None and interview is not None:
        attempt_id = interview.attempt_id
    attempt_row = session.get(Attempt, attempt_id) if attempt_id is not None else None
    if attempt_row is not None:
        case_id = attempt_row.case_id
    else:
        case_id = interview.case_id if interview is not None else None
    if case_id is None:
        return None
    case_row = session.get(Case, case_id, populate_existing=True)
    if case_row is None or (case_row.status == cases.OPEN and case_row.allocated_to_id == actor.staff_id):
        return None
    return attempt_row, case_id


def _unfinished(session: Session, attempt_id: int) -> bool:
    return session.scalar(select(Attempt.outcome).where(Attempt.id == attempt_id)) is None


@dataclass(frozen=True)
class ResumeOffer:
    """What the caller is told about an interrupted interview before choosing what to do."""

    interview_id: int
    case_id: int
    survey_title: str
    question: str  # the question reached, as labelled in the questionnaire
    position: int
    possible: int
    redial: bool  # the survey has a safety check: carrying on starts a new call


def resume_offer(session: Session, actor: Actor, catalogue: Catalogue, interview_id: int) -> ResumeOffer:
    state = interviews.load_interview(session, actor, catalogue, interview_id)
    if state.case_id is None:
        raise interviews.InterviewError("this interview has no case")
    reached = state.current_question or state.engine.previous(state.answers, None)
    label = state.questionnaire.question(reached).short_label() if reached else "the end"
    answered, possible = state.engine.progress(state.answers)
    return ResumeOffer(
        interview_id=interview_id,
        case_id=state.case_id,
        survey_title=state.questionnaire.title,
        question=label,
        position=answered + (0 if state.finished else 1),
        possible=possible,
        redial=state.questionnaire.calls.safety_check,
    )


def redial_for_resume(
    session: Session, actor: Actor, catalogue: Catalogue, interview_id: int
) -> ScreeningView:
    """Carry on with an interrupted interview in a new call: the interrupted one is recorded as not
    available (nobody is on the line any more) and the case stays with this caller, ready to dial."""
    state = interviews.load_interview(session, actor, catalogue, interview_id)
    if state.case_id is None:
        raise interviews.InterviewError("this interview has no case")
    case = cases.held_case(session, actor, state.case_id)
    now = utcnow()
    open_attempt = cases.open_attempt_id(session, case.id)
    if open_attempt is not None:
        finished = cases.finish_attempt(
            session,
            actor,
            catalogue,
            open_attempt,
            Outcome.NOT_AVAILABLE,
            note="call interrupted; the interview is carried on in a new call",
            now=now,
        )
        if finished.closed:
            raise interviews.InterviewError(f"case {case.id} reached its attempt limit and is closed")
        case.allocated_to_id = actor.staff_id
        case.allocated_at = now
        case.next_call_at = None
        case.appointment_by_id = None
    session.flush()
    return screening_for(session, actor, catalogue, case.id)


@dataclass(frozen=True)
class Resumed:
    state: interviews.InterviewState
    sample: dict[str, object]


def resume(session: Session, actor: Actor, catalogue: Catalogue, interview_id: int) -> Resumed:
    """An interrupted interview with what its screen needs; the caller must still hold the case."""
    state = interviews.load_interview(session, actor, catalogue, interview_id)
    if state.case_id is None:
        raise interviews.InterviewError("this interview has no case")
    case = cases.held_case(session, actor, state.case_id)
    case.last_activity_at = utcnow()
    return Resumed(state=state, sample=sample_fields(case))


def start_interview_call(
    session: Session, actor: Actor, catalogue: Catalogue, case_id: int, attempt_id: int
) -> interviews.InterviewState:
    """Someone answered: begin (or carry on with) the case's interview under this attempt."""
    return interviews.start_interview(session, actor, catalogue, case_id=case_id, attempt_id=attempt_id)
