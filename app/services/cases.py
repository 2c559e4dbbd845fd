"""Cases in the field: allocation to callers, call attempts, stale allocations, supervisors' changes.

A case's life, by `cases.status`:

- ``pending``: imported before its fieldwork window opens (next_call_at is the day it does).
- ``open``: callable. At most one caller holds it (``allocated_to_id``); a caller holds at most one case.
  Between attempts it is in the pool (``allocated_to_id`` NULL), offered again from ``next_call_at``:
  the retry gap after a non-final outcome, or an appointment (``appointment_by_id`` says whose).
- ``closed``: ``final_disposition`` holds its AAPOR code (app.domain.dispositions), and
  ``closed_reason`` says what closed it: ``final_outcome`` (a completed interview, refusal, break-off or
  ineligible), ``max_attempts``, ``no_usable_number`` (every number of the case was a wrong or dead
  number), ``fieldwork_ended`` (its window closed while still open), ``supervisor``, an exclusion
  reason such as ``under_16`` (screening at import or by the caller: 4.10), or ``out_of_field_period``
  (never released, final_disposition NULL: not in the rates).

How a case closes after an attempt: when the outcome is final, or the attempt limit of its questionnaire
is reached (except that an appointment made on the last attempt is kept), or no usable number is left;
its code is then `final_disposition` over all its finished attempts. While open, the temporary code of
its latest attempt is shown (`case_disposition`).

Concurrency: every function runs in the caller's write transaction (``with sessions.begin()``). SQLite
serialises writers (BEGIN IMMEDIATE); on PostgreSQL allocation picks its candidate with
``FOR UPDATE SKIP LOCKED`` and the other changes lock the case row. A claim is a conditional UPDATE
(``WHERE allocated_to_id IS NULL``) whose row count is checked, so two callers can never hold one case.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.clock import LOCAL, utcnow
from app.domain.dispositions import (
    FINAL_DISPOSITIONS,
    FINAL_OUTCOMES,
    OPEN_NOT_YET_CALLED,
    SCREENED_OUT,
    TEMPORARY_DISPOSITIONS,
    AttemptRecord,
    Category,
    ClosedReason,
    Disposition,
    Outcome,
    disposition_for_code,
    final_disposition,
)
from app.domain.engine import Engine
from app.domain.permissions import Actor, Permission, Role, can, require
from app.domain.questionnaire import Questionnaire
from app.errors import SurveyError
from app.services.catalogue import Catalogue, stored_questionnaire
from app.services.settings import BureauSettings, get_settings
from app.store.models import Answer, Attempt, AuditEvent, Case, Interview, ScreeningDecision, Staff

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
#: Candidates read at a time, and how many such windows one allocation tries when other callers win
#: the race for them.
CANDIDATE_WINDOW = 8
CANDIDATE_WINDOWS = 3
#: PostgreSQL advisory lock key: one allocator at a time refreshes windows and releases stale cases.
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


# ------------------------------------------------------------------ records


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
    contended: int = 0  # candidates another caller claimed first (lost conditional UPDATEs)


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


# ------------------------------------------------------------------ helpers


def _staff_id(actor: Actor) -> int:
    if actor.staff_id is None:
        raise CaseError("only a signed-in member of staff can hold and call cases")
    return actor.staff_id


def _audit(session: Session, actor_id: int | None, action: str, case_id: int, **detail: Any) -> None:
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


def _disposition(session: Session, case_row: Case) -> Disposition | None:
    if case_row.status == CLOSED:
        return disposition_for_code(case_row.final_disposition) if case_row.final_disposition else None
    return _open_disposition(_records(session, case_row.id))


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


def _state(session: Session, case_row: Case) -> CaseState:
    names = _usernames(session, (case_row.allocated_to_id, case_row.appointment_by_id))
    appointment = case_row.next_call_at if case_row.appointment_by_id is not None else None
    return CaseState(
        case_id=case_row.id,
        survey=case_row.survey,
        status=case_row.status,
        disposition=_disposition(session, case_row),
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


def _when(moment: datetime) -> str:
    return moment.astimezone(LOCAL).strftime("%H:%M on %a %d %b")


# ------------------------------------------------------------------ windows and stale allocations


def refresh_cases(session: Session, catalogue: Catalogue, now: datetime | None = None) -> RefreshResult:
    """Open pending cases whose fieldwork window has opened; close those whose window has closed.

    Set-based, one statement for all surveys each: one UPDATE closes pending cases whose window is over
    (out_of_field_period, no disposition: never released), one opens pending cases whose next_call_at has
    come (or, without one, whose window has opened), one closes never-tried open cases (3.11). Open
    cases with attempts need their history (final_disposition with ClosedReason.FIELDWORK_ENDED): they
    are read in one query and closed with one UPDATE per resulting code. Cases held by a caller are left
    alone until they return to the pool. The window is read in local dates: a case reported on day R is
    callable from R + from_days_after_report to R + to_days_after_report inclusive.
    """
    now = now or utcnow()
    today = now.astimezone(LOCAL).date()
    questionnaires = list(catalogue)
    if not questionnaires:
        return RefreshResult()

    def each_survey(status: str, test: Callable[[Questionnaire], ColumnElement[bool]]) -> ColumnElement[bool]:
        # The status inside every branch lets SQLite search ix_cases_status_survey_report_date per branch.
        return or_(*(and_(Case.status == status, Case.survey == q.id, test(q)) for q in questionnaires))

    def first_day_passed(q: Questionnaire) -> ColumnElement[bool]:
        return Case.report_date <= today - timedelta(days=q.fieldwork.from_days_after_report)

    def last_day_passed(q: Questionnaire) -> ColumnElement[bool]:
        return Case.report_date < today - timedelta(days=q.fieldwork.to_days_after_report)

    not_released = _rowcount(
        session.execute(
            update(Case)
            .where(each_survey(PENDING, last_day_passed))
            .values(status=CLOSED, closed_reason=OUT_OF_FIELD_PERIOD, closed_at=now, next_call_at=None)
            .execution_options(synchronize_session=False)
        )
    )
    # The sample import sets a pending case's next_call_at to the day it may be called (its window's
    # first day, or a victim's 16th birthday if later); a pending case without one opens with its window.
    due = or_(
        and_(Case.status == PENDING, Case.next_call_at <= now),
        and_(each_survey(PENDING, first_day_passed), Case.next_call_at.is_(None)),
    )
    opened = _rowcount(
        session.execute(
            update(Case)
            .where(due)
            .values(status=OPEN, next_call_at=None)
            .execution_options(synchronize_session=False)
        )
    )
    # Not held by a caller. Written as coalesce(...) = 0 so that SQLite, which keeps no statistics, does
    # not pick ix_cases_allocated_to_id (every pooled case is NULL there) over the window's index.
    over = (each_survey(OPEN, last_day_passed), func.coalesce(Case.allocated_to_id, 0) == 0)
    untried = final_disposition([], max_attempts=1, closed_reason=ClosedReason.FIELDWORK_ENDED)  # 3.11
    expired = _rowcount(
        session.execute(
            update(Case)
            .where(*over, Case.attempt_count == 0)
            .values(**_closed_values(untried, ClosedReason.FIELDWORK_ENDED.value, now))
            .execution_options(synchronize_session=False)
        )
    )
    tried = session.execute(select(Case.id, Case.survey).where(*over, Case.attempt_count > 0)).all()
    if tried:
        limits = {q.id: q.calls.max_attempts for q in questionnaires}
        expired += _close_by_history(session, [(case_id, limits[survey]) for case_id, survey in tried], now)
    if opened or expired or not_released:
        session.expire_all()
    return RefreshResult(opened=opened, expired=expired, not_released=not_released)


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


def _close_by_history(session: Session, cases_and_limits: list[tuple[int, int]], now: datetime) -> int:
    """Close open cases whose fieldwork ended, each with final_disposition over its attempts."""
    history: dict[int, list[AttemptRecord]] = defaultdict(list)
    rows = session.execute(
        select(Attempt.case_id, Attempt.outcome, Attempt.started_at, Attempt.partial).where(
            Attempt.case_id.in_([case_id for case_id, _ in cases_and_limits]), Attempt.outcome.is_not(None)
        )
    )
    for case_id, outcome, at, partial in rows:
        history[case_id].append(AttemptRecord(Outcome(outcome), at, partial))
    by_code: dict[Disposition, list[int]] = defaultdict(list)
    for case_id, limit in cases_and_limits:
        disposition = final_disposition(
            history[case_id], max_attempts=limit, closed_reason=ClosedReason.FIELDWORK_ENDED
        )
        by_code[disposition].append(case_id)
    closed = 0
    for disposition, ids in by_code.items():
        closed += _rowcount(
            session.execute(
                update(Case)
                .where(Case.id.in_(ids), Case.status == OPEN, Case.allocated_to_id.is_(None))
                .values(**_closed_values(disposition, ClosedReason.FIELDWORK_ENDED.value, now))
                .execution_options(synchronize_session=False)
            )
        )
    return closed


def release_stale(session: Session, catalogue: Catalogue, now: datetime | None = None) -> int:
    """Return to the pool every case held with no activity for `stale_allocation_hours`; count them.

    Cases without an unfinished attempt go back with one UPDATE. An attempt left without an outcome (a
    terminal that crashed, a caller who went home) is closed first, noted STALE_NOTE, ending at the
    case's last activity: as a break-off if its interview has answers (partial when it had reached the
    questionnaire's partial point; the case then closes, as any break-off does), otherwise as no answer
    (the case counts the attempt and returns to the pool, or closes at the attempt limit).
    """
    now = now or utcnow()
    return _release_stale(session, catalogue, get_settings(session), now)


def _release_stale(session: Session, catalogue: Catalogue, settings: BureauSettings, now: datetime) -> int:
    cutoff = now - timedelta(hours=settings.stale_allocation_hours)
    last_seen = func.coalesce(Case.last_activity_at, Case.allocated_at)
    stale = session.execute(
        select(Case.id, Case.allocated_to_id)
        # "> 0" rather than IS NOT NULL: SQLite then searches ix_cases_allocated_to_id instead of scanning.
        .where(Case.allocated_to_id > 0, last_seen < cutoff)
        .with_for_update(skip_locked=True, key_share=True)
    ).all()
    if not stale:
        return 0
    holders: dict[int, int] = {case_id: caller_id for case_id, caller_id in stale}
    with_attempt = dict(
        session.execute(
            select(Attempt.case_id, Attempt.id).where(Attempt.case_id.in_(holders), Attempt.outcome.is_(None))
        ).all()
    )
    plain = [case_id for case_id in holders if case_id not in with_attempt]
    released = 0
    if plain:
        released += _rowcount(
            session.execute(
                update(Case)
                .where(Case.id.in_(plain), Case.allocated_to_id.is_not(None))
                .values(allocated_to_id=None, allocated_at=None)
                .execution_options(synchronize_session=False)
            )
        )
        session.expire_all()
        for case_id in plain:
            _audit(session, None, "case_released_stale", case_id, caller_id=holders[case_id])
    for case_id, attempt_id in with_attempt.items():
        case_row = _case_for_update(session, case_id)
        attempt = session.get_one(Attempt, attempt_id)
        questionnaire = catalogue.get(case_row.survey)
        outcome, partial = _stale_outcome(session, catalogue, questionnaire, attempt_id)
        attempt.outcome = outcome.value
        attempt.partial = partial
        attempt.ended_at = max(case_row.last_activity_at or attempt.started_at, attempt.started_at)
        attempt.note = STALE_NOTE if not attempt.note else f"{attempt.note}\n{STALE_NOTE}"
        _apply_outcome(session, questionnaire, settings, case_row, attempt, now)
        _audit(
            session,
            None,
            "case_released_stale",
            case_id,
            caller_id=holders[case_id],
            attempt_id=attempt_id,
            outcome=outcome.value,
        )
        released += 1
    return released


def _stale_outcome(
    session: Session, catalogue: Catalogue, current: Questionnaire, attempt_id: int
) -> tuple[Outcome, bool]:
    interviews = session.execute(
        select(Interview.id, Interview.survey, Interview.questionnaire_version).where(
            Interview.attempt_id == attempt_id
        )
    ).all()
    for interview_id, survey, version in interviews:
        answered = list(
            session.scalars(select(Answer.question_id).where(Answer.interview_id == interview_id))
        )
        if not answered:
            continue
        questionnaire = (
            current if version == current.version else stored_questionnaire(session, survey, version)
        )
        partial_from = questionnaire.calls.partial_from
        # Engine.reached looks only at which questions were answered, not at the answers.
        reached = partial_from is not None and Engine(questionnaire).reached(
            dict.fromkeys(answered), partial_from
        )
        return Outcome.BREAK_OFF, reached
    return Outcome.NO_ANSWER, False


def _maintain(session: Session, catalogue: Catalogue, settings: BureauSettings, now: datetime) -> None:
    """Refresh windows and release stale cases; on PostgreSQL only one allocator at a time does it."""
    if _is_postgresql(session) and not session.scalar(
        select(func.pg_try_advisory_xact_lock(_MAINTENANCE_LOCK_KEY))
    ):
        return  # another allocator is doing it right now
    _release_stale(session, catalogue, settings, now)
    refresh_cases(session, catalogue, now)


# ------------------------------------------------------------------ allocation


def next_case(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    *,
    surveys: Collection[str] | None = None,
    now: datetime | None = None,
) -> Allocation:
    """The caller's next case: the one they hold already, else the best due case, claimed for them.

    Order: appointments due (the caller's own first; another caller's once it has been due for
    `appointment_grace_minutes`), then cases never tried (oldest report first, as their window closes
    first), then retries, preferring those least tried in the current time of day (morning, afternoon,
    evening), longest waiting first. A retry is not offered before its gap has passed. Outside calling
    hours no new case is offered (a case already held is still returned, so its call can be recorded).
    Each run first refreshes fieldwork windows and releases stale allocations.
    """
    require(actor, Permission.CALL_CASES)
    me = _staff_id(actor)
    now = now or utcnow()
    wanted = sorted(
        {catalogue.get(s).id for s in surveys} if surveys is not None else catalogue.questionnaires
    )
    # Locking the caller's row makes two screens of one caller allocate one after the other (PostgreSQL).
    caller = session.scalar(select(Staff).where(Staff.id == me).with_for_update(key_share=True))
    if caller is None or not caller.active:
        raise CaseError(f"{actor.username} is not an active member of staff")
    held = session.scalar(
        select(Case).where(Case.allocated_to_id == me, Case.status == OPEN).order_by(Case.id).limit(1)
    )
    if held is not None:
        held.last_activity_at = now
        _audit(session, me, "case_allocated", held.id, survey=held.survey, resumed=True)
        return Allocation(case=_allocated(session, held), resumed=True)

    settings = get_settings(session)
    if not settings.calling_hours.contains(now):
        return Allocation(case=None, reason=f"outside calling hours ({settings.calling_hours})")
    if not wanted:
        return Allocation(case=None, reason="no survey chosen")
    _maintain(session, catalogue, settings, now)

    contended = 0
    lost: list[int] = []
    for _ in range(CANDIDATE_WINDOWS):
        window = list(session.scalars(_candidates(me, wanted, settings, now, lost)))
        if not window:
            break
        for candidate in window:
            if _claim(session, candidate, _offerable(me, wanted, settings, now), me, now):
                case_row = session.get_one(Case, candidate, populate_existing=True)
                _audit(session, me, "case_allocated", candidate, survey=case_row.survey, resumed=False)
                return Allocation(case=_allocated(session, case_row), contended=contended)
            contended += 1
            lost.append(candidate)
    return Allocation(case=None, reason=_nothing_due(session, wanted, now), contended=contended)


def _claim(session: Session, case_id: int, conditions: tuple[Any, ...], me: int, now: datetime) -> bool:
    """Take one candidate for the caller, unless another caller is taking (or took) it meanwhile.

    PostgreSQL: lock the row, skipping it if another transaction holds it (SKIP LOCKED: no waiting, no
    convoy on the best case). Both: the conditional UPDATE, whose row count says whether we won.
    """
    still = (Case.id == case_id, *conditions)
    if (
        session.scalar(select(Case.id).where(*still).with_for_update(skip_locked=True, key_share=True))
        is None
    ):
        return False
    claimed = session.execute(
        update(Case)
        .where(*still)
        .values(allocated_to_id=me, allocated_at=now, last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(claimed) == 1


def _offerable(me: int, surveys: list[str], settings: BureauSettings, now: datetime) -> tuple[Any, ...]:
    """What makes a case offerable to this caller now: open, in the pool, due, not someone's appointment.

    Both the candidate query and the claim test it: on PostgreSQL another caller may call a candidate
    (pushing next_call_at into the future) between the two.
    """
    grace_cutoff = now - timedelta(minutes=settings.appointment_grace_minutes)
    return (
        Case.status == OPEN,
        Case.allocated_to_id.is_(None),
        Case.survey.in_(surveys),
        or_(Case.next_call_at.is_(None), Case.next_call_at <= now),
        or_(
            Case.appointment_by_id.is_(None), Case.appointment_by_id == me, Case.next_call_at <= grace_cutoff
        ),
    )


def _candidates(
    me: int, surveys: list[str], settings: BureauSettings, now: datetime, exclude: list[int]
) -> Select[tuple[int]]:
    band_count = _BAND_COLUMNS[time_band(now)]
    is_appointment = Case.appointment_by_id.is_not(None)
    tier = case((Case.appointment_by_id == me, 0), (is_appointment, 1), (Case.attempt_count == 0, 2), else_=3)
    query = (
        select(Case.id)
        .where(*_offerable(me, surveys, settings, now))
        .order_by(
            tier,
            case((is_appointment, Case.next_call_at)),  # appointments: the earliest first
            case((Case.attempt_count == 0, Case.report_date)),  # untried: the oldest report first
            band_count,  # retries: fewest attempts at this time of day first
            Case.last_attempt_at,  # then the longest waiting
            Case.id,
        )
        # A few at a time, unlocked: with FOR UPDATE, PostgreSQL would sort every candidate in full
        # (no top-N sort under LockRows); _claim locks the one it takes.
        .limit(CANDIDATE_WINDOW)
    )
    if exclude:
        query = query.where(Case.id.not_in(exclude))
    return query


def _nothing_due(session: Session, surveys: list[str], now: datetime) -> str:
    upcoming = session.scalar(
        select(func.min(Case.next_call_at)).where(
            Case.status == OPEN,
            Case.allocated_to_id.is_(None),
            Case.survey.in_(surveys),
            Case.next_call_at > now,
        )
    )
    if upcoming is None:
        return "no case to call: every open case is done or held by another caller"
    return f"no case is due now; the next is due at {_when(upcoming)}"


def _allocated(session: Session, case_row: Case) -> AllocatedCase:
    records = _records(session, case_row.id)
    latest = max(records, key=lambda r: r.at) if records else None
    return AllocatedCase(
        case_id=case_row.id,
        survey=case_row.survey,
        crime_ref=case_row.crime_ref,
        victim_name=case_row.victim_name,
        phone=case_row.phone,
        alt_phone=case_row.alt_phone,
        date_of_birth=case_row.date_of_birth,
        report_date=case_row.report_date,
        division=case_row.division,
        district=case_row.district,
        risk_level=case_row.risk_level,
        attempt_count=case_row.attempt_count,
        last_outcome=latest.outcome if latest else None,
        last_attempt_at=case_row.last_attempt_at,
        appointment_at=case_row.next_call_at if case_row.appointment_by_id is not None else None,
        disposition=_open_disposition(records),
        open_attempt_id=open_attempt_id(session, case_row.id),
        allocated_at=case_row.allocated_at,
    )


def held_case(session: Session, actor: Actor, case_id: int) -> Case:
    """The case, locked, if the actor holds it."""
    require(actor, Permission.CALL_CASES)
    me = _staff_id(actor)
    case_row = _case_for_update(session, case_id)
    if case_row.allocated_to_id != me or case_row.status != OPEN:
        raise CaseError(f"case {case_id} is not allocated to you")
    return case_row


def exclude_held_case(
    session: Session, actor: Actor, case_id: int, reason: str, now: datetime | None = None
) -> None:
    """The caller's screening found the case not eligible: close it as screened out (4.10) with the reason."""
    case_row = held_case(session, actor, case_id)
    _close(case_row, SCREENED_OUT, reason, now or utcnow())
    _audit(session, actor.staff_id, "case_excluded", case_id, reason=reason)


def touch_case(session: Session, actor: Actor, case_id: int, now: datetime | None = None) -> None:
    """Note activity on a held case (e.g. each answer), so it is not released as stale."""
    held_case(session, actor, case_id).last_activity_at = now or utcnow()


def return_case(session: Session, actor: Actor, case_id: int, now: datetime | None = None) -> CaseState:
    """The caller gives a held case back to the pool without a call (end of a shift, say)."""
    case_row = held_case(session, actor, case_id)
    if open_attempt_id(session, case_id) is not None:
        raise CaseError(f"case {case_id} has a call in progress: record its outcome first")
    case_row.last_activity_at = now or utcnow()
    case_row.allocated_to_id = None
    case_row.allocated_at = None
    _audit(session, actor.staff_id, "case_returned", case_id)
    session.flush()
    return _state(session, case_row)


# ------------------------------------------------------------------ attempts


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
    attempt.note = (note or "").strip() or None
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
        if appointment_at <= now:
            raise CaseError(f"the appointment ({_when(appointment_at)}) is not in the future")
        if not settings.calling_hours.contains(appointment_at):
            raise OutsideCallingHours(
                f"the appointment ({_when(appointment_at)}) is outside calling hours"
                f" ({settings.calling_hours})"
            )
        last_day = fieldwork_window(questionnaire, case_row.report_date)[1]
        if appointment_at.astimezone(LOCAL).date() > last_day:
            raise CaseError(
                f"the appointment ({_when(appointment_at)}) is after this case's fieldwork ends"
                f" ({last_day:%a %d %b %Y})"
            )


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
    case_row.attempt_count += 1
    case_row.last_attempt_at = attempt.started_at
    band = _BAND_COLUMNS[time_band(attempt.started_at)].key
    setattr(case_row, band, getattr(case_row, band) + 1)
    case_row.last_activity_at = now
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
    return _state(session, case_row)


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


# ------------------------------------------------------------------ supervisors


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
