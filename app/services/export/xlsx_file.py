"""Excel: openpyxl's write-only workbook, which writes each row out as it is added (inline strings, no
shared-string table), so memory does not grow with the rows. A sheet holds at most 1,048,576 rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from app.domain.text import xlsx_text
from app.progress import SILENT, Progress
from app.services.export.codebook import codebook_rows
from app.services.export.columns import CHANGE_COLUMNS, MISSING_CODE_NOTES, Variable
from app.services.export.formats import naive_local

#: Rows of one sheet, the header included (Excel's limit).
MAX_SHEET_ROWS = 1_048_576


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A cell that shows what it holds: text always as an explicit string (never a formula, whatever
    it starts with), without the characters XML cannot hold; times as local date-times."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=xlsx_text(value))
        cell.data_type = "s"
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=naive_local(value))
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    return value


def write_changes_sheet(book: Any, changes: Iterable[Mapping[str, Any]]) -> None:
    sheet = book.create_sheet("changes")
    sheet.append(list(CHANGE_COLUMNS))
    for change in changes:
        sheet.append([xlsx_cell(sheet, change[column]) for column in CHANGE_COLUMNS])


def write_xlsx(
    path: Path,
    variables: list[Variable],
    rows: Iterable[Sequence[Any]],
    title: str,
    changes: Iterable[Mapping[str, Any]] = (),
    progress: Progress = SILENT,
) -> None:
    """Sheets 'data' (one row per interview), 'codebook' (every variable) and 'changes' (the history)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    data = book.create_sheet("data")
    data.append([v.name for v in variables])
    for row in rows:
        data.append([xlsx_cell(data, value) for value in row])
    codebook = book.create_sheet("codebook")
    for line in codebook_rows(variables):
        codebook.append([xlsx_cell(codebook, value) for value in line])
    codebook.append([])
    codebook.append(["code", "meaning"])
    for code, text in MISSING_CODE_NOTES:
        codebook.append([code, text])
    write_changes_sheet(book, changes)
    book.save(path)
