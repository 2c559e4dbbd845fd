"""`survey sample ...`: load a crime-records extract, and show its layout."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import actor, cli, open_runtime_for, options, out
from app.cli.progress import QuietOption, progress_bar
from app.domain.text import display

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
    warnings: Annotated[
        Path | None,
        typer.Option(
            "--warnings",
            metavar="FILE",
            help="Write every warning to this CSV file (the summary shows the first few and counts).",
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Check a whole extract and import its new cases, screened; any bad row and nothing is imported.

    The extract may be UTF-8 (with or without a byte order mark), UTF-16 with a byte order mark, or
    Windows-1252 as spreadsheets save it. Problems go to stderr as FILE:LINE: column: message, and the
    command exits 1. The JSON summary is {"imported", "already_present", "withdrawn", "excluded":
    {reason: n}, "not_released", "shared_phone_warnings": n}; "withdrawn" counts rows of cases erased or
    purged earlier, which are not imported again. --warnings FILE lists every warning.
    """
    from rich.table import Table
    from rich.text import Text

    from app.services.sample import import_sample

    runtime = open_runtime_for(ctx)
    try:
        # The whole file is checked before the first statement, which is what takes SQLite's write lock.
        with runtime.sessions.begin() as session, progress_bar(quiet) as progress:
            summary = import_sample(
                session, actor(ctx), runtime.catalogue, file, progress=progress, warnings_to=warnings
            )
    finally:
        runtime.close()

    if format is SummaryFormat.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return
    read_as = "" if summary.encoding.startswith("UTF-8") else f" (read as {summary.encoding})"
    table = Table(title=Text(f"Sample import: {file.name}{read_as}"))
    table.add_column("cases")
    table.add_column("count", justify="right")
    table.add_row("new cases imported", str(summary.imported))
    for reason, count in summary.excluded.items():
        if count:
            table.add_row(f"  closed, not eligible: {reason.replace('_', ' ')}", str(count))
    table.add_row("  closed, fieldwork window already over", str(summary.not_released))
    table.add_row("already present (left unchanged)", str(summary.already_present))
    if summary.withdrawn:
        table.add_row("erased or purged earlier (not imported again)", str(summary.withdrawn))
    out.print(table)
    count = summary.shared_phone_warnings
    if count > len(summary.first_warnings):
        print(
            f"warning: {count:,} telephone numbers each reach more than one case: take care not to mention"
            f" one victim's crime to another. The first {len(summary.first_warnings)}:"
        )
    for warning in summary.first_warnings:
        print(f"{file}:{warning.lines[0]}: warning: {display(str(warning))}")
    if warnings is not None:
        print(f"{count:,} warning{'' if count == 1 else 's'} written to {warnings}")
    elif count > len(summary.first_warnings):
        print(f"(all {count:,} with --warnings FILE)")


class TemplateFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@sample_cli.command("template")
def sample_template(
    ctx: typer.Context,
    format: Annotated[
        TemplateFormat,
        typer.Option("--format", "-f", help="table (each column's format and an example), csv or json."),
    ] = TemplateFormat.table,
) -> None:
    """Show the columns of an extract, each with its format and an example.

    Columns may come in any order; alt_phone may be left out. `--format csv` prints the header row and
    one example row, a valid extract to start from; `--format json` a list of {"column", "required",
    "format", "example"}.
    """
    from rich.table import Table
    from rich.text import Text

    from app.services.catalogue import load_catalogue, questionnaire_dir
    from app.services.sample_template import template_columns, template_csv

    surveys = [q.id for q in load_catalogue(questionnaire_dir(options(ctx).questionnaires))]
    example_survey = "domestic_abuse" if "domestic_abuse" in surveys or not surveys else surveys[0]
    if format is TemplateFormat.csv:
        sys.stdout.write(template_csv(example_survey))
        return
    columns = template_columns(example_survey)
    if format is TemplateFormat.json:
        print(json.dumps([c.to_dict() for c in columns], indent=2))
        return
    table = Table(title=Text("Sample extract: one row per victim and crime, CSV with a header row"))
    for heading in ("column", "required", "format", "example"):
        table.add_column(heading, overflow="fold")
    for c in columns:
        table.add_row(c.column, c.required, c.format, c.example)
    out.print(table)
    out.print(
        "Columns may come in any order. `survey sample template --format csv` prints a valid example extract."
    )
