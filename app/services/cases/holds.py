"""Cases held for a supervisor: a quick exit in the middle of an interview is a safety event.

Such a call is recorded as unsafe to talk (a temporary outcome) and the case is held: status 'held',
out of every caller's queue, its interview left in progress with every answer kept. A call its caller
left unfinished (release_stale) is held the same way, since nobody knows how it ended: it may have
ended in a quick exit that never reached the database. Supervisors see
held cases next to the safeguarding alerts and decide:
- retry: the case returns to the queue from a date and time they set; whoever calls it next carries
  on with the same interview, after the identity and safety checks again;
- close: the interview ends, and the case closes as a partial (1.2) when the answers reached the
  questionnaire's partial point, otherwise as a break-off (2.12). DESIGN.md's dispositions apply from
  then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.domain.dispositions import BREAK_OFF, PARTIAL
from app.domain.permissions import Actor, Permission, require
from app.services.cases.common import (
    CLOSED_BY_SUPERVISOR,
    OPEN,
    STALE_NOTE,
    CaseError,
    CaseState,
    _audit,
    _case_for_update,
    _close,
    _reason_text,
    _state,
    _to_pool,
)
from app.services.catalogue import Catalogue
from app.store.models import Answer, Attempt, Case, Interview, Staff

HELD = "held"


@dataclass(frozen=True)
class HeldCase:
    """A held case as a supervisor sees it (personal data: supervisors only)."""

    case_id: int
    survey: str
    victim_name: str
    phone: str | None
    alt_phone: str | None
    held_at: datetime
    caller: str
    interview_id: int | None
    answers: int
    partial: bool  # closing now would record a partial (1.2) rather than a break-off (2.12)
    why: str  # "quick exit", or "left unfinished" (its caller went away mid-call: release_stale)


def hold_case(session: Session, case_id: int, now: datetime) -> CaseState:
    """Hold a case after a quick exit mid-interview, whatever the call's outcome did to it."""
    case_row = _case_for_update(session, case_id)
    case_row.status = HELD
    case_row.held_at = now
    case_row.final_disposition = None
    case_row.closed_reason = None
    case_row.closed_at = None
    _to_pool(case_row, None)
    case_row.last_activity_at = now
    session.flush()
    return _state(session, case_row)


def _interview(session: Session, case_id: int) -> Interview | None:
    return session.scalar(
        select(Interview)
        .where(Interview.case_id == case_id, Interview.status == "in_progress")
        .order_by(Interview.id.desc())
    )


def _reached_partial(session: Session, catalogue: Catalogue, interview: Interview | None) -> bool:
    if interview is None:
        return False
    from app.services.interviews import load_answers

    questionnaire, answers = load_answers(session, catalogue, interview)
    partial_from = questionnaire.calls.partial_from
    from app.domain.engine import Engine

    return partial_from is not None and Engine(questionnaire).reached(answers, partial_from)


def list_held(session: Session, actor: Actor, catalogue: Catalogue) -> list[HeldCase]:
    """Held cases, oldest first."""
    require(actor, Permission.HANDLE_SAFEGUARDING)
    held = []
    for case_row in session.scalars(select(Case).where(Case.status == HELD).order_by(Case.held_at)):
        interview = _interview(session, case_row.id)
        caller, note = session.execute(
            select(Staff.display_name, Attempt.note)
            .join(Attempt, Attempt.caller_id == Staff.id)
            .where(Attempt.case_id == case_row.id)
            .order_by(Attempt.id.desc())
            .limit(1)
        ).one_or_none() or (None, None)
        answers = (
            session.scalar(
                select(func.count()).select_from(Answer).where(Answer.interview_id == interview.id)
            )
            if interview is not None
            else 0
        )
        held.append(
            HeldCase(
                case_id=case_row.id,
                survey=case_row.survey,
                victim_name=case_row.victim_name or "",
                phone=case_row.phone,
                alt_phone=case_row.alt_phone,
                held_at=case_row.held_at or case_row.last_activity_at or utcnow(),
                caller=caller or "",
                interview_id=interview.id if interview is not None else None,
                answers=answers or 0,
                partial=_reached_partial(session, catalogue, interview),
                why=_why_held(note or ""),
            )
        )
    return held


def _why_held(note: str) -> str:
    # A quick exit recorded late on a call released as stale is written on its note after STALE_NOTE.
    return "left unfinished" if STALE_NOTE in note and "quick exit" not in note else "quick exit"


def _held_for_update(session: Session, case_id: int) -> Case:
    """The held case, locked for the change; refused if it is not (or no longer) held."""
    case_row = _case_for_update(session, case_id)
    if case_row.status != HELD:
        raise CaseError(f"case {case_id} is {case_row.status}, not held")
    return case_row


def retry_held(
    session: Session,
    actor: Actor,
    case_id: int,
    retry_from: datetime,
    reason: str,
    *,
    now: datetime | None = None,
) -> CaseState:
    """Put a held case back in the queue from `retry_from` (the interview carries on when next called)."""
    require(actor, Permission.HANDLE_SAFEGUARDING)
    text = _reason_text(reason)
    now = now or utcnow()
    case_row = _held_for_update(session, case_id)
    if retry_from.tzinfo is None:
        raise CaseError("the retry time needs a time zone")
    case_row.status = OPEN
    case_row.held_at = None
    _to_pool(case_row, max(retry_from, now))
    case_row.last_activity_at = now
    _audit(
        session, actor.staff_id, "held_case_retried", case_id, reason=text, retry_from=retry_from.isoformat()
    )
    session.flush()
    return _state(session, case_row)


def close_held(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    case_id: int,
    reason: str,
    *,
    now: datetime | None = None,
) -> CaseState:
    """Close a held case: partial (1.2) if its answers reached the partial point, else break-off (2.12)."""
    require(actor, Permission.HANDLE_SAFEGUARDING)
    text = _reason_text(reason)
    now = now or utcnow()
    case_row = _held_for_update(session, case_id)
    interview = _interview(session, case_id)
    partial = _reached_partial(session, catalogue, interview)
    if interview is not None:
        interview.status = "partial"
        interview.ended_at = now
    disposition = PARTIAL if partial else BREAK_OFF
    case_row.held_at = None
    _close(case_row, disposition, CLOSED_BY_SUPERVISOR, now)
    case_row.last_activity_at = now
    _audit(session, actor.staff_id, "held_case_closed", case_id, reason=text, disposition=disposition.code)
    session.flush()
    return _state(session, case_row)
