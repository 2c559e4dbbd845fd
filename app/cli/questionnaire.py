"""`survey questionnaire ...`"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import Format, cli, open_runtime_for, options, print_rows
from app.errors import SurveyError

if TYPE_CHECKING:
    from app.domain.length import LengthEstimate
    from app.domain.questionnaire import Questionnaire

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
    from app.services.catalogue import folder_files, questionnaire_dir, review_files

    if not files:
        folder = questionnaire_dir(options(ctx).questionnaires)
        files = folder_files(folder)
        if not files:
            raise SurveyError(f"{folder}: no questionnaire files (*.yaml) found")
    review = review_files(files)
    for path, questionnaire in review.loaded:
        length = review.lengths.get(path)
        print(
            f"{path}: ok ({questionnaire.id} version {questionnaire.version}, "
            f"{len(questionnaire.questions())} questions" + (f"; {length.brief()}" if length else "") + ")"
        )
    for problem in [*review.problems, *review.warnings]:
        print(_shown(problem), file=sys.stderr)
    if review.problems or (strict and review.warnings):
        raise typer.Exit(1)


@questionnaire_cli.command("list")
def questionnaire_list(
    ctx: typer.Context, format: Annotated[Format, typer.Option("--format", "-f")] = Format.table
) -> None:
    """List the surveys: id, title, version, number of questions.

    A file of the folder that does not load is named on standard error with its problem (FILE:LINE:
    message): its survey is unavailable until the file is put right; the others work as usual.
    """
    from app.services.catalogue import questionnaire_dir, survey_summaries

    summaries, unavailable = survey_summaries(questionnaire_dir(options(ctx).questionnaires))
    rows = [{"id": s.id, "title": s.title, "version": s.version, "questions": s.questions} for s in summaries]
    print_rows(rows, format, title="Questionnaires")
    for problem in unavailable:
        print(f"{_shown(problem)} (this survey is unavailable)", file=sys.stderr)


def _shown(problem: object) -> str:
    """A problem as one line, with any control character in the quoted file shown, never obeyed."""
    from app.domain.text import visible

    return visible(str(problem))


class ShowFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def _is_file(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or "/" in name or Path(name).is_file()


@questionnaire_cli.command("show")
def questionnaire_show(
    ctx: typer.Context,
    survey: Annotated[str, typer.Argument(help="Survey id (e.g. domestic_abuse), or a questionnaire file.")],
    format: Annotated[
        ShowFormat, typer.Option("--format", "-f", help="text, markdown or json.")
    ] = ShowFormat.text,
) -> None:
    """Print one questionnaire with all its routing: text to read, markdown for a review, json for programs.

    Text and markdown give every section and question in order with its condition, options and codes,
    stop rules and their outcomes, the measures, and the interview length (shortest, typical, longest).
    For an installed survey the length uses the median time callers took per question once interviews
    exist; for a file, and before any interview, it is estimated from the words.
    """
    from app.domain.document import questionnaire_markdown, questionnaire_text
    from app.domain.length import NoCompleteRoute

    session_length: Callable[[Questionnaire], LengthEstimate]
    if _is_file(survey):
        questionnaire = _read_file(Path(survey))
        session_length = _file_length
    else:
        questionnaire = _installed(ctx, survey)
        session_length = _installed_length(ctx)
    if format is ShowFormat.json:
        print(json.dumps(questionnaire.to_public_dict(), indent=2, ensure_ascii=False))
        return
    try:
        length = session_length(questionnaire)
    except NoCompleteRoute as exc:
        print(f"warning: {exc}", file=sys.stderr)
        length = None
    if format is ShowFormat.markdown:
        sys.stdout.write(questionnaire_markdown(questionnaire, length))
    else:
        sys.stdout.write(questionnaire_text(questionnaire, length, width=shutil.get_terminal_size().columns))


@questionnaire_cli.command("try")
def questionnaire_try(
    ctx: typer.Context,
    survey: Annotated[str, typer.Argument(help="Survey id (e.g. domestic_abuse), or a questionnaire file.")],
) -> None:
    """Try a questionnaire on the interview screen, in practice: no case, no database, nothing stored.

    Example sample fields (the file's example_sample, or defaults) fill the text; above each question,
    why it is asked; F2 jumps to any question; Ctrl+X or Ctrl+Q ends the practice. A file need not be
    installed.
    """
    from app.tui.practice import make_practice_app

    questionnaire = _read_file(Path(survey)) if _is_file(survey) else _installed(ctx, survey)
    make_practice_app(questionnaire).run()


@questionnaire_cli.command("new")
def questionnaire_new(
    ctx: typer.Context,
    survey: Annotated[str, typer.Argument(help="The new survey's id (e.g. stalking).")],
    source: Annotated[
        str, typer.Option("--from", help="The questionnaire to start from (e.g. domestic_abuse).")
    ],
    to: Annotated[
        Path | None,
        typer.Option("--to", help="File to write. Default: ID.yaml in the questionnaires folder."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Its title. Default: from the id.")] = None,
) -> None:
    """Start a new questionnaire from a bundled one: its fieldcraft and comments kept, id replaced, version 1.

    An existing file is never overwritten. The new file passes `questionnaire check`; then rewrite it
    for the new survey and try it with `survey questionnaire try FILE`.
    """
    from app.services.authoring import new_questionnaire
    from app.services.catalogue import questionnaire_dir, review_files

    folder = questionnaire_dir(options(ctx).questionnaires)
    target = to if to is not None else folder / f"{survey}.yaml"
    written = new_questionnaire(_source_file(folder, source), survey, target, title=title)
    review = review_files([written.path])
    for problem in [*review.problems, *review.warnings]:
        print(problem, file=sys.stderr)
    print(
        f"{written.path}: written ({survey} version 1, from {written.source.id} version "
        f"{written.source.version}, {len(written.questionnaire.questions())} questions)."
    )
    print(f"Next: edit it, then `survey questionnaire check {written.path}`")
    print(f"and try it: `survey questionnaire try {written.path}`.")
    if review.problems:
        raise typer.Exit(1)


def _source_file(folder: Path, survey: str) -> Path:
    """The file of survey `survey`: in the questionnaires folder, else among the bundled ones."""
    from app.services.catalogue import bundled_dir

    if _is_file(survey):
        return Path(survey)
    for place in (folder, bundled_dir()):
        for suffix in (".yaml", ".yml"):
            if (place / f"{survey}{suffix}").is_file():
                return place / f"{survey}{suffix}"
    raise SurveyError(f"no questionnaire file for '{survey}' in {folder} or among the bundled ones")


def _read_file(path: Path) -> Questionnaire:
    """A questionnaire file that need not be installed; its problems are printed as check prints them."""
    from app.domain.questionnaire import QuestionnaireError, read_questionnaire

    try:
        return read_questionnaire(path).questionnaire
    except QuestionnaireError as exc:
        for problem in exc.problems:
            print(_shown(problem), file=sys.stderr)
        raise typer.Exit(1) from None


def _installed(ctx: typer.Context, survey: str) -> Questionnaire:
    from app.services.catalogue import load_catalogue, questionnaire_dir

    return load_catalogue(questionnaire_dir(options(ctx).questionnaires)).get(survey)


def _file_length(questionnaire: Questionnaire) -> LengthEstimate:
    from app.domain.length import estimate_length

    return estimate_length(questionnaire)


def _installed_length(ctx: typer.Context) -> Callable[[Questionnaire], LengthEstimate]:
    def length(questionnaire: Questionnaire) -> LengthEstimate:
        from app.services.lengths import questionnaire_length

        runtime = open_runtime_for(ctx)
        try:
            with runtime.readers() as session:
                return questionnaire_length(session, questionnaire)
        finally:
            runtime.close()

    return length
