"""A seeded app for Pilot tests: a real SQLite file, the bundled questionnaires, staff and cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from app import clock
from app.domain.permissions import Actor, Role
from app.services.runtime import Runtime, open_runtime
from app.services.staff import add_staff
from app.store.models import Case

PASSWORD = "correct horse battery"
#: A Tuesday in term time, inside calling hours (10:00 in London).
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock() -> Iterator[datetime]:
    clock.freeze(NOW)
    yield NOW
    clock.freeze(None)


@pytest.fixture
def runtime(db_url: str, frozen_clock: datetime) -> Iterator[Runtime]:
    rt = open_runtime(db_url)
    add_staff_accounts(rt)
    yield rt
    rt.close()


def add_staff_accounts(runtime: Runtime) -> None:
    """A caller, a supervisor and an analyst, all with PASSWORD."""
    with runtime.sessions.begin() as session:
        for username, role, name in (
            ("ccaller", Role.CALLER, "Casey Caller"),
            ("ssuper", Role.SUPERVISOR, "Sam Supervisor"),
            ("aanalyst", Role.ANALYST, "Ash Analyst"),
        ):
            add_staff(
                session, Actor.system(), username=username, role=role, password=PASSWORD, display_name=name
            )


def add_case(runtime: Runtime, survey: str, n: int = 1, **fields: object) -> int:
    """An open case ready to call (synthetic data: Ofcom drama numbers)."""
    values: dict[str, object] = dict(
        survey=survey,
        crime_ref=f"CR/{n:05d}/26",
        victim_name=f"Jordan Testperson{n}",
        phone=f"+44207946{n % 1000:04d}",
        alt_phone="+441134960001",
        date_of_birth=date(1980, 5, 17),
        report_date=date(2026, 10, 1),
        division="North",
        district="Northtown",
        status="open",
        imported_at=NOW,
    )
    values.update(fields)
    with runtime.sessions.begin() as session:
        case = Case(**values)
        session.add(case)
        session.flush()
        return case.id
