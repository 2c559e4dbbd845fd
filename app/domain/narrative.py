"""The paragraph per measure that the quarterly papers print, written from the figures alone.

It claims only what the figures support: a rise or a fall only when Newcombe's interval for the change
excludes zero (otherwise "in line with"), "the highest in the last N quarters" only when it is strictly the
highest of an unbroken run of N periods with surveys, and it always says when a sample is too small, when
answers were not recorded, and how many were neutral. Comparisons use the figures as published (one
decimal place), so the text never calls 92.4% higher than 92.4%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.domain.statistics import Change, Direction, compare, percentage, wilson_interval

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
ORDINALS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
#: A run of periods above a round threshold is worth a mention only from this threshold up.
LOWEST_THRESHOLD = 50
#: "The highest in the last N quarters" needs at least this many periods to mean anything.
MIN_RANKED = 3


@dataclass(frozen=True)
class Figure:
    """One period's counts for one measure, as the report computed them."""

    label: str
    surveys: int
    positive: int
    neutral: int = 0
    dont_know_refused: int = 0
    not_recorded: int = 0

    @property
    def pct(self) -> float | None:
        return percentage(self.positive, self.surveys)

    @property
    def published(self) -> float | None:
        """The percentage as printed: one decimal place."""
        return one_decimal(self.pct)


def one_decimal(value: float | None) -> float | None:
    """Round as the papers print figures, halves up as people and spreadsheets do (56.25 -> 56.3, where
    round() would give 56.2); None stays None (shown as u/a)."""
    if value is None:
        return None
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def narrate(
    measure_label: str,
    figures: Sequence[Figure],
    previous: Figure | None = None,
    *,
    unit: str = "quarter",
    small_cell: int = 10,
    neutral_label: str | None = None,
) -> str:
    """The paragraph about the most recent period (the last of `figures`).

    `previous` is the period before the first of `figures`: the most recent period is compared with it
    when it is the only one. `unit` names a period ("quarter", "month", "period").
    """
    if not figures:
        raise ValueError("narrate needs at least one period")
    latest = figures[-1]
    before = figures[-2] if len(figures) > 1 else previous
    if latest.surveys == 0:
        return _no_surveys(measure_label, figures, unit)
    sentences = [_headline(measure_label, figures, unit)]
    if before is not None:
        sentences.append(_change_sentence(latest, before, unit))
    if latest.surveys < small_cell:
        sentences.append(
            f"With only {_count(latest.surveys, 'survey')} this figure is below the threshold of"
            f" {small_cell} for publication and its interval is wide, so it should not be quoted on its own."
        )
    sentences.extend(_base_sentences(latest, neutral_label))
    return " ".join(sentences)


def positive_phrase(measure_label: str) -> str:
    """What the victims did, in the words of the papers: "were satisfied with first contact"."""
    text = measure_label.strip()
    lowered = text[:1].lower() + text[1:]
    if lowered.lower() == "overall satisfaction":
        return "were satisfied with the service received"
    first = lowered.split(" ", 1)[0]
    if first in ("satisfied", "dissatisfied", "confident"):
        return f"were {lowered}"
    if first.endswith("ed"):
        return lowered
    return f"gave a positive answer ({lowered})"


# ------------------------------------------------------------------ sentences


def _headline(measure_label: str, figures: Sequence[Figure], unit: str) -> str:
    latest = figures[-1]
    interval = wilson_interval(latest.positive, latest.surveys)
    assert interval is not None and latest.published is not None
    low, high = (one_decimal(100 * bound) for bound in interval)
    text = (
        f"{measure_label} – {_pct(latest.published)} of victims {positive_phrase(measure_label)} in the most"
        f" recent {unit} ({latest.label}: {latest.positive} of {_count(latest.surveys, 'survey')};"
        f" 95% confidence interval {_pct(low)} to {_pct(high)})"
    )
    clauses = []
    ranking = _ranking(figures, unit)
    if ranking:
        clauses.append(ranking)
    streak = _streak(figures, unit)
    if streak:
        clauses.append(streak)
    if clauses:
        text += ", " + " and ".join(clauses)
    return text + "."


def _ranking(figures: Sequence[Figure], unit: str) -> str | None:
    """'the highest rate in the last five quarters', when strictly true of an unbroken run."""
    run = _trailing_run(figures)
    if len(run) < MIN_RANKED:
        return None
    latest, *_ = run[-1:]
    others = [f.published for f in run[:-1]]
    value = latest.published
    assert value is not None and all(o is not None for o in others)
    if all(value > o for o in others if o is not None):
        word = "highest"
    elif all(value < o for o in others if o is not None):
        word = "lowest"
    else:
        return None
    return f"the {word} rate in the last {_number(len(run))} {unit}s"


def _streak(figures: Sequence[Figure], unit: str) -> str | None:
    """'the second consecutive quarter over 90%': the largest round ten below the latest figure."""
    run = _trailing_run(figures)
    value = run[-1].published
    assert value is not None
    threshold = int(value // 10) * 10
    if threshold == value:
        threshold -= 10
    if threshold < LOWEST_THRESHOLD:
        return None
    length = 0
    for figure in reversed(run):
        published = figure.published
        if published is None or published <= threshold:
            break
        length += 1
    if length < 2:
        return None
    return f"the {_ordinal(length)} consecutive {unit} over {threshold}%"


def _change_sentence(latest: Figure, before: Figure, unit: str) -> str:
    change: Change = compare(latest.positive, latest.surveys, before.positive, before.surveys)
    if change.direction is Direction.UNAVAILABLE:
        return f"There is no comparison with the previous {unit} ({before.label}), which had no surveys."
    assert change.difference_points is not None and change.interval_points is not None
    assert before.published is not None
    points = one_decimal(change.difference_points)
    low, high = (one_decimal(bound) for bound in change.interval_points)
    interval = f"95% interval for the change {_signed(low)} to {_signed(high)} points"
    if change.direction is Direction.RISE:
        return (
            f"This is a statistically significant rise of {_points(points)} from {_pct(before.published)}"
            f" in the previous {unit} ({before.label}; {interval})."
        )
    if change.direction is Direction.FALL:
        return (
            f"This is a statistically significant fall of {_points(points)} from {_pct(before.published)}"
            f" in the previous {unit} ({before.label}; {interval})."
        )
    return (
        f"This is in line with the previous {unit} ({_pct(before.published)} in {before.label}): the"
        f" change of {_signed(points)} points is not statistically significant ({interval})."
    )


def _base_sentences(latest: Figure, neutral_label: str | None) -> list[str]:
    """Neutral, don't know / refused and unrecorded answers: all stay in the base and lower the figure."""
    sentences = []
    n = latest.surveys
    if latest.neutral:
        what = f"'{neutral_label}'" if neutral_label else "the neutral answer"
        excluding = one_decimal(percentage(latest.positive, n - latest.neutral))
        share = one_decimal(percentage(latest.neutral, n))
        text = f"A further {_count(latest.neutral, 'victim')} ({_pct(share)}) answered {what}"
        if excluding is not None:
            text += f"; excluding them, the figure is {_pct(excluding)}"
        sentences.append(text + ".")
    if latest.dont_know_refused:
        sentences.append(
            f"In {_count(latest.dont_know_refused, 'survey')} the victim did not know or declined to answer;"
            " these stay in the base."
        )
    if latest.not_recorded:
        share = one_decimal(percentage(latest.not_recorded, n))
        sentences.append(
            f"No answer was recorded for {latest.not_recorded} of the {_count(n, 'survey')} ({_pct(share)});"
            " they count in the base, which lowers the figure, and the gap should be checked before"
            " publication."
        )
    return sentences


def _no_surveys(measure_label: str, figures: Sequence[Figure], unit: str) -> str:
    latest = figures[-1]
    text = (
        f"{measure_label} – no surveys were completed in the most recent {unit} ({latest.label}), so there"
        " is no figure for it (u/a)."
    )
    last = next((f for f in reversed(figures[:-1]) if f.surveys), None)
    if last is not None:
        text += (
            f" The most recent figure is {_pct(last.published)} in {last.label}"
            f" ({last.positive} of {_count(last.surveys, 'survey')})."
        )
    return text


# ------------------------------------------------------------------ words


def _trailing_run(figures: Sequence[Figure]) -> list[Figure]:
    """The latest periods with surveys, back to the first gap."""
    run: list[Figure] = []
    for figure in reversed(figures):
        if figure.surveys == 0:
            break
        run.append(figure)
    return run[::-1]


def _pct(value: float | None) -> str:
    return "u/a" if value is None else f"{value:.1f}%"


def _points(value: float | None) -> str:
    assert value is not None
    return f"{abs(value):.1f} points"


def _signed(value: float | None) -> str:
    assert value is not None
    return f"{value:+.1f}"


def _number(n: int) -> str:
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)


def _ordinal(n: int) -> str:
    if n < len(ORDINALS):
        return ORDINALS[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
