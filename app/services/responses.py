"""Historical import: interviews from an earlier survey tool, in the CSV layout that exports write.

The whole file is checked before anything is stored; every problem is reported as
FILE:LINE: column: message, and one problem means nothing is imported. Decisions:

- Required columns: interview_id, survey, completed_at, division. Optional: district, duration_seconds,
  and the columns an export also writes (questionnaire_version, status, imported), which are checked
  but not stored: an imported interview is recorded as completed, under the survey's current
  questionnaire version (the one the catalogue registered), with imported = true.
- Question columns hold what exports write: option codes; QID_CODE 0/1 columns for a multiple choice;
  numbers; ISO dates; text; "98" / "99" for don't know / refused where the question allows them. A blank
  cell (or a multiple choice whose columns are all blank) is an answer that was not recorded.
- completed_at: a date (stored as noon, local time, so it stays in its quarter) or a timestamp; one
  without a UTC offset is local time. duration_seconds, when given, sets started_at that much earlier.
- interview_id becomes external_id; re-importing ids already stored for that survey adds nothing (the
  unique (survey, external_id) constraint is the backstop). Interviews and answers are inserted with
  executemany, in the caller's transaction.
- The file is read as the sample import reads an extract (app.services.sample): any of the encodings
  app.services.textfile recognises; a first pass checks every row and spools the good ones, keeping per
  row only its line and a hash of its id (ids repeated within the file are confirmed on the rows before
  they are reported); a second pass looks up and stores them a chunk at a time. So memory does not grow
  with the file. (A quick scan for the surveys named comes first: the header's columns are checked
  against the questions of those surveys.)
"""

from __future__ import annotations

import csv
import json
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.domain.engine import Answer as EngineAnswer
from app.domain.engine import AnswerError, Engine, parse_date
from app.domain.permissions import Actor, Permission, require
from app.domain.questionnaire import (
    DONT_KNOW,
    REFUSED,
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    TextQuestion,
)
from app.domain.text import from_csv_cell
from app.errors import SurveyError
from app.progress import SILENT, Progress
from app.services.catalogue import Catalogue
from app.services.export import (
    META_COLUMNS,
    NO_ANSWER_TEXTS,
    measure_variables,
    question_variables,
    takes_missing_codes,
)
from app.services.tallies import tally_interviews
from app.services.textfile import Spool, TextFile, TextFileError, recognise
from app.store.models import Answer, AuditEvent, Interview, QuestionnaireVersion

REQUIRED_COLUMNS = ("interview_id", "survey", "completed_at", "division")
#: Identifiers and place names are String(64) in the database.
MAX_NAME = 64
#: Problems printed at most; the rest are counted.
MAX_PROBLEMS = 200
#: Problems kept (the first in line order) when a file has more; the rest are only counted.
KEPT_PROBLEMS = 10_000
LOOKUP_CHUNK = 500
#: Rows checked, looked up and stored at a time.
CHUNK = 2000


class ResponsesFileError(SurveyError):
    """The file cannot be imported; `problems` holds one FILE:LINE: column: message per problem."""

    def __init__(self, problems: Sequence[str], total: int = 0) -> None:
        self.problems = list(problems)
        #: How many problems the file has (`problems` keeps the first KEPT_PROBLEMS of them).
        self.total = max(total, len(self.problems))
        shown = self.problems[:MAX_PROBLEMS]
        if self.total > MAX_PROBLEMS:
            shown.append(f"... and {self.total - MAX_PROBLEMS} more problems")
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class ResponsesImport:
    """What an import did (or, with dry_run, would do)."""

    file: str
    rows: int
    added: int
    already_present: int
    by_survey: tuple[tuple[str, int], ...]  # (survey, interviews added)
    dry_run: bool = False


@dataclass
class _Row:
    line: int
    survey: str
    external_id: str
    ended_at: datetime
    started_at: datetime
    division: str
    district: str | None
    answers: dict[str, EngineAnswer] = field(default_factory=dict)


@dataclass(frozen=True)
class _Column:
    """A question column of one survey: the question, and for a multiple choice the option's code."""

    question: QuestionBase
    option_code: int | None


def import_responses(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    path: Path | str,
    *,
    dry_run: bool = False,
    progress: Progress = SILENT,
) -> ResponsesImport:
    """Validate the whole file, then store its new interviews (all of them, or none)."""
    require(actor, Permission.IMPORT_RESPONSES)
    path = Path(path)
    by_survey: Counter[str] = Counter()
    with _check_file(path, catalogue, progress) as checked:
        versions = {survey: _registered(session, catalogue.get(survey)) for survey in sorted(checked.surveys)}
        progress.start("Looking up interviews" if dry_run else "Storing interviews", checked.rows)
        for block in checked.blocks():
            existing = _existing_ids(session, block)
            new = [row for row in block if (row.survey, row.external_id) not in existing]
            by_survey.update(row.survey for row in new)
            if new and not dry_run:
                _insert(session, new, versions)
            progress.advance(len(block))
        rows = checked.rows
    added = sum(by_survey.values())
    result = ResponsesImport(
        file=path.name,
        rows=rows,
        added=added,
        already_present=rows - added,
        by_survey=tuple(sorted(by_survey.items())),
        dry_run=dry_run,
    )
    if dry_run:
        return result
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action="responses_imported",
            entity="interviews",
            entity_id=None,
            detail=json.dumps(
                {
                    "file": path.name,
                    "rows": result.rows,
                    "added": result.added,
                    "already_present": result.already_present,
                    "surveys": dict(result.by_survey),
                }
            ),
        )
    )
    session.flush()
    return result


# ------------------------------------------------------------------ reading and checking


class _Checked:
    """The good rows of a checked file, spooled in file order."""

    def __init__(self) -> None:
        self.spool = Spool()
        self.rows = 0
        self.surveys: set[str] = set()
        self.lines = array("i")
        self.key_hashes = array("q")

    def add(self, rows: list[_Row]) -> None:
        if not rows:
            return
        self.rows += len(rows)
        self.lines.extend(row.line for row in rows)
        self.key_hashes.extend(hash((row.survey, row.external_id)) for row in rows)
        self.surveys.update(row.survey for row in rows)
        self.spool.write(
            [
                (
                    row.line,
                    row.survey,
                    row.external_id,
                    row.ended_at.isoformat(),
                    row.started_at.isoformat(),
                    row.division,
                    row.district,
                    tuple((question, a.code, a.stored_value()) for question, a in row.answers.items()),
                )
                for row in rows
            ]
        )

    def blocks(self) -> Iterator[list[_Stored]]:
        for block in self.spool:
            yield [
                _Stored(
                    line,
                    survey,
                    external_id,
                    datetime.fromisoformat(ended),
                    datetime.fromisoformat(started),
                    division,
                    district,
                    answers,
                )
                for line, survey, external_id, ended, started, division, district, answers in block
            ]

    def repeated_ids(self, checker: _Checker) -> None:
        """Report every row whose id an earlier row of the same survey has."""
        keys = np.frombuffer(self.key_hashes, dtype=np.int64)
        if len(keys) < 2:
            return
        ordered = np.sort(keys)
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        if not len(repeated):
            return
        # Equal hashes: compare the ids themselves.
        suspects = set(np.flatnonzero(np.isin(keys, repeated)).tolist())
        first: dict[tuple[str, str], int] = {}
        index = 0
        for block in self.spool:
            for line, survey, external_id, *_ in block:
                if index in suspects:
                    earlier = first.setdefault((survey, external_id), line)
                    if earlier != line:
                        checker.problem(line, "interview_id", f"'{external_id}' is also on line {earlier}")
                index += 1

    def close(self) -> None:
        self.spool.close()

    def __enter__(self) -> _Checked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class _Stored:
    """A checked row as the second pass reads it back: answers as (question_id, code, stored value)."""

    line: int
    survey: str
    external_id: str
    ended_at: datetime
    started_at: datetime
    division: str
    district: str | None
    answers: tuple[tuple[str, int | None, str | None], ...]


def _check_file(path: Path, catalogue: Catalogue, progress: Progress) -> _Checked:
    """The first pass: every row checked, the good ones spooled; ResponsesFileError lists the problems."""
    name = str(path)
    try:
        file = recognise(path, name)
    except TextFileError as exc:
        raise ResponsesFileError([str(exc)]) from None
    if file.blank:
        raise ResponsesFileError([f"{name}:1: the file is empty"])
    header, surveys = _header_and_surveys(file)
    checker = _Checker(name, header, catalogue)
    checker.start(surveys)
    checked = _Checked()
    try:
        binary, text = file.open()
        with binary, text:
            progress.start(f"Checking {path.name}", file.size, "bytes")
            checker.read(text, checked, binary, progress)
        checked.repeated_ids(checker)
        checker.raise_problems()
    except BaseException:
        checked.close()
        raise
    return checked


def _header_and_surveys(file: TextFile) -> tuple[list[str], set[str]]:
    """The header, and the surveys the rows name (a quick first look: the header's columns are checked
    against the questions of these surveys)."""
    binary, text = file.open()
    with binary, text:
        reader = csv.reader(text)
        try:
            header = next(reader)
            where = [h.strip() for h in header].index("survey") if "survey" in map(str.strip, header) else -1
            surveys = {r[where].strip() for r in reader if len(r) > where} if where >= 0 else set()
        except csv.Error as exc:
            raise ResponsesFileError([f"{file.name}: not a readable CSV file ({exc})"]) from None
    return header, surveys


class _Checker:
    """Checks a file's header and rows against the questionnaires, collecting every problem."""

    def __init__(self, name: str, header: list[str], catalogue: Catalogue) -> None:
        self.name = name
        self.header = [h.strip() for h in header]
        self.catalogue = catalogue
        # (line, "FILE:LINE: column: message"), sorted by line when raised (stable: a line's problems
        # keep their order); after the first KEPT_PROBLEMS in line order, problems are only counted.
        self.problems: list[tuple[int, str]] = []
        self.count = 0
        self.index: dict[str, int] = {}
        self.columns_of: dict[str, dict[str, _Column]] = {}
        self.engines: dict[str, Engine] = {}
        self.unknown_columns: set[str] = set()
        self.derived_columns: set[str] = set()  # exports' measure columns: computed, not stored

    def problem(self, line: int, column: str | None, message: str) -> None:
        where = f"{self.name}:{line}: "
        self.problems.append((line, where + (f"{column}: {message}" if column else message)))
        self.count += 1
        if len(self.problems) > 2 * KEPT_PROBLEMS:
            self._sort_problems()

    def _sort_problems(self) -> None:
        self.problems.sort(key=lambda problem: problem[0])
        del self.problems[KEPT_PROBLEMS:]

    def raise_problems(self) -> None:
        if self.count:
            self._sort_problems()
            raise ResponsesFileError([text for _, text in self.problems], self.count)

    def start(self, surveys: set[str]) -> None:
        """Check the header against the questions of the surveys the file names."""
        self._check_header()
        self.raise_problems()
        self.index = {name: i for i, name in enumerate(self.header)}
        for survey in sorted(surveys):
            if survey in self.catalogue:
                self._learn(self.catalogue.get(survey))
        question_columns = set().union(*(c.keys() for c in self.columns_of.values()))
        if self.columns_of:  # with no known survey at all, the rows say so instead
            for column in self.header:
                if column not in {*META_COLUMNS} | question_columns | self.derived_columns:
                    known = ", ".join(sorted(self.columns_of))
                    self.problem(1, column, f"unknown column: not a question of {known}")
                    self.unknown_columns.add(column)

    def read(self, text: IO[str], checked: _Checked, binary: IO[bytes], progress: Progress) -> None:
        """Every row after the header checked, CHUNK at a time; the good ones go to `checked`."""
        reader = csv.reader(text)
        next(reader)
        rows: list[_Row] = []
        done = 0
        line = reader.line_num + 1
        records = 0
        try:
            for record in reader:
                if any(cell.strip() for cell in record):
                    records += 1
                    row = self._row(line, [from_csv_cell(cell) for cell in record], self.index)  # as exported
                    if row is not None:
                        rows.append(row)
                    if len(rows) == CHUNK:
                        checked.add(rows)
                        rows = []
                        position = binary.tell()
                        progress.advance(position - done)
                        done = position
                line = reader.line_num + 1
        except csv.Error as exc:
            raise ResponsesFileError([f"{self.name}: not a readable CSV file ({exc})"]) from None
        checked.add(rows)
        if not records:
            self.problem(1, None, "no interviews in the file (only a header)")

    def _check_header(self) -> None:
        seen: set[str] = set()
        for column in self.header:
            if not column:
                self.problem(1, None, "a column has no name")
            elif column in seen:
                self.problem(1, column, "the column appears twice")
            seen.add(column)
        for column in REQUIRED_COLUMNS:
            if column not in seen:
                self.problem(1, column, "missing required column")

    def _learn(self, questionnaire: Questionnaire) -> None:
        columns: dict[str, _Column] = {}
        for question in questionnaire.questions():
            for variable in question_variables(question):
                columns[variable.name] = _Column(question, variable.option_code)
        self.columns_of[questionnaire.id] = columns
        self.derived_columns.update(v.name for v in measure_variables(questionnaire))
        self.engines[questionnaire.id] = Engine(questionnaire)

    def _row(self, line: int, record: list[str], index: dict[str, int]) -> _Row | None:
        if len(record) != len(self.header):
            self.problem(line, None, f"{len(record)} cells, but the header has {len(self.header)} columns")
            return None
        cells = {name: record[i].strip() for name, i in index.items()}
        before = self.count
        survey = cells["survey"]
        if not survey:
            self.problem(line, "survey", "missing")
        elif survey not in self.catalogue:
            known = ", ".join(q.id for q in self.catalogue) or "none"
            self.problem(line, "survey", f"unknown survey '{survey}' (known: {known})")
        external_id = cells["interview_id"]
        if not external_id:
            self.problem(line, "interview_id", "missing")
        elif len(external_id) > MAX_NAME:
            self.problem(line, "interview_id", f"longer than {MAX_NAME} characters")
        ended_at = self._completed_at(line, cells["completed_at"])
        division = cells["division"]
        if not division:
            self.problem(line, "division", "missing")
        elif len(division) > MAX_NAME:
            self.problem(line, "division", f"longer than {MAX_NAME} characters")
        district = cells.get("district") or None
        if district is not None and len(district) > MAX_NAME:
            self.problem(line, "district", f"longer than {MAX_NAME} characters")
        duration = self._whole_number(line, "duration_seconds", cells.get("duration_seconds", ""))
        self._check_meta(line, cells, survey)
        answers = self._answers(line, cells, survey) if survey in self.columns_of else {}
        if self.count > before or ended_at is None:
            return None
        return _Row(
            line=line,
            survey=survey,
            external_id=external_id,
            ended_at=ended_at,
            started_at=ended_at - timedelta(seconds=duration or 0),
            division=division,
            district=district,
            answers=answers,
        )

    def _check_meta(self, line: int, cells: dict[str, str], survey: str) -> None:
        status = cells.get("status", "")
        if status and status != "completed":
            self.problem(line, "status", f"'{status}': only completed interviews can be imported")
        imported = cells.get("imported", "")
        if imported and imported not in ("0", "1"):
            self.problem(line, "imported", f"'{imported}' is not 0 or 1")
        self._whole_number(line, "questionnaire_version", cells.get("questionnaire_version", ""))

    def _whole_number(self, line: int, column: str, text: str) -> int | None:
        if not text:
            return None
        try:
            number = int(text)
        except ValueError:
            self.problem(line, column, f"'{text}' is not a whole number")
            return None
        if number < 0:
            self.problem(line, column, f"{number} is negative")
            return None
        return number

    def _completed_at(self, line: int, text: str) -> datetime | None:
        if not text:
            self.problem(line, "completed_at", "missing")
            return None
        moment = _parse_moment(text)
        if moment is None:
            self.problem(
                line,
                "completed_at",
                f"'{text}' is not a date or time (use 2020-08-14 or 2020-08-14T10:32:05+01:00)",
            )
            return None
        if moment > utcnow():
            self.problem(line, "completed_at", f"'{text}' is in the future")
            return None
        return moment

    def _answers(self, line: int, cells: dict[str, str], survey: str) -> dict[str, EngineAnswer]:
        columns = self.columns_of[survey]
        engine = self.engines[survey]
        answers: dict[str, EngineAnswer] = {}
        choices: dict[str, list[tuple[str, int, str]]] = {}
        for name, text in cells.items():
            if name in META_COLUMNS or name in self.unknown_columns or not text:
                continue
            column = columns.get(name)
            if column is None:
                if name not in self.derived_columns:
                    self.problem(line, name, f"not a question of survey '{survey}'")
                continue
            if text in NO_ANSWER_TEXTS and takes_missing_codes(column.question):
                continue  # not asked, or not recorded: no answer
            if column.option_code is not None:
                choices.setdefault(column.question.id, []).append((name, column.option_code, text))
                continue
            answer = self._cell(line, name, column.question, text)
            if answer is not None:
                self._validated(line, name, text, engine, column.question, answer, answers)
        for question_id, given in choices.items():
            question = engine.questionnaire.question(question_id)
            answer = self._choices(line, question, given)
            if answer is not None:
                shown = " ".join(str(code) for code in answer.codes())
                self._validated(line, f"{question_id}_*", shown, engine, question, answer, answers)
        return answers

    def _validated(
        self,
        line: int,
        column: str,
        text: str,
        engine: Engine,
        question: QuestionBase,
        answer: EngineAnswer,
        answers: dict[str, EngineAnswer],
    ) -> None:
        """The engine's own check, the one every answer typed in an interview passes."""
        try:
            answers[question.id] = engine.validate(question, answer)
        except AnswerError as exc:
            self.problem(line, column, f"'{text}': {exc}")

    def _cell(self, line: int, column: str, question: QuestionBase, text: str) -> EngineAnswer | None:
        """One cell as an answer, or None after reporting why it cannot be one."""
        specials = {o.code for o in question.options() if o.code in (DONT_KNOW, REFUSED)}
        if question.single_coded:
            code = _integer(text)
            codes = [o.code for o in question.options()]
            if code is None:
                self.problem(line, column, f"'{text}' is not a code ({_codes(codes)})")
                return None
            if code not in codes:
                self.problem(line, column, f"{code} is not a code of '{question.id}' ({_codes(codes)})")
                return None
            return EngineAnswer(code=code)
        if text in ("98", "99") and int(text) in specials:
            return EngineAnswer(code=int(text))
        if isinstance(question, NumberQuestion):
            try:
                number = float(text)
            except ValueError:
                self.problem(line, column, f"'{text}' is not a number")
                return None
            return EngineAnswer(value=number)
        if isinstance(question, DateQuestion):
            try:
                return EngineAnswer(value=parse_date(text))
            except AnswerError as exc:
                self.problem(line, column, str(exc))
                return None
        if isinstance(question, TextQuestion):
            return EngineAnswer(value=text)
        self.problem(line, column, "this kind of question cannot be imported")  # pragma: no cover
        return None

    def _choices(
        self, line: int, question: QuestionBase, given: list[tuple[str, int, str]]
    ) -> EngineAnswer | None:
        assert isinstance(question, MultipleChoice)
        chosen: list[int] = []
        for column, code, text in given:
            if text not in ("0", "1"):
                self.problem(line, column, f"'{text}' is not 0 or 1")
                return None
            if text == "1":
                chosen.append(code)
        specials = [c for c in chosen if c in (DONT_KNOW, REFUSED)]
        if specials and len(chosen) > 1:
            self.problem(line, f"{question.id}_*", "don't know or refused together with other options")
            return None
        if specials:
            return EngineAnswer(code=specials[0])
        if not chosen:
            self.problem(line, f"{question.id}_*", "no option chosen (leave all blank if not recorded)")
            return None
        return EngineAnswer(value=tuple(chosen))


def _integer(text: str) -> int | None:
    """'3' and '3.0' (as some tools save codes) are 3; anything else is not a code."""
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _codes(codes: Iterable[int]) -> str:
    return "codes " + ", ".join(str(c) for c in sorted(codes))


def _parse_moment(text: str) -> datetime | None:
    """A date (noon, local time) or an ISO timestamp (local time unless it has an offset), in UTC."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None and len(text) <= 10:
        try:
            day = parse_date(text)
        except AnswerError:
            return None
    if day is not None:
        return datetime.combine(day, time(12), tzinfo=LOCAL)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL)
    return moment


# ------------------------------------------------------------------ storing


def _registered(session: Session, questionnaire: Questionnaire) -> tuple[int, str]:
    """The current version and hash, which must have been registered (the app does this at start)."""
    digest = session.scalar(
        select(QuestionnaireVersion.content_hash).where(
            QuestionnaireVersion.survey == questionnaire.id,
            QuestionnaireVersion.version == questionnaire.version,
        )
    )
    if digest is None:
        raise SurveyError(
            f"questionnaire '{questionnaire.id}' version {questionnaire.version} is not registered in this"
            " database; open the app or run any command once to register it"
        )
    return questionnaire.version, digest


def _existing_ids(session: Session, rows: list[_Stored]) -> set[tuple[str, str]]:
    existing: set[tuple[str, str]] = set()
    by_survey: dict[str, list[str]] = {}
    for row in rows:
        by_survey.setdefault(row.survey, []).append(row.external_id)
    for survey, ids in by_survey.items():
        for first in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[first : first + LOOKUP_CHUNK]
            found = session.scalars(
                select(Interview.external_id).where(
                    Interview.survey == survey, Interview.external_id.in_(chunk)
                )
            )
            existing |= {(survey, external_id) for external_id in found if external_id is not None}
    return existing


def _insert(session: Session, rows: list[_Stored], versions: dict[str, tuple[int, str]]) -> None:
    """Interviews in one executemany (RETURNING their ids, in order), then all answers in another."""
    ids = session.scalars(
        insert(Interview).returning(Interview.id, sort_by_parameter_order=True),
        [
            {
                "survey": row.survey,
                "questionnaire_version": versions[row.survey][0],
                "questionnaire_hash": versions[row.survey][1],
                "status": "completed",
                "started_at": row.started_at,
                "ended_at": row.ended_at,
                "division": row.division,
                "district": row.district,
                "imported": True,
                "external_id": row.external_id,
            }
            for row in rows
        ],
    ).all()
    answers: list[dict[str, Any]] = [
        {
            "interview_id": interview_id,
            "question_id": question_id,
            "code": code,
            "value": value,
            "answered_at": row.ended_at,
        }
        for interview_id, row in zip(ids, rows, strict=True)
        for question_id, code, value in row.answers
    ]
    if answers:
        session.execute(insert(Answer), answers)
    tally_interviews(session, ids)
