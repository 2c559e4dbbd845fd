"""Eligibility screening: automatic exclusions, caller checks, the fieldwork window and the age rule."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.eligibility import (
    AGE_CHECK_QUESTION,
    Availability,
    SampleFields,
    age_on,
    birthday_at_age,
    offer_window,
    screen,
)
from app.domain.questionnaire import (
    EligibilityRule,
    ExclusionReason,
    Fieldwork,
    Questionnaire,
    load_questionnaire,
)

EXAMPLE = Path(__file__).parent / "data" / "example.yaml"
R = ExclusionReason


def survey(
    rules: list[EligibilityRule] | None = None, from_days: int = 42, to_days: int = 84
) -> Questionnaire:
    """The example questionnaire with the given rules and window."""
    base = load_questionnaire(EXAMPLE)
    return base.model_copy(
        update={
            "eligibility": rules if rules is not None else [],
            "fieldwork": Fieldwork(from_days_after_report=from_days, to_days_after_report=to_days),
        }
    )


ALL_AUTOMATIC = [EligibilityRule(reason=reason, automatic=True) for reason in ExclusionReason]
REPORTED = date(2026, 1, 5)
FIRST, LAST = REPORTED + timedelta(days=42), REPORTED + timedelta(days=84)  # 16/02/2026, 30/03/2026


def test_offer_window_counts_days_after_the_report() -> None:
    assert offer_window(survey(from_days=42, to_days=84), REPORTED) == (date(2026, 2, 16), date(2026, 3, 30))
    assert offer_window(survey(from_days=0, to_days=0), REPORTED) == (REPORTED, REPORTED)


@pytest.mark.parametrize(
    ("on", "availability"),
    [
        (FIRST - timedelta(days=1), Availability.WAITING),
        (FIRST, Availability.OPEN),
        (LAST, Availability.OPEN),
        (LAST + timedelta(days=1), Availability.OVER),
    ],
)
def test_a_case_is_offered_only_inside_its_window(on: date, availability: Availability) -> None:
    result = screen(
        survey(ALL_AUTOMATIC), SampleFields(report_date=REPORTED, date_of_birth=date(1980, 1, 1)), on
    )
    assert result.availability is availability
    assert result.window == (FIRST, LAST)
    assert result.available_from == FIRST
    assert not result.excluded


@pytest.mark.parametrize("reason", [R.OPTED_OUT, R.VULNERABLE, R.NFA_REQUESTED, R.NOT_COOPERATING])
def test_each_flag_excludes_only_where_the_survey_makes_it_automatic(reason: ExclusionReason) -> None:
    fields = SampleFields(report_date=REPORTED, date_of_birth=date(1980, 1, 1), **{reason.value: True})
    excluded = screen(survey(ALL_AUTOMATIC), fields, FIRST)
    assert excluded.availability is Availability.EXCLUDED
    assert excluded.exclusion_reason is reason
    assert [d.reason for d in excluded.exclusions] == [reason]
    assert all(d.decided_by == "automatic" for d in excluded.decisions)
    assert excluded.available_from is None

    confirm_only = [EligibilityRule(reason=reason, confirm="Do the case notes say so?")]
    kept = screen(survey(confirm_only), fields, FIRST)
    assert kept.availability is Availability.OPEN
    assert kept.decisions == ()
    assert [(c.reason, c.question) for c in kept.caller_checks] == [(reason, "Do the case notes say so?")]

    assert screen(survey([]), fields, FIRST).availability is Availability.OPEN


def test_every_automatic_rule_gives_a_decision_in_rule_order() -> None:
    fields = SampleFields(
        report_date=REPORTED, date_of_birth=date(1980, 1, 1), vulnerable=True, not_cooperating=True
    )
    result = screen(survey(ALL_AUTOMATIC), fields, FIRST)
    assert [(d.reason, d.excluded) for d in result.decisions] == [
        (R.OPTED_OUT, False),
        (R.UNDER_16, False),
        (R.VULNERABLE, True),
        (R.NFA_REQUESTED, False),
        (R.NOT_COOPERATING, True),
    ]
    assert result.exclusion_reason is R.VULNERABLE  # the first in the survey's order closes the case
    assert result.caller_checks == ()


def test_caller_checks_follow_the_confirm_prompts() -> None:
    rules = [
        EligibilityRule(reason=R.OPTED_OUT, automatic=True),
        EligibilityRule(reason=R.VULNERABLE, automatic=True, confirm="Vulnerable per the notes?"),
        EligibilityRule(reason=R.NOT_COOPERATING, confirm="Withdrew the statement?"),
    ]
    result = screen(survey(rules), SampleFields(report_date=REPORTED, date_of_birth=date(1980, 1, 1)), FIRST)
    assert [(c.reason, c.question, c.excludes(True)) for c in result.caller_checks] == [
        (R.VULNERABLE, "Vulnerable per the notes?", True),
        (R.NOT_COOPERATING, "Withdrew the statement?", True),
    ]


def test_unknown_date_of_birth_becomes_a_caller_check() -> None:
    fields = SampleFields(report_date=REPORTED, date_of_birth=None)
    result = screen(survey(ALL_AUTOMATIC), fields, FIRST)
    assert R.UNDER_16 not in {d.reason for d in result.decisions}
    (check,) = result.caller_checks
    assert (check.reason, check.question) == (R.UNDER_16, AGE_CHECK_QUESTION)
    assert check.excludes(answered_yes=False) and not check.excludes(answered_yes=True)
    assert result.availability is Availability.OPEN
    # Where the age rule is not automatic, there is nothing to ask.
    assert screen(survey([]), fields, FIRST).caller_checks == ()


def test_under_16_on_the_last_day_is_excluded_at_once_with_an_explanation() -> None:
    born = LAST.replace(year=LAST.year - 16) + timedelta(days=1)  # 16 the day after the window closes
    result = screen(survey(ALL_AUTOMATIC), SampleFields(report_date=REPORTED, date_of_birth=born), REPORTED)
    assert result.availability is Availability.EXCLUDED
    (decision,) = result.exclusions
    assert decision.reason is R.UNDER_16
    assert decision.explanation == "Under 16 on 30/03/2026, the last day of fieldwork (born 31/03/2010)"
    assert "2010" not in decision.note  # the stored note carries no date of birth


def test_turning_16_inside_the_window_waits_for_the_birthday() -> None:
    born = date(2010, 3, 1)  # 16 on 01/03/2026, inside 16/02/2026 - 30/03/2026
    fields = SampleFields(report_date=REPORTED, date_of_birth=born)
    rules = survey(ALL_AUTOMATIC)
    before = screen(rules, fields, FIRST)
    assert before.availability is Availability.WAITING
    assert before.available_from == date(2026, 3, 1)
    assert not before.excluded
    assert before.decisions[1].explanation.startswith("Turns 16 on 01/03/2026")
    on_birthday = screen(rules, fields, date(2026, 3, 1))
    assert on_birthday.availability is Availability.OPEN
    assert on_birthday.decisions[1].explanation == "Aged 16 on 01/03/2026 (born 01/03/2010)"


def test_sixteenth_birthday_on_the_last_day_is_eligible() -> None:
    born = LAST.replace(year=LAST.year - 16)
    result = screen(survey(ALL_AUTOMATIC), SampleFields(report_date=REPORTED, date_of_birth=born), FIRST)
    assert result.availability is Availability.WAITING
    assert result.available_from == LAST


def test_age_rule_only_where_automatic() -> None:
    fields = SampleFields(report_date=REPORTED, date_of_birth=REPORTED - timedelta(days=365 * 10))
    assert screen(survey([]), fields, FIRST).availability is Availability.OPEN


def test_window_over_wins_over_an_exclusion() -> None:
    fields = SampleFields(report_date=REPORTED, date_of_birth=date(1980, 1, 1), opted_out=True)
    result = screen(survey(ALL_AUTOMATIC), fields, LAST + timedelta(days=1))
    assert result.availability is Availability.OVER
    assert result.excluded


# ---------------------------------------------------------------- the age rule, around birthdays


def test_29_february_turns_16_on_1_march_in_a_common_year() -> None:
    born = date(2084, 2, 29)
    assert birthday_at_age(born, 16) == date(2100, 3, 1)  # 2100 is not a leap year
    assert age_on(born, date(2100, 2, 28)) == 15
    assert age_on(born, date(2100, 3, 1)) == 16
    assert birthday_at_age(date(2008, 2, 29), 16) == date(2024, 2, 29)
    assert age_on(date(2008, 2, 29), date(2025, 2, 28)) == 16
    assert age_on(date(2008, 2, 29), date(2025, 3, 1)) == 17


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


births = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


@given(born=births, age=st.integers(min_value=1, max_value=110))
def test_age_changes_exactly_on_the_birthday(born: date, age: int) -> None:
    birthday = birthday_at_age(born, age)
    assert age_on(born, birthday) == age
    assert age_on(born, birthday - timedelta(days=1)) == age - 1


@given(
    born=births,
    offset=st.integers(min_value=0, max_value=40_000),
    step=st.integers(min_value=0, max_value=800),
)
def test_age_never_goes_down(born: date, offset: int, step: int) -> None:
    day = born + timedelta(days=offset)
    assert age_on(born, day) <= age_on(born, day + timedelta(days=step))


@given(
    born=births,
    shift=st.integers(min_value=-200, max_value=50),
    day=st.integers(min_value=0, max_value=120),
)
def test_screening_around_the_16th_birthday(born: date, shift: int, day: int) -> None:
    """On the day of the call: 16 or over is eligible, the day before is not; the window decides the rest."""
    sixteenth = birthday_at_age(born, 16)
    reported = sixteenth + timedelta(days=shift)
    questionnaire = survey(ALL_AUTOMATIC, from_days=0, to_days=120)
    on = reported + timedelta(days=day)
    result = screen(questionnaire, SampleFields(report_date=reported, date_of_birth=born), on)
    first, last = offer_window(questionnaire, reported)
    if sixteenth > last:
        assert result.availability is Availability.EXCLUDED
        assert result.exclusion_reason is R.UNDER_16
    elif age_on(born, on) >= 16:
        assert result.availability is Availability.OPEN
        assert result.available_from == max(first, sixteenth)
    else:
        assert result.availability is Availability.WAITING
        assert result.available_from == sixteenth
