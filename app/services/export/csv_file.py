"""CSV: UTF-8 with a byte order mark (so Excel shows accented names and verbatims correctly), a row
written as it comes; text never starts a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from app.domain.text import csv_cell
from app.progress import SILENT, Progress
from app.services.export.columns import Variable


def csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_cell(value)  # never a formula in a spreadsheet
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv_rows(path: Path, header: list[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([csv_value(value) for value in row])


def write_csv(
    path: Path,
    variables: list[Variable],
    rows: Iterable[Sequence[Any]],
    title: str,
    changes: Iterable[Mapping[str, Any]] = (),
    progress: Progress = SILENT,
) -> None:
    """The header (the variables' names), then a line per interview."""
    write_csv_rows(path, [v.name for v in variables], rows)
