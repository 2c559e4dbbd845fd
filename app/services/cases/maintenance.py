"""Keeping the pool right: fieldwork windows opening and closing, stale allocations released."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.domain.dispositions import (
    AttemptRecord,
    ClosedReason,
    Disposition,
    Outcome,
    final_disposition,
)
from app.domain.engine import Engine
from app.domain.questionnaire import Questionnaire
from app.services.cases.attempts import count_attempt
from app.services.cases.common import (
    _MAINTENANCE_LOCK_KEY,
    CLOSED,
    OPEN,
    OUT_OF_FIELD_PERIOD,
    PENDING,
    STALE_NOTE,
    RefreshResult,
    _audit,
    _case_for_update,
    _closed_values,
    _is_postgresql,
    _rowcount,
    end_interviews,
)
from app.services.cases.holds import hold_case
from app.services.catalogue import Catalogue, stored_questionnaire
from app.services.settings import BureauSettings, get_settings
from app.store.models import Answer, Attempt, Case, Interview, MaintenanceRun, QuestionnaireVersion

#: How often the cases are maintained (stale allocations released, windows refreshed).
MAINTENANCE_EVERY = timedelta(minutes=1)
#: The job's row in `maintenance_runs`.
CASES_JOB = "cases"


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
    # An interview kept for the next call (interrupted, or stopped by a check asked again) ends here.
    ids = [case_id for case_id, _ in cases_and_limits]
    end_interviews(
        session, session.scalars(select(Case.id).where(Case.id.in_(ids), Case.status == CLOSED)), now
    )
    return closed


def release_stale(session: Session, catalogue: Catalogue, now: datetime | None = None) -> int:
    """Take back every case held with no activity for `stale_allocation_hours`; count them.

    Cases without an unfinished attempt go back to the pool with one UPDATE. A call left without an
    outcome (a terminal that crashed, a caller who went home, or a quick exit pressed while the
    database could not be reached, kept on a computer that has not been used since) ends noted
    STALE_NOTE, at the case's last activity: as a break-off if its interview has answers (partial when
    it had reached the questionnaire's partial point), otherwise as no answer. Nobody knows how that
    call ended, so the case is then held for a supervisor, as after a quick exit mid-interview: no
    caller is offered it, and its interview stays in progress with every answer, until a supervisor
    tries it again from a date they choose or closes it.
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
        questionnaire = _questionnaire_of(session, catalogue, case_row.survey)
        outcome, partial = _stale_outcome(session, catalogue, questionnaire, attempt_id)
        attempt.outcome = outcome.value
        attempt.partial = partial
        attempt.ended_at = max(case_row.last_activity_at or attempt.started_at, attempt.started_at)
        attempt.note = STALE_NOTE if not attempt.note else f"{attempt.note}\n{STALE_NOTE}"
        count_attempt(case_row, attempt, now)
        hold_case(session, case_id, now)
        _audit(
            session,
            None,
            "case_released_stale",
            case_id,
            caller_id=holders[case_id],
            attempt_id=attempt_id,
            outcome=outcome.value,
            held=True,
        )
        released += 1
    return released


def _questionnaire_of(session: Session, catalogue: Catalogue, survey: str) -> Questionnaire:
    """The survey's questionnaire; while its file cannot be loaded, the newest version in use.

    A broken file makes its survey unavailable for new calls, but a call already held must still be
    released, and the other surveys' maintenance must not stop for it.
    """
    if survey in catalogue.questionnaires:
        return catalogue.get(survey)
    newest = session.scalar(
        select(func.max(QuestionnaireVersion.version)).where(QuestionnaireVersion.survey == survey)
    )
    if newest is None:
        return catalogue.get(survey)  # never used here: the error names the survey and the files
    return stored_questionnaire(session, survey, newest)


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


def maintain_if_due(
    session: Session,
    catalogue: Catalogue,
    now: datetime | None = None,
    *,
    every: timedelta = MAINTENANCE_EVERY,
) -> bool:
    """Release stale allocations and refresh fieldwork windows, unless that was done less than `every` ago.

    Every running app calls this once a minute, in a short transaction of its own (never inside an
    allocation). One conditional UPDATE of the job's row decides which of them does the work: the
    others change nothing and return False at once. On PostgreSQL a try-lock first keeps them from
    waiting on that row while the one doing the work holds it. A last run more than `every` in the
    future (a clock put back) counts as due; a few seconds between apps' clocks do not.
    """
    now = now or utcnow()
    if _is_postgresql(session) and not session.scalar(
        select(func.pg_try_advisory_xact_lock(_MAINTENANCE_LOCK_KEY))
    ):
        return False  # another app is doing it right now
    last = MaintenanceRun.last_run_at
    claimed = _rowcount(
        session.execute(
            update(MaintenanceRun)
            .where(
                MaintenanceRun.job == CASES_JOB,
                or_(last.is_(None), last <= now - every, last > now + every),
            )
            .values(last_run_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        if session.get(MaintenanceRun, CASES_JOB) is not None:
            return False
        session.add(MaintenanceRun(job=CASES_JOB, last_run_at=now))  # a database that lost the row
        session.flush()
    _release_stale(session, catalogue, get_settings(session), now)
    refresh_cases(session, catalogue, now)
    return True
