"""What a caller sees on their home screen: appointments due, cases waiting, today's counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.domain.dispositions import CONTACT_OUTCOMES, Outcome
from app.domain.permissions import Actor, Permission, require
from app.store.models import Attempt, Case


@dataclass(frozen=True)
class Appointment:
    case_id: int
    survey: str
    at: datetime  # aware, UTC


@dataclass(frozen=True)
class CallerSummary:
    """No personal data: names and numbers appear only once a case is allocated."""

    held_case_id: int | None
    appointments: list[Appointment]
    waiting: dict[str, int]  # open cases ready to call now, by survey
    attempts_today: int
    contacts_today: int
    completes_today: int
    refusals_today: int


def caller_summary(session: Session, actor: Actor, now: datetime | None = None) -> CallerSummary:
    require(actor, Permission.CALL_CASES)
    now = now or utcnow()
    local_midnight = datetime.combine(now.astimezone(LOCAL).date(), time(0), tzinfo=LOCAL)
    held = session.scalar(
        select(Case.id).where(Case.allocated_to_id == actor.staff_id, Case.status == "open").limit(1)
    )
    horizon = now + timedelta(days=7)
    appointment_rows = session.execute(
        select(Case.id, Case.survey, Case.next_call_at)
        .join(Attempt, Attempt.case_id == Case.id)
        .where(
            Case.status == "open",
            Case.next_call_at.is_not(None),
            Case.next_call_at <= horizon,
            Attempt.outcome == Outcome.APPOINTMENT.value,
            Attempt.caller_id == actor.staff_id,
            Attempt.appointment_at == Case.next_call_at,
        )
        .distinct()
        .order_by(Case.next_call_at)
        .limit(20)
    ).all()
    waiting_rows = session.execute(
        select(Case.survey, func.count())
        .where(
            Case.status == "open",
            Case.allocated_to_id.is_(None),
            or_(Case.next_call_at.is_(None), Case.next_call_at <= now),
        )
        .group_by(Case.survey)
    ).all()
    counts = session.execute(
        select(
            func.count(),
            func.count().filter(Attempt.outcome.in_([o.value for o in CONTACT_OUTCOMES])),
            func.count().filter(Attempt.outcome == Outcome.COMPLETED.value),
            func.count().filter(Attempt.outcome == Outcome.REFUSAL.value),
        ).where(and_(Attempt.caller_id == actor.staff_id, Attempt.started_at >= local_midnight))
    ).one()
    return CallerSummary(
        held_case_id=held,
        appointments=[Appointment(case_id=r[0], survey=r[1], at=r[2]) for r in appointment_rows],
        waiting={survey: n for survey, n in waiting_rows},
        attempts_today=counts[0],
        contacts_today=counts[1],
        completes_today=counts[2],
        refusals_today=counts[3],
    )
