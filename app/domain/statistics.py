"""Figures for the quarterly report: percentages, their confidence intervals, changes, financial quarters.

Samples are small (13 surveys in a quarter happens), so every percentage travels with its Wilson 95%
interval, and a change from the previous quarter is called a rise or a fall only when Newcombe's interval
for the difference excludes zero (DESIGN.md, "Quarterly figures"). Below a minimum base in either period
(the small-cell threshold: a figure too small to publish) no test is made at all: one survey of 1 against
10 of 11 would otherwise be "a significant rise of 90.9 points".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from math import sqrt

#: The 97.5th percentile of the standard normal distribution: two-sided 95% intervals.
Z_95 = 1.959963984540054

MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _check_count(successes: int, n: int) -> None:
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")


def percentage(x: int, n: int) -> float | None:
    """x as a percentage of n, unrounded (the report rounds); None when n is 0, shown as u/a, never 0%."""
    _check_count(x, n)
    if n == 0:
        return None
    return 100 * x / n


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion; unlike the textbook p +/- z*se it stays inside [0, 1] and
    behaves at 0/n and n/n, which small quarterly samples hit. None when n is 0."""
    _check_count(successes, n)
    if n == 0:
        return None
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z / denominator * sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    lower = 0.0 if successes == 0 else max(0.0, centre - half_width)
    upper = 1.0 if successes == n else min(1.0, centre + half_width)
    return lower, upper


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z_95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval (1998, method 10) for p1 - p2 from two independent samples.

    It combines the two Wilson intervals, so it inherits their good behaviour with small samples and
    proportions near 0 or 1. None when either sample is empty.
    """
    first = wilson_interval(x1, n1, z)
    second = wilson_interval(x2, n2, z)
    if first is None or second is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = first
    l2, u2 = second
    difference = p1 - p2
    lower = difference - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = difference + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lower), min(1.0, upper)


class Direction(StrEnum):
    """How a figure moved since the previous period, as the narrative may describe it."""

    RISE = "rise"
    FALL = "fall"
    IN_LINE = "in_line"
    TOO_FEW = "too_few"  # a base below the minimum in either period: not tested
    UNAVAILABLE = "unavailable"  # no surveys in either period


@dataclass(frozen=True)
class Change:
    """A change between two periods, in percentage points; None fields when a period had no surveys."""

    percentage_now: float | None
    percentage_previous: float | None
    difference_points: float | None
    interval_points: tuple[float, float] | None
    direction: Direction


def compare(x_now: int, n_now: int, x_prev: int, n_prev: int, min_base: int = 1) -> Change:
    """The change from the previous period; a rise or fall only if the 95% interval excludes zero.

    With fewer than `min_base` in either period (but some in both) nothing is tested: TOO_FEW.
    """
    now, previous = percentage(x_now, n_now), percentage(x_prev, n_prev)
    interval = newcombe_difference(x_now, n_now, x_prev, n_prev)
    if now is None or previous is None or interval is None:
        return Change(now, previous, None, None, Direction.UNAVAILABLE)
    if n_now < min_base or n_prev < min_base:
        return Change(now, previous, None, None, Direction.TOO_FEW)
    lower, upper = interval
    if lower > 0:
        direction = Direction.RISE
    elif upper < 0:
        direction = Direction.FALL
    else:
        direction = Direction.IN_LINE
    return Change(now, previous, now - previous, (100 * lower, 100 * upper), direction)


def _two_digit_year(year: int) -> str:
    return f"{year % 100:02d}"


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, labelled as in the published papers ("Jul 20")."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1 to 12, not {self.month}")

    @classmethod
    def of(cls, d: date) -> Month:
        return cls(d.year, d.month)

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """The last day of the month (inclusive)."""
        return self.next().start - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{MONTH_ABBREVIATIONS[self.month - 1]} {_two_digit_year(self.year)}"

    @property
    def financial_quarter(self) -> FinancialQuarter:
        return financial_quarter(self.start)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def __contains__(self, d: object) -> bool:
        return isinstance(d, date) and (d.year, d.month) == (self.year, self.month)


@dataclass(frozen=True, order=True)
class FinancialQuarter:
    """A quarter of the UK financial year, which starts in April: Qtr 1 of 2020/21 is Apr to Jun 2020."""

    fy_start_year: int
    quarter: int

    def __post_init__(self) -> None:
        if not 1 <= self.quarter <= 4:
            raise ValueError(f"quarter must be 1 to 4, not {self.quarter}")

    @property
    def first_month(self) -> Month:
        month = 3 * self.quarter + 1  # Q1 -> Apr, Q2 -> Jul, Q3 -> Oct, Q4 -> 13 (Jan next year)
        return Month(self.fy_start_year, month) if month <= 12 else Month(self.fy_start_year + 1, month - 12)

    @property
    def months(self) -> tuple[Month, Month, Month]:
        first = self.first_month
        second = first.next()
        return first, second, second.next()

    @property
    def start(self) -> date:
        return self.first_month.start

    @property
    def end(self) -> date:
        """The last day of the quarter (inclusive)."""
        return self.months[2].end

    @property
    def label(self) -> str:
        """As the published papers head a column: "Jul to Sep 20", "Jan to Mar 21"."""
        first, _, last = self.months
        return (
            f"{MONTH_ABBREVIATIONS[first.month - 1]} to {MONTH_ABBREVIATIONS[last.month - 1]} "
            f"{_two_digit_year(last.year)}"
        )

    @property
    def long_label(self) -> str:
        """As the papers name a quarter in the text: "Qtr 2, 2020/21"."""
        return f"Qtr {self.quarter}, {self.fy_start_year}/{_two_digit_year(self.fy_start_year + 1)}"

    def next(self) -> FinancialQuarter:
        if self.quarter == 4:
            return FinancialQuarter(self.fy_start_year + 1, 1)
        return FinancialQuarter(self.fy_start_year, self.quarter + 1)

    def previous(self) -> FinancialQuarter:
        if self.quarter == 1:
            return FinancialQuarter(self.fy_start_year - 1, 4)
        return FinancialQuarter(self.fy_start_year, self.quarter - 1)

    def __contains__(self, d: object) -> bool:
        if isinstance(d, datetime):
            d = d.date()
        return isinstance(d, date) and self.start <= d <= self.end


def financial_quarter(d: date) -> FinancialQuarter:
    """The financial quarter containing `d` (Jan to Mar belongs to the year that started the April before)."""
    if d.month >= 4:
        return FinancialQuarter(d.year, (d.month - 4) // 3 + 1)
    return FinancialQuarter(d.year - 1, 4)


def quarters_between(start: date, end: date) -> list[FinancialQuarter]:
    """Every financial quarter that touches start..end (both inclusive), in order."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    quarters = [financial_quarter(start)]
    last = financial_quarter(end)
    while quarters[-1] < last:
        quarters.append(quarters[-1].next())
    return quarters


def months_between(start: date, end: date) -> list[Month]:
    """Every calendar month that touches start..end (both inclusive), in order."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    months = [Month.of(start)]
    last = Month.of(end)
    while months[-1] < last:
        months.append(months[-1].next())
    return months
