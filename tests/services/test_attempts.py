"""Call attempts on a real SQLite file: who may dial what, each outcome's rules, closing a case."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import LOCAL
from app.domain.dispositions import (
    FINAL_OUTCOMES,
    TEMPORARY_DISPOSITIONS,
    AttemptRecord,
    ClosedReason,
    Outcome,
    final_disposition,
)
from app.domain.permissions import Actor
from app.services import cases
from app.services.catalogue import Catalogue
from app.services.settings import set_setting
from app.store.models import Attempt, Case
from tests.services.test_allocation import (
    NOW,
    add_case,
    add_person,
    allocate,
    attempt,
    bundled_catalogue,
    call,
    make_cases,
    people,
)


@pytest.fixture
def catalogue() -> Catalogue:
    return bundled_catalogue()


def held_case(
    factory: sessionmaker[Session], catalogue: Catalogue, name: str = "ann", **values: Any
) -> tuple[Actor, int]:
    """A caller and the case they have just been given."""
    (who,) = people(factory, name)
    (case_id,) = make_cases(factory, **values)
    allocation = allocate(factory, catalogue, who)
    assert allocation.case is not None and allocation.case.case_id == case_id
    return who, case_id


def dial(factory: sessionmaker[Session], who: Actor, case_id: int, at: datetime = NOW) -> int:
    return call(factory, cases.start_attempt, who, case_id, case_row(factory, case_id).phone, now=at)


def finish(
    factory: sessionmaker[Session],
    catalogue: Catalogue,
    who: Actor,
    attempt_id: int,
    outcome: Outcome,
    **details: Any,
) -> cases.CaseState:
    return call(factory, cases.finish_attempt, who, catalogue, attempt_id, outcome, now=NOW, **details)


def case_row(factory: sessionmaker[Session], case_id: int) -> Case:
    with factory() as session:
        return session.get_one(Case, case_id)


# ------------------------------------------------------------------ starting a call


def test_only_the_caller_holding_the_case_can_dial_it(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue)
    (bob,) = people(session_factory, "bob")
    phone = case_row(session_factory, case_id).phone
    assert phone is not None

    with pytest.raises(cases.CaseError, match=f"case {case_id} is not allocated to you"):
        call(session_factory, cases.start_attempt, bob, case_id, phone, now=NOW)
    attempt_id = call(session_factory, cases.start_attempt, ann, case_id, phone, now=NOW)

    with session_factory() as session:
        row = session.get_one(Attempt, attempt_id)
    assert (row.case_id, row.caller_id, row.started_at, row.number_dialled, row.outcome) == (
        case_id,
        ann.staff_id,
        NOW,
        phone,
        None,
    )


def test_only_the_cases_own_numbers_may_be_dialled(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue, phone="+442079460100", alt_phone="+441134960100")

    with pytest.raises(cases.CaseError, match="not one of case"):
        call(session_factory, cases.start_attempt, ann, case_id, "+442079460101", now=NOW)
    attempt_id = call(session_factory, cases.start_attempt, ann, case_id, "+44 113 496 0100", now=NOW)

    with session_factory() as session:
        assert session.get_one(Attempt, attempt_id).number_dialled == "+441134960100"


def test_no_call_outside_calling_hours(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    ann, case_id = held_case(session_factory, catalogue)
    evening = NOW.astimezone(LOCAL).replace(hour=20, minute=5)

    with pytest.raises(cases.OutsideCallingHours, match="no calls outside calling hours"):
        call(
            session_factory,
            cases.start_attempt,
            ann,
            case_id,
            case_row(session_factory, case_id).phone,
            now=evening,
        )


def test_an_unfinished_attempt_must_be_finished_first(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue)
    phone = case_row(session_factory, case_id).phone
    first = call(session_factory, cases.start_attempt, ann, case_id, phone, now=NOW)

    with pytest.raises(cases.CaseError, match=f"attempt {first} on case {case_id} is unfinished"):
        call(session_factory, cases.start_attempt, ann, case_id, phone, now=NOW)
    again = allocate(session_factory, catalogue, ann)
    assert again.case is not None and again.case.open_attempt_id == first  # the resume flow finds it


# ------------------------------------------------------------------ non-final outcomes


def test_no_answer_returns_the_case_to_the_pool_for_later(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue)

    state = attempt(session_factory, catalogue, ann, case_id, Outcome.NO_ANSWER, NOW)

    assert state.status == "open" and not state.closed
    assert state.allocated_to is None and state.attempt_count == 1
    assert state.next_call_at == NOW + timedelta(minutes=121)  # finished a minute after it started
    assert (
        state.disposition is not None and state.disposition.code == "3.13" and not state.disposition.is_final
    )
    row = case_row(session_factory, case_id)
    assert (row.attempts_morning, row.attempts_afternoon, row.attempts_evening) == (1, 0, 0)
    assert row.last_attempt_at == NOW and row.last_activity_at == NOW + timedelta(minutes=1)
    with session_factory() as session:
        assert cases.case_disposition(session, case_id) == TEMPORARY_DISPOSITIONS[Outcome.NO_ANSWER]


def test_unsafe_to_talk_waits_longer_before_calling_again(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue, survey="domestic_abuse")

    state = attempt(session_factory, catalogue, ann, case_id, Outcome.UNSAFE_TO_TALK, NOW)

    assert state.next_call_at == NOW + timedelta(minutes=1, hours=24)
    assert state.disposition is not None and state.disposition.code == "2.20"


def test_no_message_where_the_questionnaire_forbids_it(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue, survey="domestic_abuse")
    phone = case_row(session_factory, case_id).phone
    attempt_id = call(session_factory, cases.start_attempt, ann, case_id, phone, now=NOW)

    with pytest.raises(cases.VoicemailForbidden, match="no message may be left for survey domestic_abuse"):
        call(
            session_factory,
            cases.finish_attempt,
            ann,
            catalogue,
            attempt_id,
            Outcome.ANSWERPHONE,
            message_left=True,
        )
    state = call(
        session_factory,
        cases.finish_attempt,
        ann,
        catalogue,
        attempt_id,
        Outcome.ANSWERPHONE,
        message_left=False,
    )

    assert state.disposition is not None and state.disposition.code == "3.14"


def test_a_message_may_be_left_where_the_questionnaire_allows_it(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue, survey="burglary")

    attempt(session_factory, catalogue, ann, case_id, Outcome.ANSWERPHONE, NOW, message_left=True)

    with session_factory() as session:
        assert session.scalars(select(Attempt.message_left)).one() is True


def test_an_appointment_comes_back_to_its_caller_at_its_time(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue)
    (bob,) = people(session_factory, "bob")
    make_cases(session_factory)  # something else for bob meanwhile
    at_three = NOW.astimezone(LOCAL).replace(hour=15, minute=0)

    state = attempt(
        session_factory, catalogue, ann, case_id, Outcome.APPOINTMENT, NOW, appointment_at=at_three
    )

    assert (state.status, state.allocated_to, state.appointment_at, state.appointment_by) == (
        "open",
        None,
        at_three,
        "ann",
    )
    assert state.disposition is not None and state.disposition.code == "2.21"
    bobs = allocate(session_factory, catalogue, bob, at_three - timedelta(minutes=1))
    assert bobs.case is not None and bobs.case.case_id != case_id
    early = allocate(session_factory, catalogue, ann, at_three - timedelta(minutes=1))
    assert early.case is None and early.reason == "no case is due now; the next is due at 15:00 on Tue 01 Jul"
    anns = allocate(session_factory, catalogue, ann, at_three)
    assert anns.case is not None and anns.case.case_id == case_id and anns.case.appointment_at == at_three


@pytest.mark.parametrize(
    ("local_time", "message"),
    [
        (datetime(2025, 7, 1, 10, 0), "not in the future"),
        (datetime(2025, 7, 1, 21, 0), "outside calling hours"),
        (datetime(2025, 7, 6, 12, 0), "outside calling hours"),  # Sunday
        (datetime(2025, 9, 1, 12, 0), "after this case's fieldwork ends"),
    ],
)
def test_appointments_must_be_callable(
    session_factory: sessionmaker[Session], catalogue: Catalogue, local_time: datetime, message: str
) -> None:
    ann, case_id = held_case(session_factory, catalogue)
    attempt_id = dial(session_factory, ann, case_id)

    with pytest.raises(cases.CaseError, match=message):
        finish(
            session_factory,
            catalogue,
            ann,
            attempt_id,
            Outcome.APPOINTMENT,
            appointment_at=local_time.replace(tzinfo=LOCAL),
        )
    with pytest.raises(cases.CaseError, match="needs its date and time"):
        finish(session_factory, catalogue, ann, attempt_id, Outcome.APPOINTMENT)


def test_details_must_match_the_outcome(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    ann, case_id = held_case(session_factory, catalogue)
    attempt_id = dial(session_factory, ann, case_id)

    with pytest.raises(cases.CaseError, match="partial goes with the outcome break_off, not no_answer"):
        finish(session_factory, catalogue, ann, attempt_id, Outcome.NO_ANSWER, partial=True)
    with pytest.raises(cases.CaseError, match="refusal_by goes with the outcome refusal"):
        finish(session_factory, catalogue, ann, attempt_id, Outcome.COMPLETED, refusal_by="victim")
    with pytest.raises(cases.CaseError, match="unknown outcome 'hung_up'"):
        finish(session_factory, catalogue, ann, attempt_id, "hung_up")  # type: ignore[arg-type]


def test_only_your_own_unfinished_attempt_can_be_finished(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue)
    (bob,) = people(session_factory, "bob")
    attempt_id = call(
        session_factory, cases.start_attempt, ann, case_id, case_row(session_factory, case_id).phone, now=NOW
    )

    with pytest.raises(cases.CaseError, match=f"attempt {attempt_id} is not one of your calls"):
        call(session_factory, cases.finish_attempt, bob, catalogue, attempt_id, Outcome.NO_ANSWER, now=NOW)
    call(
        session_factory,
        cases.finish_attempt,
        ann,
        catalogue,
        attempt_id,
        Outcome.APPOINTMENT,
        now=NOW,
        appointment_at=NOW + timedelta(hours=2),
    )
    with pytest.raises(cases.CaseError, match="not allocated to you"):
        call(session_factory, cases.finish_attempt, ann, catalogue, attempt_id, Outcome.NO_ANSWER, now=NOW)


# ------------------------------------------------------------------ closing


@pytest.mark.parametrize(
    ("outcome", "details", "code"),
    [
        (Outcome.COMPLETED, {}, "1.1"),
        (Outcome.BREAK_OFF, {"partial": True}, "1.2"),
        (Outcome.BREAK_OFF, {}, "2.12"),
        (Outcome.REFUSAL, {"refusal_by": "victim"}, "2.11"),
        (Outcome.INELIGIBLE, {"ineligible_reason": "not the victim of this crime"}, "4.70"),
    ],
)
def test_a_final_outcome_closes_the_case(
    session_factory: sessionmaker[Session],
    catalogue: Catalogue,
    outcome: Outcome,
    details: dict[str, Any],
    code: str,
) -> None:
    ann, case_id = held_case(session_factory, catalogue)

    state = attempt(session_factory, catalogue, ann, case_id, outcome, NOW, **details)

    assert state.closed and state.allocated_to is None and state.next_call_at is None
    assert state.disposition is not None and state.disposition.code == code and state.disposition.is_final
    assert state.closed_reason == "final_outcome"
    row = case_row(session_factory, case_id)
    assert (row.final_disposition, row.closed_at) == (code, NOW + timedelta(minutes=1))
    assert allocate(session_factory, catalogue, ann).case is None


def test_found_ineligible_needs_a_reason(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue)
    attempt_id = dial(session_factory, ann, case_id)
    with pytest.raises(cases.CaseError, match="found ineligible needs a reason"):
        finish(session_factory, catalogue, ann, attempt_id, Outcome.INELIGIBLE)


def run_calls(
    factory: sessionmaker[Session],
    catalogue: Catalogue,
    who: Actor,
    case_id: int,
    outcomes: list[Outcome],
    first: int = 0,
) -> cases.CaseState:
    """Call the case once per outcome, two hours apart (every gap passed), holding it each time."""
    state = None
    for i, outcome in enumerate(outcomes, start=first):
        with factory.begin() as session:
            session.get_one(Case, case_id).allocated_to_id = who.staff_id
        at = NOW + timedelta(hours=2 * i, minutes=1)
        details = {"appointment_at": at + timedelta(hours=1)} if outcome is Outcome.APPOINTMENT else {}
        state = attempt(factory, catalogue, who, case_id, outcome, at, **details)
    assert state is not None
    return state


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        ([Outcome.NO_ANSWER] * 5, "3.13"),
        ([Outcome.ENGAGED] * 5, "3.12"),
        (
            [Outcome.NO_ANSWER, Outcome.ENGAGED, Outcome.ANSWERPHONE, Outcome.NO_ANSWER, Outcome.NO_ANSWER],
            "3.14",
        ),
        ([Outcome.NOT_AVAILABLE] + [Outcome.NO_ANSWER] * 4, "2.21"),
        ([Outcome.NOT_AVAILABLE] + [Outcome.NO_ANSWER] * 3 + [Outcome.ANSWERPHONE], "2.22"),
        ([Outcome.UNSAFE_TO_TALK] + [Outcome.NO_ANSWER] * 4, "2.20"),
    ],
)
def test_the_attempt_limit_closes_the_case_as_a_non_contact(
    session_factory: sessionmaker[Session], catalogue: Catalogue, outcomes: list[Outcome], code: str
) -> None:
    call(session_factory, set_setting, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
    ann, case_id = held_case(session_factory, catalogue, survey="domestic_abuse")  # max_attempts: 5

    before = run_calls(session_factory, catalogue, ann, case_id, outcomes[:4])
    after = run_calls(session_factory, catalogue, ann, case_id, outcomes[4:], first=4)

    assert before.status == "open" and before.attempt_count == 4
    assert after.closed and after.attempt_count == 5 and after.closed_reason == "max_attempts"
    assert after.disposition is not None and after.disposition.code == code


def test_an_appointment_on_the_last_attempt_is_kept(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    call(session_factory, set_setting, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
    ann, case_id = held_case(session_factory, catalogue, survey="domestic_abuse")

    kept = run_calls(
        session_factory, catalogue, ann, case_id, [Outcome.NO_ANSWER] * 4 + [Outcome.APPOINTMENT]
    )
    closed = run_calls(session_factory, catalogue, ann, case_id, [Outcome.NO_ANSWER], first=5)

    assert kept.status == "open" and kept.appointment_by == "ann"
    assert closed.closed and closed.disposition is not None and closed.disposition.code == "2.21"


def test_a_wrong_number_closes_the_case_when_no_number_is_left(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    ann, case_id = held_case(session_factory, catalogue, phone="+442079460200", alt_phone="+441134960200")
    with session_factory() as session:
        assert session.get_one(Case, case_id).alt_phone == "+441134960200"

    first = attempt(session_factory, catalogue, ann, case_id, Outcome.WRONG_NUMBER, NOW)
    with session_factory.begin() as session:
        session.get_one(Case, case_id).allocated_to_id = ann.staff_id
    attempt_id = call(
        session_factory, cases.start_attempt, ann, case_id, "+441134960200", now=NOW + timedelta(hours=3)
    )
    second = call(
        session_factory,
        cases.finish_attempt,
        ann,
        catalogue,
        attempt_id,
        Outcome.WRONG_NUMBER,
        now=NOW + timedelta(hours=3),
    )

    assert first.status == "open" and first.disposition is not None and first.disposition.code == "3.90"
    assert second.closed and second.closed_reason == "no_usable_number"
    assert second.disposition is not None and second.disposition.code == "3.90"


SOME_OUTCOMES = st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outcomes=SOME_OUTCOMES)
def test_a_case_closes_exactly_when_the_rules_say(
    session_factory: sessionmaker[Session], catalogue: Catalogue, outcomes: list[Outcome]
) -> None:
    # Each example gets its own caller and case in the shared database.
    with session_factory.begin() as session:
        set_setting(session, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
        who = add_person(
            session, f"p{session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0}x"
        )
        case_id = add_case(session, survey="hate_crime", allocated_to_id=who.staff_id, allocated_at=NOW)
    limit = catalogue.get("hate_crime").calls.max_attempts
    records: list[AttemptRecord] = []
    for i, outcome in enumerate(outcomes):
        at = NOW + timedelta(hours=2 * i, minutes=1)
        details: dict[str, Any] = {}
        if outcome is Outcome.APPOINTMENT:
            details["appointment_at"] = at + timedelta(hours=1)
        if outcome is Outcome.INELIGIBLE:
            details["ineligible_reason"] = "not the victim"
        state = run_calls_once(session_factory, catalogue, who, case_id, outcome, at, details)
        records.append(AttemptRecord(outcome, at))
        assert state.attempt_count == len(records)
        if outcome in FINAL_OUTCOMES or (outcome is not Outcome.APPOINTMENT and len(records) >= limit):
            assert state.closed
            assert state.disposition == final_disposition(records, max_attempts=limit)
            break
        if outcome is Outcome.WRONG_NUMBER:  # the case has one number, now known to be wrong
            assert state.closed and state.closed_reason == "no_usable_number"
            expected = final_disposition(
                records, max_attempts=limit, closed_reason=ClosedReason.FIELDWORK_ENDED
            )
            assert state.disposition == expected
            break
        assert state.status == "open"
        assert state.disposition == TEMPORARY_DISPOSITIONS[outcome]


def run_calls_once(
    factory: sessionmaker[Session],
    catalogue: Catalogue,
    who: Actor,
    case_id: int,
    outcome: Outcome,
    at: datetime,
    details: dict[str, Any],
) -> cases.CaseState:
    with factory.begin() as session:
        session.get_one(Case, case_id).allocated_to_id = who.staff_id
    return attempt(factory, catalogue, who, case_id, outcome, at, **details)
