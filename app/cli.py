"""The `survey` command: parse arguments, call a service, print. Nothing else."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.errors import SurveyError

cli = typer.Typer(
    name="survey",
    help="Telephone survey capture for a police Research Bureau.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=False,
    rich_markup_mode=None,
)
questionnaire_cli = typer.Typer(help="Check, list and show questionnaires.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
user_cli = typer.Typer(help="Staff accounts.", no_args_is_help=True)
cli.add_typer(questionnaire_cli, name="questionnaire")
cli.add_typer(db_cli, name="db")
cli.add_typer(user_cli, name="user")

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


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    assert isinstance(options, Options)
    return options


def _runtime(ctx: typer.Context, **kw: Any):  # type: ignore[no-untyped-def]
    from app.services.runtime import open_runtime

    options = _options(ctx)
    return open_runtime(options.db, options.questionnaires, **kw)


def _print_rows(rows: list[dict[str, Any]], fmt: Format, title: str | None = None) -> None:
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


# ------------------------------------------------------------------ questionnaire


@questionnaire_cli.command("check")
def questionnaire_check(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Files to check. Default: every bundled one.")
    ] = None,
) -> None:
    """Validate questionnaire files: exit 0 when all are valid, else one FILE:LINE: message per problem."""
    from app.services.catalogue import check_files, questionnaire_dir

    if not files:
        folder = questionnaire_dir(_options(ctx).questionnaires)
        files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
        if not files:
            raise SurveyError(f"{folder}: no questionnaire files (*.yaml) found")
    loaded, problems = check_files(files)
    for path, questionnaire in loaded:
        print(
            f"{path}: ok ({questionnaire.id} version {questionnaire.version}, "
            f"{len(questionnaire.questions())} questions)"
        )
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        raise typer.Exit(1)


@questionnaire_cli.command("list")
def questionnaire_list(
    ctx: typer.Context, format: Annotated[Format, typer.Option("--format", "-f")] = Format.table
) -> None:
    """List the surveys: id, title, version, number of questions."""
    from app.services.catalogue import load_catalogue, questionnaire_dir

    catalogue = load_catalogue(questionnaire_dir(_options(ctx).questionnaires))
    rows = [
        {"id": q.id, "title": q.title, "version": q.version, "questions": len(q.questions())}
        for q in catalogue
    ]
    _print_rows(rows, format, title="Questionnaires")


class ShowFormat(StrEnum):
    json = "json"
    text = "text"


@questionnaire_cli.command("show")
def questionnaire_show(
    ctx: typer.Context,
    survey: Annotated[str, typer.Argument(help="Survey id, e.g. domestic_abuse.")],
    format: Annotated[ShowFormat, typer.Option("--format", "-f")] = ShowFormat.text,
) -> None:
    """Print one validated questionnaire (JSON for programs, text for people)."""
    from app.services.catalogue import load_catalogue, questionnaire_dir

    questionnaire = load_catalogue(questionnaire_dir(_options(ctx).questionnaires)).get(survey)
    if format is ShowFormat.json:
        print(json.dumps(questionnaire.to_public_dict(), indent=2, ensure_ascii=False))
        return
    out.print(f"[bold]{questionnaire.title}[/bold]  ({questionnaire.id}, version {questionnaire.version})")
    number = 0
    for section in questionnaire.sections:
        out.print(f"\n[bold underline]{section.title}[/]")
        for question in section.questions:
            number += 1
            routed = (
                "  [dim](routed)[/dim]" if question.ask_if is not None or section.ask_if is not None else ""
            )
            out.print(f"{number:>3}. [bold]{question.id}[/bold] [{getattr(question, 'type', '')}]{routed}")
            out.print(f"     {question.text}", markup=False)
            if question.instruction:
                out.print(f"     [italic]Caller: {question.instruction}[/italic]")
            for option in question.options():
                out.print(f"       {option.code:>2}  {option.label}", markup=False)


# ------------------------------------------------------------------ database


@db_cli.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the database to the latest schema (the app also does this when it starts)."""
    from app.store.db import check_connection, default_database_url, make_engine, redact_url
    from app.store.migrate import current_revision, upgrade

    url = _options(ctx).db or default_database_url()
    engine = make_engine(url)
    try:
        check_connection(engine)
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    print(f"{redact_url(engine.url)}: {state} revision {after}")


# ------------------------------------------------------------------ staff


@user_cli.command("add")
def user_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name used to sign in, e.g. jsmith.")],
    role: Annotated[str, typer.Option("--role", help="caller, supervisor, analyst or admin.")],
    display_name: Annotated[str | None, typer.Option("--display-name", help="Name shown on screen.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")
    ] = False,
) -> None:
    """Add a member of staff; asks for the password (twice) unless --password-stdin is given."""
    from app.domain.permissions import Actor
    from app.services.staff import add_staff, parse_role

    parsed_role = parse_role(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    runtime = _runtime(ctx)
    try:
        with runtime.sessions.begin() as session:
            record = add_staff(
                session,
                Actor.system(),
                username=name,
                role=parsed_role,
                password=password,
                display_name=display_name,
            )
    finally:
        runtime.close()
    print(f"added {record.username} ({record.role.value})")


@user_cli.command("list")
def user_list(
    ctx: typer.Context, format: Annotated[Format, typer.Option("--format", "-f")] = Format.table
) -> None:
    """List staff accounts (never passwords)."""
    from app.services.staff import list_staff

    runtime = _runtime(ctx)
    try:
        with runtime.readers() as session:
            rows = [
                {
                    "username": s.username,
                    "display_name": s.display_name,
                    "role": s.role.value,
                    "active": s.active,
                }
                for s in list_staff(session)
            ]
    finally:
        runtime.close()
    _print_rows(rows, format, title="Staff")


# ------------------------------------------------------------------ entry point


def main() -> None:
    """Run the CLI; expected failures print one line on stderr and exit 1, never a traceback."""
    from app.logs import setup_logging

    setup_logging()
    try:
        cli(standalone_mode=True)
    except SurveyError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(line if _has_location(line) else f"survey: {line}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("survey: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a database that went away mid-command, and the like
        message = _unexpected(exc)
        if message is None:
            raise
        print(f"survey: {message}", file=sys.stderr)
        sys.exit(1)


def _has_location(line: str) -> bool:
    head = line.split(": ", 1)[0]
    return ":" in head and head.rsplit(":", 1)[-1].isdigit() or head.endswith((".yaml", ".yml", ".csv"))


def _unexpected(exc: Exception) -> str | None:
    """A one-line message for failures of the environment (database down, disk full), else None."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError | DBAPIError):
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        return f"database error: {reason[0] if reason else type(exc).__name__}"
    if isinstance(exc, OSError):
        return f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}"
    return None


if __name__ == "__main__":
    main()
