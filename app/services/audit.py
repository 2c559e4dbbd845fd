"""Reading the audit log: who did what, when, for administrators. The log itself is append-only (the
database refuses UPDATE and DELETE on audit_events, see migration 0005)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.domain.permissions import Actor, Permission, require
from app.store.models import AuditEvent, Staff


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    user: str  # user name, or "system" for set-up and first-run actions
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(timespec="seconds"),
            "user": self.user,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "detail": self.detail,
        }


def audit_trail(
    session: Session,
    actor: Actor,
    start: date,
    end: date,
    *,
    user: str | None = None,
    action: str | None = None,
) -> list[AuditRow]:
    """Events from the start of local day `start` to the end of `end`, oldest first; reading is audited."""
    require(actor, Permission.VIEW_AUDIT)
    first = datetime.combine(start, time(), LOCAL)
    after_last = datetime.combine(end + timedelta(days=1), time(), LOCAL)
    query = (
        select(AuditEvent, Staff.username)
        .outerjoin(Staff, Staff.id == AuditEvent.staff_id)
        .where(AuditEvent.at >= first, AuditEvent.at < after_last)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    if user is not None:
        query = query.where(Staff.username == user.strip().lower())
    if action is not None:
        query = query.where(AuditEvent.action == action.strip())
    rows = [
        AuditRow(
            id=event.id,
            at=event.at,
            user=username or "system",
            action=event.action,
            entity=event.entity,
            entity_id=event.entity_id,
            detail=_detail(event.detail),
        )
        for event, username in session.execute(query)
    ]
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action="audit_viewed",
            entity="audit_events",
            detail=json.dumps(
                {
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "user": user,
                    "action": action,
                    "rows": len(rows),
                }
            ),
        )
    )
    return rows


def _detail(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def case_viewed(session: Session, actor: Actor, case_id: int, screen: str) -> None:
    """Record that `actor` was shown a case's personal data (name, numbers) on `screen`."""
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action="personal_data_viewed",
            entity="case",
            entity_id=str(case_id),
            detail=json.dumps({"screen": screen}),
        )
    )
