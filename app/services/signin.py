"""Signing in on the command line: sessions that outlive one command, until logout or idle time.

`survey login` checks the password (with the same lock-out as the app's sign-in screen) and returns a
random token, which the command line keeps in an owner-only file. The database stores only the token's
SHA-256: a stolen copy of the database gives no usable session, and ending a session (logout, idle
time, a disabled account) is final because every command looks the token up again.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import utcnow
from app.services.settings import get_settings
from app.services.staff import SignInRefused, StaffRecord, check_password, count_try, record_of, settle_try
from app.store.models import AuditEvent, Staff, StaffSession


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token to keep (never stored in the database) and who holds it."""

    token: str
    staff: StaffRecord


@dataclass(frozen=True)
class SessionRefused:
    """No valid session: why, in words for the person at the terminal."""

    message: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    sessions: sessionmaker[Session], username: str, password: str, *, now: datetime | None = None
) -> SignedIn | SignInRefused:
    """Check the password (as staff.sign_in does, never inside a transaction) and open a session."""
    now = now or utcnow()
    with sessions.begin() as session:
        attempt = count_try(session, username, now=now)
    if isinstance(attempt, SignInRefused):
        return attempt
    check = check_password(attempt, password)
    with sessions.begin() as session:
        outcome = settle_try(session, attempt, check, now=now)
        if isinstance(outcome, SignInRefused):
            return outcome
        token = secrets.token_urlsafe(32)
        session.add(
            StaffSession(
                staff_id=outcome.id, token_hash=token_digest(token), started_at=now, last_seen_at=now
            )
        )
    return SignedIn(token=token, staff=outcome)


def resume_session(
    session: Session, token: str, *, now: datetime | None = None
) -> StaffRecord | SessionRefused:
    """The member of staff holding this token, if the session is open, recent and their account active.

    Each use moves the idle clock on; a session idle for longer than the setting idle_minutes ends.
    """
    now = now or utcnow()
    row = _open_session(session, token)
    if row is None:
        return SessionRefused("not signed in")
    idle = timedelta(minutes=get_settings(session).idle_minutes)
    staff = session.get_one(Staff, row.staff_id)
    if now - row.last_seen_at > idle:
        row.ended_at = now
        _audit(session, now, staff.id, "session_expired")
        return SessionRefused(
            f"your sign-in ended after {int(idle.total_seconds() // 60)} minutes without use"
        )
    if not staff.active:
        row.ended_at = now
        return SessionRefused("this account is disabled")
    row.last_seen_at = now
    return record_of(staff)


def end_session(session: Session, token: str, *, now: datetime | None = None) -> StaffRecord | None:
    """Sign out: the session ends for good; returns who it belonged to, or None if it had ended already."""
    now = now or utcnow()
    row = _open_session(session, token)
    if row is None:
        return None
    row.ended_at = now
    _audit(session, now, row.staff_id, "sign_out")
    return record_of(session.get_one(Staff, row.staff_id))


def _open_session(session: Session, token: str) -> StaffSession | None:
    return session.scalar(
        select(StaffSession).where(
            StaffSession.token_hash == token_digest(token), StaffSession.ended_at.is_(None)
        )
    )


def has_staff(session: Session) -> bool:
    """False only on a new database: then the first administrator may be added without signing in."""
    return bool(session.scalar(select(func.count()).select_from(Staff)))


def record_refusal(session: Session, staff_id: int, command: str, permission: str) -> None:
    """A command refused to a signed-in member of staff, for the audit log."""
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=staff_id,
            action="permission_denied",
            entity="command",
            entity_id=command[:64],
            detail=json.dumps({"permission": permission}),
        )
    )


def _audit(session: Session, now: datetime, staff_id: int, action: str) -> None:
    session.add(AuditEvent(at=now, staff_id=staff_id, action=action, entity="staff", entity_id=str(staff_id)))
