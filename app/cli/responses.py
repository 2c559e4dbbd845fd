"""`survey responses import FILE.csv`: bring in interviews from an earlier survey tool."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import actor, cli, open_runtime_for
from app.cli.progress import QuietOption, progress_bar

responses_cli = typer.Typer(help="Survey responses from elsewhere.", no_args_is_help=True)
cli.add_typer(responses_cli, name="responses")


@responses_cli.command("import")
def responses_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV in the layout `survey export --format csv` writes.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and count what would be added; store nothing.")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Check the whole file, then add its interviews (marked imported); ids already stored are skipped.

    The file may be UTF-8, UTF-16 with a byte order mark, or Windows-1252.
    """
    from app.services.responses import import_responses

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session, progress_bar(quiet) as progress:
            result = import_responses(
                session, actor(ctx), runtime.catalogue, file, dry_run=dry_run, progress=progress
            )
    finally:
        runtime.close()
    verb = "would add" if result.dry_run else "added"
    surveys = ", ".join(f"{survey} {count}" for survey, count in result.by_survey)
    print(
        f"{file}: {result.rows} interviews read; {verb} {result.added}"
        f"{f' ({surveys})' if surveys else ''}; {result.already_present} already present"
    )
