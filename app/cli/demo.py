"""`survey demo`: a synthetic bureau to explore."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import cli, open_runtime_for
from app.cli.progress import QuietOption, progress_bar


@cli.command("demo")
def demo(
    ctx: typer.Context,
    cases_per_survey: Annotated[int, typer.Option("--cases-per-survey", min=10, max=5000)] = 120,
    quiet: QuietOption = False,
) -> None:
    """Fill an empty database with synthetic staff, cases, call histories and interviews.

    Names are made up and numbers are Ofcom drama numbers. Only a new database is filled: one that
    already has cases or staff is left untouched. Demo accounts share the password 'demo password'.
    """
    from app.services.demo import DEMO_PASSWORD, load_demo

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session, progress_bar(quiet) as progress:
            summary = load_demo(
                session, runtime.catalogue, cases_per_survey=cases_per_survey, progress=progress
            )
    finally:
        runtime.close()
    if not summary.created:
        print(f"demo: nothing to do ({summary.message})")
        return
    print(
        f"demo: {summary.cases} cases, {summary.attempts} calls and {summary.interviews} interviews"
        f" loaded into {runtime.display_url}"
    )
    if summary.staff:
        print(f"sign in as one of these, password '{DEMO_PASSWORD}':")
        for username, role in summary.staff:
            print(f"  {username:<12} {role}")
        print(
            "in the app: run `survey`; on the command line: `survey login supervisor` (then e.g."
            " `survey case show 1`), `survey logout` when done"
        )
