"""`survey export` and `survey export-changes`: pseudonymised interviews and their change history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import actor, cli, open_runtime_for
from app.cli.progress import QuietOption, progress_bar
from app.cli.report import FromOption, SurveyArgument, ToOption, parse_range

PartialOption = Annotated[
    bool, typer.Option("--include-partial", help="Also export partial interviews (break-offs).")
]


@cli.command("export")
def export_command(
    ctx: typer.Context,
    survey: SurveyArgument,
    start: FromOption,
    end: ToOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, sav, xlsx or parquet. Default: from the file's extension."),
    ] = None,
    include_partial: PartialOption = False,
    quiet: QuietOption = False,
) -> None:
    """One row per completed interview, one column per question, then each measure as published.

    No names, numbers or crime references. Codes 996 (not asked) and 997 (not recorded) say why an
    answer is missing. Beside a csv, sav or parquet file goes FILE.codebook.txt (the .xlsx has a
    codebook sheet); beside a .sav, FILE.sps with the multiple-response sets. On a terminal a progress
    bar shows the interviews written, the rate and the time left (on standard error; --quiet hides it).
    """
    from app.services.export import export_interviews, parse_format

    first, last = parse_range(start, end)
    export_format = parse_format(format, output)
    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session, progress_bar(quiet) as progress:
            result = export_interviews(
                session,
                actor(ctx),
                runtime.catalogue,
                survey,
                first,
                last,
                export_format,
                output,
                include_partial=include_partial,
                progress=progress,
            )
    finally:
        runtime.close()
    print(
        f"exported {result.interviews} interviews of {result.survey} ({result.variables} columns)"
        f" to {result.path}"
    )
    for path in result.beside:
        print(f"wrote {path}")


@cli.command("export-changes")
def export_changes_command(
    ctx: typer.Context,
    survey: SurveyArgument,
    start: FromOption,
    end: ToOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write (.csv or .xlsx).")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="csv or xlsx. Default: from the file's extension.")
    ] = None,
    include_partial: PartialOption = False,
    quiet: QuietOption = False,
) -> None:
    """The change history of the interviews `survey export` writes for the same range.

    One row per change: interview_id, question, kind (corrected afterwards, changed or discarded during
    the interview), old and new code or value, reason, when. No staff names.
    """
    from app.services.export import export_changes, parse_format

    first, last = parse_range(start, end)
    export_format = parse_format(format, output)
    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session, progress_bar(quiet) as progress:
            result = export_changes(
                session,
                actor(ctx),
                runtime.catalogue,
                survey,
                first,
                last,
                export_format,
                output,
                include_partial=include_partial,
                progress=progress,
            )
    finally:
        runtime.close()
    print(f"exported {result.interviews} changes of {result.survey} to {result.path}")
