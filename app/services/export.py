"""Pseudonymised exports of interviews for analysts: CSV, SPSS .sav, Excel .xlsx and Parquet.

One row per completed interview (and partial ones when asked), one column per question, then the
measures as published, plus the interview's own fields. Decisions:

- Pseudonymised by construction: the export reads `interviews`, `answers` and `answer_changes` only and
  never joins `cases`, so no name, telephone number, date of birth or crime reference can reach the file;
  the change history carries no staff names either.
- `interview_id` is stable: for an interview taken in this app it is the survey's initials and the
  database id ("DA-000123", which only someone with access to the database can link to a case); for an
  imported interview it is the id it was imported with, so exporting and re-importing adds nothing.
- Columns: single-coded questions hold the option code; a multiple choice has one 0/1 column per
  option, named QID_CODE; a number holds the number; date answers are ISO text ("2020-08-14") and text
  answers are text.
- Why a cell is empty is never left to guess: 996 not asked (routed away, or a partial interview ended
  before it), 997 not recorded (on the route, but no answer), 98 don't know, 99 refused. Codes are
  options 0 to 97, so the four never collide with an answer; in the .sav they are labelled and declared
  missing (SPSS allows three missing values or one range plus one value, hence one range 98 to 997
  rather than negative codes). Text and date columns hold them as text; a number question whose range
  reaches 98 keeps them blank (a count of 996 would be real).
- Per measure, `<measure>_positive` (1 positive, 0 any other answer or not recorded) and
  `<measure>_excl_neutral` (the same with the neutral answers set to 995, missing): the published
  figures count every survey in the base, not-recorded ones included, so these variables have no
  missing value there and SPSS's Valid Percent (or the mean) of each is the report's figure.
- `corrected` and `flagged_for_follow_up` say whether a supervisor corrected an answer or flagged the
  interview; the corrections themselves are in `export_changes` and the .xlsx sheet "changes".
- The dictionary travels: the .xlsx has a "codebook" sheet and every other format a `.codebook.txt`
  beside it (question wording, routing condition, type, measurement level, values, missing codes, each
  measure's definition); the .sav gets a `.sps` beside it with the multiple-response sets (which a .sav
  written here cannot hold) and the FREQUENCIES that reproduce the published figures. Codes are
  integer formats (F3.0), scales ordinal.
- completed_at is the interview's end in the bureau's local time: ISO 8601 with its UTC offset in CSV,
  local date and time in .sav and .xlsx (which have no time zones), a Europe/London timestamp in Parquet.
- Interviews answered under different questionnaire versions: the union of their questions, in the order
  of the latest version, then questions only older versions asked (not asked in the others).
- Rows are produced one interview at a time (`export_rows`, reading answers a chunk of interviews at a
  time), so a writer can stream them.
- The files are written under temporary names beside the target and renamed when all are complete, so a
  failed export never leaves half a file (nor replaces an earlier good one). Each export is audited
  with its counts and file name, never with personal data.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.clock import LOCAL, today, utcnow
from app.domain.engine import Answer as EngineAnswer
from app.domain.engine import Engine, Status
from app.domain.permissions import Actor, Permission, require
from app.domain.questionnaire import (
    DONT_KNOW,
    REFUSED,
    SPECIAL_LABELS,
    AllCondition,
    AnswerCondition,
    AnyCondition,
    Condition,
    Measure,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    Scale,
    Statement,
    TextQuestion,
)
from app.domain.text import csv_cell, xlsx_text
from app.errors import SurveyError
from app.services.catalogue import Catalogue, stored_questionnaire
from app.services.report import Period
from app.store.models import Answer, AnswerChange, AuditEvent, Interview

STATUSES_EXPORTED = ("completed",)
STATUSES_WITH_PARTIAL = ("completed", "partial")
#: Interviews whose answers are read in one statement.
CHUNK = 500

NOT_ASKED = 996
NOT_RECORDED = 997
NEUTRAL_LEFT_OUT = 995
MISSING_LABELS = {
    NOT_ASKED: "Not asked (routed away)",
    NOT_RECORDED: "Not recorded",
    DONT_KNOW: SPECIAL_LABELS[DONT_KNOW],
    REFUSED: SPECIAL_LABELS[REFUSED],
}
MISSING_CODE_NOTES = (
    (NOT_ASKED, "Not asked: the questionnaire routed away from it, or a partial interview ended before it"),
    (NOT_RECORDED, "Not recorded: the question was on the route but no answer was recorded"),
    (DONT_KNOW, "Don't know (where the question offers it)"),
    (REFUSED, "Refused (where the question offers it)"),
    (NEUTRAL_LEFT_OUT, "In <measure>_excl_neutral only: a neutral answer, left out of that figure"),
)
#: The codes as text, for the import to read back as "no answer".
NO_ANSWER_TEXTS = (str(NOT_ASKED), str(NOT_RECORDED))


class ExportError(SurveyError):
    """The export cannot be made as asked."""


class ExportFormat(StrEnum):
    CSV = "csv"
    SAV = "sav"
    XLSX = "xlsx"
    PARQUET = "parquet"


class Kind(StrEnum):
    """What a column holds, whatever the file format."""

    STRING = "string"
    INTEGER = "integer"  # option codes, versions, seconds
    NUMBER = "number"  # answers to number questions that allow fractions
    FLAG = "flag"  # 0/1
    DATETIME = "datetime"


class Level(StrEnum):
    """SPSS's measurement level."""

    NOMINAL = "nominal"
    ORDINAL = "ordinal"
    SCALE = "scale"


@dataclass(frozen=True)
class Variable:
    """One column of the export and its codebook entry."""

    name: str
    label: str
    kind: Kind
    value_labels: tuple[tuple[int, str], ...] = ()
    missing: tuple[int, ...] = ()
    question_id: str | None = None
    option_code: int | None = None  # the option of a multiple-choice 0/1 column
    level: Level = Level.NOMINAL
    spss_format: str | None = None  # "F3.0"; None: the writer's default for the kind
    wording: str | None = None  # the question as read out
    routing: str | None = None  # when it is asked, as a condition on earlier answers
    definition: str | None = None  # how a derived variable is computed


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: ExportFormat
    survey: str
    interviews: int
    variables: int
    beside: tuple[Path, ...] = ()  # the codebook and syntax files written next to it


YES_NO_FLAG = ((0, "No"), (1, "Yes"))
CHOSEN_FLAG = ((0, "Not chosen"), (1, "Chosen"))
CODE_FORMAT = "F3.0"

META_VARIABLES = (
    Variable("interview_id", "Interview (pseudonymous id)", Kind.STRING),
    Variable("survey", "Survey", Kind.STRING),
    Variable("questionnaire_version", "Questionnaire version", Kind.INTEGER, spss_format="F4.0"),
    Variable("status", "Interview status (completed or partial)", Kind.STRING),
    Variable("completed_at", "Completed at (local time)", Kind.DATETIME, level=Level.SCALE),
    Variable("division", "Division", Kind.STRING),
    Variable("district", "District", Kind.STRING),
    Variable(
        "duration_seconds", "Interview length (seconds)", Kind.INTEGER, level=Level.SCALE, spss_format="F8.0"
    ),
    Variable("imported", "Imported from an earlier survey tool", Kind.FLAG, YES_NO_FLAG, spss_format="F1.0"),
    Variable(
        "corrected",
        "A supervisor corrected an answer afterwards (see the change history)",
        Kind.FLAG,
        YES_NO_FLAG,
        spss_format="F1.0",
    ),
    Variable(
        "flagged_for_follow_up",
        "Flagged by a supervisor for follow-up",
        Kind.FLAG,
        YES_NO_FLAG,
        spss_format="F1.0",
    ),
    Variable(
        "verbatims_pending",
        "Free-text answers not yet reviewed by a supervisor (exported empty)",
        Kind.INTEGER,
        level=Level.SCALE,
        spss_format="F3.0",
    ),
    Variable(
        "may_quote",
        "The victim agreed their words may be quoted anonymously",
        Kind.FLAG,
        YES_NO_FLAG,
        spss_format="F1.0",
    ),
)
META_COLUMNS = tuple(v.name for v in META_VARIABLES)


def parse_format(text: str | None, path: Path) -> ExportFormat:
    """--format, else the file's extension."""
    chosen = text or path.suffix.lstrip(".").lower()
    try:
        return ExportFormat(chosen)
    except ValueError:
        names = ", ".join(f.value for f in ExportFormat)
        if text is None:
            raise ExportError(f"{path}: give --format ({names}) or a file ending in one of them") from None
        raise ExportError(f"unknown export format '{text}'; use one of {names}") from None


def pseudonymous_id(survey: str, interview_id: int) -> str:
    """'DA-000123' for interview 123 of domestic_abuse: stable, and meaningless outside the database."""
    initials = "".join(part[:1] for part in survey.split("_")).upper()
    return f"{initials}-{interview_id:06d}"


# ------------------------------------------------------------------ columns


def takes_missing_codes(question: QuestionBase) -> bool:
    """Whether a question's column can hold 996 / 997 without mistaking them for an answer."""
    if isinstance(question, Statement):
        return False
    if isinstance(question, NumberQuestion):
        return question.max is not None and question.max < DONT_KNOW
    return True


def question_variables(
    question: QuestionBase, extra_codes: Sequence[tuple[int, str]] = (), routing: str | None = None
) -> list[Variable]:
    """The column(s) of one question; `extra_codes` are options only older versions had."""
    label = question.short_label()
    no_answer = (NOT_ASKED, NOT_RECORDED) if takes_missing_codes(question) else ()
    specials = tuple(o.code for o in question.options() if o.code in (DONT_KNOW, REFUSED))
    missing = (*specials, *no_answer)
    missing_labels = tuple((code, MISSING_LABELS[code]) for code in missing)
    common: dict[str, Any] = {"question_id": question.id, "wording": question.text, "routing": routing}
    if isinstance(question, MultipleChoice):
        known = {o.code for o in question.options()}
        options = [(o.code, o.label) for o in question.options()]
        options += [(code, text) for code, text in extra_codes if code not in known]
        flag_labels = CHOSEN_FLAG + tuple((code, MISSING_LABELS[code]) for code in no_answer)
        return [
            Variable(
                f"{question.id}_{code}",
                f"{label}: {text}",
                Kind.FLAG,
                flag_labels,
                no_answer,
                option_code=code,
                spss_format=CODE_FORMAT,
                **common,
            )
            for code, text in options
        ]
    if question.single_coded:
        value_labels = tuple((o.code, o.label) for o in question.options() if o.code not in specials)
        return [
            Variable(
                question.id,
                label,
                Kind.INTEGER,
                value_labels + missing_labels,
                missing,
                level=Level.ORDINAL if isinstance(question, Scale) else Level.NOMINAL,
                spss_format=CODE_FORMAT,
                **common,
            )
        ]
    if isinstance(question, NumberQuestion):
        kind = Kind.INTEGER if question.integer else Kind.NUMBER
        return [
            Variable(
                question.id,
                label,
                kind,
                missing_labels,
                missing,
                level=Level.SCALE,
                spss_format="F8.0" if question.integer else "F8.2",
                **common,
            )
        ]
    # Dates (ISO text) and text; the codes are written as text ("98", "996").
    return [Variable(question.id, label, Kind.STRING, missing_labels, missing, **common)]


def measure_variables(questionnaire: Questionnaire) -> list[Variable]:
    """Per measure, the published figure as a 0/1 variable, with and without the neutral answers."""
    variables = []
    for measure in questionnaire.measures:
        question = questionnaire.question(measure.question)
        positive = _codes_named(question, measure.positive)
        neutral = _codes_named(question, measure.neutral)
        base = f"1 when {measure.question} is {positive}; 0 for any other answer"
        variables.append(
            Variable(
                f"{measure.id}_positive",
                f"{measure.label}: positive (% of all surveys, as published)",
                Kind.FLAG,
                ((0, "Any other answer, or not recorded"), (1, "Positive")),
                spss_format=CODE_FORMAT,
                question_id=measure.question,
                definition=(
                    f"{base} (neutral, negative, don't know, refused) or when not recorded: every survey"
                    " is in the base, as in the published figure. Valid Percent of 1 (or the mean x 100)"
                    " is the report's % of all surveys."
                ),
            )
        )
        variables.append(
            Variable(
                f"{measure.id}_excl_neutral",
                f"{measure.label}: positive, neutral answers left out",
                Kind.FLAG,
                (
                    (0, "Any other answer, or not recorded"),
                    (1, "Positive"),
                    (NEUTRAL_LEFT_OUT, "Neutral: left out"),
                ),
                (NEUTRAL_LEFT_OUT,),
                spss_format=CODE_FORMAT,
                question_id=measure.question,
                definition=(
                    f"{base} or when not recorded; {NEUTRAL_LEFT_OUT} (missing) when it is"
                    f" {neutral or 'neutral (this measure has no neutral answer)'}. Valid Percent of 1 is"
                    " the report's % excluding neutral answers."
                ),
            )
        )
    return variables


def _codes_named(question: QuestionBase, codes: Sequence[int]) -> str:
    labels = {o.code: o.label for o in question.options()}
    return ", ".join(f"{code} ({labels.get(code, '?')})" for code in codes)


def export_variables(questionnaires: Sequence[Questionnaire]) -> list[Variable]:
    """Every column: the interview's fields, the questions (latest version first), then the measures."""
    ordered = sorted(questionnaires, key=lambda q: q.version, reverse=True)
    defining: dict[str, tuple[Questionnaire, QuestionBase]] = {}
    extra: dict[str, dict[int, str]] = {}
    for questionnaire in ordered:
        for question in questionnaire.questions():
            if question.id not in defining:
                defining[question.id] = (questionnaire, question)
            elif isinstance(question, MultipleChoice):
                for option in question.options():
                    extra.setdefault(question.id, {}).setdefault(option.code, option.label)
    variables = list(META_VARIABLES)
    for question_id, (questionnaire, question) in defining.items():
        routing = routing_condition(questionnaire, question_id)
        variables += question_variables(question, sorted(extra.get(question_id, {}).items()), routing)
    variables += measure_variables(ordered[0])
    return variables


def routing_condition(questionnaire: Questionnaire, question_id: str) -> str | None:
    """When the question is asked, as a filter on earlier answers; None: always (a stop rule ends the
    call, so a completed interview never stopped before a question)."""
    section = questionnaire.section_of(question_id)
    question = questionnaire.question(question_id)
    conditions = [c for c in (section.ask_if, question.ask_if) if c is not None]
    if len(conditions) == 1:
        return describe_condition(conditions[0])
    return " and ".join(_bracketed(c) for c in conditions) or None


def describe_condition(condition: Condition) -> str:
    """`{question: q, in: [1, 2]}` as "q in (1, 2)"; all/any/not with brackets where needed."""
    if isinstance(condition, AnswerCondition):
        operator = condition.operator()
        value = getattr(condition, operator)
        if operator in ("in_", "not_in") and len(value) == 1:
            return f"{condition.question} {'=' if operator == 'in_' else '<>'} {value[0]}"
        if operator in ("in_", "not_in"):
            word = "in" if operator == "in_" else "not in"
            return f"{condition.question} {word} ({', '.join(str(v) for v in value)})"
        if operator == "answered":
            return f"{condition.question} {'answered' if value else 'not answered'}"
        symbol = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[operator]
        return f"{condition.question} {symbol} {value:g}"
    if isinstance(condition, AllCondition):
        return " and ".join(_bracketed(c) for c in condition.all)
    if isinstance(condition, AnyCondition):
        return " or ".join(_bracketed(c) for c in condition.any)
    return f"not ({describe_condition(condition.not_)})"


def _bracketed(condition: Condition) -> str:
    text = describe_condition(condition)
    return f"({text})" if isinstance(condition, AllCondition | AnyCondition) else text


# ------------------------------------------------------------------ the plan and the rows


@dataclass(frozen=True)
class ExportPlan:
    """What an export holds: the columns, and which interviews (read by `export_rows`)."""

    survey: str
    start: date
    end: date
    include_partial: bool
    current: Questionnaire
    versions: Mapping[int, Questionnaire]
    variables: tuple[Variable, ...]
    _by_question: dict[str, list[Variable]] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:
        return f"{self.survey} {self.start.isoformat()} to {self.end.isoformat()}"


def _interview_filter(
    survey: str, start: date, end: date, include_partial: bool
) -> list[ColumnElement[bool]]:
    low, high = Period("", start, end).utc_bounds()
    statuses = STATUSES_WITH_PARTIAL if include_partial else STATUSES_EXPORTED
    return [
        Interview.survey == survey,
        Interview.status.in_(statuses),
        Interview.ended_at >= low,
        Interview.ended_at < high,
    ]


def plan_export(
    session: Session,
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    *,
    include_partial: bool = False,
) -> ExportPlan:
    """The columns of an export (no permission check: callers check, see export_interviews)."""
    current = catalogue.get(survey)
    if end < start:
        raise ExportError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    where = _interview_filter(survey, start, end, include_partial)
    versions: dict[int, Questionnaire] = {current.version: current}
    used = session.scalars(select(Interview.questionnaire_version).where(*where).distinct())
    for version in sorted(set(used) - {current.version}):
        versions[version] = stored_questionnaire(session, survey, version)
    variables = tuple(export_variables(list(versions.values())))
    by_question: dict[str, list[Variable]] = {}
    for variable in variables:
        if variable.question_id is not None and variable.definition is None:
            by_question.setdefault(variable.question_id, []).append(variable)
    return ExportPlan(survey, start, end, include_partial, current, versions, variables, by_question)


def export_rows(session: Session, plan: ExportPlan) -> Iterator[dict[str, Any]]:
    """One dict per interview (variable name -> value), in order of completion, a chunk read at a time."""
    where = _interview_filter(plan.survey, plan.start, plan.end, plan.include_partial)
    interviews = session.execute(
        select(
            Interview.id,
            Interview.external_id,
            Interview.imported,
            Interview.questionnaire_version,
            Interview.status,
            Interview.started_at,
            Interview.ended_at,
            Interview.division,
            Interview.district,
            Interview.flagged_for_follow_up,
        )
        .where(*where)
        .order_by(Interview.ended_at, Interview.id)
    ).all()
    engines = {version: Engine(q) for version, q in plan.versions.items()}
    measures = [(m, plan.current.question(m.question)) for m in plan.current.measures]
    for first in range(0, len(interviews), CHUNK):
        chunk = interviews[first : first + CHUNK]
        ids = [row.id for row in chunk]
        stored: dict[int, dict[str, tuple[int | None, str | None]]] = {}
        for interview_id, question_id, code, value in session.execute(
            select(Answer.interview_id, Answer.question_id, Answer.code, Answer.value).where(
                Answer.interview_id.in_(ids)
            )
        ):
            stored.setdefault(interview_id, {})[question_id] = (code, value)
        pending = _redact_verbatims(session, engines, chunk, stored)
        corrected = set(
            session.scalars(
                select(AnswerChange.interview_id)
                .where(AnswerChange.interview_id.in_(ids), AnswerChange.kind == "corrected")
                .distinct()
            )
        )
        for row in chunk:
            cells: dict[str, Any] = {
                "interview_id": row.external_id
                if row.imported and row.external_id
                else pseudonymous_id(plan.survey, row.id),
                "survey": plan.survey,
                "questionnaire_version": row.questionnaire_version,
                "status": row.status,
                "completed_at": row.ended_at.astimezone(LOCAL).replace(microsecond=0)
                if row.ended_at
                else None,
                "division": row.division,
                "district": row.district,
                "duration_seconds": _duration(row.started_at, row.ended_at, row.imported),
                "imported": int(row.imported),
                "corrected": int(row.id in corrected),
                "flagged_for_follow_up": int(bool(row.flagged_for_follow_up)),
                "verbatims_pending": pending.get(row.id, 0),
            }
            engine = engines[row.questionnaire_version]
            cells["may_quote"] = _may_quote(engine.questionnaire, stored.get(row.id, {}))
            answers = _answers(engine.questionnaire, stored.get(row.id, {}))
            cells.update(_question_cells(plan, engine, answers, row.status))
            cells.update(_measure_cells(measures, answers))
            yield cells


def _redact_verbatims(
    session: Session,
    engines: Mapping[int, Engine],
    chunk: Sequence[Any],
    stored: dict[int, dict[str, tuple[int | None, str | None]]],
) -> dict[int, int]:
    """Free text as analysts may see it: the supervisor's redaction, or empty until there is one.
    Changes `stored` in place; returns how many verbatims of each interview await review."""
    from app.services.redaction import redacted_texts

    text_ids = {
        version: {q.id for q in engine.questionnaire.questions() if isinstance(q, TextQuestion)}
        for version, engine in engines.items()
    }
    verbatims = [
        (row.id, question_id, code, value)
        for row in chunk
        for question_id, (code, value) in stored.get(row.id, {}).items()
        if value and question_id in text_ids[row.questionnaire_version]
    ]
    if not verbatims:
        return {}
    answer_ids = dict(
        ((interview_id, question_id), answer_id)
        for answer_id, interview_id, question_id in session.execute(
            select(Answer.id, Answer.interview_id, Answer.question_id).where(
                Answer.interview_id.in_({v[0] for v in verbatims})
            )
        )
    )
    redacted = redacted_texts(
        session, [(answer_ids[(i, q)], i, q, value) for i, q, _, value in verbatims if (i, q) in answer_ids]
    )
    pending: dict[int, int] = {}
    for interview_id, question_id, code, _ in verbatims:
        text = redacted.get((interview_id, question_id))
        if text is None:
            pending[interview_id] = pending.get(interview_id, 0) + 1
        stored[interview_id][question_id] = (code, text or "")
    return pending


def _may_quote(questionnaire: Questionnaire, stored: Mapping[str, tuple[int | None, str | None]]) -> int:
    """1 where the victim agreed to be quoted (the questionnaire's quote consent answered yes), else 0."""
    question = questionnaire.consent_question("quote")
    return int(question is not None and stored.get(question, (None, None))[0] == 1)


def _answers(
    questionnaire: Questionnaire, stored: Mapping[str, tuple[int | None, str | None]]
) -> dict[str, EngineAnswer]:
    answers = {}
    for question_id, (code, value) in stored.items():
        question = _question_of(questionnaire, question_id)
        if question is not None:
            answers[question_id] = EngineAnswer.from_stored(question, code, value)
    return answers


def _question_cells(
    plan: ExportPlan, engine: Engine, answers: Mapping[str, EngineAnswer], status: str
) -> dict[str, Any]:
    """Every question column of one interview: the answer, or why there is none."""
    statuses = engine.route(answers).statuses
    cells: dict[str, Any] = {}
    for question_id, columns in plan._by_question.items():
        answer = answers.get(question_id)
        if answer is not None and not answer.blank:
            cells.update(_answer_cells(columns, answer))
            continue
        on_route = statuses.get(question_id)
        if on_route is None or on_route is Status.OFF:
            why = NOT_ASKED  # another version's question, routed away, or after a stop
        elif on_route is Status.ANSWERED or status == "completed":
            why = NOT_RECORDED  # a blank answer row, or a gap in an imported interview
        else:
            why = NOT_ASKED  # a partial interview ended before it
        for column in columns:
            if why in column.missing:
                cells[column.name] = str(why) if column.kind is Kind.STRING else why
    return cells


def _measure_cells(
    measures: Sequence[tuple[Measure, QuestionBase]], answers: Mapping[str, EngineAnswer]
) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for measure, _question in measures:
        answer = answers.get(measure.question)
        code = answer.code if answer is not None else None
        positive = int(code is not None and code in measure.positive)
        cells[f"{measure.id}_positive"] = positive
        cells[f"{measure.id}_excl_neutral"] = (
            NEUTRAL_LEFT_OUT if code is not None and code in measure.neutral else positive
        )
    return cells


def _question_of(questionnaire: Questionnaire, question_id: str) -> QuestionBase | None:
    try:
        return questionnaire.question(question_id)
    except KeyError:
        return None


def _duration(started: datetime, ended: datetime | None, imported: bool) -> int | None:
    if ended is None:
        return None
    seconds = int((ended - started).total_seconds())
    # An import without a duration records started_at = ended_at: unknown, not zero.
    return None if imported and seconds == 0 else seconds


def _answer_cells(columns: list[Variable], answer: EngineAnswer) -> dict[str, Any]:
    first = columns[0]
    if first.option_code is not None:  # multiple choice: 0/1 per option
        chosen = set(answer.codes())
        return {c.name: int(c.option_code in chosen) for c in columns}
    if answer.code is not None:
        if first.kind is Kind.STRING:
            return {first.name: str(answer.code)}
        return {first.name: answer.code}
    value = answer.value
    if isinstance(value, date):
        return {first.name: value.isoformat()}
    if first.kind is Kind.STRING:
        return {first.name: str(value)}
    return {first.name: value}


def export_table(
    session: Session,
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    *,
    include_partial: bool = False,
) -> tuple[list[Variable], list[list[Any]]]:
    """The columns and every row as lists, for small exports and tests."""
    plan = plan_export(session, catalogue, survey, start, end, include_partial=include_partial)
    names = [v.name for v in plan.variables]
    return list(plan.variables), [[row.get(name) for name in names] for row in export_rows(session, plan)]


# ------------------------------------------------------------------ the change history


CHANGE_COLUMNS = (
    "interview_id",
    "survey",
    "question",
    "question_label",
    "kind",
    "old_code",
    "old_value",
    "new_code",
    "new_value",
    "reason",
    "changed_at",
)
CHANGE_KINDS = {
    "corrected": "corrected afterwards by a supervisor",
    "changed": "changed by the caller during the interview",
    "discarded": "removed during the interview because a changed answer routed away from it",
}


def change_rows(session: Session, plan: ExportPlan) -> Iterator[dict[str, Any]]:
    """The change history of the exported interviews, oldest first; no staff names."""
    where = _interview_filter(plan.survey, plan.start, plan.end, plan.include_partial)
    labels = {v.question_id: v.label.split(": ")[0] for v in plan.variables if v.question_id}
    for interview_id, external_id, imported, change in session.execute(
        select(Interview.id, Interview.external_id, Interview.imported, AnswerChange)
        .join(AnswerChange, AnswerChange.interview_id == Interview.id)
        .where(*where)
        .order_by(Interview.ended_at, Interview.id, AnswerChange.id)
    ):
        yield {
            "interview_id": external_id
            if imported and external_id
            else pseudonymous_id(plan.survey, interview_id),
            "survey": plan.survey,
            "question": change.question_id,
            "question_label": labels.get(change.question_id, ""),
            "kind": change.kind,
            "old_code": change.old_code,
            "old_value": change.old_value,
            "new_code": change.new_code,
            "new_value": change.new_value,
            "reason": change.reason,
            "changed_at": change.changed_at.astimezone(LOCAL).replace(microsecond=0),
        }


# ------------------------------------------------------------------ the use cases


def export_interviews(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    fmt: ExportFormat | str,
    path: Path | str,
    include_partial: bool = False,
) -> ExportResult:
    """Write the export to `path` (whole or not at all) and record it in the audit log."""
    require(actor, Permission.EXPORT)
    path = Path(path)
    export_format = parse_format(str(fmt), path)
    plan = plan_export(session, catalogue, survey, start, end, include_partial=include_partial)
    variables = list(plan.variables)
    names = [v.name for v in variables]
    counted = _Counted([row.get(name) for name in names] for row in export_rows(session, plan))
    writer = WRITERS[export_format]
    beside: list[Path] = []
    with ExitStack() as stack:
        temporary = stack.enter_context(_atomic(path))
        changes = list(change_rows(session, plan)) if export_format is ExportFormat.XLSX else []
        writer(temporary, variables, counted, plan.title, changes)
        if export_format is not ExportFormat.XLSX:
            codebook = path.with_name(f"{path.stem}.codebook.txt")
            write_codebook_text(stack.enter_context(_atomic(codebook)), plan, path.name)
            beside.append(codebook)
        if export_format is ExportFormat.SAV:
            syntax = path.with_name(f"{path.stem}.sps")
            write_sps(stack.enter_context(_atomic(syntax)), plan, path.name)
            beside.append(syntax)
    _audit(
        session,
        actor,
        "export",
        survey,
        export_format,
        path,
        start,
        end,
        include_partial,
        counted.n,
        len(variables),
    )
    return ExportResult(path, export_format, survey, counted.n, len(variables), tuple(beside))


def export_changes(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    fmt: ExportFormat | str,
    path: Path | str,
    include_partial: bool = False,
) -> ExportResult:
    """The change history of the interviews an export of the same range holds, as CSV or .xlsx."""
    require(actor, Permission.EXPORT)
    path = Path(path)
    export_format = parse_format(str(fmt), path)
    if export_format not in (ExportFormat.CSV, ExportFormat.XLSX):
        raise ExportError(f"{path}: the change history is written as csv or xlsx")
    plan = plan_export(session, catalogue, survey, start, end, include_partial=include_partial)
    rows = list(change_rows(session, plan))
    with _atomic(path) as temporary:
        if export_format is ExportFormat.CSV:
            _write_csv_rows(temporary, list(CHANGE_COLUMNS), ([r[c] for c in CHANGE_COLUMNS] for r in rows))
        else:
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            _changes_sheet(book, rows)
            book.save(temporary)
    _audit(
        session,
        actor,
        "export_changes",
        survey,
        export_format,
        path,
        start,
        end,
        include_partial,
        len(rows),
        len(CHANGE_COLUMNS),
    )
    return ExportResult(path, export_format, survey, len(rows), len(CHANGE_COLUMNS))


class _Counted:
    """An iterable of rows that counts what its consumer took."""

    def __init__(self, rows: Iterable[list[Any]]) -> None:
        self._rows = iter(rows)
        self.n = 0

    def __iter__(self) -> Iterator[list[Any]]:
        for row in self._rows:
            self.n += 1
            yield row


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    survey: str,
    export_format: ExportFormat,
    path: Path,
    start: date,
    end: date,
    include_partial: bool,
    rows: int,
    variables: int,
) -> None:
    counts = {"interviews": rows, "variables": variables} if action == "export" else {"changes": rows}
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action=action,
            entity="survey",
            entity_id=survey,
            detail=json.dumps(
                {
                    "format": export_format.value,
                    "file": path.name,
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "include_partial": include_partial,
                    **counts,
                }
            ),
        )
    )
    session.flush()


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary file beside `path`, renamed over it only when writing succeeded."""
    if path.is_dir():
        raise ExportError(f"{path}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise ExportError(f"{path.parent}: folder not found")
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# ------------------------------------------------------------------ the dictionary


def codebook_rows(variables: Sequence[Variable]) -> Iterator[list[str]]:
    """The codebook as a table: the header, then one row per variable."""
    yield [
        "variable",
        "label",
        "type",
        "values",
        "missing",
        "level",
        "format",
        "question",
        "asked if",
        "definition",
    ]
    for v in variables:
        yield [
            v.name,
            v.label,
            v.kind.value,
            _describe_values(v),
            ", ".join(str(code) for code in v.missing),
            v.level.value,
            _spss_format(v),
            v.wording or "",
            v.routing or ("always" if v.wording and v.definition is None else ""),
            v.definition or "",
        ]


def write_codebook_text(path: Path, plan: ExportPlan, data_file: str) -> None:
    """The codebook as plain text, beside a CSV, .sav or Parquet export."""
    partial = " (partial interviews included)" if plan.include_partial else ""
    lines = [
        f"Codebook for {data_file}: {plan.current.title} ({plan.survey}), interviews completed from"
        f" {plan.start:%d %B %Y} to {plan.end:%d %B %Y}{partial}.",
        f"Written {today():%d %B %Y}. One row per interview; pseudonymised (no names, numbers or crime"
        " references).",
        "",
        "Codes for answers that are not a value (declared missing in the .sav):",
        *(f"  {code:>4}  {text}" for code, text in MISSING_CODE_NOTES),
        "  Text and date columns hold these codes as text. A number question whose range reaches 98 leaves"
        " them blank.",
        "",
        "Measures (the published figures; every survey of the period is in the base):",
    ]
    for variable in plan.variables:
        if variable.definition:
            lines.append(f"  {variable.name}: {variable.definition}")
    lines += ["", "Variables:"]
    for variable in plan.variables:
        lines.append("")
        lines.append(f"{variable.name}  {variable.label}")
        lines.append(
            f"  type: {variable.kind.value}; level: {variable.level.value};"
            f" SPSS format: {_spss_format(variable)}"
        )
        if variable.wording:
            lines.append(f"  question: {' '.join(variable.wording.split())}")
            lines.append(f"  asked if: {variable.routing or 'always'}")
        if variable.value_labels:
            lines.append(f"  values: {_describe_values(variable)}")
        if variable.missing:
            lines.append(f"  missing: {', '.join(str(code) for code in variable.missing)}")
        if variable.definition:
            lines.append(f"  definition: {variable.definition}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_sps(path: Path, plan: ExportPlan, data_file: str) -> None:
    """SPSS syntax to run on the opened .sav: multiple-response sets, and the published figures."""
    groups: dict[str, list[Variable]] = {}
    for variable in plan.variables:
        if variable.option_code is not None and variable.question_id:
            groups.setdefault(variable.question_id, []).append(variable)
    lines = [
        f"* SPSS syntax for {data_file} ({plan.title}). Open the .sav first, then run this file.",
        "",
    ]
    if groups:
        lines.append("* Multiple-response sets: one per multiple-choice question (1 = chosen).")
        lines.append("MRSETS")
        for question_id, columns in groups.items():
            label = columns[0].label.split(": ")[0].replace("'", "''")
            names = " ".join(c.name for c in columns)
            lines.append(f"  /MDGROUP NAME=${question_id} LABEL='{label}' CATEGORYLABELS=VARLABELS")
            lines.append(f"   VARIABLES={names} VALUE=1")
        lines.append(".")
        lines.append("")
    ordinal = [v.name for v in plan.variables if v.level is Level.ORDINAL]
    if ordinal:
        lines.append("VARIABLE LEVEL " + " ".join(ordinal) + " (ORDINAL).")
        lines.append("")
    derived = [v.name for v in plan.variables if v.definition]
    if derived:
        lines += [
            "* The published figures: Valid Percent of 1 in each variable below, by period (for example",
            "* a quarter: SELECT IF or SPLIT FILE on completed_at), is the report's percentage.",
            "FREQUENCIES VARIABLES=" + " ".join(derived) + ".",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _spss_format(variable: Variable) -> str:
    if variable.spss_format:
        return variable.spss_format
    return {Kind.STRING: "A", Kind.DATETIME: "DATETIME20", Kind.NUMBER: "F8.2"}.get(variable.kind, "F8.0")


def _describe_values(variable: Variable) -> str:
    return "; ".join(f"{code} = {text}" for code, text in variable.value_labels)


# ------------------------------------------------------------------ writers


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_cell(value)  # never a formula in a spreadsheet
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_csv_rows(path: Path, header: list[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_cell(value) for value in row])


def write_csv(
    path: Path,
    variables: list[Variable],
    rows: Iterable[Sequence[Any]],
    title: str,
    changes: Sequence[Mapping[str, Any]] = (),
) -> None:
    """UTF-8 with a byte order mark, so Excel shows accented names and verbatims correctly."""
    _write_csv_rows(path, [v.name for v in variables], rows)


def _naive_local(value: datetime) -> datetime:
    return value.astimezone(LOCAL).replace(tzinfo=None)


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """A cell that shows what it holds: text always as an explicit string (never a formula, whatever
    it starts with), without the characters XML cannot hold; times as local date-times."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=xlsx_text(value))
        cell.data_type = "s"
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=_naive_local(value))
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    return value


def _changes_sheet(book: Any, changes: Sequence[Mapping[str, Any]]) -> None:
    sheet = book.create_sheet("changes")
    sheet.append(list(CHANGE_COLUMNS))
    for change in changes:
        sheet.append([_xlsx_cell(sheet, change[column]) for column in CHANGE_COLUMNS])


def write_xlsx(
    path: Path,
    variables: list[Variable],
    rows: Iterable[Sequence[Any]],
    title: str,
    changes: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Sheets 'data' (one row per interview), 'codebook' (every variable) and 'changes' (the history)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    data = book.create_sheet("data")
    data.append([v.name for v in variables])
    for row in rows:
        data.append([_xlsx_cell(data, value) for value in row])
    codebook = book.create_sheet("codebook")
    for line in codebook_rows(variables):
        codebook.append([_xlsx_cell(codebook, value) for value in line])
    codebook.append([])
    codebook.append(["code", "meaning"])
    for code, text in MISSING_CODE_NOTES:
        codebook.append([code, text])
    _changes_sheet(book, changes)
    book.save(path)


def _sav_missing(variable: Variable) -> list[Any]:
    """SPSS holds three missing values, or one range and one value: 98, 99, 996, 997 become a range."""
    codes = sorted(variable.missing)
    if variable.kind is Kind.STRING:
        return [str(code) for code in codes if code in (NOT_ASKED, NOT_RECORDED)]
    if len(codes) <= 3:
        return [float(code) for code in codes]
    return [{"lo": float(codes[0]), "hi": float(codes[-1])}]


def write_sav(
    path: Path,
    variables: list[Variable],
    rows: Iterable[Sequence[Any]],
    title: str,
    changes: Sequence[Mapping[str, Any]] = (),
) -> None:
    """SPSS: variable and value labels, the no-answer codes as user-missing values, formats, levels."""
    import pandas as pd
    import pyreadstat

    listed = [list(row) for row in rows]
    columns: dict[str, Any] = {}
    for index, variable in enumerate(variables):
        values = [row[index] for row in listed]
        if variable.kind is Kind.STRING:
            columns[variable.name] = pd.Series(["" if v is None else str(v) for v in values], dtype=object)
        elif variable.kind is Kind.DATETIME:
            columns[variable.name] = pd.to_datetime(
                [None if v is None else _naive_local(v) for v in values]
            ).astype("datetime64[ns]")
        else:
            columns[variable.name] = pd.Series(
                [float("nan") if v is None else float(v) for v in values], dtype="float64"
            )
    frame = pd.DataFrame(columns)
    numeric = [v for v in variables if v.kind not in (Kind.STRING, Kind.DATETIME)]
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=title[:64],
        column_labels={v.name: v.label[:256] for v in variables},
        variable_value_labels={
            v.name: {float(code): text for code, text in v.value_labels} for v in numeric if v.value_labels
        },
        missing_ranges={v.name: _sav_missing(v) for v in variables if _sav_missing(v)},
        variable_measure={v.name: v.level.value for v in variables if v.kind is not Kind.STRING},
        variable_format={v.name: v.spss_format for v in numeric if v.spss_format},
    )


def write_parquet(
    path: Path,
    variables: list[Variable],
    rows: Iterable[Sequence[Any]],
    title: str,
    changes: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Typed columns; each field's metadata carries its label and value labels (the codebook)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        Kind.STRING: pa.string(),
        Kind.INTEGER: pa.int64(),
        Kind.NUMBER: pa.float64(),
        Kind.FLAG: pa.int16(),
        Kind.DATETIME: pa.timestamp("ms", tz=str(LOCAL)),  # Parquet has no whole-second unit
    }
    listed = [list(row) for row in rows]
    arrays = []
    fields = []
    for index, variable in enumerate(variables):
        values = [row[index] for row in listed]
        if variable.kind is Kind.NUMBER:
            values = [None if v is None else float(v) for v in values]
        arrays.append(pa.array(values, type=types[variable.kind]))
        metadata = {"label": variable.label}
        if variable.value_labels:
            metadata["value_labels"] = json.dumps({str(code): text for code, text in variable.value_labels})
        if variable.missing:
            metadata["missing"] = json.dumps(list(variable.missing))
        if variable.wording:
            metadata["question"] = variable.wording
            metadata["asked_if"] = variable.routing or "always"
        if variable.definition:
            metadata["definition"] = variable.definition
        fields.append(pa.field(variable.name, types[variable.kind], metadata=metadata))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata={"title": title}))
    pq.write_table(table, path)


WRITERS = {
    ExportFormat.CSV: write_csv,
    ExportFormat.SAV: write_sav,
    ExportFormat.XLSX: write_xlsx,
    ExportFormat.PARQUET: write_parquet,
}
