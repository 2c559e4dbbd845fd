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
- Streamed, so memory does not grow with the export: the interviews are read with a server-side cursor
  (PostgreSQL) or SQLite's own stepping, their answers a chunk of interviews at a time, and each writer
  writes as rows come (CSV a line, .xlsx a row in openpyxl's write-only mode, Parquet a row group).
  A .sav fixes its text columns' widths before the data and pyreadstat cannot append, so its rows go
  through a private spool first (see `sav_file`).
- The files are written under temporary names beside the target and renamed when all are complete, so a
  failed export never leaves half a file (nor replaces an earlier good one). Each export is audited
  with its counts and file name, never with personal data.

Where things are: `columns` (the variables and their codes), `plan` (which versions and interviews),
`rows` (one row per interview), `changes` (the change history), `codebook` (the dictionary beside the
file), one module per format (`csv_file`, `sav_file`, `xlsx_file`, `parquet_file`), `files` (atomic
files, the audit), and `interviews` (the export as a whole).
"""

from app.services.export.changes import change_rows, export_changes
from app.services.export.codebook import codebook_rows, write_codebook_text, write_sps
from app.services.export.columns import (
    CHANGE_COLUMNS,
    CHANGE_KINDS,
    META_COLUMNS,
    META_VARIABLES,
    MISSING_CODE_NOTES,
    MISSING_LABELS,
    NEUTRAL_LEFT_OUT,
    NO_ANSWER_TEXTS,
    NOT_ASKED,
    NOT_RECORDED,
    Kind,
    Level,
    Variable,
    describe_condition,
    export_variables,
    measure_variables,
    question_variables,
    routing_condition,
    takes_missing_codes,
)
from app.services.export.formats import ExportError, ExportFormat, ExportResult, Writer, parse_format
from app.services.export.interviews import WRITERS, export_interviews
from app.services.export.plan import ExportPlan, count_interviews, plan_export, pseudonymous_id
from app.services.export.rows import export_rows, export_table

__all__ = [
    "CHANGE_COLUMNS",
    "CHANGE_KINDS",
    "META_COLUMNS",
    "META_VARIABLES",
    "MISSING_CODE_NOTES",
    "MISSING_LABELS",
    "NEUTRAL_LEFT_OUT",
    "NOT_ASKED",
    "NOT_RECORDED",
    "NO_ANSWER_TEXTS",
    "WRITERS",
    "ExportError",
    "ExportFormat",
    "ExportPlan",
    "ExportResult",
    "Kind",
    "Level",
    "Variable",
    "Writer",
    "change_rows",
    "codebook_rows",
    "count_interviews",
    "describe_condition",
    "export_changes",
    "export_interviews",
    "export_rows",
    "export_table",
    "export_variables",
    "measure_variables",
    "parse_format",
    "plan_export",
    "pseudonymous_id",
    "question_variables",
    "routing_condition",
    "takes_missing_codes",
    "write_codebook_text",
    "write_sps",
]
