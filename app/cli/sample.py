"""`survey sample ...`: load a crime-records extract, and show its layout."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from app.cli.common import actor, cli, open_runtime_for, out

sample_cli = typer.Typer(
    help="Sample imports: crime-records extracts of victims to call.", no_args_is_help=True
)
cli.add_typer(sample_cli, name="sample")


class SummaryFormat(StrEnum):
    table = "table"
    json = "json"


@sample_cli.command("import")
def sample_import(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="The extract: a CSV file with a header row (see `sample template`).")
    ],
    format: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="table or json.")
    ] = SummaryFormat.table,
) -> None:
    """Check a whole extract and import its new cases, screened; any bad row and nothing is imported.

    Problems go to stderr as FILE:LINE: column: message, and the command exits 1. The JSON summary is
    {"imported", "already_present", "excluded": {reason: n}, "not_released", "shared_phone_warnings":
    [{"lines", "crime_refs", "in_database"}]}.
    """
    from app.services.sample import import_sample

    runtime = open_runtime_for(ctx)
    try:
        # The whole file is checked before the first statement, which is what takes SQLite's write lock.
        with runtime.sessions.begin() as session:
            summary = import_sample(session, actor(ctx), runtime.catalogue, file)
    finally:
        runtime.close()

    if format is SummaryFormat.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return
    table = Table(title=Text(f"Sample import: {file.name}"))
    table.add_column("cases")
    table.add_column("count", justify="right")
    table.add_row("new cases imported", str(summary.imported))
    for reason, count in summary.excluded.items():
        if count:
            table.add_row(f"  closed, not eligible: {reason.replace('_', ' ')}", str(count))
    table.add_row("  closed, fieldwork window already over", str(summary.not_released))
    table.add_row("already present (left unchanged)", str(summary.already_present))
    out.print(table)
    for warning in summary.shared_phone_warnings:
        print(f"warning: {warning}")


@sample_cli.command("template")
def sample_template() -> None:
    """Print the header row of an extract (columns in any order; alt_phone may be left out)."""
    from app.services.sample import template_header

    print(template_header())
