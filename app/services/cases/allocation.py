"""Allocation: the caller's next case, claimed so that no two callers ever hold one case."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.domain.dispositions import (
    SCREENED_OUT,
)
from app.domain.permissions import Actor, Permission, require
from app.services.cases.common import (
    _BAND_COLUMNS,
    CANDIDATE_WINDOW,
    OPEN,
    AllocatedCase,
    Allocation,
    CaseError,
    CaseState,
    _audit,
    _close,
    _open_disposition,
    _records,
    _rowcount,
    _staff_id,
    _state,
    _when,
    held_case,
    open_attempt_id,
    time_band,
)
from app.services.catalogue import Catalogue
from app.services.settings import BureauSettings, get_settings
from app.store.models import Case, Staff


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
    a minute, in a transaction of its own. Candidates are read a few at a time; one that another caller
    takes (or is taking) meanwhile is passed over for the next, until none is left, so "nothing due"
    means that no due case was free.
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

    contended = 0
    lost: list[int] = []
    while window := list(session.scalars(_candidates(me, wanted, settings, now, lost))):
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
