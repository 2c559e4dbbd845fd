"""Allocation on a real SQLite file: one case per caller, tiers, time of day, calling hours, windows.

The helpers at the top (NOW, add_case, add_person, call) are shared by the other case tests.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import LOCAL
from app.domain.dispositions import Outcome
from app.domain.permissions import Actor, PermissionDenied, Role
from app.errors import SurveyError
from app.services import cases
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue
from app.services.settings import CallingHours, SettingsError, get_settings, list_settings, set_setting
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import AuditEvent, Case, Staff

#: Tuesday 1 July 2025, 10:30 in London (BST): inside the default calling hours, in the morning band.
NOW = datetime(2025, 7, 1, 10, 30, tzinfo=LOCAL).astimezone(UTC)
#: A report date inside every bundled survey's fieldwork window on NOW's day.
IN_WINDOW = NOW.astimezone(LOCAL).date() - timedelta(days=60)

_serial = itertools.count(1)
T = TypeVar("T")


@functools.cache
def bundled_catalogue() -> Catalogue:
    return load_catalogue(bundled_dir())


@pytest.fixture
def catalogue() -> Catalogue:
    return bundled_catalogue()


def add_person(session: Session, username: str, role: Role = Role.CALLER) -> Actor:
    row = Staff(
        username=username, display_name=username.title(), role=role.value, password_hash="x", created_at=NOW
    )
    session.add(row)
    session.flush()
    return Actor(row.id, username, role)


def add_case(session: Session, *, survey: str = "hate_crime", status: str = "open", **values: Any) -> int:
    """A case as the sample import leaves it (open, in its window, never called), with changes."""
    n = next(_serial)
    defaults: dict[str, Any] = {
        "survey": survey,
        "crime_ref": f"CR/{n:05d}/25",
        "victim_name": f"Victim {n}",
        "phone": f"+442079460{n % 1000:03d}",
        "date_of_birth": date(1980, 1, 1),
        "report_date": IN_WINDOW,
        "division": "North",
        "district": "Riverside",
        "status": status,
        "imported_at": NOW - timedelta(days=30),
    }
    row = Case(**(defaults | values))
    session.add(row)
    session.flush()
    return row.id


def call(factory: sessionmaker[Session], function: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Run one service call in its own write transaction, as a screen does."""
    with factory.begin() as session:
        return function(session, *args, **kw)


def people(factory: sessionmaker[Session], *names: str, role: Role = Role.CALLER) -> list[Actor]:
    with factory.begin() as session:
        return [add_person(session, name, role) for name in names]


def make_cases(factory: sessionmaker[Session], count: int = 1, **values: Any) -> list[int]:
    with factory.begin() as session:
        return [add_case(session, **values) for _ in range(count)]


def attempt(
    factory: sessionmaker[Session],
    catalogue: Catalogue,
    actor: Actor,
    case_id: int,
    outcome: Outcome,
    at: datetime,
    **details: Any,
) -> cases.CaseState:
    """One whole call on a held case: dial its main number at `at`, record `outcome` a minute later."""
    with factory.begin() as session:
        phone = session.get_one(Case, case_id).phone
    assert phone is not None
    attempt_id = call(factory, cases.start_attempt, actor, case_id, phone, now=at)
    return call(
        factory,
        cases.finish_attempt,
        actor,
        catalogue,
        attempt_id,
        outcome,
        now=at + timedelta(minutes=1),
        **details,
    )


def allocate(
    factory: sessionmaker[Session], catalogue: Catalogue, actor: Actor, at: datetime = NOW, **kw: Any
) -> cases.Allocation:
    return call(factory, cases.next_case, actor, catalogue, now=at, **kw)


# ------------------------------------------------------------------ one case per caller, no sharing


def test_a_caller_gets_one_case_and_keeps_it_until_done(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    (ann,) = people(session_factory, "ann")
    first, _second = make_cases(session_factory, 2)

    allocation = allocate(session_factory, catalogue, ann)
    again = allocate(session_factory, catalogue, ann, NOW + timedelta(minutes=5))

    assert allocation.case is not None and allocation.case.case_id == first
    assert not allocation.resumed
    assert again.case is not None and again.case.case_id == first and again.resumed
    with session_factory() as session:
        held = session.scalars(select(Case.id).where(Case.allocated_to_id == ann.staff_id)).all()
        row = session.get_one(Case, first)
    assert held == [first]
    assert row.allocated_at == NOW and row.last_activity_at == NOW + timedelta(minutes=5)


def test_the_record_carries_the_victims_details_and_no_orm_object(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    (ann,) = people(session_factory, "ann")
    (case_id,) = make_cases(session_factory, alt_phone="+442079460999", risk_level="high")

    record = allocate(session_factory, catalogue, ann).case

    assert record is not None
    assert dataclasses.is_dataclass(record)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.phone = "+442079460000"  # type: ignore[misc]
    assert record.case_id == case_id
    assert record.survey == "hate_crime"
    assert record.victim_name is not None and record.victim_name.startswith("Victim ")
    assert record.alt_phone == "+442079460999" and record.risk_level == "high"
    assert record.attempt_count == 0 and record.last_outcome is None and record.appointment_at is None
    assert record.disposition.code == "3.11" and not record.disposition.is_final
    assert record.open_attempt_id is None


def test_allocation_is_audited_without_personal_data(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    (ann,) = people(session_factory, "ann")
    (case_id,) = make_cases(session_factory)

    allocate(session_factory, catalogue, ann)

    with session_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "case_allocated")).one()
        case_row = session.get_one(Case, case_id)
    assert (event.staff_id, event.entity, event.entity_id) == (ann.staff_id, "case", str(case_id))
    assert json.loads(event.detail or "{}") == {"resumed": False, "survey": "hate_crime"}
    assert case_row.victim_name not in (event.detail or "") and case_row.phone not in (event.detail or "")


def test_two_callers_never_get_the_same_case(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, bob, cat = people(session_factory, "ann", "bob", "cat")
    make_cases(session_factory, 2)

    got = [allocate(session_factory, catalogue, who) for who in (ann, bob, cat)]

    assert got[0].case is not None and got[1].case is not None
    assert got[0].case.case_id != got[1].case.case_id
    assert got[2].case is None
    assert got[2].reason == "no case to call: every open case is done or held by another caller"


def queue_statements(engine: Engine, run: Callable[[], Any]) -> list[str]:
    """The claims (UPDATE ... WHERE id = (the queue's first)) that `run` sent."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith("UPDATE cases") and "ix_cases_queue" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_each_queue_is_a_walk_down_its_index_not_a_sort(
    engine: Engine, session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    # Sorting every open case took about 9 ms of the one write transaction with 10,000 cases; the
    # partial indexes make the next case a few steps down an index, whatever the pool's size.
    ann, bob = people(session_factory, "ann", "bob")
    make_cases(session_factory, 3, attempt_count=1, last_attempt_at=NOW - timedelta(hours=5))
    make_cases(session_factory, 1, next_call_at=NOW - timedelta(minutes=5), appointment_by_id=bob.staff_id)
    for at in (NOW, NOW + timedelta(hours=4), NOW + timedelta(hours=8)):  # 10:30, 14:30, 18:30
        with session_factory.begin() as session:  # nobody holds a case: all three queues are asked
            session.execute(update(Case).values(allocated_to_id=None, allocated_at=None))
        claims = queue_statements(
            engine, lambda at=at: allocate(session_factory, catalogue, ann, at=at, surveys=["rape"])
        )
        # The three queues in one statement; as it found nothing, each queue on its own.
        assert len(claims) == 4
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            plans = []
            for statement in claims:
                # Plans do not depend on the values: NULL for each will do.
                rows = raw.execute("EXPLAIN QUERY PLAN " + statement, [None] * statement.count("?"))
                plans.append(" | ".join(row[3] for row in rows))
        together, *alone = plans
        band = cases.time_band(at).value
        for index in ("appointments", "untried", band):
            assert f"USING INDEX ix_cases_queue_{index}" in together, together
        assert "SEARCH cases USING INTEGER PRIMARY KEY" in together, together
        for plan, index in zip(alone, ("appointments", "untried", band), strict=True):
            assert f"USING INDEX ix_cases_queue_{index}" in plan, plan
            if index != "appointments":
                assert "TEMP B-TREE" not in plan, plan


def test_a_due_case_is_claimed_in_one_statement_whichever_queue_holds_it(
    engine: Engine, session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, bob, cat = people(session_factory, "ann", "bob", "cat")
    untried = make_cases(session_factory, 1)
    retry = make_cases(session_factory, 1, attempt_count=1, last_attempt_at=NOW - timedelta(hours=5))
    for who, expected in ((ann, untried[0]), (bob, retry[0]), (cat, None)):
        got: list[cases.Allocation] = []
        claims = queue_statements(
            engine, lambda w=who, g=got: g.append(allocate(session_factory, catalogue, w))
        )
        assert (got[0].case.case_id if got[0].case else None) == expected
        assert len(claims) == (1 if expected else 4)


def test_a_case_never_tried_is_allocated_without_reading_attempts(
    engine: Engine, session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    # A case in the pool has no unfinished call, so one never tried has no attempts to read: its
    # allocation is the caller's lock, the held case, the settings, the claim and the audit row.
    ann, bob = people(session_factory, "ann", "bob")
    make_cases(session_factory, 1)
    make_cases(session_factory, 1, attempt_count=1, last_attempt_at=NOW - timedelta(hours=5))
    for who, reads_attempts in ((ann, False), (bob, True)):
        sent: list[str] = []

        def note(conn: Any, cursor: Any, statement: str, *args: Any, sent: list[str] = sent) -> None:
            if not statement.startswith("BEGIN"):
                sent.append(" ".join(statement.split()))

        event.listen(engine, "before_cursor_execute", note)
        try:
            got = allocate(session_factory, catalogue, who)
        finally:
            event.remove(engine, "before_cursor_execute", note)
        assert got.case is not None and got.case.open_attempt_id is None
        assert any(s.startswith("SELECT attempts.id") for s in sent) is reads_attempts, sent
        assert len(sent) == 5 + reads_attempts, sent


def test_postgresql_passes_over_a_case_another_caller_is_claiming(pg_url: str, catalogue: Catalogue) -> None:
    # Another caller's claim of the best case, not yet committed, holds its row locked: the next caller
    # takes the second case at once, rather than waiting for the first or being told nothing is due.
    upgrade(pg_url)
    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    try:
        ann, bob = people(factory, "ann", "bob")
        first, second = make_cases(factory, 2)
        with factory.begin() as other:  # bob's claim, in flight
            other.execute(select(Case.id).where(Case.id == first).with_for_update(key_share=True)).one()
            with factory.begin() as session:
                session.connection().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                allocation = cases.next_case(session, ann, catalogue, now=NOW)
            assert allocation.case is not None and allocation.case.case_id == second
        assert allocate(factory, catalogue, bob).case.case_id == first  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_only_callers_and_supervisors_take_cases(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    (analyst,) = people(session_factory, "ana", role=Role.ANALYST)
    make_cases(session_factory)

    with pytest.raises(PermissionDenied):
        allocate(session_factory, catalogue, analyst)
    with pytest.raises(cases.CaseError, match="signed-in member of staff"):
        allocate(session_factory, catalogue, Actor.system())


def test_an_inactive_caller_gets_nothing(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    (ann,) = people(session_factory, "ann")
    make_cases(session_factory)
    with session_factory.begin() as session:
        session.get_one(Staff, ann.staff_id).active = False

    with pytest.raises(cases.CaseError, match="not an active member of staff"):
        allocate(session_factory, catalogue, ann)


def test_surveys_narrow_the_choice(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    ann, bob = people(session_factory, "ann", "bob")
    (hate,) = make_cases(session_factory, survey="hate_crime")
    (rape,) = make_cases(session_factory, survey="rape")

    assert allocate(session_factory, catalogue, ann, surveys=["rape"]).case.case_id == rape  # type: ignore[union-attr]
    nothing = allocate(session_factory, catalogue, bob, surveys=["rape"])
    assert nothing.case is None
    assert allocate(session_factory, catalogue, bob).case.case_id == hate  # type: ignore[union-attr]
    with pytest.raises(SurveyError, match="unknown survey 'stalking'"):
        allocate(session_factory, catalogue, bob, surveys=["stalking"])


# ------------------------------------------------------------------ calling hours


@pytest.mark.parametrize(
    ("local_time", "offered"),
    [
        (datetime(2025, 7, 1, 8, 59), False),  # Tuesday before 09:00
        (datetime(2025, 7, 1, 9, 0), True),
        (datetime(2025, 7, 1, 19, 59), True),
        (datetime(2025, 7, 1, 20, 0), False),  # the end is excluded
        (datetime(2025, 7, 5, 10, 0), True),  # Saturday 10:00-16:00
        (datetime(2025, 7, 5, 16, 30), False),
        (datetime(2025, 7, 6, 12, 0), False),  # Sunday
        (datetime(2025, 12, 2, 9, 30), True),  # GMT in winter: local hours still apply
        (datetime(2025, 12, 2, 8, 30), False),
    ],
)
def test_no_case_is_offered_outside_calling_hours(
    session_factory: sessionmaker[Session], catalogue: Catalogue, local_time: datetime, offered: bool
) -> None:
    (ann,) = people(session_factory, "ann")
    at = local_time.replace(tzinfo=LOCAL).astimezone(UTC)
    make_cases(session_factory, report_date=at.astimezone(LOCAL).date() - timedelta(days=60))

    allocation = allocate(session_factory, catalogue, ann, at)

    assert (allocation.case is not None) is offered
    if not offered:
        assert allocation.reason == "outside calling hours (Mon-Fri 09:00-20:00, Sat 10:00-16:00)"


def test_a_held_case_is_returned_even_after_hours(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    (ann,) = people(session_factory, "ann")
    (case_id,) = make_cases(session_factory)
    allocate(session_factory, catalogue, ann, NOW.replace(hour=18, minute=55))  # 19:55 BST

    later = allocate(session_factory, catalogue, ann, NOW.replace(hour=19, minute=10))  # 20:10 BST

    assert later.case is not None and later.case.case_id == case_id and later.resumed


def test_calling_hours_come_from_the_settings(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    (ann,) = people(session_factory, "ann")
    make_cases(session_factory)
    call(session_factory, set_setting, Actor.system(), "calling_hours", "Mon-Fri 12:00-21:00")

    allocation = allocate(session_factory, catalogue, ann)

    assert allocation.reason == "outside calling hours (Mon-Fri 12:00-21:00)"


# ------------------------------------------------------------------ order: appointments, untried, retries


def test_due_appointments_come_first_and_go_to_the_caller_who_made_them(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, bob = people(session_factory, "ann", "bob")
    (untried,) = make_cases(session_factory, report_date=IN_WINDOW - timedelta(days=10))
    (ann_appointment,) = make_cases(session_factory, attempt_count=1, next_call_at=NOW - timedelta(minutes=5))
    with session_factory.begin() as session:
        session.get_one(Case, ann_appointment).appointment_by_id = ann.staff_id

    bob_first = allocate(session_factory, catalogue, bob)
    ann_first = allocate(session_factory, catalogue, ann)

    assert bob_first.case is not None and bob_first.case.case_id == untried  # ann's is still in its grace
    assert ann_first.case is not None and ann_first.case.case_id == ann_appointment
    assert ann_first.case.appointment_at == NOW - timedelta(minutes=5)


def test_an_appointment_goes_to_anyone_once_its_grace_has_passed(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, bob = people(session_factory, "ann", "bob")
    make_cases(session_factory)
    (overdue,) = make_cases(session_factory, attempt_count=1, next_call_at=NOW - timedelta(minutes=16))
    (future,) = make_cases(session_factory, attempt_count=1, next_call_at=NOW + timedelta(minutes=30))
    with session_factory.begin() as session:
        for case_id in (overdue, future):
            session.get_one(Case, case_id).appointment_by_id = ann.staff_id

    allocation = allocate(session_factory, catalogue, bob)

    assert allocation.case is not None and allocation.case.case_id == overdue


def test_untried_cases_come_before_retries_oldest_report_first(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, bob, cat = people(session_factory, "ann", "bob", "cat")
    (retry,) = make_cases(session_factory, attempt_count=1, last_attempt_at=NOW - timedelta(days=1))
    (newer,) = make_cases(session_factory, report_date=IN_WINDOW)
    (older,) = make_cases(session_factory, report_date=IN_WINDOW - timedelta(days=5))

    order = [allocate(session_factory, catalogue, who).case for who in (ann, bob, cat)]

    assert [c.case_id for c in order if c] == [older, newer, retry]


def test_retries_vary_the_time_of_day(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    ann, bob = people(session_factory, "ann", "bob")
    waited_longest = NOW - timedelta(days=3)
    (tried_mornings,) = make_cases(
        session_factory, attempt_count=2, attempts_morning=2, last_attempt_at=waited_longest
    )
    (tried_evening,) = make_cases(
        session_factory, attempt_count=1, attempts_evening=1, last_attempt_at=NOW - timedelta(days=1)
    )

    morning = allocate(session_factory, catalogue, ann)  # NOW is 10:30: the evening-tried case first
    assert morning.case is not None and morning.case.case_id == tried_evening

    call(session_factory, cases.return_case, ann, tried_evening)
    evening = allocate(session_factory, catalogue, bob, NOW + timedelta(hours=8))  # 18:30
    assert evening.case is not None and evening.case.case_id == tried_mornings


def test_a_retry_waits_for_its_gap(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    ann, bob = people(session_factory, "ann", "bob")
    (case_id,) = make_cases(session_factory)
    allocate(session_factory, catalogue, ann)
    attempt(session_factory, catalogue, ann, case_id, Outcome.NO_ANSWER, NOW)

    soon = allocate(session_factory, catalogue, bob, NOW + timedelta(minutes=90))
    later = allocate(session_factory, catalogue, bob, NOW + timedelta(minutes=122))

    assert soon.case is None
    assert soon.reason == "no case is due now; the next is due at 12:31 on Tue 01 Jul"
    assert later.case is not None and later.case.case_id == case_id
    assert later.case.last_outcome is Outcome.NO_ANSWER and later.case.attempt_count == 1
    assert later.case.disposition.code == "3.13"


def test_time_bands() -> None:
    def band(hour: int) -> cases.Band:
        return cases.time_band(datetime(2025, 7, 1, hour, 0, tzinfo=LOCAL))

    assert [band(h) for h in (9, 11, 12, 16, 17, 20)] == [
        cases.Band.MORNING,
        cases.Band.MORNING,
        cases.Band.AFTERNOON,
        cases.Band.AFTERNOON,
        cases.Band.EVENING,
        cases.Band.EVENING,
    ]


# ------------------------------------------------------------------ fieldwork windows


def test_allocation_opens_pending_cases_whose_window_has_opened(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    (ann,) = people(session_factory, "ann")
    today = NOW.astimezone(LOCAL).date()
    # hate_crime is called from 42 to 84 days after the report.
    (opens_today,) = make_cases(
        session_factory, status="pending", report_date=today - timedelta(days=42), next_call_at=NOW
    )
    (tomorrow,) = make_cases(session_factory, status="pending", report_date=today - timedelta(days=41))
    # In its window, but the import set next_call_at to the victim's 16th birthday, tomorrow.
    (birthday,) = make_cases(
        session_factory,
        status="pending",
        report_date=today - timedelta(days=50),
        next_call_at=NOW + timedelta(days=1),
    )

    assert allocate(session_factory, catalogue, ann).case is None  # allocation leaves windows alone
    assert call(session_factory, cases.maintain_if_due, catalogue, NOW)
    allocation = allocate(session_factory, catalogue, ann)

    assert allocation.case is not None and allocation.case.case_id == opens_today
    with session_factory() as session:
        assert session.get_one(Case, tomorrow).status == "pending"
        assert session.get_one(Case, birthday).status == "pending"
        assert session.get_one(Case, opens_today).next_call_at is None
    result = call(session_factory, cases.refresh_cases, catalogue, NOW + timedelta(days=1))
    assert result.opened == 2  # tomorrow's window and the birthday


def test_maintenance_runs_at_most_once_a_minute(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    today = NOW.astimezone(LOCAL).date()
    assert call(session_factory, cases.maintain_if_due, catalogue, NOW)
    (opens,) = make_cases(session_factory, status="pending", report_date=today - timedelta(days=50))

    assert not call(session_factory, cases.maintain_if_due, catalogue, NOW + timedelta(seconds=59))
    with session_factory() as session:
        assert session.get_one(Case, opens).status == "pending"
    assert call(session_factory, cases.maintain_if_due, catalogue, NOW + timedelta(seconds=60))
    with session_factory() as session:
        assert session.get_one(Case, opens).status == "open"
    # Another app's clock a little behind does not run it again; a clock put back does not stop it.
    assert not call(session_factory, cases.maintain_if_due, catalogue, NOW + timedelta(seconds=10))
    assert call(session_factory, cases.maintain_if_due, catalogue, NOW - timedelta(days=1))


def test_refresh_closes_cases_whose_window_has_closed(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    (ann,) = people(session_factory, "ann")
    today = NOW.astimezone(LOCAL).date()
    last_day = today - timedelta(days=84)  # the last day in the window is today
    (still_in,) = make_cases(session_factory, report_date=last_day)
    (untried,) = make_cases(session_factory, report_date=last_day - timedelta(days=1))
    (tried,) = make_cases(session_factory, report_date=last_day - timedelta(days=1))
    (held,) = make_cases(session_factory, report_date=last_day - timedelta(days=1))
    (never_released,) = make_cases(
        session_factory, status="pending", report_date=last_day - timedelta(days=1)
    )
    with session_factory.begin() as session:
        session.get_one(Case, held).allocated_to_id = ann.staff_id
        session.get_one(Case, held).last_activity_at = NOW
    # Two unanswered calls on "tried" yesterday, while it was still in its window.
    for at in (NOW - timedelta(days=1), NOW - timedelta(days=1, hours=-3)):
        with session_factory.begin() as session:
            session.get_one(Case, tried).allocated_to_id = ann.staff_id
        attempt(session_factory, catalogue, ann, tried, Outcome.NO_ANSWER, at)

    result = call(session_factory, cases.refresh_cases, catalogue, NOW)

    assert result == cases.RefreshResult(opened=0, expired=2, not_released=1)
    with session_factory() as session:
        rows = {c.id: c for c in session.scalars(select(Case))}
    assert rows[still_in].status == "open"
    assert (rows[untried].status, rows[untried].final_disposition, rows[untried].closed_reason) == (
        "closed",
        "3.11",
        "fieldwork_ended",
    )
    assert (rows[tried].final_disposition, rows[tried].closed_reason) == ("3.13", "fieldwork_ended")
    assert rows[held].status == "open"  # a caller is on it: it waits until it is back in the pool
    assert (rows[never_released].status, rows[never_released].final_disposition) == ("closed", None)
    assert rows[never_released].closed_reason == "out_of_field_period"


# ------------------------------------------------------------------ settings


def test_settings_have_defaults_and_can_be_changed(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        defaults = get_settings(session)
    assert str(defaults.calling_hours) == "Mon-Fri 09:00-20:00, Sat 10:00-16:00"
    assert (defaults.stale_allocation_hours, defaults.retry_gap_minutes) == (24, 120)

    stored = call(
        session_factory, set_setting, Actor.system(), "calling_hours", "mon-thu 9:00-20:00;fri 09:00-17:00"
    )
    call(session_factory, set_setting, Actor.system(), "retry_gap_minutes", 90)

    assert stored == "Mon-Thu 09:00-20:00, Fri 09:00-17:00"
    with session_factory() as session:
        changed = get_settings(session)
        rows = {row.key: row for row in list_settings(session)}
        audit = session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "setting")).all()
    assert changed.retry_gap_minutes == 90
    assert not rows["retry_gap_minutes"].is_default and rows["stale_allocation_hours"].is_default
    assert audit == ["setting_changed", "setting_changed"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("calling_hours", "Mon-Fri 9-5", "cannot read 'Mon-Fri 9-5'"),
        ("calling_hours", "Fri-Mon 09:00-17:00", "run backwards"),
        ("calling_hours", "Mon 17:00-09:00", "ends before it starts"),
        ("calling_hours", "Mon 09:00-25:00", "not a time of day"),
        ("calling_hours", "Mon-Fri 09:00-17:00, Fri 18:00-20:00", "Fri is given twice"),
        ("calling_hours", "Mo 09:00-17:00", "unknown day 'mo'"),
        ("retry_gap_minutes", "two hours", "not a whole number"),
        ("stale_allocation_hours", "0", "out of range"),
        ("colour", "blue", "unknown setting 'colour'"),
    ],
)
def test_bad_settings_are_refused_in_one_line(
    session_factory: sessionmaker[Session], key: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        call(session_factory, set_setting, Actor.system(), key, value)
    assert "\n" not in str(raised.value)


def test_only_supervisors_change_settings(session_factory: sessionmaker[Session]) -> None:
    (ann,) = people(session_factory, "ann")
    with pytest.raises(PermissionDenied):
        call(session_factory, set_setting, ann, "retry_gap_minutes", "10")


def test_calling_hours_to_midnight() -> None:
    hours = CallingHours.parse("Mon-Sun 00:00-24:00")
    assert hours.describe() == "Mon-Sun 00:00-24:00"
    assert hours.contains(datetime(2025, 7, 6, 23, 59, tzinfo=LOCAL))
