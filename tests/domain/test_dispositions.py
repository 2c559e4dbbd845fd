"""Dispositions (AAPOR codes by queXS's closing rule) and the AAPOR outcome rates."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.dispositions import (
    ALWAYS_ENGAGED,
    ANSWERPHONE_CONFIRMED,
    ANSWERPHONE_UNCONFIRMED,
    BREAK_OFF,
    COMPLETE,
    FINAL_DISPOSITIONS,
    NEVER_AVAILABLE,
    NO_ANSWER,
    NO_ELIGIBLE_RESPONDENT,
    NOT_ATTEMPTED,
    NOT_SAFE_TO_TALK,
    OPEN_NOT_YET_CALLED,
    PARTIAL,
    QUOTA_FILLED,
    REFUSAL,
    SCREENED_OUT,
    TEMPORARY_DISPOSITIONS,
    WRONG_NUMBER,
    AttemptRecord,
    Category,
    ClosedReason,
    Counts,
    Outcome,
    counts_from_dispositions,
    default_e,
    disposition_for_code,
    final_disposition,
    rates,
)

START = datetime(2020, 8, 3, 10, 0)


def calls(*outcomes: Outcome, partial_last: bool = False) -> list[AttemptRecord]:
    """Attempts a day apart, in the order given."""
    records = [AttemptRecord(o, START + timedelta(days=n)) for n, o in enumerate(outcomes)]
    if partial_last:
        records[-1] = AttemptRecord(records[-1].outcome, records[-1].at, partial=True)
    return records


# --- the codes themselves -------------------------------------------------------------------------


def test_outcome_values_are_the_stored_strings() -> None:
    assert [o.value for o in Outcome] == [
        "no_answer",
        "engaged",
        "answerphone",
        "wrong_number",
        "appointment",
        "refusal",
        "break_off",
        "completed",
        "ineligible",
        "unsafe_to_talk",
        "not_available",
    ]


def test_final_codes_are_unique_and_looked_up_by_code() -> None:
    codes = [d.code for d in FINAL_DISPOSITIONS]
    assert len(codes) == len(set(codes))
    for d in FINAL_DISPOSITIONS:
        assert d.is_final
        assert disposition_for_code(d.code) is d
    with pytest.raises(KeyError):
        disposition_for_code("9.99")


@pytest.mark.parametrize(
    ("disposition", "code", "category"),
    [
        (COMPLETE, "1.1", Category.I),
        (PARTIAL, "1.2", Category.P),
        (REFUSAL, "2.11", Category.R),
        (BREAK_OFF, "2.12", Category.R),
        (NOT_SAFE_TO_TALK, "2.20", Category.NC),
        (NEVER_AVAILABLE, "2.21", Category.NC),
        (ANSWERPHONE_CONFIRMED, "2.22", Category.NC),
        (NOT_ATTEMPTED, "3.11", Category.UH),
        (ALWAYS_ENGAGED, "3.12", Category.UH),
        (NO_ANSWER, "3.13", Category.UH),
        (ANSWERPHONE_UNCONFIRMED, "3.14", Category.UH),
        (WRONG_NUMBER, "3.90", Category.UO),
        (SCREENED_OUT, "4.10", Category.NE),
        (NO_ELIGIBLE_RESPONDENT, "4.70", Category.NE),
        (QUOTA_FILLED, "4.80", Category.NE),
    ],
)
def test_aapor_codes_and_categories(disposition: object, code: str, category: Category) -> None:
    assert disposition == disposition_for_code(code)
    assert disposition_for_code(code).category is category


def test_unsafe_to_talk_is_a_non_contact_never_a_refusal() -> None:
    closed = final_disposition(calls(Outcome.UNSAFE_TO_TALK), max_attempts=1)
    assert closed.category is Category.NC
    open_ = final_disposition(calls(Outcome.UNSAFE_TO_TALK), max_attempts=5)
    assert not open_.is_final
    assert open_.code.startswith("2.2")


def test_disposition_str_shows_code_and_label() -> None:
    assert str(REFUSAL) == "2.11 Refusal"


def test_only_a_break_off_can_be_partial() -> None:
    AttemptRecord(Outcome.BREAK_OFF, START, partial=True)
    with pytest.raises(ValueError, match="only a break-off"):
        AttemptRecord(Outcome.COMPLETED, START, partial=True)


# --- final_disposition: the latest final outcome ---------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome.COMPLETED, COMPLETE),
        (Outcome.REFUSAL, REFUSAL),
        (Outcome.BREAK_OFF, BREAK_OFF),
        (Outcome.INELIGIBLE, NO_ELIGIBLE_RESPONDENT),
    ],
)
def test_a_final_outcome_closes_the_case_before_the_limit(outcome: Outcome, expected: object) -> None:
    attempts = calls(Outcome.NO_ANSWER, Outcome.APPOINTMENT, outcome)
    assert final_disposition(attempts, max_attempts=10) == expected


def test_break_off_past_the_partial_point_is_a_partial_interview() -> None:
    attempts = calls(Outcome.NO_ANSWER, Outcome.BREAK_OFF, partial_last=True)
    assert final_disposition(attempts, max_attempts=10) == PARTIAL
    assert final_disposition(calls(Outcome.BREAK_OFF), max_attempts=10) == BREAK_OFF


def test_the_latest_final_outcome_wins() -> None:
    # A break-off, then the interview was resumed and completed.
    attempts = calls(Outcome.BREAK_OFF, Outcome.NO_ANSWER, Outcome.COMPLETED)
    assert final_disposition(attempts, max_attempts=3) == COMPLETE
    # A refusal, then (later) an attempt found the victim ineligible.
    attempts = calls(Outcome.REFUSAL, Outcome.INELIGIBLE)
    assert final_disposition(attempts, max_attempts=5) == NO_ELIGIBLE_RESPONDENT


def test_a_final_outcome_outranks_later_temporary_ones() -> None:
    attempts = calls(Outcome.REFUSAL, Outcome.NO_ANSWER, Outcome.NO_ANSWER)
    assert final_disposition(attempts, max_attempts=3) == REFUSAL
    assert final_disposition(attempts, max_attempts=10) == REFUSAL


def test_attempts_are_ordered_by_time_not_by_position() -> None:
    attempts = calls(Outcome.REFUSAL, Outcome.COMPLETED)
    assert final_disposition(list(reversed(attempts)), max_attempts=5) == COMPLETE


# --- final_disposition: open cases -------------------------------------------------------------------


def test_an_open_case_shows_its_latest_attempts_temporary_code() -> None:
    for outcome, temporary in TEMPORARY_DISPOSITIONS.items():
        shown = final_disposition(calls(Outcome.NO_ANSWER, outcome), max_attempts=5)
        assert shown == temporary
        assert not shown.is_final
        assert shown.category is Category.TEMPORARY


def test_every_non_final_outcome_has_a_temporary_code() -> None:
    finals = {Outcome.COMPLETED, Outcome.REFUSAL, Outcome.BREAK_OFF, Outcome.INELIGIBLE}
    assert set(TEMPORARY_DISPOSITIONS) == set(Outcome) - finals


def test_a_case_never_called_is_open() -> None:
    assert final_disposition([], max_attempts=5) == OPEN_NOT_YET_CALLED
    assert not OPEN_NOT_YET_CALLED.is_final


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        final_disposition([], max_attempts=0)


# --- final_disposition: at the attempt limit, 2.x if ever reached, else 3.x --------------------------


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        # Ever reached: a non-contact.
        ((Outcome.NO_ANSWER, Outcome.NOT_AVAILABLE, Outcome.NO_ANSWER), NEVER_AVAILABLE),
        ((Outcome.APPOINTMENT, Outcome.ENGAGED, Outcome.NO_ANSWER), NEVER_AVAILABLE),
        ((Outcome.NOT_AVAILABLE, Outcome.WRONG_NUMBER, Outcome.NO_ANSWER), NEVER_AVAILABLE),
        ((Outcome.NOT_AVAILABLE, Outcome.NO_ANSWER, Outcome.ANSWERPHONE), ANSWERPHONE_CONFIRMED),
        ((Outcome.UNSAFE_TO_TALK, Outcome.NO_ANSWER, Outcome.NO_ANSWER), NOT_SAFE_TO_TALK),
        # Safety outranks later contacts: the bureau reports it.
        ((Outcome.UNSAFE_TO_TALK, Outcome.NOT_AVAILABLE, Outcome.ANSWERPHONE), NOT_SAFE_TO_TALK),
        # Never reached: unknown eligibility, by the most informative outcome.
        ((Outcome.NO_ANSWER, Outcome.NO_ANSWER, Outcome.NO_ANSWER), NO_ANSWER),
        ((Outcome.ENGAGED, Outcome.NO_ANSWER, Outcome.ENGAGED), NO_ANSWER),
        ((Outcome.ENGAGED, Outcome.ENGAGED, Outcome.ENGAGED), ALWAYS_ENGAGED),
        ((Outcome.NO_ANSWER, Outcome.ANSWERPHONE, Outcome.NO_ANSWER), ANSWERPHONE_UNCONFIRMED),
        ((Outcome.WRONG_NUMBER, Outcome.WRONG_NUMBER, Outcome.WRONG_NUMBER), WRONG_NUMBER),
        # A wrong number on one line says nothing about the others.
        ((Outcome.WRONG_NUMBER, Outcome.ENGAGED, Outcome.ENGAGED), ALWAYS_ENGAGED),
        ((Outcome.WRONG_NUMBER, Outcome.NO_ANSWER, Outcome.ENGAGED), NO_ANSWER),
        ((Outcome.WRONG_NUMBER, Outcome.ANSWERPHONE, Outcome.WRONG_NUMBER), ANSWERPHONE_UNCONFIRMED),
    ],
)
def test_at_the_attempt_limit(outcomes: tuple[Outcome, ...], expected: object) -> None:
    attempts = calls(*outcomes)
    assert final_disposition(attempts, max_attempts=3) == expected
    # One attempt fewer than the limit: still open, showing the latest attempt.
    assert final_disposition(attempts, max_attempts=4) == TEMPORARY_DISPOSITIONS[outcomes[-1]]


def test_a_wrong_number_is_unknown_eligibility_not_ineligible() -> None:
    closed = final_disposition(calls(Outcome.WRONG_NUMBER), max_attempts=1)
    assert closed.category is Category.UO
    assert closed.code.startswith("3.")


def test_more_attempts_than_the_limit_still_close() -> None:
    attempts = calls(*[Outcome.NO_ANSWER] * 6)
    assert final_disposition(attempts, max_attempts=4) == NO_ANSWER


# --- final_disposition: closed for a reason -----------------------------------------------------------


def test_an_exclusion_closes_as_not_eligible_regardless() -> None:
    assert final_disposition([], max_attempts=5, closed_reason=ClosedReason.EXCLUDED) == SCREENED_OUT
    attempts = calls(Outcome.NO_ANSWER, Outcome.COMPLETED)
    assert final_disposition(attempts, max_attempts=5, closed_reason=ClosedReason.EXCLUDED) == SCREENED_OUT


def test_quota_filled_closes_an_open_case_but_keeps_a_final_outcome() -> None:
    reason = ClosedReason.QUOTA_FILLED
    assert final_disposition(calls(Outcome.NO_ANSWER), max_attempts=5, closed_reason=reason) == QUOTA_FILLED
    assert final_disposition([], max_attempts=5, closed_reason=reason) == QUOTA_FILLED
    assert final_disposition(calls(Outcome.COMPLETED), max_attempts=5, closed_reason=reason) == COMPLETE


def test_fieldwork_ended_closes_as_if_at_the_limit() -> None:
    reason = ClosedReason.FIELDWORK_ENDED
    assert final_disposition([], max_attempts=5, closed_reason=reason) == NOT_ATTEMPTED
    reached = calls(Outcome.NOT_AVAILABLE)
    assert final_disposition(reached, max_attempts=5, closed_reason=reason) == NEVER_AVAILABLE
    unreached = calls(Outcome.ENGAGED)
    assert final_disposition(unreached, max_attempts=5, closed_reason=reason) == ALWAYS_ENGAGED
    refused = calls(Outcome.REFUSAL)
    assert final_disposition(refused, max_attempts=5, closed_reason=reason) == REFUSAL


# --- final_disposition: properties ----------------------------------------------------------------------

outcome_lists = st.lists(st.sampled_from(list(Outcome)), max_size=8)


@given(outcome_lists, st.integers(1, 10), st.sampled_from([None, *ClosedReason]), st.randoms())
def test_final_disposition_properties(
    outcomes: list[Outcome], max_attempts: int, reason: ClosedReason | None, rnd: random.Random
) -> None:
    attempts = calls(*outcomes)
    result = final_disposition(attempts, max_attempts=max_attempts, closed_reason=reason)
    shuffled = attempts[:]
    rnd.shuffle(shuffled)
    assert final_disposition(shuffled, max_attempts=max_attempts, closed_reason=reason) == result
    has_final = any(
        o in {Outcome.COMPLETED, Outcome.REFUSAL, Outcome.BREAK_OFF, Outcome.INELIGIBLE} for o in outcomes
    )
    assert result.is_final == (reason is not None or has_final or len(outcomes) >= max_attempts)
    if result.is_final:
        assert result in FINAL_DISPOSITIONS
    reached = any(o in {Outcome.NOT_AVAILABLE, Outcome.UNSAFE_TO_TALK, Outcome.APPOINTMENT} for o in outcomes)
    if result.is_final and not has_final and reason is not ClosedReason.EXCLUDED:
        if reason is ClosedReason.QUOTA_FILLED:
            assert result.category is Category.NE
        elif reached:
            assert result.category is Category.NC
        else:
            assert result.category in {Category.UH, Category.UO}


# --- counting ------------------------------------------------------------------------------------------


def test_counts_from_dispositions() -> None:
    cases = [
        final_disposition(calls(Outcome.COMPLETED), max_attempts=5),
        final_disposition(calls(Outcome.NO_ANSWER, Outcome.COMPLETED), max_attempts=5),
        final_disposition(calls(Outcome.BREAK_OFF, partial_last=True), max_attempts=5),
        final_disposition(calls(Outcome.REFUSAL), max_attempts=5),
        final_disposition(calls(Outcome.BREAK_OFF), max_attempts=5),
        final_disposition(calls(Outcome.NOT_AVAILABLE, Outcome.NO_ANSWER), max_attempts=2),
        final_disposition(calls(Outcome.NO_ANSWER, Outcome.NO_ANSWER), max_attempts=2),
        final_disposition(calls(Outcome.WRONG_NUMBER), max_attempts=1),
        final_disposition([], max_attempts=5, closed_reason=ClosedReason.EXCLUDED),
        final_disposition(calls(Outcome.INELIGIBLE), max_attempts=5),
    ]
    assert counts_from_dispositions(cases) == Counts(
        complete=2,
        partial=1,
        refusal=2,
        non_contact=1,
        unknown_household=1,
        unknown_other=1,
        not_eligible=2,
    )
    assert counts_from_dispositions([]) == Counts()


def test_an_open_case_cannot_be_counted() -> None:
    open_case = final_disposition(calls(Outcome.NO_ANSWER), max_attempts=5)
    with pytest.raises(ValueError, match="still open"):
        counts_from_dispositions([COMPLETE, open_case])


def test_counts_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="refusal"):
        Counts(refusal=-1)


def test_count_totals() -> None:
    counts = Counts(1, 2, 3, 4, 5, 6, 7, 8)
    assert counts.eligible == 15
    assert counts.unknown == 13
    assert counts.total == 36


# --- rates -----------------------------------------------------------------------------------------------

WORKED = Counts(
    complete=50,
    partial=10,
    refusal=20,
    non_contact=15,
    other=5,
    unknown_household=30,
    unknown_other=10,
    not_eligible=20,
)


def test_rates_worked_example() -> None:
    # By hand, with I=50 P=10 R=20 NC=15 O=5 UH=30 UO=10 NE=20:
    #   D = I+P+R+NC+O = 100;  UH+UO = 40;  D+UH+UO = 140
    #   e = D/(D+NE) = 100/120 = 5/6;  D + e(UH+UO) = 100 + 40*5/6 = 133.33...
    #   RR1 = 50/140 = 0.357143   RR2 = 60/140 = 0.428571
    #   RR3 = 50/133.33 = 0.375    RR4 = 60/133.33 = 0.45
    #   RR5 = 50/100 = 0.5         RR6 = 60/100 = 0.6
    #   I+P+R+O = 85, I+P+R = 80:
    #   COOP1 = 50/85 = 0.588235  COOP2 = 60/85 = 0.705882  COOP3 = 50/80 = 0.625  COOP4 = 60/80 = 0.75
    #   REF1 = 20/140 = 0.142857  REF2 = 20/133.33 = 0.15   REF3 = 20/100 = 0.2
    #   CON1 = 85/140 = 0.607143  CON2 = 85/133.33 = 0.6375 CON3 = 85/100 = 0.85
    r = rates(WORKED)
    assert r.e == pytest.approx(5 / 6)
    expected = {
        "rr1": 50 / 140,
        "rr2": 60 / 140,
        "rr3": 0.375,
        "rr4": 0.45,
        "rr5": 0.5,
        "rr6": 0.6,
        "coop1": 50 / 85,
        "coop2": 60 / 85,
        "coop3": 0.625,
        "coop4": 0.75,
        "ref1": 20 / 140,
        "ref2": 0.15,
        "ref3": 0.2,
        "con1": 85 / 140,
        "con2": 0.6375,
        "con3": 0.85,
    }
    for name, value in expected.items():
        assert getattr(r, name) == pytest.approx(value), name


def test_rates_with_an_explicit_e() -> None:
    # e = 0.5: D + e(UH+UO) = 100 + 20 = 120.
    r = rates(WORKED, e=0.5)
    assert r.e == 0.5
    assert r.rr3 == pytest.approx(50 / 120)
    assert r.rr4 == pytest.approx(0.5)
    assert r.ref2 == pytest.approx(20 / 120)
    assert r.con2 == pytest.approx(85 / 120)
    # Rates that do not use e are unchanged.
    assert r.rr1 == rates(WORKED).rr1
    assert r.rr5 == 0.5


def test_e_of_one_and_zero_give_the_bounding_rates() -> None:
    r1, r0 = rates(WORKED, e=1.0), rates(WORKED, e=0.0)
    assert r1.rr3 == r1.rr1 and r1.rr4 == r1.rr2 and r1.ref2 == r1.ref1 and r1.con2 == r1.con1
    assert r0.rr3 == r0.rr5 and r0.rr4 == r0.rr6 and r0.ref2 == r0.ref3 and r0.con2 == r0.con3


def test_e_must_be_a_proportion() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        rates(WORKED, e=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        rates(WORKED, e=-0.1)


def test_default_e() -> None:
    assert default_e(WORKED) == pytest.approx(100 / 120)
    assert default_e(Counts(complete=3)) == 1.0
    assert default_e(Counts(not_eligible=3)) == 0.0
    assert default_e(Counts(unknown_household=3)) is None


def test_all_interviews_and_non_contacts() -> None:
    # As the R package responserates documents: 100 interviews, 20 non-contacts.
    r = rates(Counts(complete=100, non_contact=20))
    for name in ("rr1", "rr2", "rr3", "rr4", "rr5", "rr6", "con1", "con2", "con3"):
        assert getattr(r, name) == pytest.approx(100 / 120), name
    assert (r.coop1, r.coop2, r.coop3, r.coop4) == (1.0, 1.0, 1.0, 1.0)
    assert (r.ref1, r.ref2, r.ref3) == (0.0, 0.0, 0.0)


def test_zero_denominators_give_none_not_an_error() -> None:
    r = rates(Counts())
    assert all(getattr(r, name) is None for name in r.__dataclass_fields__)


def test_only_unknown_cases() -> None:
    # No case of known eligibility: e cannot be estimated, so the rates that need it are None,
    # while RR1 (which treats every unknown case as eligible) is 0.
    r = rates(Counts(unknown_household=5, unknown_other=1))
    assert r.e is None
    assert r.rr1 == 0.0 and r.ref1 == 0.0 and r.con1 == 0.0
    assert r.rr3 is None and r.rr4 is None and r.ref2 is None and r.con2 is None
    assert r.rr5 is None and r.coop1 is None and r.ref3 is None and r.con3 is None
    # Given an e, they exist.
    assert rates(Counts(unknown_household=5), e=0.5).rr3 == 0.0


def test_only_not_eligible_cases() -> None:
    r = rates(Counts(not_eligible=4))
    assert r.e == 0.0
    assert all(getattr(r, name) is None for name in r.__dataclass_fields__ if name != "e")


def test_without_unknown_cases_e_changes_nothing() -> None:
    # With UH+UO = 0 the e term vanishes: RR1 = RR3 = RR5 whatever e is.
    for e in (None, 0.0, 0.3, 1.0):
        r = rates(Counts(complete=2, refusal=2, not_eligible=1), e)
        assert r.rr3 == r.rr1 == r.rr5 == 0.5


def test_no_cooperation_denominator() -> None:
    # Only non-contacts: no one to cooperate or refuse, so the cooperation rates are None.
    r = rates(Counts(non_contact=7))
    assert (r.coop1, r.coop2, r.coop3, r.coop4) == (None, None, None, None)
    assert r.rr1 == 0.0 and r.con3 == 0.0


def test_other_counts_in_coop1_not_coop3() -> None:
    r = rates(Counts(complete=6, refusal=2, other=2))
    assert r.coop1 == pytest.approx(0.6)
    assert r.coop3 == pytest.approx(0.75)


counts_strategy = st.builds(
    Counts,
    complete=st.integers(0, 500),
    partial=st.integers(0, 500),
    refusal=st.integers(0, 500),
    non_contact=st.integers(0, 500),
    other=st.integers(0, 500),
    unknown_household=st.integers(0, 500),
    unknown_other=st.integers(0, 500),
    not_eligible=st.integers(0, 500),
)


def _le(a: float | None, b: float | None) -> bool:
    return a is None or b is None or a <= b


@given(counts_strategy, st.none() | st.floats(0.0, 1.0))
def test_rate_properties(counts: Counts, e: float | None) -> None:
    r = rates(counts, e)
    values = {name: getattr(r, name) for name in r.__dataclass_fields__}
    for name, value in values.items():
        assert value is None or 0.0 <= value <= 1.0, name
    # More generous definitions give higher rates.
    assert _le(r.rr1, r.rr3) and _le(r.rr3, r.rr5)
    assert _le(r.rr2, r.rr4) and _le(r.rr4, r.rr6)
    for low, high in (("rr1", "rr2"), ("rr3", "rr4"), ("rr5", "rr6")):
        assert _le(values[low], values[high])
    assert _le(r.coop1, r.coop2) and _le(r.coop3, r.coop4)
    assert _le(r.coop1, r.coop3) and _le(r.coop2, r.coop4)
    assert _le(r.ref1, r.ref2) and _le(r.ref2, r.ref3)
    assert _le(r.con1, r.con2) and _le(r.con2, r.con3)
    # Responding or refusing implies contact.
    assert _le(r.rr2, r.con1) and _le(r.ref1, r.con1)
    # Defined exactly when their denominators are positive.
    assert (r.rr1 is None) == (counts.eligible + counts.unknown == 0)
    assert (r.rr5 is None) == (counts.eligible == 0)
    assert (r.coop1 is None) == (counts.complete + counts.partial + counts.refusal + counts.other == 0)
