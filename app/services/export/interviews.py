"""`export_interviews`: the export as a file (with its codebook, and syntax beside a .sav), written whole
or not at all, streamed from the database to the file, with progress, and audited."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from app.domain.permissions import Actor, Permission, require
from app.progress import SILENT, Progress
from app.services.catalogue import Catalogue
from app.services.export.changes import change_rows
from app.services.export.codebook import write_codebook_text, write_sps
from app.services.export.csv_file import write_csv
from app.services.export.files import Counted, atomic_file, audit_export
from app.services.export.formats import ExportError, ExportFormat, ExportResult, Writer, parse_format
from app.services.export.parquet_file import write_parquet
from app.services.export.plan import count_interviews, plan_export
from app.services.export.rows import export_rows
from app.services.export.sav_file import write_sav
from app.services.export.xlsx_file import MAX_SHEET_ROWS, write_xlsx

WRITERS: dict[ExportFormat, Writer] = {
    ExportFormat.CSV: write_csv,
    ExportFormat.SAV: write_sav,
    ExportFormat.XLSX: write_xlsx,
    ExportFormat.PARQUET: write_parquet,
}


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
    progress: Progress = SILENT,
) -> ExportResult:
    """Write the export to `path` (whole or not at all) and record it in the audit log."""
    require(actor, Permission.EXPORT)
    path = Path(path)
    export_format = parse_format(str(fmt), path)
    plan = plan_export(session, catalogue, survey, start, end, include_partial=include_partial)
    total = count_interviews(session, plan)
    if export_format is ExportFormat.XLSX and total >= MAX_SHEET_ROWS:
        raise ExportError(
            f"{path}: {total:,} interviews do not fit in an Excel sheet (at most {MAX_SHEET_ROWS - 1:,});"
            " export a shorter period, or as csv, sav or parquet"
        )
    variables = list(plan.variables)
    names = [v.name for v in variables]
    progress.start(f"Exporting interviews of {survey}", total=total, unit="interviews")
    counted = Counted(([row.get(name) for name in names] for row in export_rows(session, plan)), progress)
    writer = WRITERS[export_format]
    beside: list[Path] = []
    with ExitStack() as stack:
        temporary = stack.enter_context(atomic_file(path))
        changes = change_rows(session, plan) if export_format is ExportFormat.XLSX else iter(())
        writer(temporary, variables, counted, plan.title, changes, progress)
        if export_format is not ExportFormat.XLSX:
            codebook = path.with_name(f"{path.stem}.codebook.txt")
            write_codebook_text(stack.enter_context(atomic_file(codebook)), plan, path.name)
            beside.append(codebook)
        if export_format is ExportFormat.SAV:
            syntax = path.with_name(f"{path.stem}.sps")
            write_sps(stack.enter_context(atomic_file(syntax)), plan, path.name)
            beside.append(syntax)
    audit_export(
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
