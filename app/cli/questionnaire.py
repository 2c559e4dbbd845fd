"""`survey questionnaire ...`"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from app.cli.common import Format, cli, options, out, print_rows
from app.errors import SurveyError

questionnaire_cli = typer.Typer(help="Check, list and show questionnaires.", no_args_is_help=True)
cli.add_typer(questionnaire_cli, name="questionnaire")

# ------------------------------------------------------------------ questionnaire


@questionnaire_cli.command("check")
def questionnaire_check(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Files to check. Default: every bundled one.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
) -> None:
    """Validate questionnaire files: exit 0 when all are valid, else one FILE:LINE: message per problem.

    Warnings (FILE:LINE: warning: message) point at what is allowed but probably not meant; they do not
    change the exit status unless --strict is given.
    """
    from app.services.catalogue import questionnaire_dir, review_files

    if not files:
        folder = questionnaire_dir(options(ctx).questionnaires)
        files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
        if not files:
            raise SurveyError(f"{folder}: no questionnaire files (*.yaml) found")
    review = review_files(files)
    for path, questionnaire in review.loaded:
        print(
            f"{path}: ok ({questionnaire.id} version {questionnaire.version}, "
            f"{len(questionnaire.questions())} questions)"
        )
    for problem in [*review.problems, *review.warnings]:
        print(problem, file=sys.stderr)
    if review.problems or (strict and review.warnings):
        raise typer.Exit(1)


@questionnaire_cli.command("list")
def questionnaire_list(
    ctx: typer.Context, format: Annotated[Format, typer.Option("--format", "-f")] = Format.table
) -> None:
    """List the surveys: id, title, version, number of questions."""
    from app.services.catalogue import load_catalogue, questionnaire_dir

    catalogue = load_catalogue(questionnaire_dir(options(ctx).questionnaires))
    rows = [
        {"id": q.id, "title": q.title, "version": q.version, "questions": len(q.questions())}
        for q in catalogue
    ]
    print_rows(rows, format, title="Questionnaires")


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

    questionnaire = load_catalogue(questionnaire_dir(options(ctx).questionnaires)).get(survey)
    if format is ShowFormat.json:
        print(json.dumps(questionnaire.to_public_dict(), indent=2, ensure_ascii=False))
        return
    out.print(
        f"[bold]{escape(questionnaire.title)}[/bold]  ({questionnaire.id}, version {questionnaire.version})"
    )
    number = 0
    for section in questionnaire.sections:
        out.print(f"\n[bold underline]{escape(section.title)}[/]")
        for question in section.questions:
            number += 1
            routed = (
                "  [dim](routed)[/dim]" if question.ask_if is not None or section.ask_if is not None else ""
            )
            kind = escape(f"[{getattr(question, 'type', '')}]")
            out.print(f"{number:>3}. [bold]{question.id}[/bold] {kind}{routed}")
            out.print(f"     {question.text}", markup=False)
            if question.instruction:
                out.print(f"     [italic]Caller: {escape(question.instruction)}[/italic]")
            for option in question.options():
                out.print(f"       {option.code:>2}  {option.label}", markup=False)
