"""Allocation: the caller's next case, claimed so that no two callers ever hold one case."""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningUpdate

from app.clock import utcnow
from app.domain.dispositions import SCREENED_OUT, AttemptRecord, Outcome
from app.domain.permissions import Actor, Permission, require
from app.services.cases.common import (
    _BAND_COLUMNS,
    OPEN,
    AllocatedCase,
    Allocation,
    Band,
    CaseError,
    CaseState,
    _audit,
    _close,
    _is_postgresql,
    _open_disposition,
    _staff_id,
    _state,
    _when,
    held_case,
    open_attempt_id,
    time_band,
)
from app.services.catalogue import Catalogue
from app.services.settings import get_settings
from app.store.models import QUEUE_APPOINTMENTS, QUEUE_RETRIES, QUEUE_UNTRIED, Attempt, Case, Staff


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
    Fieldwork windows and stale allocations are not looked at here: `maintain_if_due` does that, once
    a minute, in a transaction of its own. Each queue's first free case is claimed in one statement
    (`_claim_first`), so "nothing due" means that no due case was free.
    """
    require(actor, Permission.CALL_CASES)
    me = _staff_id(actor)
    now = now or utcnow()
    wanted = tuple(
        sorted({catalogue.get(s).id for s in surveys} if surveys is not None else catalogue.questionnaires)
    )
    # Locking the caller's row makes two screens of one caller allocate one after the other (PostgreSQL).
    if not session.scalar(_LOCK_CALLER, {"me": me}):
        raise CaseError(f"{actor.username} is not an active member of staff")
    held = session.scalar(_HELD, {"me": me})
    if held is not None:
        held.last_activity_at = now
        _audit(session, me, "case_allocated", held.id, survey=held.survey, resumed=True)
        return Allocation(case=_allocated(session, held), resumed=True)

    settings = get_settings(session)
    if not settings.calling_hours.contains(now):
        return Allocation(case=None, reason=f"outside calling hours ({settings.calling_hours})")
    if not wanted:
        return Allocation(case=None, reason="no survey chosen")

    values = {
        "me": me,
        "now": now,
        "grace_cutoff": now - timedelta(minutes=settings.appointment_grace_minutes),
    }
    postgresql = _is_postgresql(session)
    band = time_band(now)
    # Usually one statement walks the queues in turn; should it find nothing, each queue is asked on its
    # own, so that "nothing due" is never said while a due case is free.
    for queues in (_ALL_QUEUES, *((queue,) for queue in _ALL_QUEUES)):
        claim = _claim(wanted, band, queues, postgresql)
        case_row = session.scalars(claim, values, execution_options=_CLAIM_OPTIONS).one_or_none()
        if case_row is not None:
            _audit(session, me, "case_allocated", case_row.id, survey=case_row.survey, resumed=False)
            return Allocation(case=_allocated(session, case_row, from_pool=True))
    return Allocation(case=None, reason=_nothing_due(session, list(wanted), now))


# The statements of an allocation are built once and bound to the caller and the time when run: building
# them afresh took a third of the work of a call. `me`, `now` and `grace_cutoff` are bound at run time.
_ME: BindParameter[int] = bindparam("me")
_NOW: BindParameter[datetime] = bindparam("now")
_GRACE_CUTOFF: BindParameter[datetime] = bindparam("grace_cutoff")
_LOCK_CALLER = select(Staff.active).where(Staff.id == _ME).with_for_update(key_share=True)
_HELD = select(Case).where(Case.allocated_to_id == _ME, Case.status == OPEN).order_by(Case.id).limit(1)
_ATTEMPTS = (
    select(Attempt.id, Attempt.outcome, Attempt.started_at, Attempt.partial)
    .where(Attempt.case_id == bindparam("case_id"))
    .order_by(Attempt.started_at, Attempt.id)
)
_APPOINTMENTS, _UNTRIED, _RETRIES = 0, 1, 2
_ALL_QUEUES = (_APPOINTMENTS, _UNTRIED, _RETRIES)
_CLAIM_OPTIONS = {"synchronize_session": False, "populate_existing": True}


@functools.lru_cache(maxsize=256)
def _claim(
    surveys: tuple[str, ...], band: Band, queues: tuple[int, ...], postgresql: bool
) -> ReturningUpdate[Case]:
    """Claim the first case of the first of `queues` that has one, in one statement; no row when none is free.

    UPDATE ... WHERE id = COALESCE(the first queue's first, the next queue's first, ...) RETURNING the
    case. COALESCE looks at a queue only when those before it had nothing (SQLite and PostgreSQL both
    evaluate its arguments lazily), so a caller usually gets a case in one round trip. On SQLite the
    statement runs alone (one writer at a time). On PostgreSQL each queue's walk locks the case it stops
    at and passes over any that another caller's transaction has locked (FOR NO KEY UPDATE SKIP
    LOCKED): sixteen callers asking at once each take a different case, without waiting for one
    another, and one that another caller took (or called) meanwhile is checked again and passed over.
    """
    every = _queues(surveys, band)
    firsts = []
    for queue in (every[q] for q in queues):
        first = queue.limit(1)
        if postgresql:
            first = first.with_for_update(skip_locked=True, key_share=True)
        firsts.append(first.correlate(None).scalar_subquery())
    chosen = firsts[0] if len(firsts) == 1 else func.coalesce(*firsts)
    return (
        update(Case)
        .where(Case.id == chosen, *_offerable(surveys))
        .values(allocated_to_id=_ME, allocated_at=_NOW, last_activity_at=_NOW)
        .returning(Case)
    )


def _offerable(surveys: tuple[str, ...]) -> tuple[Any, ...]:
    """What makes a case offerable to this caller now: open, in the pool, due, not someone's appointment.

    Both the candidate query and the claim test it: on PostgreSQL another caller may call a candidate
    (pushing next_call_at into the future) between the two.
    """
    return (
        Case.status == OPEN,
        Case.allocated_to_id.is_(None),
        Case.survey.in_(surveys),
        or_(Case.next_call_at.is_(None), Case.next_call_at <= _NOW),
        or_(
            Case.appointment_by_id.is_(None),
            Case.appointment_by_id == _ME,
            Case.next_call_at <= _GRACE_CUTOFF,
        ),
    )


def _queues(surveys: tuple[str, ...], band: Band) -> tuple[Select[int], ...]:
    """The pool's queues in the order they are offered, each the walk down one partial index.

    Appointments due (the caller's own first; another caller's once past the grace time), by time;
    then cases never tried, oldest report first; then retries, fewest attempts at this time of day
    first, longest waiting first. The WHERE of each repeats its index's own (QUEUE_* in the models),
    which is what lets SQLite and PostgreSQL walk the index instead of sorting every open case.
    """
    due = or_(Case.next_call_at.is_(None), Case.next_call_at <= _NOW)
    chosen = (Case.survey.in_(surveys), due)
    appointments = (
        _queue("ix_cases_queue_appointments", QUEUE_APPOINTMENTS, chosen)
        .where(or_(Case.appointment_by_id == _ME, Case.next_call_at <= _GRACE_CUTOFF))
        .order_by(case((Case.appointment_by_id == _ME, 0), else_=1), Case.next_call_at, Case.id)
    )
    untried = _queue("ix_cases_queue_untried", QUEUE_UNTRIED, chosen).order_by(Case.report_date, Case.id)
    retries = _queue(f"ix_cases_queue_{band.value}", QUEUE_RETRIES, chosen).order_by(
        _BAND_COLUMNS[band], Case.last_attempt_at, Case.id
    )
    return appointments, untried, retries


def _queue(index: str, pool: tuple[Any, ...], chosen: tuple[Any, ...]) -> Select[int]:
    # Without statistics SQLite's planner takes the (status, survey) index and sorts, so it is told.
    return select(Case.id).with_hint(Case, f"INDEXED BY {index}", "sqlite").where(*pool, *chosen)


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


def _allocated(session: Session, case_row: Case, *, from_pool: bool = False) -> AllocatedCase:
    # A case in the pool has no unfinished call (a call's outcome, or the release of a stale one, ends it
    # before the case goes back), so one taken from the pool and never tried has no attempts to read.
    untried = from_pool and case_row.attempt_count == 0
    attempts = [] if untried else session.execute(_ATTEMPTS, {"case_id": case_row.id}).all()
    records = [AttemptRecord(Outcome(a.outcome), a.started_at, a.partial) for a in attempts if a.outcome]
    unfinished = min((a.id for a in attempts if a.outcome is None), default=None)
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
        open_attempt_id=unfinished,
        allocated_at=case_row.allocated_at,
    )


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
