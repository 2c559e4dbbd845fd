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
- pct = positive / surveys (as published); pct_excl_neutral = positive / (surveys - neutral); each has
  its Wilson 95% interval and its own change test. None (shown as u/a, never 0%) when the denominator
  is 0.
- Every period is compared like with like, and says with what: a whole quarter (month) with the quarter
  (month) before; a period cut short, by --from or --to or because it is not over yet, with as many days
  (or whole months) immediately before it, counted for the purpose even when that lies before --from; a
  rolling 12 months with the 12 months before them. A change is a rise or fall only when both periods
  have at least `small_cell` surveys and Newcombe's interval excludes 0; with fewer it is not tested
  (too_few).
- A period with some surveys but fewer than `small_cell` is flagged as too small to publish (one with
  none is unavailable, u/a).
- Today comes from app.clock: a period not over yet is cut to today and labelled "1 Oct 26 to date";
  periods that have not started are left out, and a --to after today is reported as a warning.
- --by-field FIELD breaks the whole range down by a sample or answer field (Division, district, risk
  level, or a single-coded question such as the contact method) instead of by period, and tests each
  group against the rest of the force (or of the Division), under the same small-cell rule. That
  counting reads interviews and answers directly (the daily tallies are by Division only) and joins
  `cases` for the risk level alone: no personal column is read.

Periods are counted from the daily tallies (app.services.tallies) with two GROUP BYs; the reference
counting from interviews and answers (`count_periods_from_answers`) is the GROUP BY an analyst would
write: the periods as a small derived table of (idx, lo, hi) bounds, joined to the interviews whose
ended_at falls in [lo, hi), left-joined once to `answers` per measure question, with COUNT and
SUM(CASE ...) per measure, GROUP BY idx. No answer row is loaded into Python.
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

from app.clock import LOCAL, today
from app.domain.narrative import Figure, narrate, narrate_groups, one_decimal
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
#: Fields of the interview or its case that --by-field can break the figures down by.
SAMPLE_FIELDS = ("division", "district", "risk_level")


class ReportError(SurveyError):
    """The report cannot be made as asked (bad range, unknown division)."""


class Grouping(StrEnum):
    QUARTER = "quarter"
    MONTH = "month"
    PERIOD = "period"
    ROLLING12 = "rolling12"
    FIELD = "field"  # set by by_field: groups of a field over the whole range

    @property
    def unit(self) -> str:
        """How the narrative names one period."""
        return {"rolling12": "12 months", "field": "group"}.get(self.value, self.value)


@dataclass(frozen=True)
class Period:
    """A span of local dates, both ends inclusive."""

    label: str
    start: date
    end: date
    partial: bool = False  # cut by --from / --to, or not over yet
    to_date: bool = False  # not over yet: cut to today

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
    change_excl_neutral: Change = Change(None, None, None, None, Direction.UNAVAILABLE)

    @property
    def pct(self) -> float | None:
        return percentage(self.positive, self.surveys)

    @property
    def pct_excl_neutral(self) -> float | None:
        return percentage(self.positive, self.surveys - self.neutral)

    @property
    def ci95(self) -> tuple[float, float] | None:
        """Wilson 95% interval of pct, in percent."""
        return _interval(self.positive, self.surveys)

    @property
    def ci95_excl_neutral(self) -> tuple[float, float] | None:
        """Wilson 95% interval of pct_excl_neutral, in percent."""
        return _interval(self.positive, self.surveys - self.neutral)

    def figure(self, period: Period) -> Figure:
        return Figure(
            label=period.label,
            surveys=self.surveys,
            positive=self.positive,
            neutral=self.neutral,
            dont_know_refused=self.dont_know_refused,
            not_recorded=self.not_recorded,
            partial=period.partial,
            to_date=period.to_date,
        )


def _interval(x: int, n: int) -> tuple[float, float] | None:
    interval = wilson_interval(x, n)
    return None if interval is None else (100 * interval[0], 100 * interval[1])


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    surveys: int
    measures: tuple[MeasureFigures, ...]
    small_sample: bool
    against: str | None = None  # what each change compares with ("Apr to Jun 25", "rest of the force")
    against_surveys: int | None = None

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
    periods: tuple[PeriodFigures, ...]  # with by_field: one per value of the field
    previous: PeriodFigures  # what the first period is compared with (the whole force, by field)
    narratives: tuple[tuple[str, str], ...]  # (measure id, paragraph)
    by_field: str | None = None
    warnings: tuple[str, ...] = ()

    def narrative(self, measure_id: str) -> str:
        return dict(self.narratives)[measure_id]

    @property
    def comparisons(self) -> tuple[tuple[str, str], ...]:
        """(period, what its changes compare with), for footnotes."""
        return tuple((p.period.label, p.against) for p in self.periods if p.against)


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
    by_field: str | None = None,
) -> Report:
    """Count the surveys and each measure's answers per period of start..end (local dates, inclusive)."""
    require(actor, Permission.REPORT)
    questionnaire = catalogue.get(survey)
    grouping = Grouping.FIELD if by_field else parse_grouping(by)
    if end < start:
        raise ReportError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    if small_cell < 1:
        raise ReportError("the small-cell threshold must be at least 1")
    now = today()
    if start > now:
        raise ReportError(f"--from {start.isoformat()} is after today ({now.isoformat()}): no figures yet")
    warnings = []
    if end > now:
        warnings.append(
            f"--to {end.isoformat()} is after today ({now.isoformat()}): the figures run to today, and"
            " a period not over yet is marked 'to date'"
        )
    if division is not None:
        division = check_division(session, division)
    measures = tuple(_measure_info(questionnaire, m) for m in questionnaire.measures)
    if by_field:
        return _breakdown(
            session, questionnaire, measures, by_field, start, end, division, small_cell, tuple(warnings)
        )
    plan = plan_periods(start, end, grouping, now)
    distinct = list(dict.fromkeys([*(c for _, c in plan), *(p for p, _ in plan)]))
    counted = dict(
        zip(distinct, count_periods(session, questionnaire, distinct, division=division), strict=True)
    )
    figures = []
    comparisons = []
    for period, comparison in plan:
        before = _figures(questionnaire, comparison, counted[comparison], None, small_cell)
        comparisons.append(before)
        figures.append(_figures(questionnaire, period, counted[period], before, small_cell))
    narratives = tuple(
        (
            info.id,
            narrate(
                info.label,
                [f.measure(info.id).figure(f.period) for f in figures],
                unit=grouping.unit,
                small_cell=small_cell,
                neutral_label=info.neutral_label,
                comparison=comparisons[-1].measure(info.id).figure(comparisons[-1].period),
            ),
        )
        for info in measures
    )
    return Report(
        survey=questionnaire.id,
        title=questionnaire.title,
        division=division,
        by=grouping,
        start=start,
        end=end,
        small_cell=small_cell,
        measures=measures,
        periods=tuple(figures),
        previous=comparisons[0],
        narratives=narratives,
        warnings=tuple(warnings),
    )


def parse_grouping(by: Grouping | str) -> Grouping:
    try:
        grouping = Grouping(by)
    except ValueError:
        grouping = Grouping.FIELD
    if grouping is Grouping.FIELD:
        raise ReportError(f"unknown grouping '{by}'; use quarter, month, period or rolling12")
    return grouping


def check_division(session: Session, division: str) -> str:
    """The division as stored (matched without regard to case); else the known ones are listed."""
    wanted = division.strip().lower()
    for column in (Interview.division, Case.division):
        found = session.scalar(select(column).where(func.lower(column) == wanted).limit(1))
        if found is not None:
            return found
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


def plan_periods(
    start: date, end: date, by: Grouping, now: date | None = None
) -> list[tuple[Period, Period]]:
    """Each period of the report (cut to start..end and to today) with the period it is compared with."""
    now = now or today()
    last = min(end, now)
    if by is Grouping.ROLLING12:
        return [_rolling(month, last) for month in months_between(start, last)]
    if by is Grouping.QUARTER:
        units = [(q.label, q.start, q.end) for q in quarters_between(start, last)]
    elif by is Grouping.MONTH:
        units = [(m.label, m.start, m.end) for m in months_between(start, last)]
    else:
        units = [(span_label(start, end), start, end)]
    plan = []
    for label, unit_start, unit_end in units:
        cut_start, cut_end = max(unit_start, start), min(unit_end, last)
        to_date = unit_end > now and cut_end == now
        partial = (cut_start, cut_end) != (unit_start, unit_end)
        if to_date:
            label = f"{_day_label(cut_start)} to date"
        elif partial:
            label = days_label(cut_start, cut_end)
        period = Period(label, cut_start, cut_end, partial, to_date)
        if partial or by is Grouping.PERIOD:
            before_start, before_end = _period_before(cut_start, cut_end)
            comparison = Period(span_label(before_start, before_end), before_start, before_end)
        else:
            length = len(months_between(unit_start, unit_end))
            first = Month.of(unit_start)
            for _ in range(length):
                first = first.previous()
            previous_end = unit_start - timedelta(days=1)
            comparison = Period(span_label(first.start, previous_end), first.start, previous_end)
        plan.append((period, comparison))
    return plan


def report_periods(
    start: date, end: date, by: Grouping, now: date | None = None
) -> tuple[list[Period], Period]:
    """The report's periods and what the first is compared with."""
    plan = plan_periods(start, end, by, now)
    return [p for p, _ in plan], plan[0][1]


def _rolling(month: Month, last: date) -> tuple[Period, Period]:
    """The 12 months to the end of `month` (the 12 months to `last`, when it is not over), and the same
    length of time before them."""
    end = min(month.end, last)
    to_date = end < month.end
    if to_date:
        try:
            year_before = end.replace(year=end.year - 1)
        except ValueError:  # 29 February
            year_before = end.replace(year=end.year - 1, day=28)
        start = year_before + timedelta(days=1)
        label = f"12 months to {_day_label(end)}"
    else:
        first = month
        for _ in range(11):
            first = first.previous()
        start = first.start
        label = f"12 months to {month.label}"
    period = Period(label, start, end, to_date, to_date)
    before_start, before_end = _period_before(start, end)
    if to_date:
        before_label = days_label(before_start, before_end)
    else:
        before_label = f"12 months to {Month.of(before_end).label}"
    return period, Period(before_label, before_start, before_end)


def span_label(start: date, end: date) -> str:
    """'Jul to Sep 20' for whole months, '15 Aug to 30 Sep 20' otherwise, as the papers write dates."""
    if start.day == 1 and end == Month.of(end).end:
        if Month.of(start) == Month.of(end):
            return Month.of(start).label
        first = MONTH_ABBREVIATIONS[start.month - 1]
        if start.year == end.year:
            return f"{first} to {Month.of(end).label}"
        return f"{Month.of(start).label} to {Month.of(end).label}"
    return days_label(start, end)


def days_label(start: date, end: date) -> str:
    """'1 Dec to 31 Dec 24': a period cut short always shows its days, even when they make a month."""
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


def count_groups(
    session: Session, questionnaire: Questionnaire, period: Period, field: str, division: str | None = None
) -> list[tuple[Any, PeriodCounts]]:
    """Surveys and each measure's counts per value of a field over one period (None: no value)."""
    counting = _Counting(questionnaire, division)
    interviews = counting.interviews
    joined: Any = interviews
    if field == "risk_level":
        cases = Case.__table__
        joined = joined.outerjoin(cases, cases.c.id == interviews.c.case_id)
        key = cases.c.risk_level
    elif field in ("division", "district"):
        key = interviews.c[field]
    else:
        given = Answer.__table__.alias("g")
        joined = joined.outerjoin(
            given, (given.c.interview_id == interviews.c.id) & (given.c.question_id == field)
        )
        key = given.c.code
    for question_id, alias in counting.aliases.items():
        joined = joined.outerjoin(
            alias, (alias.c.interview_id == interviews.c.id) & (alias.c.question_id == question_id)
        )
    low, high = period.utc_bounds()
    statement = (
        select(key.label("k"), *counting.columns)
        .select_from(joined)
        .where(*counting.conditions, interviews.c.ended_at >= low, interviews.c.ended_at < high)
        .group_by(key)
    )
    groups = []
    for value, *numbers in session.execute(statement):
        surveys, *rest = (int(n or 0) for n in numbers)
        measures = tuple(MeasureCounts(*rest[k : k + 4]) for k in range(0, len(rest), 4))
        groups.append((value, PeriodCounts(surveys, measures)))
    return sorted(groups, key=lambda g: (g[0] is None, g[0] if g[0] is not None else 0))


def _minus(total: PeriodCounts, part: PeriodCounts) -> PeriodCounts:
    return PeriodCounts(
        total.surveys - part.surveys,
        tuple(
            MeasureCounts(
                a.positive - b.positive,
                a.neutral - b.neutral,
                a.dont_know_refused - b.dont_know_refused,
                a.recorded - b.recorded,
            )
            for a, b in zip(total.measures, part.measures, strict=True)
        ),
    )


def _plus(a: PeriodCounts, b: PeriodCounts) -> PeriodCounts:
    return PeriodCounts(
        a.surveys + b.surveys,
        tuple(
            MeasureCounts(
                x.positive + y.positive,
                x.neutral + y.neutral,
                x.dont_know_refused + y.dont_know_refused,
                x.recorded + y.recorded,
            )
            for x, y in zip(a.measures, b.measures, strict=True)
        ),
    )


def field_names(questionnaire: Questionnaire) -> list[str]:
    """What --by-field accepts for a survey: the sample fields, then its single-coded questions."""
    return [*SAMPLE_FIELDS, *(q.id for q in questionnaire.questions() if q.single_coded)]


def _field(questionnaire: Questionnaire, field: str) -> str:
    name = field.strip().lower().replace("-", "_")
    if name in field_names(questionnaire):
        return name
    questions = ", ".join(q for q in field_names(questionnaire) if q not in SAMPLE_FIELDS)
    raise ReportError(
        f"unknown field '{field}' for {questionnaire.id}; use {', '.join(SAMPLE_FIELDS)} or one of its"
        f" questions: {questions}"
    )


def _group_label(questionnaire: Questionnaire, field: str, value: Any) -> str:
    if field in SAMPLE_FIELDS:
        return "(unknown)" if value is None else str(value).replace("_", " ")
    if value is None:
        return "(not recorded)"
    question = questionnaire.question(field)
    return next((o.label for o in question.options() if o.code == value), str(value))


def _breakdown(
    session: Session,
    questionnaire: Questionnaire,
    measures: tuple[MeasureInfo, ...],
    field: str,
    start: date,
    end: date,
    division: str | None,
    small_cell: int,
    warnings: tuple[str, ...],
) -> Report:
    name = _field(questionnaire, field)
    now = today()
    last = min(end, now)
    whole_label = f"{_day_label(start)} to date" if end > now else span_label(start, end)
    whole = Period(whole_label, start, last, end > now, end > now)
    groups = count_groups(session, questionnaire, whole, name, division)
    empty = PeriodCounts(0, tuple(MeasureCounts(0, 0, 0, 0) for _ in questionnaire.measures))
    total = empty
    for _, counts in groups:
        total = _plus(total, counts)
    rest_label = f"rest of {division}" if division else "rest of the force"
    figures = []
    for value, counts in groups:
        rest = _figures(
            questionnaire, Period(rest_label, start, last), _minus(total, counts), None, small_cell
        )
        label = _group_label(questionnaire, name, value)
        figures.append(_figures(questionnaire, Period(label, start, last), counts, rest, small_cell))
    overall = _figures(questionnaire, whole, total, None, small_cell)
    narratives = tuple(
        (
            info.id,
            narrate_groups(
                info.label,
                overall.measure(info.id).figure(whole),
                [(f.measure(info.id).figure(f.period), f.measure(info.id).change) for f in figures],
                field=name.replace("_", " "),
                rest=rest_label,
                small_cell=small_cell,
            ),
        )
        for info in measures
    )
    return Report(
        survey=questionnaire.id,
        title=questionnaire.title,
        division=division,
        by=Grouping.FIELD,
        start=start,
        end=end,
        small_cell=small_cell,
        measures=measures,
        periods=tuple(figures),
        previous=overall,
        narratives=narratives,
        by_field=name,
        warnings=warnings,
    )


# ------------------------------------------------------------------ figures


def _figures(
    questionnaire: Questionnaire,
    period: Period,
    counts: PeriodCounts,
    before: PeriodFigures | None,
    small_cell: int,
) -> PeriodFigures:
    measures = []
    unavailable = Change(None, None, None, None, Direction.UNAVAILABLE)
    for k, measure in enumerate(questionnaire.measures):
        c = counts.measures[k]
        change = change_excl = unavailable
        if before is not None:
            previous = before.measure(measure.id)
            change = compare(c.positive, counts.surveys, previous.positive, previous.surveys, small_cell)
            change_excl = compare(
                c.positive,
                counts.surveys - c.neutral,
                previous.positive,
                previous.surveys - previous.neutral,
                small_cell,
            )
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
                change_excl_neutral=change_excl,
            )
        )
    return PeriodFigures(
        period=period,
        surveys=counts.surveys,
        measures=tuple(measures),
        small_sample=_too_small(counts.surveys, small_cell),
        against=before.period.label if before is not None else None,
        against_surveys=before.surveys if before is not None else None,
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


def comparison_note(report: Report) -> str:
    """What every change compares with, in one sentence: the footnote of the table and the page."""
    if report.by_field:
        rest = report.periods[0].against if report.periods else "rest of the force"
        return f"Each group is compared with the {rest} (every other survey in the range)."
    periods = report.periods
    if not periods:
        return ""
    notes = [f"{periods[0].period.label} with {periods[0].against}"]
    for before, figures in zip(periods, periods[1:], strict=False):
        if figures.against != before.period.label:
            notes.append(f"{figures.period.label} with {figures.against}")
    text = "Each change compares a period with the one before it"
    if len(notes) == 1:
        return f"{text}; {notes[0]}."
    return f"{text}, except: {'; '.join(notes)}."


def report_json(report: Report) -> dict[str, Any]:
    """The stable JSON contract of `survey report --format json` (documented in its --help)."""
    return {
        "survey": report.survey,
        "title": report.title,
        "division": report.division,
        "by": report.by.value,
        "by_field": report.by_field,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "small_cell": report.small_cell,
        "periods": [_period_json(p) for p in report.periods],
        "previous_period": _period_json(report.previous),
        "narratives": dict(report.narratives),
        "warnings": list(report.warnings),
    }


def _period_json(figures: PeriodFigures) -> dict[str, Any]:
    return {
        "label": figures.period.label,
        "start": figures.period.start.isoformat(),
        "end": figures.period.end.isoformat(),
        "partial": figures.period.partial,
        "to_date": figures.period.to_date,
        "surveys": figures.surveys,
        "small_sample": figures.small_sample,
        "against": figures.against,
        "against_surveys": figures.against_surveys,
        "measures": {
            m.measure_id: {
                **_counts(m),
                "ci95": _rounded_pair(m.ci95),
                "ci95_excl_neutral": _rounded_pair(m.ci95_excl_neutral),
                "change": _change_json(m.change, figures.against),
                "change_excl_neutral": _change_json(m.change_excl_neutral, figures.against),
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
    "change_against",
    "to_date",
    "ci95_excl_neutral_low",
    "ci95_excl_neutral_high",
    "change_excl_neutral",
    "change_excl_neutral_points",
    "by_field",
)


def report_rows(report: Report) -> list[dict[str, Any]]:
    """One row per period and measure (`--format csv`); empty cells where a figure is unavailable."""
    rows = []
    for figures in report.periods:
        for m in figures.measures:
            ci = _rounded_pair(m.ci95) or [None, None]
            ci_excl = _rounded_pair(m.ci95_excl_neutral) or [None, None]
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
                    "change_against": figures.against or "",
                    "to_date": int(figures.period.to_date),
                    "ci95_excl_neutral_low": ci_excl[0],
                    "ci95_excl_neutral_high": ci_excl[1],
                    "change_excl_neutral": m.change_excl_neutral.direction.value,
                    "change_excl_neutral_points": one_decimal(m.change_excl_neutral.difference_points),
                    "by_field": report.by_field or "",
                }
            )
    return rows
