"""Sample import: a crime-records CSV extract, checked whole, then loaded and screened in one transaction.

The file (one row per victim and crime; `COLUMNS`, any order, header row; UTF-8, UTF-16 with a byte order
mark or Windows-1252, see app.services.textfile) is read and checked completely before the database is
touched: any problem raises `SampleFileError` with one `FILE:LINE: column: message` line per problem, and
nothing is imported. A good file is then loaded in the caller's transaction, in bulk (executemany or
COPY in chunks, existing cases looked up in bulk), and every new case is screened once with the
automatic eligibility rules of its survey (app.domain.eligibility):

=====================  ==========  =========================  ===================  ==================
screening at import    status      final_disposition          closed_reason        next_call_at
=====================  ==========  =========================  ===================  ==================
excluded by a rule     closed      4.10 (screened out)        the reason, e.g.     NULL
                                                              "under_16"
window already over    closed      NULL                       out_of_field_period  NULL
window not open yet,   pending     NULL                       NULL                 local midnight of
or not yet 16                                                                      the first day offered
inside the window      open        NULL                       NULL                 NULL
=====================  ==========  =========================  ===================  ==================

- An excluded case gets one ScreeningDecision per excluding rule (decided_by "automatic", decided_at the
  import time). Rules that did not exclude are not written: at import a rule either closes the case or
  leaves it as it was, and writing a "kept" row for each rule of each case would multiply the table for
  no reader; the import's AuditEvent records that the automatic rules ran, and caller checks are
  recorded (kept or excluded) by the screening screen.
- A case whose fieldwork window was over before it was imported is *not released*: it never entered
  fieldwork, so it has no disposition and does not count in response rates (neither as not eligible nor
  as a non-contact), even where a rule would also have excluded it. It is kept, closed, so that a
  re-import of the same extract recognises it.
- `next_call_at` on a *pending* case is the moment it becomes available: local midnight of the later of
  the day its window opens and the victim's 16th birthday. It is not an appointment: the allocator only
  offers *open* cases, and whatever turns pending cases into open ones (app.services.cases) must test
  `next_call_at <= now`, not the window alone, or a victim who turns 16 inside the window would be called
  before the birthday. Opening a case clears the column.
- A re-import, or an overlapping extract, creates no duplicate: a case is (survey, crime_ref,
  victim_name), the database's unique key. Rows already in the database are counted in `already_present`
  and left unchanged; so is a row repeated identically within the file. A key repeated with different
  data is an error.
- A row whose case was erased or purged (app.services.withdrawn keeps a fingerprint of its key) is not
  imported again: it is counted in `withdrawn`, so an erased victim is never called from a later extract.
- The summary warns about a telephone number shared by several cases, in the file or with cases already in
  the database (several victims in one household): crime references and file lines only, never names.
  A summary counts them and keeps the first few; `warnings_to` writes every one to a CSV file.

Memory does not grow with the extract (a national extract has millions of rows). The first pass reads
the file in chunks, checks each chunk column by column, and writes the good rows to a private spool
(app.services.textfile.Spool); what it keeps per row is a few integers in arrays: the line, a hash of
the case's key and of its data (duplicates within the file), hashes of its numbers (shared phones). A
repeated key is confirmed on the rows themselves before it is reported, so a hash collision can never
turn into a wrong message or a lost row. Only then, inside the caller's transaction, a second pass over
the spool looks up the cases already in the database and the numbers they share, and a third screens and
inserts the new cases, chunk by chunk.
"""

from __future__ import annotations

import csv
import gc
import json
import logging
import os
import re
import tempfile
import time
import uuid
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime
from datetime import time as clock_time
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.clock import today as local_today
from app.domain.dispositions import SCREENED_OUT
from app.domain.eligibility import AUTOMATIC, Availability, RiskLevel, Screener, uk_date
from app.domain.permissions import Actor, Permission, require
from app.domain.phones import check_uk_phone
from app.domain.questionnaire import ExclusionReason
from app.domain.text import BIDI_CONTROLS, csv_cell, unsafe_character, visible
from app.errors import SurveyError
from app.progress import SILENT, Progress
from app.services.catalogue import Catalogue
from app.services.textfile import Spool, TextFileError, peak_memory, recognise
from app.services.withdrawn import withdrawn_keys
from app.store.models import AuditEvent, Case, ScreeningDecision

log = logging.getLogger(__name__)

#: The columns of an extract, in the order `survey sample template` prints them.
COLUMNS = (
    "crime_ref",
    "survey",
    "victim_name",
    "phone",
    "alt_phone",
    "date_of_birth",
    "report_date",
    "division",
    "district",
    "risk_level",
    "opted_out",
    "vulnerable",
    "nfa_requested",
    "not_cooperating",
)
#: The only column an extract may leave out. The flag columns are required even though a blank value
#: means N: an extract without its opted_out column must not quietly call everyone who opted out.
OPTIONAL_COLUMNS = frozenset({"alt_phone"})
#: Columns that may not be blank.
REQUIRED_VALUES = ("crime_ref", "survey", "victim_name", "phone", "report_date", "division", "district")
FLAG_COLUMNS = ("opted_out", "vulnerable", "nfa_requested", "not_cooperating")
#: The database's column lengths (PostgreSQL enforces them, SQLite does not, so they are checked here).
MAX_LENGTHS = {"crime_ref": 64, "victim_name": 200, "division": 64, "district": 64}

#: closed_reason of a case whose fieldwork window was over when it was imported.
OUT_OF_FIELD_PERIOD = "out_of_field_period"
PENDING, OPEN, CLOSED = "pending", "open", "closed"

#: Rows read, checked and inserted at a time.
CHUNK = 5000
#: Values per IN (...) look-up (SQLite allows 32,766 bound values, PostgreSQL 65,535).
LOOKUP_CHUNK = 10_000
#: SampleFileError's message shows this many problems, then says how many more there are.
SHOWN_PROBLEMS = 200
#: Problems kept (the first in line order) when a file has more; the rest are counted.
KEPT_PROBLEMS = 10_000
#: Shared-phone warnings an ImportSummary keeps to show; every one goes to the warnings file.
FIRST_WARNINGS = 5

# PostgreSQL advisory lock key: two imports at once take turns, so both see each other's cases.
_IMPORT_LOCK_KEY = int.from_bytes(b"smplimpt", "big") & 0x7FFF_FFFF_FFFF_FFFF

_FLAG_VALUES = {
    "": False,
    "n": False,
    "no": False,
    "false": False,
    "0": False,
    "y": True,
    "yes": True,
    "true": True,
    "1": True,
}
# Every spelling a spreadsheet is likely to hold, so the common case is one dictionary look-up.
_FLAGS = {
    spelling: flag for word, flag in _FLAG_VALUES.items() for spelling in (word, word.upper(), word.title())
}
_RISKS: dict[str, RiskLevel | None] = {"": None} | {
    spelling: level
    for level in RiskLevel
    for spelling in (level.value, level.value.upper(), level.value.title())
}
_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class SampleFileError(SurveyError):
    """A sample file cannot be imported; `problems` has one `FILE:LINE: column: message` per problem."""

    def __init__(
        self, problems: Sequence[str], *, file: str = "", shown: int = SHOWN_PROBLEMS, total: int = 0
    ) -> None:
        self.problems = list(problems)
        #: How many problems the file has (`problems` keeps the first KEPT_PROBLEMS of them).
        self.total = max(total, len(self.problems))
        lines = self.problems[:shown]
        if self.total > shown:
            more = f"... and {self.total - shown} more problems (nothing was imported)"
            lines.append(f"{file}: {more}" if file else more)
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------- records


class SampleRow(NamedTuple):
    """One checked row of an extract (a tuple: 100,000 of them are made in a second or so)."""

    line: int
    crime_ref: str
    survey: str
    victim_name: str
    phone: str
    alt_phone: str | None
    date_of_birth: date | None
    report_date: date
    division: str
    district: str
    risk_level: RiskLevel | None
    opted_out: bool
    vulnerable: bool
    nfa_requested: bool
    not_cooperating: bool

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes a case: one victim and one crime reference in one survey."""
        return (self.survey, self.crime_ref, self.victim_name)

    def same_data(self, other: SampleRow) -> bool:
        return self[1:] == other[1:]


@dataclass(frozen=True)
class SharedPhoneWarning:
    """Several cases reach the same telephone: lines and crime references, never names or numbers."""

    #: File lines of the cases in this extract that share the number.
    lines: tuple[int, ...]
    #: Their crime references, in line order (one crime with two victims appears twice).
    crime_refs: tuple[str, ...]
    #: Crime references of cases already in the database (from earlier imports) with the same number.
    in_database: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": list(self.lines),
            "crime_refs": list(self.crime_refs),
            "in_database": list(self.in_database),
        }

    def csv_row(self, file: str) -> list[str]:
        """The warning as a row of WARNING_COLUMNS."""
        return [
            file,
            str(self.lines[0]),
            "shared_phone",
            " ".join(str(line) for line in self.lines),
            "; ".join(self.crime_refs),
            "; ".join(self.in_database),
            str(self),
        ]

    def __str__(self) -> str:
        where = ", ".join(str(n) for n in self.lines)
        text = f"line{'s' if len(self.lines) > 1 else ''} {where}: one telephone number for crime refs"
        text += " " + ", ".join(self.crime_refs)
        if self.in_database:
            text += f" and, already imported, {', '.join(self.in_database)}"
        return text + ": take care not to mention one victim's crime to another"


#: The columns of the warnings file (`survey sample import --warnings FILE`).
WARNING_COLUMNS = ("file", "line", "warning", "lines", "crime_refs", "in_database", "message")


@dataclass(frozen=True)
class ImportSummary:
    """What an import did; `to_dict()` is the documented JSON of `survey sample import --format json`."""

    imported: int
    already_present: int
    #: Cases closed as not eligible at import, by reason (every reason listed, 0 included).
    excluded: dict[str, int]
    #: Cases imported closed because their fieldwork window was already over.
    not_released: int
    #: How many shared-phone warnings there are (one per group of cases reached by one number).
    shared_phone_warnings: int
    #: The first few of them, in line order (`warnings_to` gets every one).
    first_warnings: tuple[SharedPhoneWarning, ...] = ()
    #: import_batch of the cases created (not in the JSON summary).
    batch: str = ""
    #: The encoding the file was read in, as people call it ("UTF-8", "Windows-1252", ...).
    encoding: str = "UTF-8"
    #: Rows whose case was erased or purged earlier: not imported again.
    withdrawn: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "already_present": self.already_present,
            "withdrawn": self.withdrawn,
            "excluded": dict(self.excluded),
            "not_released": self.not_released,
            "shared_phone_warnings": self.shared_phone_warnings,
        }


# ---------------------------------------------------------------- reading and checking the file


def template_header() -> str:
    """The header row of an extract, for `survey sample template`."""
    return ",".join(COLUMNS)


def read_sample_file(path: Path | str, catalogue: Catalogue, *, today: date | None = None) -> list[SampleRow]:
    """Read and check a whole extract; SampleFileError lists every problem. Touches no database.

    Holds every row: for a look at a small file. The import itself streams (see the module's notes).
    """
    with _check_extract(Path(path), str(path), catalogue, today or local_today(), SILENT) as extract:
        return [row for block in extract.blocks() for row in block]


def _check_extract(path: Path, name: str, catalogue: Catalogue, today: date, progress: Progress) -> _Extract:
    """The first pass: the whole file read and checked, its good rows spooled; raises SampleFileError."""
    try:
        file = recognise(path, name)
    except TextFileError as exc:
        raise SampleFileError([str(exc)]) from None
    if file.blank:
        raise SampleFileError(
            [f"{name}:1: empty file: the first line must be the header ({template_header()})"]
        )
    reader = _Reader(name, catalogue, today)
    extract = _Extract(file.encoding_name)
    try:
        binary, stream = file.open()
        with binary, stream:
            progress.start(f"Checking {path.name}", file.size, "bytes")
            reader.read(stream, extract, lambda: binary.tell(), progress)
        extract.find_repeats(reader)
        reader.raise_problems()
    except BaseException:
        extract.close()
        raise
    return extract


# What app.domain.text.unsafe_character names (C0 controls but tab, line feed and carriage return; DEL
# and C1; bidi controls), found by a regular expression: a whole column is searched at C speed, and only
# a column with one is looked at value by value.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")


def _unsafe(value: str) -> str | None:
    return unsafe_character(value, keep="\t\n\r") if _UNSAFE.search(value) else None


@lru_cache(maxsize=65_536)
def _parse_date(value: str) -> date | str:
    """A date from YYYY-MM-DD or DD/MM/YYYY, or the message explaining why not."""
    iso = _ISO_DATE.fullmatch(value)
    uk = None if iso else _UK_DATE.fullmatch(value)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    elif uk:
        day, month, year = (int(g) for g in uk.groups())
    else:
        return f"'{value}' is not a date: use YYYY-MM-DD or DD/MM/YYYY"
    try:
        return date(year, month, day)
    except ValueError:
        return f"impossible date '{value}'"


def _parse_flag(value: str) -> bool | None:
    """True, False, or None when the value is not a flag."""
    flag = _FLAGS.get(value)
    return _FLAG_VALUES.get(value.lower()) if flag is None else flag


def _parse_risk(value: str) -> RiskLevel | None | str:
    """A risk level, None for blank, or the message explaining why not."""
    if value in _RISKS:
        return _RISKS[value]
    level = _RISKS.get(value.lower())
    return level if level is not None else f"'{value}' is not standard, medium, high or blank"


#: Where a problem sorts within its line: first the whole row (or a header cell), then by column, then
#: the checks across columns (made once the values are good) and the header's missing columns.
_ORDER = {column: index for index, column in enumerate(COLUMNS)}
_WHOLE_ROW = -1
_LATER = len(COLUMNS)
_LEVELS = frozenset(RiskLevel)


class _Reader:
    """Checks an extract's text, collecting every problem.

    Column by column rather than row by row: a 100,000-row extract is 1.4 million values, and one list
    comprehension per column (with cached parsing of dates and numbers) takes a fraction of the time of
    a function call per value. Problems are sorted back into line order at the end.
    """

    def __init__(self, name: str, catalogue: Catalogue, today: date) -> None:
        self.name = name
        self.surveys = frozenset(catalogue.questionnaires)
        self.known_surveys = ", ".join(sorted(self.surveys)) or "none"
        self.today = today
        # (line, order, "FILE:LINE: column: message"); sorted by line, then order, when raised.
        self.problems: list[tuple[int, int, str]] = []
        # Problems found after the first KEPT_PROBLEMS (in line order), only counted.
        self.dropped = 0

    def problem(self, line: int, column: str | None, message: str, order: int | None = None) -> None:
        where = f"{self.name}:{line}: "
        # Messages quote cells: any control characters in them are shown as escapes, never sent raw.
        text = visible(where + (f"{column}: {message}" if column else message))
        self.problems.append((line, _ORDER.get(column or "", _WHOLE_ROW) if order is None else order, text))

    def _sort_problems(self) -> None:
        self.problems.sort(key=lambda p: (p[0], p[1]))  # stable: a column's problems keep their order
        if len(self.problems) > KEPT_PROBLEMS:
            self.dropped += len(self.problems) - KEPT_PROBLEMS
            del self.problems[KEPT_PROBLEMS:]

    def raise_problems(self) -> None:
        if self.problems:
            self._sort_problems()
            total = len(self.problems) + self.dropped
            raise SampleFileError([text for _, _, text in self.problems], file=self.name, total=total)

    def read(
        self, text: Iterable[str], extract: _Extract, position: Callable[[], int], progress: Progress
    ) -> None:
        """Every row checked, CHUNK rows at a time; the good ones go to `extract`, problems are kept."""
        reader = csv.reader(text, strict=True)
        lines: list[int] = []
        records: list[list[str]] = []
        positions: tuple[int | None, ...] | None = None
        done = 0

        def check() -> None:
            nonlocal done
            assert positions is not None
            extract.add(self._check(lines, records, positions))
            lines.clear()
            records.clear()
            if len(self.problems) > 2 * KEPT_PROBLEMS:
                self._sort_problems()
            now = position()
            progress.advance(now - done)
            done = now

        try:
            header = next(reader, [])
            positions = self._header(header)
            # Cells after the last named column (spreadsheets add empty ones) may be missing or blank.
            width = max(index for index in positions if index is not None) + 1
            previous = reader.line_num
            for record in reader:
                line, previous = previous + 1, reader.line_num
                if not "".join(record).strip():
                    continue  # a blank line, or a row of empty cells as spreadsheets leave
                if len(record) != width and (len(record) < width or "".join(record[width:]).strip()):
                    self.problem(line, None, f"{len(record)} values, but the header has {width} columns")
                    continue
                lines.append(line)
                records.append(record)
                if len(records) == CHUNK:
                    check()
        except csv.Error as exc:
            self.problem(reader.line_num, None, f"not valid CSV: {exc}")
        if positions is None:  # the header itself is not valid CSV
            self.raise_problems()
            return
        check()

    def _header(self, header: list[str]) -> tuple[int | None, ...]:
        """Each column's position in COLUMNS order (None: an optional column left out)."""
        positions: dict[str, int] = {}
        for index, cell in enumerate(header):
            column = "_".join(cell.strip().lower().split())
            if not column:
                if "".join(header[index:]).strip():
                    self.problem(1, f"column {index + 1}", "the header names no column here", _WHOLE_ROW)
                continue
            if column in positions:
                self.problem(1, column, "column appears twice in the header", _WHOLE_ROW)
            elif column not in COLUMNS:
                self.problem(1, column, f"unknown column; the columns are: {', '.join(COLUMNS)}", _WHOLE_ROW)
            else:
                positions[column] = index
        if not positions:
            self.problems.clear()
            self.problem(1, None, f"the first line must be the header row: {template_header()}")
        else:
            for column in COLUMNS:
                if column not in positions and column not in OPTIONAL_COLUMNS:
                    self.problem(1, column, "required column is missing from the header", _LATER)
        self.raise_problems()
        return tuple(positions.get(column) for column in COLUMNS)

    def _check(
        self, lines: list[int], records: list[list[str]], positions: tuple[int | None, ...]
    ) -> list[SampleRow]:
        """Every value of every record parsed and checked; the good rows, in file order.

        Repeated keys are found across the whole file afterwards (_Extract.find_repeats)."""
        count = len(records)
        if not count:
            return []
        by_position = list(zip(*records, strict=False))  # one tuple per column (extra cells fall away)
        raw = {
            column: list(map(str.strip, by_position[index])) if index is not None else [""] * count
            for column, index in zip(COLUMNS, positions, strict=True)
        }
        bad: set[int] = set()

        def report(column: str, problems: list[tuple[int, str]]) -> None:
            for index, message in problems:
                bad.add(index)
                self.problem(lines[index], column, message)

        for column in REQUIRED_VALUES:
            report(column, [(i, "a value is required") for i, v in enumerate(raw[column]) if not v])

        # Terminal controls and bidi overrides are never data (tabs and line breaks become spaces below).
        for column in COLUMNS:
            values = raw[column]
            if _UNSAFE.search("\t".join(values)):
                unsafe = [(i, f"{why}: '{values[i]}'") for i, why in enumerate(map(_unsafe, values)) if why]
                report(column, unsafe)

        text_values: dict[str, list[str]] = {}
        for column, limit in MAX_LENGTHS.items():
            values = text_values[column] = [" ".join(value.split()) for value in raw[column]]
            too_long = [
                (i, f"longer than {limit} characters ({len(v)})")
                for i, v in enumerate(values)
                if len(v) > limit
            ]
            report(column, too_long)

        surveys = raw["survey"]
        unknown = f"(known: {self.known_surveys})"
        report(
            "survey",
            [
                (i, f"unknown survey '{v}' {unknown}")
                for i, v in enumerate(surveys)
                if v and v not in self.surveys
            ],
        )

        phones: dict[str, list[str | None]] = {}
        for column in ("phone", "alt_phone"):
            values = raw[column]
            checked = list(map(check_uk_phone, values))  # cached: repeated numbers cost a look-up
            phones[column] = [number for number, _ in checked]
            report(
                column,
                [
                    (i, f"'{values[i]}': {why}")
                    for i, (n, why) in enumerate(checked)
                    if n is None and values[i]
                ],
            )

        dates: dict[str, list[date | None]] = {}
        for column in ("date_of_birth", "report_date"):
            values = raw[column]
            parsed = list(map(_parse_date, values))
            report(column, [(i, p) for i, p in enumerate(parsed) if isinstance(p, str) and values[i]])
            dates[column] = [None if isinstance(p, str) else p for p in parsed]

        risks: list[RiskLevel | str | None] = list(map(_RISKS.get, raw["risk_level"], repeat("?")))
        for i in [i for i, r in enumerate(risks) if r == "?"]:
            risks[i] = _parse_risk(raw["risk_level"][i])
        report("risk_level", [(i, r) for i, r in enumerate(risks) if isinstance(r, str) and r not in _LEVELS])

        flags: dict[str, list[bool | None]] = {}
        for column in FLAG_COLUMNS:
            values = raw[column]
            parsed_flags = flags[column] = list(map(_FLAGS.get, values))
            for i in [i for i, f in enumerate(parsed_flags) if f is None]:
                parsed_flags[i] = _parse_flag(values[i])
            not_a_flag = "is not Y or N (also yes/no, true/false, 1/0; blank is N)"
            report(
                column, [(i, f"'{values[i]}' {not_a_flag}") for i, f in enumerate(parsed_flags) if f is None]
            )

        rows: list[SampleRow] = []
        columns = zip(
            lines,
            text_values["crime_ref"],
            surveys,
            text_values["victim_name"],
            phones["phone"],
            phones["alt_phone"],
            dates["date_of_birth"],
            dates["report_date"],
            text_values["division"],
            text_values["district"],
            risks,
            *(flags[column] for column in FLAG_COLUMNS),
            strict=True,
        )
        for index, fields in enumerate(columns):
            if index in bad:
                continue
            row = SampleRow._make(fields)
            if row.alt_phone == row.phone:
                row = row._replace(alt_phone=None)
            if self._dates_in_order(row):
                rows.append(row)
        return rows

    def _dates_in_order(self, row: SampleRow) -> bool:
        born, reported, line = row.date_of_birth, row.report_date, row.line
        good = True
        if reported > self.today:
            self.problem(line, "report_date", f"{uk_date(reported)} is in the future", _LATER)
            good = False
        if born is not None and born > self.today:
            self.problem(line, "date_of_birth", f"{uk_date(born)} is in the future", _LATER)
            good = False
        elif born is not None and born > reported:
            message = f"{uk_date(born)} is after the report date {uk_date(reported)}"
            self.problem(line, "date_of_birth", message, _LATER)
            good = False
        return good

    def duplicate(self, row: SampleRow, earlier: SampleRow) -> None:
        differ = [
            name for name, a, b in zip(SampleRow._fields[1:], row[1:], earlier[1:], strict=True) if a != b
        ]
        self.problem(
            row.line,
            "crime_ref",
            f"same survey, crime_ref and victim_name as line {earlier.line}"
            f" but a different {', '.join(differ)}",
            _LATER,
        )


_RISK_OF = {level.value: level for level in RiskLevel}


class _Extract:
    """The good rows of a checked extract, spooled in file order, and what the import needs about them.

    Row i is the i-th good row of the file. Per row only integers are kept in memory (arrays of them):
    its line, a hash of its key and of its data, and the hashes of its numbers.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.spool = Spool()
        self.rows = 0
        self.lines = array("i")
        self.key_hashes = array("q")
        self.data_hashes = array("q")
        self.phone_hashes = array("q")  # phone and alt_phone of each row, in file order
        self.phone_rows = array("i")  # the row of each of those numbers
        #: Rows whose key an earlier row has, with the same data: one case, counted as already present.
        self.repeated = np.zeros(0, dtype=bool)
        self._days: dict[int, date] = {}  # the dates of the rows, one object per day

    def add(self, rows: list[SampleRow]) -> None:
        if not rows:
            return
        first = self.rows
        self.rows += len(rows)
        self.lines.extend([row[0] for row in rows])
        self.key_hashes.extend([hash((row[2], row[1], row[3])) for row in rows])  # SampleRow.key
        self.data_hashes.extend([hash(row[1:]) for row in rows])
        for index, row in enumerate(rows, start=first):
            self.phone_hashes.append(hash(row.phone))
            self.phone_rows.append(index)
            if row.alt_phone:
                self.phone_hashes.append(hash(row.alt_phone))
                self.phone_rows.append(index)
        self.spool.write(
            [
                (
                    *row[:6],
                    row.date_of_birth.toordinal() if row.date_of_birth else None,
                    row.report_date.toordinal(),
                    row.division,
                    row.district,
                    row.risk_level.value if row.risk_level else None,
                    *row[11:],
                )
                for row in rows
            ]
        )

    def blocks(self) -> Iterator[list[SampleRow]]:
        """The rows again, a chunk at a time, in file order."""
        days = self._days
        for block in self.spool:
            for values in block:
                for ordinal in (values[6], values[7]):
                    if ordinal is not None and ordinal not in days:
                        days[ordinal] = date.fromordinal(ordinal)
            yield [
                SampleRow._make(
                    (
                        *values[:6],
                        None if values[6] is None else days[values[6]],
                        days[values[7]],
                        values[8],
                        values[9],
                        None if values[10] is None else _RISK_OF[values[10]],
                        *values[11:],
                    )
                )
                for values in block
            ]

    def keys_and_numbers(self) -> Iterator[list[tuple[tuple[str, str, str], str, str | None]]]:
        """Each row's key, phone and alt_phone, a chunk at a time: all that the look-ups need."""
        for block in self.spool:
            yield [((values[2], values[1], values[3]), values[4], values[5]) for values in block]

    def rows_at(self, wanted: set[int]) -> dict[int, SampleRow]:
        found: dict[int, SampleRow] = {}
        start = 0
        for block in self.blocks():
            found.update((start + i, row) for i, row in enumerate(block) if start + i in wanted)
            start += len(block)
        return found

    def find_repeats(self, reader: _Reader) -> None:
        """Mark rows repeating an earlier row's key with the same data; report those with other data."""
        count = self.rows
        self.repeated = np.zeros(count, dtype=bool)
        if count < 2:
            return
        keys = np.frombuffer(self.key_hashes, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        later = np.empty(count, dtype=bool)  # not the first of its group of equal hashes
        later[0] = False
        np.equal(ordered[1:], ordered[:-1], out=later[1:])
        if not later.any():
            return
        group = np.cumsum(~later) - 1  # group number of each position in `ordered`
        firsts = order[~later][group]  # the first row of each position's group
        members, their_firsts = order[later], firsts[later]
        data = np.frombuffer(self.data_hashes, dtype=np.int64)
        same = data[members] == data[their_firsts]
        self.repeated[members[same]] = True
        if same.all():
            return
        # Different data under one key hash: read those rows back, and compare the rows themselves.
        doubtful = np.isin(group, np.unique(group[later][~same]))
        suspects = self.rows_at(set(order[doubtful].tolist()))
        earliest: dict[tuple[str, str, str], SampleRow] = {}
        for index in sorted(suspects):
            row = suspects[index]
            earlier = earliest.setdefault(row.key, row)
            self.repeated[index] = earlier is not row and earlier.same_data(row)
            if earlier is not row and not earlier.same_data(row):
                reader.duplicate(row, earlier)

    def close(self) -> None:
        self.spool.close()

    def __enter__(self) -> _Extract:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- importing

_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_sample(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    path: Path | str,
    *,
    today: date | None = None,
    progress: Progress = SILENT,
    warnings_to: Path | str | None = None,
) -> ImportSummary:
    """Check a whole extract, then create its new cases, screened, in the session's transaction.

    `today` (default: today in the bureau's time zone) is the day the screening and the future-date checks
    use. `warnings_to` names a CSV file to write every warning to (WARNING_COLUMNS), replaced whole. The
    caller commits; on SampleFileError nothing has been written.
    """
    require(actor, Permission.IMPORT_SAMPLE)
    target = None if warnings_to is None else _writable(Path(warnings_to))
    return _import(session, actor, catalogue, Path(path), today or local_today(), progress, target)


def _writable(path: Path) -> Path:
    """The warnings file's path, refused before the import when it cannot be written there."""
    if path.is_dir():
        raise SurveyError(f"{path}: is a folder; give a file name for the warnings")
    if not path.parent.is_dir():
        raise SurveyError(f"{path.parent}: folder not found (for the warnings file)")
    return path


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while the file is read and checked.

    The check allocates millions of short-lived values and fills the caches of dates and numbers; the
    collector would scan those caches again and again (a quarter of the time), though the check makes
    no cycles and reference counting frees everything as usual. It is back on for the database passes:
    SQLAlchemy's statements do form cycles, which would pile up chunk after chunk.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    path: Path,
    today: date,
    progress: Progress,
    warnings_to: Path | None,
) -> ImportSummary:
    started = time.perf_counter()
    name = str(path)
    stages: dict[str, float] = {}

    peaks: dict[str, str] = {}

    def lap(stage: str) -> None:
        stages[stage] = time.perf_counter() - started - sum(stages.values())
        peaks[stage] = peak_memory()

    with _cyclic_gc_paused():
        extract = _check_extract(path, name, catalogue, today, progress)
    with extract:
        lap("read")
        now = utcnow()
        batch = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK_KEY})
        present, sharing = _look_up(session, extract, progress)
        lap("look-up")
        groups = _shared_phone_groups(extract, sharing)
        lap("shared phones")
        # Crime refs are read in the insert pass, only for the rows the warnings will show.
        shown = groups if warnings_to is not None else groups[:FIRST_WARNINGS]
        wanted = np.zeros(extract.rows, dtype=bool)
        for members, _ in shown:
            wanted[_rows_of(members)] = True
        inserted = _insert_new_cases(
            session, catalogue, extract, present, wanted, today, now, batch, progress
        )
        lap("insert")

        warnings = (
            SharedPhoneWarning(
                lines=tuple(extract.lines[row] for row in group),
                crime_refs=tuple(inserted.crime_refs[row] for row in group),
                in_database=in_database,
            )
            for group, in_database in ((_rows_of(members), in_database) for members, in_database in shown)
        )
        first_warnings: list[SharedPhoneWarning] = []
        if warnings_to is not None:
            _write_warnings(warnings_to, name, warnings, first_warnings)
        else:
            first_warnings.extend(warnings)
        rows = extract.rows
        encoding = extract.encoding
        withdrawn = int(np.count_nonzero(present == WITHDRAWN))

    summary = ImportSummary(
        imported=inserted.imported,
        already_present=rows - inserted.imported - withdrawn,
        withdrawn=withdrawn,
        excluded={reason.value: inserted.excluded[reason.value] for reason in ExclusionReason},
        not_released=inserted.not_released,
        shared_phone_warnings=len(groups),
        first_warnings=tuple(first_warnings[:FIRST_WARNINGS]),
        batch=batch,
        encoding=encoding,
    )
    detail = {
        "rows": rows,
        "imported": summary.imported,
        "already_present": summary.already_present,
        "withdrawn": summary.withdrawn,
        "excluded": summary.excluded,
        "not_released": summary.not_released,
        "shared_phone_warnings": summary.shared_phone_warnings,
        "surveys": dict(sorted(inserted.surveys.items())),
    }
    session.add(
        AuditEvent(
            at=now,
            staff_id=actor.staff_id,
            action="sample_imported",
            entity="import_batch",
            entity_id=batch,
            detail=json.dumps(detail, sort_keys=True),
        )
    )
    session.flush()
    timings = ", ".join(f"{stage} {seconds:.2f} s{peaks[stage]}" for stage, seconds in stages.items())
    log.info("sample import %s: %d rows, %d imported; %s", batch, rows, summary.imported, timings)
    return summary


#: `present` of a row whose case was erased or purged (a case id is never negative).
WITHDRAWN = -1


def _look_up(
    session: Session, extract: _Extract, progress: Progress
) -> tuple[np.ndarray, dict[int, dict[int, str]]]:
    """(the id of each row's case already in the database, WITHDRAWN for an erased or purged one, else 0;
    for each number's hash, the cases already in the database that it reaches and that this file does
    not hold: id -> crime_ref)."""
    present = np.zeros(extract.rows, dtype=np.int64)
    own = np.unique(np.frombuffer(extract.key_hashes, dtype=np.int64))
    queried: set[int] = set()
    sharing: dict[int, dict[int, str]] = defaultdict(dict)
    progress.start("Looking up cases already imported", extract.rows)
    start = 0
    for block in extract.keys_and_numbers():
        repeated = extract.repeated[start : start + len(block)].tolist()
        keep = [(start + i, row) for i, row in enumerate(block) if not repeated[i]]
        ids = _case_ids(session, [key for _, (key, _, _) in keep])
        gone = withdrawn_keys(session, [key for _, (key, _, _) in keep if key not in ids])
        for index, (key, _, _) in keep:
            case_id = ids.get(key)
            if case_id is not None:
                present[index] = case_id
            elif key in gone:
                present[index] = WITHDRAWN
        numbers = set()
        for _, (_, phone, alt_phone) in keep:
            for number in (phone, alt_phone):
                if number is not None and hash(number) not in queried:
                    queried.add(hash(number))
                    numbers.add(number)
        _numbers_in_database(session, numbers, own, sharing)
        start += len(block)
        progress.advance(len(block))
    return present, sharing


def _numbers_in_database(
    session: Session, numbers: set[str], own: np.ndarray, sharing: dict[int, dict[int, str]]
) -> None:
    """Cases already in the database at these numbers, except this file's own (from an earlier import of
    it): recognised by their key, which `own` (the sorted hashes of the file's keys) holds."""
    if not numbers:
        return
    columns = (Case.id, Case.survey, Case.crime_ref, Case.victim_name, Case.phone, Case.alt_phone)
    ordered = sorted(numbers)
    # Streamed: a few numbers can reach a great many cases (a re-import of an extract whose numbers
    # repeat reaches every case of it from its first chunk).
    # (An option of each query: on the connection it would stay set for the inserts, which PostgreSQL's
    # server-side cursors cannot run.)
    connection = session.connection()
    for column in (Case.phone, Case.alt_phone):  # two queries: an OR would not use the phone index
        for chunk in _chunks(ordered, LOOKUP_CHUNK):
            query = select(*columns).where(column.in_(chunk)).execution_options(stream_results=True)
            for found in connection.execute(query).partitions(CHUNK):
                keys = np.fromiter(
                    (hash((r[1], r[2], r[3])) for r in found), dtype=np.int64, count=len(found)
                )
                where = np.minimum(np.searchsorted(own, keys), len(own) - 1)
                mine = (own[where] == keys).tolist()
                for (case_id, _, crime_ref, _, phone, alt_phone), is_own in zip(found, mine, strict=True):
                    if is_own:
                        continue
                    for number in (phone, alt_phone):
                        if number in numbers:
                            sharing[hash(number)][case_id] = crime_ref


def _shared_phone_groups(
    extract: _Extract, sharing: dict[int, dict[int, str]]
) -> list[tuple[bytes, tuple[str, ...]]]:
    """Numbers reaching more than one case, among the file's cases and those already in the database:
    (the file's rows, the crime refs of the database's cases), in line order, one per distinct group."""
    hashes = np.frombuffer(extract.phone_hashes, dtype=np.int64)
    rows = np.frombuffer(extract.phone_rows, dtype=np.int32)
    keep = ~extract.repeated[rows]
    hashes, rows, position = hashes[keep], rows[keep], np.flatnonzero(keep)
    if not len(hashes):
        return []
    order = np.lexsort((rows, hashes))
    hashes, rows, position = hashes[order], rows[order], position[order]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    ends = np.r_[starts[1:], len(hashes)]
    chosen = ends - starts >= 2
    if sharing:
        chosen |= np.isin(hashes[starts], np.fromiter(sharing, dtype=np.int64, count=len(sharing)))
    # A group's rows as big-endian bytes: a few bytes per row rather than a Python int each, and bytes
    # compare as the row numbers do, so the groups sort into line order as tuples of them would.
    members_of = rows.astype(">i4")
    groups: dict[tuple[bytes, frozenset[int]], tuple[int, bytes, tuple[str, ...]]] = {}
    for start, end in zip(starts[chosen].tolist(), ends[chosen].tolist(), strict=True):
        members = members_of[start:end].tobytes()
        others = sharing.get(int(hashes[start]), {})
        identity = (members, frozenset(others))
        # The number that appears first in the file stands for a group that several numbers reach.
        first = int(position[start])
        if identity not in groups or first < groups[identity][0]:
            groups[identity] = (first, members, tuple(sorted(others.values())))
    ordered = sorted(groups.values(), key=lambda group: (group[1], group[0]))
    return [(members, in_database) for _, members, in_database in ordered]


def _rows_of(members: bytes) -> list[int]:
    """The rows of a shared-phone group (see _shared_phone_groups)."""
    rows: list[int] = np.frombuffer(members, dtype=">i4").tolist()
    return rows


@dataclass
class _Inserted:
    imported: int = 0
    not_released: int = 0
    excluded: Counter[str] = dataclass_field(default_factory=Counter)
    surveys: Counter[str] = dataclass_field(default_factory=Counter)
    #: Crime refs of the rows that the warnings show, by row.
    crime_refs: dict[int, str] = dataclass_field(default_factory=dict)


def _insert_new_cases(
    session: Session,
    catalogue: Catalogue,
    extract: _Extract,
    present: np.ndarray,
    wanted: np.ndarray,
    today: date,
    now: datetime,
    batch: str,
    progress: Progress,
) -> _Inserted:
    """The third pass: each new case screened and inserted, with the decisions that excluded it."""
    done = _Inserted()
    screeners: dict[str, Screener] = {}
    cases = Case.metadata.tables[Case.__tablename__]
    screening_decisions = ScreeningDecision.metadata.tables[ScreeningDecision.__tablename__]
    progress.start("Importing new cases", extract.rows)
    start = 0
    for block in extract.blocks():
        end = start + len(block)
        skip = (extract.repeated[start:end] | (present[start:end] != 0)).tolist()
        for index in np.flatnonzero(wanted[start:end]).tolist():
            done.crime_refs[start + index] = block[index].crime_ref
        kept: list[tuple[Any, ...]] = []
        exclusions: list[tuple[tuple[str, str, str], list[tuple[str, str]]]] = []
        for row, skipped in zip(block, skip, strict=True):
            if skipped:
                continue
            screener = screeners.get(row.survey)
            if screener is None:
                screener = screeners[row.survey] = Screener(catalogue.get(row.survey))
            screening = screener.screen(row, today)  # a SampleRow has the fields screening reads
            availability = screening.availability
            if availability is Availability.OPEN:
                kept.append(_case_values(row, now, batch, OPEN))
            elif availability is Availability.WAITING:
                assert screening.available_from is not None
                next_call_at = _local_midnight(screening.available_from)
                kept.append(_case_values(row, now, batch, PENDING, next_call_at=next_call_at))
            elif availability is Availability.OVER:
                kept.append(
                    _case_values(row, now, batch, CLOSED, closed_reason=OUT_OF_FIELD_PERIOD, closed_at=now)
                )
                done.not_released += 1
            else:
                reason = screening.exclusion_reason
                assert reason is not None
                kept.append(
                    _case_values(
                        row, now, batch, CLOSED, SCREENED_OUT.code, closed_reason=reason.value, closed_at=now
                    )
                )
                exclusions.append((row.key, [(d.reason.value, d.note) for d in screening.exclusions]))
                done.excluded[reason.value] += 1
            done.surveys[row.survey] += 1
        _insert_many(session, cases, _CASE_COLUMNS, kept)
        done.imported += len(kept)
        if exclusions:
            ids = _case_ids(session, [key for key, _ in exclusions])
            decisions = [
                {
                    "case_id": ids[key],
                    "reason": reason,
                    "excluded": True,
                    "decided_by": AUTOMATIC,
                    "staff_id": None,
                    "decided_at": now,
                    "note": note,
                }
                for key, decided in exclusions
                for reason, note in decided
            ]
            session.execute(insert(screening_decisions), decisions)
        start = end
        progress.advance(len(block))
    return done


def _write_warnings(
    path: Path, name: str, warnings: Iterable[SharedPhoneWarning], first: list[SharedPhoneWarning]
) -> None:
    """Every warning to a CSV file (replaced whole, never left half-written); the first few into `first`.

    The crime refs came from outside: a cell that a spreadsheet would take for a formula is written as
    text (app.domain.text.csv_cell)."""
    # mkstemp: the crime refs are readable by this account only, as the database is.
    descriptor, name_of_temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    temporary = Path(name_of_temporary)
    try:
        with open(descriptor, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(WARNING_COLUMNS)
            for warning in warnings:
                if len(first) < FIRST_WARNINGS:
                    first.append(warning)
                writer.writerow([csv_cell(cell) for cell in warning.csv_row(name)])
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


#: The columns an import fills, in the order of `_case_values`.
_CASE_COLUMNS = (
    "survey",
    "crime_ref",
    "victim_name",
    "phone",
    "alt_phone",
    "date_of_birth",
    "report_date",
    "division",
    "district",
    "risk_level",
    "opted_out",
    "vulnerable",
    "nfa_requested",
    "not_cooperating",
    "status",
    "final_disposition",
    "closed_reason",
    "closed_at",
    "next_call_at",
    "attempt_count",
    "imported_at",
    "import_batch",
)


def _case_values(
    row: SampleRow,
    now: datetime,
    batch: str,
    status: str,
    final_disposition: str | None = None,
    *,
    closed_reason: str | None = None,
    closed_at: datetime | None = None,
    next_call_at: datetime | None = None,
) -> tuple[Any, ...]:
    """A new case's values for _CASE_COLUMNS."""
    return (
        row.survey,
        row.crime_ref,
        row.victim_name,
        row.phone,
        row.alt_phone,
        row.date_of_birth,
        row.report_date,
        row.division,
        row.district,
        row.risk_level.value if row.risk_level else None,
        row.opted_out,
        row.vulnerable,
        row.nfa_requested,
        row.not_cooperating,
        status,
        final_disposition,
        closed_reason,
        closed_at,
        next_call_at,
        0,
        now,
        batch,
    )


def _insert_many(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT rows with the driver's executemany (COPY on PostgreSQL), each distinct value converted once
    by SQLAlchemy's own bind processors for this dialect.

    `session.execute(insert(table), dicts)` spent more time building parameters than SQLite spent storing
    the rows (1.1 s of 2 s for 100,000 cases: per row, per column). An extract repeats most values (report
    dates, flags, the import time), so converting each distinct value once does the same work in a
    fraction of the time, with the same conversions on SQLite and PostgreSQL. Columns left out get their
    Python-side scalar default, as insert() would give them.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(columns)
    defaults: list[Any] = []
    for column in table.columns:
        if column.name in columns or column.primary_key or column.default is None:
            continue
        if not column.default.is_scalar:
            raise TypeError(
                f"{table.name}.{column.name}: a computed default needs insert(), not _insert_many"
            )
        names.append(column.name)
        defaults.append(getattr(column.default, "arg", None))
    converters = []
    for index, name in enumerate(names):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            converters.append((index, process, dict[Any, Any]()))
    prepared = []
    for row in rows:
        values = [*row, *defaults]
        for index, process, converted in converters:
            value = values[index]
            if value in converted:
                values[index] = converted[value]
            else:
                values[index] = converted[value] = process(value)
        prepared.append(tuple(values))
    preparer = dialect.identifier_preparer
    target = f"{preparer.format_table(table)} ({', '.join(preparer.quote(n) for n in names)})"
    if dialect.name == "postgresql":
        # COPY is PostgreSQL's bulk load: 100,000 cases in 1.6 s against 4 s with executemany.
        driver_connection = connection.connection.driver_connection
        assert driver_connection is not None
        with driver_connection.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for prepared_row in prepared:
                copy.write_row(prepared_row)
        return
    if dialect.paramstyle != "qmark":  # pragma: no cover - SQLite and psycopg are the drivers supported
        raise TypeError(f"unsupported DB-API paramstyle {dialect.paramstyle}")
    statement = f"INSERT INTO {target} VALUES ({', '.join(['?'] * len(names))})"
    for chunk in _chunks(prepared):
        connection.exec_driver_sql(statement, list(chunk))


def _local_midnight(day: date) -> datetime:
    """The start of `day` in the bureau's time zone, as aware UTC."""
    return datetime.combine(day, clock_time(0), tzinfo=LOCAL).astimezone(UTC)


def _case_ids(session: Session, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    """Ids of the cases with these keys, looked up by survey and crime_ref in chunks (the unique index)."""
    wanted = set(keys)
    crime_refs: dict[str, set[str]] = defaultdict(set)
    for survey, crime_ref, _ in wanted:
        crime_refs[survey].add(crime_ref)
    ids: dict[tuple[str, str, str], int] = {}
    for survey, refs in crime_refs.items():
        for chunk in _chunks(sorted(refs), LOOKUP_CHUNK):
            query = select(Case.id, Case.crime_ref, Case.victim_name).where(
                Case.survey == survey, Case.crime_ref.in_(chunk)
            )
            for case_id, crime_ref, victim_name in session.execute(query):
                key = (survey, crime_ref, victim_name)
                if key in wanted:
                    ids[key] = case_id
    return ids


__all__ = [
    "COLUMNS",
    "OUT_OF_FIELD_PERIOD",
    "ImportSummary",
    "SampleFileError",
    "SampleRow",
    "SharedPhoneWarning",
    "WARNING_COLUMNS",
    "import_sample",
    "read_sample_file",
    "template_header",
]
