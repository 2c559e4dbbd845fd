"""What every command shares: the root Typer app, global options, output helpers."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

cli = typer.Typer(
    name="survey",
    help="Telephone survey capture for a police Research Bureau.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=False,
    rich_markup_mode=None,
)

out = Console(highlight=False, soft_wrap=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@dataclass
class Options:
    db: str | None
    questionnaires: str | None


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="SURVEY_DATABASE_URL",
        help="Database URL (sqlite:///PATH or postgresql://USER@HOST/NAME). Default: a SQLite file in"
        " your user data folder.",
        show_envvar=True,
    ),
]
QuestionnairesOption = Annotated[
    str | None,
    typer.Option(
        "--questionnaires",
        envvar="SURVEY_QUESTIONNAIRES",
        help="Folder of questionnaire YAML files. Default: the bundled questionnaires.",
        show_envvar=True,
    ),
]


@cli.callback(invoke_without_command=True)
def root(ctx: typer.Context, db: DbOption = None, questionnaires: QuestionnairesOption = None) -> None:
    """Start the app (no command), or run one of the commands below."""
    ctx.obj = Options(db=db, questionnaires=questionnaires)
    if ctx.invoked_subcommand is None:
        from app.services.runtime import open_runtime
        from app.tui.app import make_app

        runtime = open_runtime(db, questionnaires)
        try:
            make_app(runtime).run()
        finally:
            runtime.close()


def options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    assert isinstance(options, Options)
    return options


def open_runtime_for(ctx: typer.Context, **kw: Any):  # type: ignore[no-untyped-def]
    from app.services.runtime import open_runtime

    chosen = options(ctx)
    return open_runtime(chosen.db, chosen.questionnaires, **kw)


def print_rows(rows: list[dict[str, Any]], fmt: Format, title: str | None = None) -> None:
    """People get a table; programs get JSON or CSV with the same keys."""
    if fmt is Format.json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if fmt is Format.csv:
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title=title)
    for key in rows[0] if rows else []:
        table.add_column(key.replace("_", " "))
    for row in rows:
        table.add_row(*(str(v) if v is not None else "" for v in row.values()))
    out.print(table)
