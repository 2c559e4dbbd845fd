"""The paragraph per measure that the quarterly papers print, written from the figures alone.

It claims only what the figures support: a rise or a fall only when both periods have at least the
small-cell threshold of surveys and Newcombe's interval for the change excludes zero (otherwise "in line
with", or "too few surveys to compare"); a change names what it compares with, and a period cut short
(by the report's dates, or because it is not over yet) is compared with as many days before it and
ranked against nothing; "the highest in the last N quarters" only when it is strictly the highest of an
unbroken run of N periods with surveys; and it always says when a sample is too small, when answers were
not recorded, and how many were neutral. Comparisons use the figures as published (one
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
    partial: bool = False  # cut by the report's dates, or not over yet
    to_date: bool = False  # not over yet

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
    comparison: Figure | None = None,
) -> str:
    """The paragraph about the most recent period (the last of `figures`).

    The most recent period is compared with `comparison` when given (a part period is compared with as
    many days before it), else with the period before it in `figures`, else with `previous` (the period
    before the first). `unit` names a period ("quarter", "month", "period").
    """
    if not figures:
        raise ValueError("narrate needs at least one period")
    latest = figures[-1]
    before = comparison or (figures[-2] if len(figures) > 1 else previous)
    if latest.surveys == 0:
        return _no_surveys(measure_label, figures, unit)
    sentences = [_headline(measure_label, figures, unit)]
    if before is not None:
        sentences.append(_change_sentence(latest, before, unit, small_cell))
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


def narrate_groups(
    measure_label: str,
    overall: Figure,
    groups: Sequence[tuple[Figure, Change]],
    *,
    field: str,
    rest: str = "rest of the force",
    small_cell: int = 10,
) -> str:
    """The paragraph about a breakdown: the overall figure, then only the groups that differ
    significantly from the rest (each group against all the others), and those too small to test."""
    if overall.surveys == 0:
        return f"{measure_label} – no surveys were completed in {overall.label}, so there is no figure (u/a)."
    interval = wilson_interval(overall.positive, overall.surveys)
    assert interval is not None
    low, high = (one_decimal(100 * bound) for bound in interval)
    sentences = [
        f"{measure_label} – {_pct(overall.published)} of victims {positive_phrase(measure_label)} in"
        f" {overall.label} ({overall.positive} of {_count(overall.surveys, 'survey')}; 95% confidence"
        f" interval {_pct(low)} to {_pct(high)})."
    ]
    named: dict[Direction, list[str]] = {Direction.RISE: [], Direction.FALL: [], Direction.TOO_FEW: []}
    for figure, change in groups:
        if change.direction in (Direction.RISE, Direction.FALL):
            named[change.direction].append(
                f"{figure.label} ({_pct(figure.published)} of {_count(figure.surveys, 'survey')}, against"
                f" {_pct(one_decimal(change.percentage_previous))})"
            )
        elif change.direction is Direction.TOO_FEW:
            named[Direction.TOO_FEW].append(f"{figure.label} ({figure.surveys})")
    if named[Direction.RISE]:
        sentences.append(f"Significantly above the {rest}: {'; '.join(named[Direction.RISE])}.")
    if named[Direction.FALL]:
        sentences.append(f"Significantly below the {rest}: {'; '.join(named[Direction.FALL])}.")
    if not named[Direction.RISE] and not named[Direction.FALL]:
        sentences.append(f"No {field} differs significantly from the {rest}.")
    if named[Direction.TOO_FEW]:
        sentences.append(
            f"Too few surveys to compare (fewer than {small_cell}): {', '.join(named[Direction.TOO_FEW])}."
        )
    return " ".join(sentences)


# ------------------------------------------------------------------ sentences


def _headline(measure_label: str, figures: Sequence[Figure], unit: str) -> str:
    latest = figures[-1]
    interval = wilson_interval(latest.positive, latest.surveys)
    assert interval is not None and latest.published is not None
    low, high = (one_decimal(100 * bound) for bound in interval)
    text = (
        f"{measure_label} – {_pct(latest.published)} of victims {positive_phrase(measure_label)} in"
        f" {_latest_words(latest, unit)} ({latest.label}: {latest.positive} of"
        f" {_count(latest.surveys, 'survey')}; 95% confidence interval {_pct(low)} to {_pct(high)})"
    )
    if latest.partial:  # a part period ranks against nothing: its base differs from the others'
        return text + "."
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


def _latest_words(latest: Figure, unit: str) -> str:
    if latest.to_date:
        return f"the {unit} so far"
    if latest.partial:
        return f"the most recent (part) {unit}"
    return f"the most recent {unit}"


def _before_words(latest: Figure, unit: str) -> str:
    """What the latest period is compared with: the previous period, or as many days before a part one."""
    return "the same length of time before" if latest.partial else f"the previous {unit}"


def _change_sentence(latest: Figure, before: Figure, unit: str, small_cell: int) -> str:
    change: Change = compare(latest.positive, latest.surveys, before.positive, before.surveys, small_cell)
    against = _before_words(latest, unit)
    if change.direction is Direction.UNAVAILABLE:
        return f"There is no comparison with {against} ({before.label}), which had no surveys."
    if change.direction is Direction.TOO_FEW:
        return (
            f"There are too few surveys to compare with {against} ({before.label}:"
            f" {_count(before.surveys, 'survey')}); a change is tested only when both periods have at"
            f" least {small_cell}."
        )
    assert change.difference_points is not None and change.interval_points is not None
    assert before.published is not None
    points = one_decimal(change.difference_points)
    low, high = (one_decimal(bound) for bound in change.interval_points)
    interval = f"95% interval for the change {_signed(low)} to {_signed(high)} points"
    if change.direction in (Direction.RISE, Direction.FALL):
        return (
            f"This is a statistically significant {change.direction.value} of {_points(points)} from"
            f" {_pct(before.published)} in {against} ({before.label}; {interval})."
        )
    return (
        f"This is in line with {against} ({_pct(before.published)} in {before.label}): the"
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
    if latest.to_date:
        text = (
            f"{measure_label} – no surveys have been completed yet in the {unit} so far ({latest.label}),"
            " so there is no figure for it."
        )
    else:
        text = (
            f"{measure_label} – no surveys were completed in the most recent {unit} ({latest.label}), so"
            " there is no figure for it (u/a)."
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
