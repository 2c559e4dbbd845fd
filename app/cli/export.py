"""`survey export SURVEY --from --to -o FILE`: pseudonymised interviews for analysts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import cli, open_runtime_for
from app.cli.report import FromOption, SurveyArgument, ToOption, parse_range


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
    include_partial: Annotated[
        bool, typer.Option("--include-partial", help="Also export partial interviews (break-offs).")
    ] = False,
) -> None:
    """One row per completed interview, one column per question; no names, numbers or crime references."""
    from app.domain.permissions import Actor
    from app.services.export import export_interviews, parse_format

    first, last = parse_range(start, end)
    export_format = parse_format(format, output)
    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            result = export_interviews(
                session,
                Actor.system(),
                runtime.catalogue,
                survey,
                first,
                last,
                export_format,
                output,
                include_partial=include_partial,
            )
    finally:
        runtime.close()
    print(
        f"exported {result.interviews} interviews of {result.survey} ({result.variables} columns)"
        f" to {result.path}"
    )
