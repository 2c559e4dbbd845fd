"""Staff accounts: adding people with a role, and signing in."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import utcnow
from app.domain.permissions import Actor, Permission, Role, require
from app.errors import SurveyError
from app.store.models import AuditEvent, Staff

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
#: After this many wrong passwords in a row, sign-in waits LOCKOUT before trying again.
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)

_hasher = PasswordHasher()


class StaffError(SurveyError):
    """A staff account could not be created or used."""


@dataclass(frozen=True)
class SignInRefused:
    """Wrong name or password, or the account is locked for a while."""

    message: str


@dataclass(frozen=True)
class StaffRecord:
    id: int
    username: str
    display_name: str
    role: Role
    active: bool

    def actor(self) -> Actor:
        return Actor(staff_id=self.id, username=self.username, role=self.role)


def record_of(row: Staff) -> StaffRecord:
    return StaffRecord(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        active=row.active,
    )


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise StaffError(f"unknown role '{text}'; use one of {', '.join(r.value for r in Role)}") from None


def add_staff(
    session: Session,
    actor: Actor,
    *,
    username: str,
    role: Role,
    password: str,
    display_name: str | None = None,
) -> StaffRecord:
    require(actor, Permission.MANAGE_STAFF)
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise StaffError(
            f"'{username}' is not a valid user name (2-64 characters: letters, digits, '.', '_' or '-',"
            " starting with a letter)"
        )
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password must be at least {MIN_PASSWORD} characters")
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise StaffError(f"user '{username}' already exists")
    row = Staff(
        username=username,
        display_name=(display_name or username).strip(),
        role=role.value,
        password_hash=_hasher.hash(password),
        active=True,
        failed_logins=0,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action="staff_added",
            entity="staff",
            entity_id=str(row.id),
            detail=f'{{"role": "{role.value}"}}',
        )
    )
    return record_of(row)


def add_first_admin(
    session: Session, *, username: str, password: str, display_name: str | None = None
) -> StaffRecord:
    """Bootstrap a new database: its first account, an administrator, added without signing in.

    Refused once any account exists; from then on only an administrator adds staff.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Two first administrators at once: the second waits here, then finds the first.
        session.execute(text("LOCK TABLE staff IN SHARE ROW EXCLUSIVE MODE"))
    if session.scalar(select(func.count()).select_from(Staff)):
        raise StaffError("the database already has staff: sign in as an administrator to add someone")
    return add_staff(
        session,
        Actor.system(),
        username=username,
        role=Role.ADMIN,
        password=password,
        display_name=display_name,
    )


def list_staff(session: Session) -> list[StaffRecord]:
    return [record_of(row) for row in session.scalars(select(Staff).order_by(Staff.username))]


@dataclass(frozen=True)
class SignInTry:
    """A try counted against the account, whose password is still to be checked."""

    staff_id: int | None  # None for an unknown or inactive name: refused whatever the password
    password_hash: str
    failures: int  # tries counted in a row, this one included


@dataclass(frozen=True)
class PasswordCheck:
    matched: bool
    new_hash: str | None = None  # the password hashed again, when the hasher's parameters have changed


def count_try(session: Session, username: str, *, now: datetime | None = None) -> SignInTry | SignInRefused:
    """Count a sign-in try before its password is checked (the first of three steps; see sign_in).

    One UPDATE counts the try and refuses once MAX_FAILURES tries are counted or the account is locked,
    so many tries at the same moment take turns here and at most MAX_FAILURES passwords are ever
    checked before the lock. Commit it before checking the password.
    """
    now = now or utcnow()
    found = session.execute(
        select(Staff.id, Staff.active).where(Staff.username == username.strip().lower())
    ).first()
    if found is None or not found.active:
        return SignInTry(staff_id=None, password_hash=_dummy_hash(), failures=0)
    counted = session.execute(
        update(Staff)
        .where(
            Staff.id == found.id,
            or_(Staff.locked_until.is_(None), Staff.locked_until <= now),
            Staff.failed_logins < MAX_FAILURES,
        )
        .values(failed_logins=Staff.failed_logins + 1)
        .returning(Staff.failed_logins, Staff.password_hash)
        .execution_options(synchronize_session=False)
    ).first()
    if counted is None:
        return SignInRefused(_locked(session, found.id, now))
    return SignInTry(staff_id=found.id, password_hash=counted.password_hash, failures=counted.failed_logins)


def check_password(attempt: SignInTry, password: str) -> PasswordCheck:
    """The slow part (Argon2), outside any transaction: an unknown name costs the same check."""
    matched = _verify(attempt.password_hash, password) and attempt.staff_id is not None
    if matched and _hasher.check_needs_rehash(attempt.password_hash):
        return PasswordCheck(True, _hasher.hash(password))
    return PasswordCheck(matched)


def settle_try(
    session: Session, attempt: SignInTry, check: PasswordCheck, *, now: datetime | None = None
) -> StaffRecord | SignInRefused:
    """Record the checked try: a match clears the count, the last failure allowed locks the account.

    A refusal is returned, not raised, so that the caller's transaction commits it.
    """
    now = now or utcnow()
    if attempt.staff_id is None:
        return SignInRefused(WRONG_PASSWORD)
    if not check.matched:
        locking = attempt.failures >= MAX_FAILURES
        if locking:
            session.execute(
                update(Staff)
                .where(Staff.id == attempt.staff_id)
                .values(locked_until=now + LOCKOUT, failed_logins=0)
            )
        session.add(
            AuditEvent(
                at=now,
                staff_id=attempt.staff_id,
                action="sign_in_failed",
                entity="staff",
                entity_id=str(attempt.staff_id),
            )
        )
        return SignInRefused(_lock_message(LOCKOUT) if locking else WRONG_PASSWORD)
    values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
    if check.new_hash is not None:
        values["password_hash"] = check.new_hash
    session.execute(update(Staff).where(Staff.id == attempt.staff_id).values(**values))
    session.add(
        AuditEvent(
            at=now,
            staff_id=attempt.staff_id,
            action="sign_in",
            entity="staff",
            entity_id=str(attempt.staff_id),
        )
    )
    return record_of(session.get_one(Staff, attempt.staff_id, populate_existing=True))


def sign_in(
    sessions: sessionmaker[Session], username: str, password: str, *, now: datetime | None = None
) -> StaffRecord | SignInRefused:
    """Check a password; count failures and lock the account for a while after too many.

    Three steps, so that no transaction is open while Argon2 works (it takes tens of milliseconds, far
    more on a busy machine, and on SQLite a write transaction holds the whole database): the try is
    counted and committed, the password checked, then the outcome recorded in a second transaction.
    """
    with sessions.begin() as session:
        attempt = count_try(session, username, now=now)
    if isinstance(attempt, SignInRefused):
        return attempt
    check = check_password(attempt, password)
    with sessions.begin() as session:
        return settle_try(session, attempt, check, now=now)


WRONG_PASSWORD = "wrong user name or password"


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not anybody's password")


def _locked(session: Session, staff_id: int, now: datetime) -> str:
    """The refusal for a locked account (read after the row lock, so it is the lock just set)."""
    locked_until = session.scalar(select(Staff.locked_until).where(Staff.id == staff_id))
    if locked_until is None or locked_until <= now:
        # Counted up to the limit without a lock (an older version's row): lock it now.
        locked_until = now + LOCKOUT
        session.execute(
            update(Staff).where(Staff.id == staff_id).values(locked_until=locked_until, failed_logins=0)
        )
    return _lock_message(locked_until - now)


def _lock_message(wait: timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return f"too many wrong passwords: try again in {minutes} minute{'s' if minutes > 1 else ''}"
