"""Pseudonymised exports of interviews for analysts: CSV, SPSS .sav, Excel .xlsx and Parquet.

One row per completed interview (and partial ones when asked), one column per question, plus the
interview's own fields. Decisions:

- Pseudonymised by construction: the export reads `interviews` and `answers` only and never joins
  `cases`, so no name, telephone number, date of birth or crime reference can reach the file.
- `interview_id` is stable: for an interview taken in this app it is the survey's initials and the
  database id ("DA-000123", which only someone with access to the database can link to a case); for an
  imported interview it is the id it was imported with, so exporting and re-importing adds nothing.
- Columns: single-coded questions hold the option code (98 don't know and 99 refused included: declared
  as missing values in the .sav); a multiple choice has one 0/1 column per option, named QID_CODE (all
  blank when the question was not answered); a number holds the number; date answers are ISO text
  ("2020-08-14") and text answers are text, where a don't know or refused answer is written "98" / "99".
  A blank cell is an answer that was not recorded.
- completed_at is the interview's end in the bureau's local time: ISO 8601 with its UTC offset in CSV,
  local date and time in .sav and .xlsx (which have no time zones), a Europe/London timestamp in Parquet.
- Interviews answered under different questionnaire versions: the union of their questions, in the order
  of the latest version, then questions only older versions asked.
- The file is written under a temporary name beside the target and renamed when complete, so a failed
  export never leaves half a file (nor replaces an earlier good one). Each export is audited with its
  counts and file name, never with personal data.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.domain.engine import Answer as EngineAnswer
from app.domain.permissions import Actor, Permission, require
from app.domain.questionnaire import (
    DONT_KNOW,
    REFUSED,
    SPECIAL_LABELS,
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
)
from app.errors import SurveyError
from app.services.catalogue import Catalogue, stored_questionnaire
from app.services.report import Period
from app.store.models import Answer, AuditEvent, Interview

STATUSES_EXPORTED = ("completed",)
STATUSES_WITH_PARTIAL = ("completed", "partial")


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


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: ExportFormat
    survey: str
    interviews: int
    variables: int


YES_NO_FLAG = ((0, "No"), (1, "Yes"))
CHOSEN_FLAG = ((0, "Not chosen"), (1, "Chosen"))

META_VARIABLES = (
    Variable("interview_id", "Interview (pseudonymous id)", Kind.STRING),
    Variable("survey", "Survey", Kind.STRING),
    Variable("questionnaire_version", "Questionnaire version", Kind.INTEGER),
    Variable("status", "Interview status (completed or partial)", Kind.STRING),
    Variable("completed_at", "Completed at (local time)", Kind.DATETIME),
    Variable("division", "Division", Kind.STRING),
    Variable("district", "District", Kind.STRING),
    Variable("duration_seconds", "Interview length (seconds)", Kind.INTEGER),
    Variable("imported", "Imported from an earlier survey tool", Kind.FLAG, YES_NO_FLAG),
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


def question_variables(question: QuestionBase, extra_codes: Sequence[tuple[int, str]] = ()) -> list[Variable]:
    """The column(s) of one question; `extra_codes` are options only older versions had."""
    label = question.short_label()
    specials = tuple(o.code for o in question.options() if o.code in (DONT_KNOW, REFUSED))
    special_labels = tuple((code, SPECIAL_LABELS[code]) for code in specials)
    if isinstance(question, MultipleChoice):
        known = {o.code for o in question.options()}
        options = [(o.code, o.label) for o in question.options()]
        options += [(code, text) for code, text in extra_codes if code not in known]
        return [
            Variable(
                f"{question.id}_{code}",
                f"{label}: {text}",
                Kind.FLAG,
                CHOSEN_FLAG,
                question_id=question.id,
                option_code=code,
            )
            for code, text in options
        ]
    if question.single_coded:
        value_labels = tuple((o.code, o.label) for o in question.options())
        return [Variable(question.id, label, Kind.INTEGER, value_labels, specials, question.id)]
    if isinstance(question, NumberQuestion):
        kind = Kind.INTEGER if question.integer else Kind.NUMBER
        return [Variable(question.id, label, kind, special_labels, specials, question.id)]
    # Dates (ISO text) and text; don't know / refused are written as "98" / "99".
    return [Variable(question.id, label, Kind.STRING, special_labels, (), question.id)]


def export_variables(questionnaires: Sequence[Questionnaire]) -> list[Variable]:
    """Every column: the interview's fields, then the questions, latest version first."""
    ordered = sorted(questionnaires, key=lambda q: q.version, reverse=True)
    defining: dict[str, QuestionBase] = {}
    extra: dict[str, dict[int, str]] = {}
    for questionnaire in ordered:
        for question in questionnaire.questions():
            if question.id not in defining:
                defining[question.id] = question
            elif isinstance(question, MultipleChoice):
                for option in question.options():
                    extra.setdefault(question.id, {}).setdefault(option.code, option.label)
    variables = list(META_VARIABLES)
    for question_id, question in defining.items():
        variables += question_variables(question, sorted(extra.get(question_id, {}).items()))
    return variables


# ------------------------------------------------------------------ rows


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


def export_table(
    session: Session,
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    *,
    include_partial: bool = False,
) -> tuple[list[Variable], list[list[Any]]]:
    """The columns and rows of an export (no permission check: callers check, see export_interviews)."""
    current = catalogue.get(survey)
    if end < start:
        raise ExportError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    where = _interview_filter(survey, start, end, include_partial)
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
        )
        .where(*where)
        .order_by(Interview.ended_at, Interview.id)
    ).all()
    answers: dict[int, dict[str, tuple[int | None, str | None]]] = {}
    for interview_id, question_id, code, value in session.execute(
        select(Answer.interview_id, Answer.question_id, Answer.code, Answer.value)
        .join(Interview, Interview.id == Answer.interview_id)
        .where(*where)
    ):
        answers.setdefault(interview_id, {})[question_id] = (code, value)

    versions: dict[int, Questionnaire] = {current.version: current}
    for version in sorted({row.questionnaire_version for row in interviews} - {current.version}):
        versions[version] = stored_questionnaire(session, survey, version)
    variables = export_variables(list(versions.values()))
    by_question: dict[str, list[Variable]] = {}
    for variable in variables:
        if variable.question_id is not None:
            by_question.setdefault(variable.question_id, []).append(variable)

    rows = []
    for row in interviews:
        questionnaire = versions[row.questionnaire_version]
        given = answers.get(row.id, {})
        cells: dict[str, Any] = {
            "interview_id": row.external_id
            if row.imported and row.external_id
            else pseudonymous_id(survey, row.id),
            "survey": survey,
            "questionnaire_version": row.questionnaire_version,
            "status": row.status,
            "completed_at": row.ended_at.astimezone(LOCAL).replace(microsecond=0) if row.ended_at else None,
            "division": row.division,
            "district": row.district,
            "duration_seconds": _duration(row.started_at, row.ended_at, row.imported),
            "imported": int(row.imported),
        }
        for question_id, (code, value) in given.items():
            columns = by_question.get(question_id)
            if not columns:
                continue
            question = _question_of(questionnaire, question_id) or _question_of(current, question_id)
            if question is None:
                continue
            cells.update(_answer_cells(question, columns, EngineAnswer.from_stored(question, code, value)))
        rows.append([cells.get(v.name) for v in variables])
    return variables, rows


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


def _answer_cells(question: QuestionBase, columns: list[Variable], answer: EngineAnswer) -> dict[str, Any]:
    if answer.blank:
        return {}
    first = columns[0]
    if first.option_code is not None:  # multiple choice: 0/1 per option
        chosen = set(answer.codes())
        return {c.name: int(c.option_code in chosen) for c in columns}
    if answer.code is not None:
        if first.kind is Kind.STRING:
            return {first.name: str(answer.code)}
        return {first.name: answer.code}
    value = answer.value
    if isinstance(question, DateQuestion) and isinstance(value, date):
        return {first.name: value.isoformat()}
    if first.kind is Kind.STRING:
        return {first.name: str(value)}
    return {first.name: value}


# ------------------------------------------------------------------ the use case


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
    variables, rows = export_table(session, catalogue, survey, start, end, include_partial=include_partial)
    writer = WRITERS[export_format]
    with _atomic(path) as temporary:
        writer(temporary, variables, rows, f"{survey} {start.isoformat()} to {end.isoformat()}")
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action="export",
            entity="survey",
            entity_id=survey,
            detail=json.dumps(
                {
                    "format": export_format.value,
                    "file": path.name,
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "include_partial": include_partial,
                    "interviews": len(rows),
                    "variables": len(variables),
                }
            ),
        )
    )
    session.flush()
    return ExportResult(path, export_format, survey, len(rows), len(variables))


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


# ------------------------------------------------------------------ writers


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv(path: Path, variables: list[Variable], rows: list[list[Any]], title: str) -> None:
    """UTF-8 with a byte order mark, so Excel shows accented names and verbatims correctly."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([v.name for v in variables])
        for row in rows:
            writer.writerow([_csv_cell(value) for value in row])


def _naive_local(value: datetime) -> datetime:
    return value.astimezone(LOCAL).replace(tzinfo=None)


def _describe_values(variable: Variable) -> str:
    return "; ".join(f"{code} = {text}" for code, text in variable.value_labels)


def write_xlsx(path: Path, variables: list[Variable], rows: list[list[Any]], title: str) -> None:
    """Sheet 'data' (one row per interview) and sheet 'codebook' (every variable, its labels)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    data = book.create_sheet("data")
    data.append([v.name for v in variables])
    for row in rows:
        cells: list[Any] = []
        for value in row:
            if isinstance(value, datetime):
                cell = WriteOnlyCell(data, value=_naive_local(value))
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
                cells.append(cell)
            else:
                cells.append(value)
        data.append(cells)
    codebook = book.create_sheet("codebook")
    codebook.append(["variable", "label", "type", "values", "missing"])
    for variable in variables:
        codebook.append(
            [
                variable.name,
                variable.label,
                variable.kind.value,
                _describe_values(variable),
                ", ".join(str(code) for code in variable.missing),
            ]
        )
    book.save(path)


def write_sav(path: Path, variables: list[Variable], rows: list[list[Any]], title: str) -> None:
    """SPSS: variable labels, value labels, 98/99 as user-missing values, nominal codes."""
    import pandas as pd
    import pyreadstat

    columns: dict[str, Any] = {}
    for index, variable in enumerate(variables):
        values = [row[index] for row in rows]
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
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=title[:64],
        column_labels={v.name: v.label[:256] for v in variables},
        variable_value_labels={
            v.name: {float(code): text for code, text in v.value_labels}
            for v in variables
            if v.value_labels and v.kind is not Kind.STRING
        },
        missing_ranges={v.name: [float(code) for code in v.missing] for v in variables if v.missing},
        variable_measure={
            v.name: "scale" if v.kind in (Kind.NUMBER, Kind.DATETIME) or not v.value_labels else "nominal"
            for v in variables
            if v.kind is not Kind.STRING
        },
    )


def write_parquet(path: Path, variables: list[Variable], rows: list[list[Any]], title: str) -> None:
    """Typed columns; each field's metadata carries its label and value labels (the codebook)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        Kind.STRING: pa.string(),
        Kind.INTEGER: pa.int64(),
        Kind.NUMBER: pa.float64(),
        Kind.FLAG: pa.int8(),
        Kind.DATETIME: pa.timestamp("ms", tz=str(LOCAL)),  # Parquet has no whole-second unit
    }
    arrays = []
    fields = []
    for index, variable in enumerate(variables):
        values = [row[index] for row in rows]
        if variable.kind is Kind.NUMBER:
            values = [None if v is None else float(v) for v in values]
        arrays.append(pa.array(values, type=types[variable.kind]))
        metadata = {"label": variable.label}
        if variable.value_labels:
            metadata["value_labels"] = json.dumps({str(code): text for code, text in variable.value_labels})
        if variable.missing:
            metadata["missing"] = json.dumps(list(variable.missing))
        fields.append(pa.field(variable.name, types[variable.kind], metadata=metadata))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata={"title": title}))
    pq.write_table(table, path)


WRITERS = {
    ExportFormat.CSV: write_csv,
    ExportFormat.SAV: write_sav,
    ExportFormat.XLSX: write_xlsx,
    ExportFormat.PARQUET: write_parquet,
}
