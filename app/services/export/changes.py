"""The change history of exported interviews (`survey export-changes`, and the .xlsx sheet "changes"):
corrections, changes and discarded answers, streamed oldest first; no staff names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import LOCAL
from app.domain.permissions import Actor, Permission, require
from app.progress import SILENT, Progress
from app.services.catalogue import Catalogue
from app.services.export.columns import CHANGE_COLUMNS
from app.services.export.csv_file import write_csv_rows
from app.services.export.files import Counted, atomic_file, audit_export
from app.services.export.formats import ExportError, ExportFormat, ExportResult, parse_format
from app.services.export.plan import ExportPlan, interview_filter, plan_export, pseudonymous_id
from app.services.export.xlsx_file import write_changes_sheet
from app.store.models import AnswerChange, Interview

#: Changes read from the database at a time.
CHUNK = 2000


def change_rows(session: Session, plan: ExportPlan) -> Iterator[dict[str, Any]]:
    """The change history of the exported interviews, oldest first; no staff names."""
    where = interview_filter(plan.survey, plan.start, plan.end, plan.include_partial)
    labels = {v.question_id: v.label.split(": ")[0] for v in plan.variables if v.question_id}
    change = AnswerChange
    query = (
        select(
            Interview.id,
            Interview.external_id,
            Interview.imported,
            change.question_id,
            change.kind,
            change.old_code,
            change.old_value,
            change.new_code,
            change.new_value,
            change.reason,
            change.changed_at,
        )
        .join(change, change.interview_id == Interview.id)
        .where(*where)
        .order_by(Interview.ended_at, Interview.id, change.id)
        .execution_options(stream_results=True, yield_per=CHUNK)
    )
    for row in session.execute(query):
        yield {
            "interview_id": row.external_id
            if row.imported and row.external_id
            else pseudonymous_id(plan.survey, row.id),
            "survey": plan.survey,
            "question": row.question_id,
            "question_label": labels.get(row.question_id, ""),
            "kind": row.kind,
            "old_code": row.old_code,
            "old_value": row.old_value,
            "new_code": row.new_code,
            "new_value": row.new_value,
            "reason": row.reason,
            "changed_at": row.changed_at.astimezone(LOCAL).replace(microsecond=0),
        }


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
    progress: Progress = SILENT,
) -> ExportResult:
    """The change history of the interviews an export of the same range holds, as CSV or .xlsx."""
    require(actor, Permission.EXPORT)
    path = Path(path)
    export_format = parse_format(str(fmt), path)
    if export_format not in (ExportFormat.CSV, ExportFormat.XLSX):
        raise ExportError(f"{path}: the change history is written as csv or xlsx")
    plan = plan_export(session, catalogue, survey, start, end, include_partial=include_partial)
    progress.start("Writing the change history", None, unit="changes")
    counted = Counted(change_rows(session, plan), progress)
    with atomic_file(path) as temporary:
        if export_format is ExportFormat.CSV:
            write_csv_rows(temporary, list(CHANGE_COLUMNS), ([r[c] for c in CHANGE_COLUMNS] for r in counted))
        else:
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            write_changes_sheet(book, counted)
            book.save(temporary)
    audit_export(
        session,
        actor,
        "export_changes",
        survey,
        export_format,
        path,
        start,
        end,
        include_partial,
        counted.n,
        len(CHANGE_COLUMNS),
    )
    return ExportResult(path, export_format, survey, counted.n, len(CHANGE_COLUMNS))
