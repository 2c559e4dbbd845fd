"""The quarterly report: per period, the surveys and each measure's figures, counted in the database.

How the figures are computed (DESIGN.md, "Quarterly figures"), and the decisions this module makes:

- A survey is a *completed* interview (imported ones included), dated by `ended_at` converted to the
  bureau's local date (Europe/London): period bounds are local midnights turned into UTC instants, and
  the database compares `ended_at` against them, so no database-specific date function is needed.
- For each measure, every survey lands in exactly one of five counts:
  positive + neutral + negative + dont_know_refused + not_recorded = surveys.
  `not_recorded` is a survey with no answer row for the measure's question or a blank one; don't know (98)
  and refused (99) are an answer, so they are counted apart (`dont_know_refused`), not as negative and
  not as not recorded. All five stay in the denominator, as the published figures do.
- pct = positive / surveys (as published); pct_excl_neutral = positive / (surveys - neutral); the Wilson
  95% interval is for pct. None (shown as u/a, never 0%) when the denominator is 0.
- change: against the period before, a rise or fall only when Newcombe's interval excludes 0. The first
  period is compared with the period before the range, which is counted too (not shown as a column).
- A period with some surveys but fewer than `small_cell` is flagged as too small to publish (one with
  none is unavailable, u/a).
- When --from or --to falls inside a quarter (or month), that period is cut to the range, labelled with
  its days ("15 Aug to 30 Sep 20") and marked partial, so a Panel paper never shows a part quarter under
  a whole quarter's name.

The counting is one SQL statement, the GROUP BY an analyst would write: the periods as a small derived
table of (idx, lo, hi) bounds, joined to the interviews whose ended_at falls in [lo, hi) (a range scan of
ix_interviews_survey_status_ended_at per period), left-joined once to `answers` per measure question,
with COUNT and SUM(CASE ...) per measure, GROUP BY idx. No answer row is loaded into Python. (One SELECT
per period glued by UNION ALL was as fast on SQLite but made PostgreSQL plan a hash join per period.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.clock import LOCAL
from app.domain.narrative import Figure, narrate, one_decimal
from app.domain.permissions import Actor, Permission, require
from app.domain.questionnaire import DONT_KNOW, REFUSED, Measure, Questionnaire
from app.domain.statistics import (
    MONTH_ABBREVIATIONS,
    Change,
    Direction,
    Month,
    compare,
    months_between,
    percentage,
    quarters_between,
    wilson_interval,
)
from app.errors import SurveyError
from app.services.catalogue import Catalogue
from app.store.models import Answer, Case, CodeDayCount, Interview, SurveyDayCount, UTCDateTime

DEFAULT_SMALL_CELL = 10
#: SQLite allows 500 SELECTs in one compound statement; stay well below it.
PERIODS_PER_STATEMENT = 100


class ReportError(SurveyError):
    """The report cannot be made as asked (bad range, unknown division)."""


class Grouping(StrEnum):
    QUARTER = "quarter"
    MONTH = "month"
    PERIOD = "period"

    @property
    def unit(self) -> str:
        """How the narrative names one period."""
        return self.value


@dataclass(frozen=True)
class Period:
    """A span of local dates, both ends inclusive."""

    label: str
    start: date
    end: date
    partial: bool = False

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: local midnight at the start, local midnight after the end."""
        return _local_midnight(self.start), _local_midnight(self.end + timedelta(days=1))


@dataclass(frozen=True)
class MeasureFigures:
    """One measure in one period. Percentages are unrounded; the JSON and the table round them."""

    measure_id: str
    label: str
    surveys: int
    positive: int
    neutral: int
    negative: int
    dont_know_refused: int
    not_recorded: int
    change: Change
    small_sample: bool

    @property
    def pct(self) -> float | None:
        return percentage(self.positive, self.surveys)

    @property
    def pct_excl_neutral(self) -> float | None:
        return percentage(self.positive, self.surveys - self.neutral)

    @property
    def ci95(self) -> tuple[float, float] | None:
        """Wilson 95% interval of pct, in percent."""
        interval = wilson_interval(self.positive, self.surveys)
        return None if interval is None else (100 * interval[0], 100 * interval[1])

    def figure(self, period_label: str) -> Figure:
        return Figure(
            label=period_label,
            surveys=self.surveys,
            positive=self.positive,
            neutral=self.neutral,
            dont_know_refused=self.dont_know_refused,
            not_recorded=self.not_recorded,
        )


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    surveys: int
    measures: tuple[MeasureFigures, ...]
    small_sample: bool

    def measure(self, measure_id: str) -> MeasureFigures:
        for figures in self.measures:
            if figures.measure_id == measure_id:
                return figures
        raise KeyError(measure_id)


@dataclass(frozen=True)
class MeasureInfo:
    id: str
    label: str
    question: str
    neutral_label: str | None


@dataclass(frozen=True)
class Report:
    """Everything a screen, a table, a CSV, a JSON document or an HTML page needs; no ORM objects."""

    survey: str
    title: str
    division: str | None
    by: Grouping
    start: date
    end: date
    small_cell: int
    measures: tuple[MeasureInfo, ...]
    periods: tuple[PeriodFigures, ...]
    previous: PeriodFigures  # the period before the first, counted for the first period's change
    narratives: tuple[tuple[str, str], ...]  # (measure id, paragraph)

    def narrative(self, measure_id: str) -> str:
        return dict(self.narratives)[measure_id]


# ------------------------------------------------------------------ building


def build_report(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    *,
    by: Grouping | str = Grouping.QUARTER,
    division: str | None = None,
    small_cell: int = DEFAULT_SMALL_CELL,
) -> Report:
    """Count the surveys and each measure's answers per period of start..end (local dates, inclusive)."""
    require(actor, Permission.REPORT)
    questionnaire = catalogue.get(survey)
    grouping = parse_grouping(by)
    if end < start:
        raise ReportError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    if small_cell < 1:
        raise ReportError("the small-cell threshold must be at least 1")
    if division is not None:
        check_division(session, division)
    periods, previous = report_periods(start, end, grouping)
    counted = count_periods(session, questionnaire, [previous, *periods], division=division)
    figures: list[PeriodFigures] = []
    before = _figures(questionnaire, previous, counted[0], None, small_cell)
    for period, counts in zip(periods, counted[1:], strict=True):
        current = _figures(questionnaire, period, counts, figures[-1] if figures else before, small_cell)
        figures.append(current)
    measures = tuple(_measure_info(questionnaire, m) for m in questionnaire.measures)
    narratives = tuple(
        (
            info.id,
            narrate(
                info.label,
                [f.measure(info.id).figure(f.period.label) for f in figures],
                before.measure(info.id).figure(previous.label),
                unit=grouping.unit,
                small_cell=small_cell,
                neutral_label=info.neutral_label,
            ),
        )
        for info in measures
    )
    return Report(
        survey=survey,
        title=questionnaire.title,
        division=division,
        by=grouping,
        start=start,
        end=end,
        small_cell=small_cell,
        measures=measures,
        periods=tuple(figures),
        previous=before,
        narratives=narratives,
    )


def parse_grouping(by: Grouping | str) -> Grouping:
    try:
        return Grouping(by)
    except ValueError:
        raise ReportError(f"unknown grouping '{by}'; use quarter, month or period") from None


def check_division(session: Session, division: str) -> None:
    """A division is known when some interview or case names it; else list the known ones."""
    for column in (Interview.division, Case.division):
        if session.scalar(select(column).where(column == division).limit(1)) is not None:
            return
    known = sorted(
        {d for d in session.scalars(select(Interview.division).distinct()) if d}
        | set(session.scalars(select(Case.division).distinct()))
    )
    raise ReportError(f"unknown division '{division}' (known: {', '.join(known) or 'none'})")


def divisions(session: Session, survey: str) -> list[str]:
    """The divisions with completed interviews of a survey, for choosing one on screen."""
    rows = session.scalars(
        select(Interview.division)
        .where(Interview.survey == survey, Interview.status == "completed", Interview.division.is_not(None))
        .distinct()
    )
    return sorted(d for d in rows if d)


# ------------------------------------------------------------------ periods


def report_periods(start: date, end: date, by: Grouping) -> tuple[list[Period], Period]:
    """The report's periods (cut to start..end) and the whole period before the first."""
    if by is Grouping.QUARTER:
        spans = [(q.label, q.start, q.end) for q in quarters_between(start, end)]
        first = quarters_between(start, start)[0].previous()
        before = Period(first.label, first.start, first.end)
    elif by is Grouping.MONTH:
        spans = [(m.label, m.start, m.end) for m in months_between(start, end)]
        month = Month.of(start).previous()
        before = Period(month.label, month.start, month.end)
    else:
        spans = [(span_label(start, end), start, end)]
        before_start, before_end = _period_before(start, end)
        before = Period(span_label(before_start, before_end), before_start, before_end)
    periods = []
    for label, span_start, span_end in spans:
        cut_start, cut_end = max(span_start, start), min(span_end, end)
        partial = (cut_start, cut_end) != (span_start, span_end)
        periods.append(
            Period(span_label(cut_start, cut_end) if partial else label, cut_start, cut_end, partial)
        )
    return periods, before


def span_label(start: date, end: date) -> str:
    """'Jul to Sep 20' for whole months, '15 Aug to 30 Sep 20' otherwise, as the papers write dates."""
    if start.day == 1 and end == Month.of(end).end:
        if Month.of(start) == Month.of(end):
            return Month.of(start).label
        first = MONTH_ABBREVIATIONS[start.month - 1]
        if start.year == end.year:
            return f"{first} to {Month.of(end).label}"
        return f"{Month.of(start).label} to {Month.of(end).label}"
    if start == end:
        return _day_label(start)
    if start.year == end.year:
        return f"{start.day} {MONTH_ABBREVIATIONS[start.month - 1]} to {_day_label(end)}"
    return f"{_day_label(start)} to {_day_label(end)}"


def _day_label(d: date) -> str:
    return f"{d.day} {MONTH_ABBREVIATIONS[d.month - 1]} {d.year % 100:02d}"


def _period_before(start: date, end: date) -> tuple[date, date]:
    """Whole months before whole months (a financial year before a financial year), else as many days."""
    if start.day == 1 and end == Month.of(end).end:
        months = len(months_between(start, end))
        first = Month.of(start)
        for _ in range(months):
            first = first.previous()
        return first.start, start - timedelta(days=1)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(), tzinfo=LOCAL).astimezone(UTC)


# ------------------------------------------------------------------ counting


@dataclass(frozen=True)
class MeasureCounts:
    positive: int
    neutral: int
    dont_know_refused: int
    recorded: int  # answers with a code (any code)


@dataclass(frozen=True)
class PeriodCounts:
    surveys: int
    measures: tuple[MeasureCounts, ...]  # in the questionnaire's order of measures


def count_periods(
    session: Session, questionnaire: Questionnaire, periods: Sequence[Period], *, division: str | None = None
) -> list[PeriodCounts]:
    """Surveys and each measure's counts per period, summed from the daily tallies (two GROUP BYs).

    The tallies (app.services.tallies) hold, per local day and Division, the completed interviews and
    the codes they gave; a period is a range of local days, so summing days gives exactly what
    counting the interviews would (`count_periods_from_answers`, kept to check it).
    """
    bounds = [
        select(
            literal_column(str(index), Integer).label("idx"),
            literal(period.start, Date()).label("lo"),
            literal(period.end, Date()).label("hi"),
        )
        for index, period in enumerate(periods)
    ]
    table = (bounds[0] if len(bounds) == 1 else union_all(*bounds)).subquery("p")
    days, codes = SurveyDayCount, CodeDayCount
    where_days = [days.survey == questionnaire.id, days.day >= table.c.lo, days.day <= table.c.hi]
    where_codes = [
        codes.survey == questionnaire.id,
        codes.day >= table.c.lo,
        codes.day <= table.c.hi,
        codes.question_id.in_(sorted({m.question for m in questionnaire.measures})),
    ]
    if division is not None:
        where_days.append(days.division == division)
        where_codes.append(codes.division == division)
    surveys = dict(
        session.execute(
            select(table.c.idx, func.sum(days.surveys))
            .select_from(table)
            .join(days, and_(*where_days))
            .group_by(table.c.idx)
        ).all()
    )
    given: dict[tuple[int, str], dict[int, int]] = {}
    for index, question_id, code, n in session.execute(
        select(table.c.idx, codes.question_id, codes.code, func.sum(codes.answers))
        .select_from(table)
        .join(codes, and_(*where_codes))
        .group_by(table.c.idx, codes.question_id, codes.code)
    ):
        given.setdefault((int(index), question_id), {})[int(code)] = int(n or 0)
    result = []
    for index in range(len(periods)):
        measures = []
        for measure in questionnaire.measures:
            counted = given.get((index, measure.question), {})
            taken = set(measure.positive) | set(measure.neutral)
            measures.append(
                MeasureCounts(
                    positive=sum(counted.get(c, 0) for c in measure.positive),
                    neutral=sum(counted.get(c, 0) for c in measure.neutral),
                    dont_know_refused=sum(counted.get(c, 0) for c in (DONT_KNOW, REFUSED) if c not in taken),
                    recorded=sum(counted.values()),
                )
            )
        result.append(PeriodCounts(int(surveys.get(index) or 0), tuple(measures)))
    return result


def count_periods_from_answers(
    session: Session, questionnaire: Questionnaire, periods: Sequence[Period], *, division: str | None = None
) -> list[PeriodCounts]:
    """The same counts taken from the interviews and their answers (the tallies' reference)."""
    counting = _Counting(questionnaire, division)
    results: dict[int, PeriodCounts] = {}
    indexed = list(enumerate(periods))
    for first in range(0, len(indexed), PERIODS_PER_STATEMENT):
        for row in session.execute(counting.select(indexed[first : first + PERIODS_PER_STATEMENT])):
            index, surveys, *numbers = (int(v or 0) for v in row)
            measures = tuple(
                MeasureCounts(*numbers[k : k + 4]) for k in range(0, len(questionnaire.measures) * 4, 4)
            )
            results[index] = PeriodCounts(surveys, measures)
    empty = PeriodCounts(0, tuple(MeasureCounts(0, 0, 0, 0) for _ in questionnaire.measures))
    return [results.get(i, empty) for i in range(len(periods))]


class _Counting:
    """The statement, built with Core (building ORM aliases per report cost more than the query).

    SELECT p.idx, COUNT(*), SUM(CASE WHEN a0.code IN (1, 2, 3) THEN 1 ELSE 0 END), ..., COUNT(a0.code)
    FROM (SELECT 0 AS idx, :lo0 AS lo, :hi0 AS hi UNION ALL ...) AS p
    JOIN interviews ON survey = :survey AND status = 'completed' AND ended_at >= p.lo AND ended_at < p.hi
    LEFT JOIN answers a0 ON a0.interview_id = interviews.id AND a0.question_id = :q0 ...
    GROUP BY p.idx

    One join per distinct measure question; per measure, positive, neutral, don't know / refused and
    recorded (any code) counts. Codes are the questionnaire's validated integers, written into the SQL;
    everything else is a bound parameter.
    """

    def __init__(self, questionnaire: Questionnaire, division: str | None) -> None:
        self.interviews = Interview.__table__
        answers = Answer.__table__
        self.aliases: dict[str, Any] = {}
        for measure in questionnaire.measures:
            if measure.question not in self.aliases:
                self.aliases[measure.question] = answers.alias(f"a{len(self.aliases)}")
        self.columns: list[ColumnElement[Any]] = [func.count().label("surveys")]
        for k, measure in enumerate(questionnaire.measures):
            code = self.aliases[measure.question].c.code
            taken = set(measure.positive) | set(measure.neutral)
            specials = [c for c in (DONT_KNOW, REFUSED) if c not in taken]
            self.columns += [
                _count_in(code, measure.positive).label(f"m{k}_positive"),
                _count_in(code, measure.neutral).label(f"m{k}_neutral"),
                _count_in(code, specials).label(f"m{k}_dont_know_refused"),
                func.count(code).label(f"m{k}_recorded"),
            ]
        self.conditions: list[ColumnElement[bool]] = [
            self.interviews.c.survey == questionnaire.id,
            self.interviews.c.status == "completed",
        ]
        if division is not None:
            self.conditions.append(self.interviews.c.division == division)

    def select(self, periods: Sequence[tuple[int, Period]]) -> Select[Any]:
        bounds = []
        for index, period in periods:
            low, high = period.utc_bounds()
            bounds.append(
                select(
                    literal_column(str(index), Integer).label("idx"),
                    literal(low, UTCDateTime()).label("lo"),
                    literal(high, UTCDateTime()).label("hi"),
                )
            )
        table = (bounds[0] if len(bounds) == 1 else union_all(*bounds)).subquery("p")
        interviews = self.interviews
        joined: Any = table.join(
            interviews,
            and_(*self.conditions, interviews.c.ended_at >= table.c.lo, interviews.c.ended_at < table.c.hi),
        )
        for question_id, alias in self.aliases.items():
            joined = joined.outerjoin(
                alias, (alias.c.interview_id == interviews.c.id) & (alias.c.question_id == question_id)
            )
        return select(table.c.idx, *self.columns).select_from(joined).group_by(table.c.idx)


def _count_in(code: Any, codes: Sequence[int]) -> ColumnElement[Any]:
    if not codes:
        return literal_column("0", Integer)
    listed = [literal_column(str(int(c)), Integer) for c in codes]
    return func.sum(case((code.in_(listed), 1), else_=0))


# ------------------------------------------------------------------ figures


def _figures(
    questionnaire: Questionnaire,
    period: Period,
    counts: PeriodCounts,
    before: PeriodFigures | None,
    small_cell: int,
) -> PeriodFigures:
    measures = []
    for k, measure in enumerate(questionnaire.measures):
        c = counts.measures[k]
        if before is not None:
            previous = before.measure(measure.id)
            change = compare(c.positive, counts.surveys, previous.positive, previous.surveys)
        else:
            now = percentage(c.positive, counts.surveys)
            change = Change(now, None, None, None, Direction.UNAVAILABLE)
        measures.append(
            MeasureFigures(
                measure_id=measure.id,
                label=measure.label,
                surveys=counts.surveys,
                positive=c.positive,
                neutral=c.neutral,
                negative=c.recorded - c.positive - c.neutral - c.dont_know_refused,
                dont_know_refused=c.dont_know_refused,
                not_recorded=counts.surveys - c.recorded,
                change=change,
                small_sample=_too_small(counts.surveys, small_cell),
            )
        )
    return PeriodFigures(
        period=period,
        surveys=counts.surveys,
        measures=tuple(measures),
        small_sample=_too_small(counts.surveys, small_cell),
    )


def _too_small(surveys: int, small_cell: int) -> bool:
    """Too few surveys to publish; a period with none is unavailable (u/a) instead."""
    return 0 < surveys < small_cell


def _measure_info(questionnaire: Questionnaire, measure: Measure) -> MeasureInfo:
    question = questionnaire.question(measure.question)
    labels = [o.label for o in question.options() if o.code in measure.neutral]
    return MeasureInfo(
        id=measure.id,
        label=measure.label,
        question=measure.question,
        neutral_label=" or ".join(labels) if labels else None,
    )


# ------------------------------------------------------------------ output shapes


def report_json(report: Report) -> dict[str, Any]:
    """The stable JSON contract of `survey report --format json` (issue 5), plus documented extra keys."""
    return {
        "survey": report.survey,
        "title": report.title,
        "division": report.division,
        "by": report.by.value,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "small_cell": report.small_cell,
        "periods": [
            _period_json(p, report.previous if i == 0 else report.periods[i - 1])
            for i, p in enumerate(report.periods)
        ],
        "previous_period": _period_json(report.previous, None),
        "narratives": dict(report.narratives),
    }


def _period_json(figures: PeriodFigures, before: PeriodFigures | None) -> dict[str, Any]:
    return {
        "label": figures.period.label,
        "start": figures.period.start.isoformat(),
        "end": figures.period.end.isoformat(),
        "partial": figures.period.partial,
        "surveys": figures.surveys,
        "small_sample": figures.small_sample,
        "measures": {
            m.measure_id: {
                **_counts(m),
                "ci95": _rounded_pair(m.ci95),
                "change": _change_json(m.change, before.period.label if before else None),
                "small_sample": m.small_sample,
            }
            for m in figures.measures
        },
    }


def _counts(m: MeasureFigures) -> dict[str, Any]:
    """The counts and percentages (one decimal, None when unavailable) that JSON and CSV share."""
    return {
        "positive": m.positive,
        "neutral": m.neutral,
        "negative": m.negative,
        "dont_know_refused": m.dont_know_refused,
        "not_recorded": m.not_recorded,
        "pct": one_decimal(m.pct),
        "pct_excl_neutral": one_decimal(m.pct_excl_neutral),
    }


def _change_json(change: Change, against: str | None) -> dict[str, Any] | None:
    if against is None:
        return None
    return {
        "direction": change.direction.value,
        "against": against,
        "previous_pct": one_decimal(change.percentage_previous),
        "points": one_decimal(change.difference_points),
        "ci95": _rounded_pair(change.interval_points),
    }


def _rounded_pair(pair: tuple[float, float] | None) -> list[float | None] | None:
    return None if pair is None else [one_decimal(pair[0]), one_decimal(pair[1])]


CSV_COLUMNS = (
    "survey",
    "division",
    "period",
    "start",
    "end",
    "partial",
    "surveys",
    "small_sample",
    "measure",
    "measure_label",
    "positive",
    "neutral",
    "negative",
    "dont_know_refused",
    "not_recorded",
    "pct",
    "pct_excl_neutral",
    "ci95_low",
    "ci95_high",
    "change",
    "change_points",
    "change_ci95_low",
    "change_ci95_high",
)


def report_rows(report: Report) -> list[dict[str, Any]]:
    """One row per period and measure (`--format csv`); empty cells where a figure is unavailable."""
    rows = []
    for figures in report.periods:
        for m in figures.measures:
            ci = _rounded_pair(m.ci95) or [None, None]
            change_ci = _rounded_pair(m.change.interval_points) or [None, None]
            rows.append(
                {
                    "survey": report.survey,
                    "division": report.division or "",
                    "period": figures.period.label,
                    "start": figures.period.start.isoformat(),
                    "end": figures.period.end.isoformat(),
                    "partial": int(figures.period.partial),
                    "surveys": figures.surveys,
                    "small_sample": int(m.small_sample),
                    "measure": m.measure_id,
                    "measure_label": m.label,
                    **_counts(m),
                    "ci95_low": ci[0],
                    "ci95_high": ci[1],
                    "change": m.change.direction.value,
                    "change_points": one_decimal(m.change.difference_points),
                    "change_ci95_low": change_ci[0],
                    "change_ci95_high": change_ci[1],
                }
            )
    return rows
