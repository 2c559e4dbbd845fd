"""What every command shares: the root Typer app, global options, output helpers."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from app.cli.access import (
    NotSignedIn,
    access_of,
    allowed,
    command_name,
    forget_session,
    refused,
    saved_session,
    sign_in_hint,
)
from app.domain.permissions import Actor

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from app.services.runtime import Runtime

cli = typer.Typer(
    name="survey",
    help="Telephone survey capture for a police Research Bureau.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=False,
    rich_markup_mode=None,
)


class _Console:
    """Rich's console for people's output, made on first use (a command that prints none never loads Rich)."""

    _made: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if _Console._made is None:
            from rich.console import Console

            _Console._made = Console(highlight=False, soft_wrap=True)
        return getattr(_Console._made, name)


out = cast("Console", _Console())


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@dataclass
class Options:
    db: str | None
    questionnaires: str | None
    #: Who runs this command, once open_runtime_for has checked the sign-in; None for a command that
    #: needs none (public, or the first run of a database without staff).
    actor: Actor | None = None


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
        from app.cli.start import run_app

        run_app(db, questionnaires)


def options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    assert isinstance(options, Options)
    return options


def open_runtime_for(ctx: typer.Context, **kw: Any) -> Runtime:
    """Open the database for this command, once its sign-in and permission are checked (see access.py)."""
    from app.services.runtime import open_runtime

    chosen = options(ctx)
    runtime = open_runtime(chosen.db, chosen.questionnaires, **kw)
    try:
        chosen.actor = _authorise(ctx, runtime)
    except BaseException:
        runtime.close()
        raise
    return runtime


def actor(ctx: typer.Context) -> Actor:
    """The signed-in member of staff running this command (after open_runtime_for)."""
    who = options(ctx).actor
    if who is None:
        raise NotSignedIn(f"not signed in: {sign_in_hint()}")
    return who


def _authorise(ctx: typer.Context, runtime: Runtime) -> Actor | None:
    from app.services.signin import SessionRefused, has_staff, record_refusal, resume_session

    command = command_name(ctx)
    access = access_of(command)
    if access.public:
        return None
    database = runtime.display_url
    saved = saved_session(database)
    problem = f"not signed in: {sign_in_hint()}"
    if saved is not None:
        with runtime.sessions.begin() as session:
            outcome = resume_session(session, saved["token"])
        if not isinstance(outcome, SessionRefused):
            who = outcome.actor()
            if not allowed(who, access):
                assert access.permission is not None and who.staff_id is not None
                with runtime.sessions.begin() as session:
                    record_refusal(session, who.staff_id, command, access.permission.value)
                raise refused(who, command, access.permission)
            return who
        forget_session(database)
        problem = f"{outcome.message}: {sign_in_hint(saved.get('username'))}"
    if access.first_run:
        with runtime.readers() as session:
            if not has_staff(session):
                return None
    raise NotSignedIn(problem)


def print_rows(rows: list[dict[str, Any]], fmt: Format, title: str | None = None) -> None:
    """People get a table; programs get JSON or CSV with the same keys."""
    if fmt is Format.json:
        print(json.dumps(rows, indent=2, default=str))  # ensure_ascii: controls and bidi as \u escapes
        return
    if fmt is Format.csv:
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
        return
    from rich.table import Table

    table = Table(title=title)
    for key in rows[0] if rows else []:
        table.add_column(key.replace("_", " "))
    for row in rows:
        add_safe_row(table, *(str(v) if v is not None else "" for v in row.values()))
    out.print(table)


def add_safe_row(table: Table, *cells: str) -> None:
    """A table row of stored text, with any terminal control in it shown as an escape, never obeyed."""
    from app.domain.text import display

    table.add_row(*(display(cell) for cell in cells))
