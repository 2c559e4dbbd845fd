"""The narrative per measure: written from hand-made figures, never claiming more than they support."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.narrative import NUMBER_WORDS, Figure, narrate, one_decimal, positive_phrase
from app.domain.statistics import Direction, compare

LABELS = ["Oct to Dec 19", "Jan to Mar 20", "Apr to Jun 20", "Jul to Sep 20", "Oct to Dec 20"]


def series(*counts: tuple[int, int]) -> list[Figure]:
    """Figures for consecutive quarters from (positive, surveys) pairs."""
    return [Figure(LABELS[i], surveys=n, positive=x) for i, (x, n) in enumerate(counts)]


def test_the_published_example_style() -> None:
    # 80.0, 85.0, 88.0, 91.0, then 95.0: the highest of five, and the second quarter in a row over 90%.
    text = narrate("Overall satisfaction", series((80, 100), (85, 100), (88, 100), (91, 100), (95, 100)))
    assert text.startswith(
        "Overall satisfaction – 95.0% of victims were satisfied with the service received in the most"
        " recent quarter (Oct to Dec 20: 95 of 100 surveys; 95% confidence interval"
    )
    assert "the highest rate in the last five quarters and the second consecutive quarter over 90%." in text
    # 95/100 against 91/100: Newcombe's interval includes 0, so the text may not call it a rise.
    assert compare(95, 100, 91, 100).direction is Direction.IN_LINE
    assert "in line with the previous quarter (91.0% in Jul to Sep 20)" in text
    assert "rise" not in text


def test_design_md_check_is_in_line_not_up() -> None:
    # DESIGN.md: 110/119 (92.4%) against 95/110 (86.4%): +6.1 points, Newcombe -2.0 to +14.5.
    text = narrate(
        "Overall satisfaction", [Figure("Apr to Jun 20", 110, 95), Figure("Jul to Sep 20", 119, 110)]
    )
    assert "92.4% of victims" in text
    assert "95% confidence interval 86.2% to 96.0%" in text
    assert (
        "This is in line with the previous quarter (86.4% in Apr to Jun 20): the change of +6.1 points is not"
        " statistically significant (95% interval for the change -2.0 to +14.5 points)." in text
    )
    assert "highest" not in text  # two quarters are not enough to rank


def test_significant_rise_and_fall() -> None:
    rise = narrate("Satisfied with first contact", series((50, 100), (90, 100)))
    assert (
        "This is a statistically significant rise of 40.0 points from 50.0% in the previous quarter" in rise
    )
    fall = narrate("Satisfied with first contact", series((90, 100), (50, 100)))
    assert "This is a statistically significant fall of 40.0 points from 90.0%" in fall


def test_highest_only_when_strictly_highest_as_published() -> None:
    # 92.43% and 92.44% both print as 92.4%: the text must not call one higher than the other.
    tied = [Figure("a", 10000, 9243), Figure("b", 10000, 9000), Figure("c", 10000, 9244)]
    assert one_decimal(tied[0].pct) == one_decimal(tied[2].pct)
    assert "highest" not in narrate("Overall satisfaction", tied)
    lowest = narrate("Overall satisfaction", series((90, 100), (85, 100), (70, 100)))
    assert "the lowest rate in the last three quarters" in lowest


def test_a_quarter_without_surveys_breaks_the_run() -> None:
    figures = series((99, 100), (0, 0), (80, 100), (85, 100), (88, 100))
    text = narrate("Overall satisfaction", figures)
    assert "the highest rate in the last three quarters" in text  # not five: one had no figure


def test_no_surveys_in_the_latest_quarter_is_unavailable_not_zero() -> None:
    text = narrate("Overall satisfaction", series((110, 119), (0, 0)))
    assert "no surveys were completed in the most recent quarter (Jan to Mar 20)" in text
    assert "(u/a)" in text
    assert "0.0%" not in text
    assert "The most recent figure is 92.4% in Oct to Dec 19 (110 of 119 surveys)." in text


def test_no_comparison_with_a_quarter_without_surveys() -> None:
    text = narrate("Overall satisfaction", [Figure("Jul to Sep 20", 13, 12)], Figure("Apr to Jun 20", 0, 0))
    assert "There is no comparison with the previous quarter (Apr to Jun 20), which had no surveys." in text


def test_the_previous_period_is_used_for_a_single_column() -> None:
    text = narrate(
        "Overall satisfaction", [Figure("Jul to Sep 20", 119, 110)], Figure("Apr to Jun 20", 110, 95)
    )
    assert "in line with the previous quarter (86.4% in Apr to Jun 20)" in text
    alone = narrate("Overall satisfaction", [Figure("Jul to Sep 20", 119, 110)])
    assert "previous" not in alone


def test_small_samples_are_called_out() -> None:
    # 12 of 13: 92.3% (66.7 to 98.6), above a threshold of 10 but not of 20.
    text = narrate("Overall satisfaction", [Figure("Jul to Sep 20", 13, 12)], small_cell=20)
    assert "95% confidence interval 66.7% to 98.6%" in text
    assert "With only 13 surveys this figure is below the threshold of 20 for publication" in text
    assert "below the threshold" not in narrate("Overall satisfaction", [Figure("Jul to Sep 20", 13, 12)])


def test_neutral_dont_know_and_not_recorded_answers_are_reported() -> None:
    # 119 surveys: 110 positive, 4 neutral, 1 don't know, 2 not recorded (and 2 negative).
    figure = Figure("Jul to Sep 20", 119, 110, neutral=4, dont_know_refused=1, not_recorded=2)
    text = narrate("Overall satisfaction", [figure], neutral_label="Neither satisfied nor dissatisfied")
    # 4/119 = 3.4%; excluding them 110/115 = 95.7%.
    assert (
        "A further 4 victims (3.4%) answered 'Neither satisfied nor dissatisfied'; excluding them, the"
        " figure is 95.7%." in text
    )
    assert "In 1 survey the victim did not know or declined to answer" in text
    # 2/119 = 1.7%.
    assert "No answer was recorded for 2 of the 119 surveys (1.7%)" in text


def test_nineteen_percent_with_gaps_says_why() -> None:
    # DESIGN.md: a hate crime figure fell to 19.3% because 120 surveys had no result recorded.
    figure = Figure("Jan to Mar 21", 150, 29, not_recorded=120)
    text = narrate("Satisfied with the whole experience", [figure])
    assert "19.3% of victims were satisfied with the whole experience" in text
    assert "No answer was recorded for 120 of the 150 surveys (80.0%)" in text


def test_one_decimal_rounds_halves_up() -> None:
    assert one_decimal(100 * 45 / 80) == 56.3  # 56.25: round() would give 56.2
    assert one_decimal(-2.05) == -2.1
    assert one_decimal(100 * 110 / 119) == 92.4
    assert one_decimal(None) is None


@pytest.mark.parametrize(
    ("label", "phrase"),
    [
        ("Overall satisfaction", "were satisfied with the service received"),
        ("Satisfied with first contact", "were satisfied with first contact"),
        ("Supported a police prosecution", "supported a police prosecution"),
        ("Ease of contact", "gave a positive answer (ease of contact)"),
    ],
)
def test_positive_phrase(label: str, phrase: str) -> None:
    assert positive_phrase(label) == phrase


def test_needs_a_period() -> None:
    with pytest.raises(ValueError):
        narrate("Overall satisfaction", [])


counts = st.integers(min_value=0, max_value=200).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@given(st.lists(counts, min_size=1, max_size=6))
def test_never_claims_what_the_figures_do_not_support(pairs: list[tuple[int, int]]) -> None:
    figures = [Figure(f"Q{i}", surveys=n, positive=x) for i, (x, n) in enumerate(pairs)]
    text = narrate("Overall satisfaction", figures)
    latest = figures[-1]
    if latest.surveys == 0:
        assert "(u/a)" in text
        return
    if len(figures) > 1:
        before = figures[-2]
        direction = compare(latest.positive, latest.surveys, before.positive, before.surveys, 10).direction
        assert ("statistically significant rise" in text) == (direction is Direction.RISE)
        assert ("too few surveys to compare" in text) == (direction is Direction.TOO_FEW)
        if latest.surveys < 10 or before.surveys < 10:  # a small base is never called a rise or fall
            assert direction in (Direction.TOO_FEW, Direction.UNAVAILABLE)
        assert ("statistically significant fall" in text) == (direction is Direction.FALL)
        assert ("in line with the previous" in text) == (direction is Direction.IN_LINE)
    ranked = re.search(r"the (highest|lowest) rate in the last (\w+) quarters", text)
    if ranked:
        window = figures[-NUMBER_WORDS.index(ranked.group(2)) :]
        assert len(window) >= 3 and all(f.surveys for f in window)
        value = latest.published
        assert value is not None
        for other in window[:-1]:
            assert other.published is not None
            assert value > other.published if ranked.group(1) == "highest" else value < other.published


def test_no_rise_or_fall_on_a_small_base() -> None:
    # 10 of 11 against 0 of 1: Newcombe's interval excludes zero, but one survey is no base.
    assert compare(10, 11, 0, 1).direction is Direction.RISE
    assert compare(10, 11, 0, 1, min_base=10).direction is Direction.TOO_FEW
    text = narrate("Overall satisfaction", [Figure("Apr to Jun 25", 1, 0), Figure("Jul to Sep 25", 11, 10)])
    assert "rise" not in text
    assert (
        "There are too few surveys to compare with the previous quarter (Apr to Jun 25: 1 survey); a change"
        " is tested only when both periods have at least 10."
    ) in text


def test_a_part_period_names_what_it_compares_with() -> None:
    latest = Figure("1 Oct 26 to date", 40, 30, partial=True, to_date=True)
    before = Figure("4 Aug to 30 Sep 26", 40, 36)
    text = narrate("Overall satisfaction", [Figure("Jul to Sep 26", 60, 50), latest], comparison=before)
    assert "were satisfied with the service received in the quarter so far (1 Oct 26 to date: 30 of" in text
    assert "in line with the same length of time before (90.0% in 4 Aug to 30 Sep 26)" in text
    assert "highest" not in text and "lowest" not in text and "consecutive" not in text
    empty = narrate("Overall satisfaction", [Figure("1 Oct 26 to date", 0, 0, partial=True, to_date=True)])
    assert "no surveys have been completed yet in the quarter so far (1 Oct 26 to date)" in empty
