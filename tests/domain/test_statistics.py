"""Quarterly figures: percentages, Wilson and Newcombe intervals, changes, financial quarters and months."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.statistics import (
    Change,
    Direction,
    FinancialQuarter,
    Month,
    compare,
    financial_quarter,
    months_between,
    newcombe_difference,
    percentage,
    quarters_between,
    wilson_interval,
)


def rounded(interval: tuple[float, float] | None, places: int = 3) -> tuple[float, float]:
    assert interval is not None
    return round(interval[0], places), round(interval[1], places)


# --- percentage ------------------------------------------------------------------------------------------


def test_percentage_is_unrounded() -> None:
    # DESIGN.md: domestic abuse, Jul to Sep 2020, 110 of 119 satisfied overall = 92.4%.
    assert percentage(110, 119) == pytest.approx(92.43697, abs=1e-5)
    assert round(percentage(110, 119) or 0, 1) == 92.4
    assert percentage(0, 5) == 0.0
    assert percentage(5, 5) == 100.0


def test_percentage_of_no_surveys_is_unavailable_not_zero() -> None:
    assert percentage(0, 0) is None


@pytest.mark.parametrize(("x", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_percentage_rejects_impossible_counts(x: int, n: int) -> None:
    with pytest.raises(ValueError):
        percentage(x, n)


# --- Wilson ----------------------------------------------------------------------------------------------


def test_wilson_design_checks() -> None:
    # DESIGN.md: 110 of 119 gives 92.4% (86.2 to 96.0); 12 of 13 gives 92.3% (66.7 to 98.6).
    assert rounded(wilson_interval(110, 119)) == (0.862, 0.960)
    assert rounded(wilson_interval(12, 13)) == (0.667, 0.986)


def test_wilson_published_values() -> None:
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", method 3.
    assert rounded(wilson_interval(81, 263), 4) == (0.2553, 0.3662)
    assert rounded(wilson_interval(15, 148), 4) == (0.0624, 0.1605)
    assert rounded(wilson_interval(0, 20), 4) == (0.0, 0.1611)
    assert rounded(wilson_interval(1, 29), 4) == (0.0061, 0.1718)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) is None
    lower, upper = wilson_interval(0, 13) or (None, None)
    assert lower == 0.0 and upper is not None and 0 < upper < 1
    lower, upper = wilson_interval(13, 13) or (None, None)
    assert upper == 1.0 and lower is not None and 0 < lower < 1
    assert wilson_interval(1, 1) == pytest.approx((0.2065, 1.0), abs=1e-4)


def test_wilson_other_confidence_levels() -> None:
    narrow = wilson_interval(50, 100, z=1.0)
    wide = wilson_interval(50, 100)
    assert narrow is not None and wide is not None
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    assert wilson_interval(50, 100, z=0.0) == (0.5, 0.5)


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        wilson_interval(14, 13)
    with pytest.raises(ValueError):
        wilson_interval(-1, 13)


sizes = st.integers(1, 5000)


@st.composite
def proportions(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(sizes)
    return draw(st.integers(0, n)), n


@given(proportions())
def test_wilson_contains_p_and_stays_in_0_1(xn: tuple[int, int]) -> None:
    x, n = xn
    lower, upper = wilson_interval(x, n) or (None, None)
    assert lower is not None and upper is not None
    assert 0.0 <= lower <= x / n <= upper <= 1.0
    assert lower < upper


@given(proportions(), st.integers(2, 20))
def test_wilson_narrows_as_n_grows(xn: tuple[int, int], factor: int) -> None:
    x, n = xn
    small = wilson_interval(x, n)
    large = wilson_interval(x * factor, n * factor)
    assert small is not None and large is not None
    assert large[1] - large[0] < small[1] - small[0]


@given(proportions())
def test_wilson_is_symmetric_in_successes_and_failures(xn: tuple[int, int]) -> None:
    x, n = xn
    lower, upper = wilson_interval(x, n) or (0.0, 0.0)
    mirror_lower, mirror_upper = wilson_interval(n - x, n) or (0.0, 0.0)
    assert lower == pytest.approx(1 - mirror_upper, abs=1e-12)
    assert upper == pytest.approx(1 - mirror_lower, abs=1e-12)


# --- Newcombe ---------------------------------------------------------------------------------------------


def test_newcombe_design_check() -> None:
    # DESIGN.md: 110/119 against 95/110 is a rise of 6.1 points, interval -2.0 to +14.5.
    difference = 110 / 119 - 95 / 110
    assert round(difference, 3) == 0.061
    assert rounded(newcombe_difference(110, 119, 95, 110)) == (-0.020, 0.145)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe (1998), "Interval estimation for the difference between independent proportions",
        # Table II, method 10.
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0)),
    ],
)
def test_newcombe_published_values(counts: tuple[int, int, int, int], expected: tuple[float, float]) -> None:
    assert rounded(newcombe_difference(*counts), 4) == expected


def test_newcombe_needs_both_samples() -> None:
    assert newcombe_difference(0, 0, 5, 10) is None
    assert newcombe_difference(5, 10, 0, 0) is None


@given(proportions(), proportions())
def test_newcombe_contains_the_difference(first: tuple[int, int], second: tuple[int, int]) -> None:
    (x1, n1), (x2, n2) = first, second
    lower, upper = newcombe_difference(x1, n1, x2, n2) or (None, None)
    assert lower is not None and upper is not None
    assert -1.0 <= lower <= x1 / n1 - x2 / n2 + 1e-12
    assert x1 / n1 - x2 / n2 - 1e-12 <= upper <= 1.0
    # Swapping the samples mirrors the interval.
    swapped = newcombe_difference(x2, n2, x1, n1)
    assert swapped == pytest.approx((-upper, -lower), abs=1e-12)


# --- compare ----------------------------------------------------------------------------------------------


def test_compare_design_check_is_in_line_not_up() -> None:
    change = compare(110, 119, 95, 110)
    assert change.direction is Direction.IN_LINE
    assert str(change.direction) == "in_line"
    assert change.difference_points == pytest.approx(6.0733, abs=1e-4)
    assert change.interval_points is not None
    assert (round(change.interval_points[0], 1), round(change.interval_points[1], 1)) == (-2.0, 14.5)
    assert change.percentage_now == pytest.approx(92.437, abs=1e-3)
    assert change.percentage_previous == pytest.approx(86.364, abs=1e-3)


def test_compare_rise_and_fall() -> None:
    rise = compare(56, 70, 48, 80)  # 80% against 60%
    assert rise.direction is Direction.RISE
    assert rise.difference_points == pytest.approx(20.0)
    fall = compare(48, 80, 56, 70)
    assert fall.direction is Direction.FALL
    assert fall.difference_points == pytest.approx(-20.0)
    assert fall.interval_points == pytest.approx((-33.39, -5.24), abs=0.01)


def test_compare_no_change() -> None:
    change = compare(12, 13, 12, 13)
    assert change.direction is Direction.IN_LINE
    assert change.difference_points == 0.0


@pytest.mark.parametrize("counts", [(0, 0, 95, 110), (110, 119, 0, 0), (0, 0, 0, 0)])
def test_compare_with_an_empty_quarter_is_unavailable(counts: tuple[int, int, int, int]) -> None:
    change = compare(*counts)
    assert change.direction is Direction.UNAVAILABLE
    assert change.difference_points is None and change.interval_points is None
    assert isinstance(change, Change)


@given(proportions(), proportions())
def test_compare_calls_a_change_only_when_the_interval_excludes_zero(
    now: tuple[int, int], previous: tuple[int, int]
) -> None:
    change = compare(*now, *previous)
    assert change.interval_points is not None and change.difference_points is not None
    lower, upper = change.interval_points
    if change.direction is Direction.RISE:
        assert lower > 0 and change.difference_points > 0
    elif change.direction is Direction.FALL:
        assert upper < 0 and change.difference_points < 0
    else:
        assert change.direction is Direction.IN_LINE
        assert lower <= 0 <= upper


# --- financial quarters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "fy", "quarter", "label", "long_label"),
    [
        (date(2020, 4, 1), 2020, 1, "Apr to Jun 20", "Qtr 1, 2020/21"),
        (date(2020, 6, 30), 2020, 1, "Apr to Jun 20", "Qtr 1, 2020/21"),
        (date(2020, 7, 1), 2020, 2, "Jul to Sep 20", "Qtr 2, 2020/21"),
        (date(2020, 9, 30), 2020, 2, "Jul to Sep 20", "Qtr 2, 2020/21"),
        (date(2020, 10, 1), 2020, 3, "Oct to Dec 20", "Qtr 3, 2020/21"),
        (date(2020, 12, 31), 2020, 3, "Oct to Dec 20", "Qtr 3, 2020/21"),
        (date(2021, 1, 1), 2020, 4, "Jan to Mar 21", "Qtr 4, 2020/21"),
        (date(2021, 3, 31), 2020, 4, "Jan to Mar 21", "Qtr 4, 2020/21"),
        (date(2021, 4, 1), 2021, 1, "Apr to Jun 21", "Qtr 1, 2021/22"),
        (date(2000, 2, 29), 1999, 4, "Jan to Mar 00", "Qtr 4, 1999/00"),
        (date(2009, 5, 5), 2009, 1, "Apr to Jun 09", "Qtr 1, 2009/10"),
    ],
)
def test_financial_quarter(day: date, fy: int, quarter: int, label: str, long_label: str) -> None:
    q = financial_quarter(day)
    assert (q.fy_start_year, q.quarter) == (fy, quarter)
    assert q.label == label
    assert q.long_label == long_label
    assert day in q


def test_quarter_start_and_end() -> None:
    q1 = FinancialQuarter(2020, 1)
    assert (q1.start, q1.end) == (date(2020, 4, 1), date(2020, 6, 30))
    q4 = FinancialQuarter(2019, 4)  # includes 29 February 2020
    assert (q4.start, q4.end) == (date(2020, 1, 1), date(2020, 3, 31))
    assert [m.label for m in q4.months] == ["Jan 20", "Feb 20", "Mar 20"]
    assert date(2020, 4, 1) not in q4 and date(2019, 12, 31) not in q4
    assert datetime(2020, 3, 31, 23, 59) in q4
    assert "2020-03-01" not in q4


def test_quarter_next_and_previous_cross_the_financial_year() -> None:
    assert FinancialQuarter(2020, 4).next() == FinancialQuarter(2021, 1)
    assert FinancialQuarter(2021, 1).previous() == FinancialQuarter(2020, 4)
    assert FinancialQuarter(2020, 2).previous() == FinancialQuarter(2020, 1)
    assert FinancialQuarter(2020, 2) < FinancialQuarter(2020, 3) < FinancialQuarter(2021, 1)


@pytest.mark.parametrize("quarter", [0, 5])
def test_quarter_must_be_1_to_4(quarter: int) -> None:
    with pytest.raises(ValueError):
        FinancialQuarter(2020, quarter)


def test_quarters_between() -> None:
    quarters = quarters_between(date(2020, 6, 30), date(2021, 4, 1))
    assert [q.long_label for q in quarters] == [
        "Qtr 1, 2020/21",
        "Qtr 2, 2020/21",
        "Qtr 3, 2020/21",
        "Qtr 4, 2020/21",
        "Qtr 1, 2021/22",
    ]
    assert quarters_between(date(2020, 7, 1), date(2020, 7, 1)) == [FinancialQuarter(2020, 2)]
    assert quarters_between(date(2020, 7, 1), date(2020, 9, 30)) == [FinancialQuarter(2020, 2)]
    with pytest.raises(ValueError):
        quarters_between(date(2020, 7, 2), date(2020, 7, 1))


days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@given(days)
def test_a_day_lies_in_its_quarter_and_month(day: date) -> None:
    q = financial_quarter(day)
    assert q.start <= day <= q.end
    assert q.start.day == 1 and q.start.month in (1, 4, 7, 10)
    assert q.next().start == q.end + timedelta(days=1)
    assert q.next().previous() == q
    assert financial_quarter(q.start) == q == financial_quarter(q.end)
    m = Month.of(day)
    assert m.start <= day <= m.end and day in m
    assert m.financial_quarter == q


@given(days, st.integers(0, 2000))
def test_quarters_between_covers_the_range_in_order(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    quarters = quarters_between(start, end)
    assert quarters[0].start <= start and end <= quarters[-1].end
    for before, after in zip(quarters, quarters[1:], strict=False):
        assert after == before.next()
        assert after.start == before.end + timedelta(days=1)


# --- months -----------------------------------------------------------------------------------------------


def test_month_labels_and_bounds() -> None:
    m = Month(2020, 7)
    assert m.label == "Jul 20"
    assert (m.start, m.end) == (date(2020, 7, 1), date(2020, 7, 31))
    assert Month(2020, 2).end == date(2020, 2, 29)
    assert Month(2021, 2).end == date(2021, 2, 28)
    assert Month(2020, 12).next() == Month(2021, 1)
    assert Month(2021, 1).previous() == Month(2020, 12)
    assert Month(2020, 12).end == date(2020, 12, 31)
    assert Month(2021, 1).financial_quarter == FinancialQuarter(2020, 4)
    with pytest.raises(ValueError):
        Month(2020, 13)


def test_months_between() -> None:
    months = months_between(date(2020, 11, 30), date(2021, 2, 1))
    assert [m.label for m in months] == ["Nov 20", "Dec 20", "Jan 21", "Feb 21"]
    assert months_between(date(2020, 7, 5), date(2020, 7, 6)) == [Month(2020, 7)]
    with pytest.raises(ValueError):
        months_between(date(2020, 7, 6), date(2020, 7, 5))


@given(days, st.integers(0, 1000))
def test_months_between_covers_the_range_in_order(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    months = months_between(start, end)
    assert months[0].start <= start and end <= months[-1].end
    for before, after in zip(months, months[1:], strict=False):
        assert after == before.next()
