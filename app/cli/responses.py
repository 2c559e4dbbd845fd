"""`survey responses import FILE.csv`: bring in interviews from an earlier survey tool."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import actor, cli, open_runtime_for

responses_cli = typer.Typer(help="Survey responses from elsewhere.", no_args_is_help=True)
cli.add_typer(responses_cli, name="responses")


@responses_cli.command("import")
def responses_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV in the layout `survey export --format csv` writes.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and count what would be added; store nothing.")
    ] = False,
) -> None:
    """Check the whole file, then add its interviews (marked imported); ids already stored are skipped."""
    from app.services.responses import import_responses

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            result = import_responses(session, actor(ctx), runtime.catalogue, file, dry_run=dry_run)
    finally:
        runtime.close()
    verb = "would add" if result.dry_run else "added"
    surveys = ", ".join(f"{survey} {count}" for survey, count in result.by_survey)
    print(
        f"{file}: {result.rows} interviews read; {verb} {result.added}"
        f"{f' ({surveys})' if surveys else ''}; {result.already_present} already present"
    )
