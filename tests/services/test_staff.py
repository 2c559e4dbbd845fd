"""Staff accounts and signing in, against a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import utcnow
from app.domain.permissions import Actor, Role
from app.services.staff import LOCKOUT, MAX_FAILURES, SignInRefused, StaffRecord, add_staff, sign_in
from app.store.models import Staff


def test_wrong_passwords_are_counted_across_transactions_and_lock_the_account(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        add_staff(session, Actor.system(), username="casey", role=Role.CALLER, password="right password")
    now = utcnow()
    for _ in range(MAX_FAILURES):
        assert isinstance(sign_in(session_factory, "casey", "wrong password", now=now), SignInRefused)
    with session_factory() as session:
        row = session.scalar(select(Staff).where(Staff.username == "casey"))
        assert row is not None and row.locked_until is not None
    refused = sign_in(session_factory, "casey", "right password", now=now + timedelta(minutes=1))
    assert isinstance(refused, SignInRefused) and "too many wrong passwords" in refused.message
    record = sign_in(session_factory, "casey", "right password", now=now + LOCKOUT + timedelta(seconds=1))
    assert isinstance(record, StaffRecord) and record.username == "casey"


def test_unknown_name_and_wrong_password_look_the_same(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        add_staff(session, Actor.system(), username="casey", role=Role.CALLER, password="right password")
    unknown = sign_in(session_factory, "nobody", "whatever")
    wrong = sign_in(session_factory, "casey", "whatever")
    assert unknown == wrong == SignInRefused("wrong user name or password")
