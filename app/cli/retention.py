"""`survey purge` and `survey erase`: retention and erasure of victims' personal data (administrators)."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import actor, cli, open_runtime_for


@cli.command("purge")
def purge_command(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count the cases due; delete nothing.")] = False,
) -> None:
    """Delete the personal data of cases closed more than retention_days ago (a setting, default 90).

    Names, numbers, dates of birth, crime references and notes go; the survey, Division, disposition,
    call outcomes and coded answers stay, so reports and response rates do not change.
    """
    from app.clock import LOCAL
    from app.services.retention import purge

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            result = purge(session, actor(ctx), dry_run=dry_run)
    finally:
        runtime.close()
    before = result.closed_before.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    cases = f"{result.cases} case{'' if result.cases == 1 else 's'} closed before {before}"
    print(
        f"would delete the personal data of {cases}" if dry_run else f"deleted the personal data of {cases}"
    )


@cli.command("erase")
def erase_command(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="Case number.", min=1)],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log; required).")],
) -> None:
    """Remove everything about one victim's case on request: the case, its calls, screening, interviews
    and answers, alerts. The audit log keeps that it happened, and why."""
    from app.services.retention import erase_case

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            removed = erase_case(session, actor(ctx), case_id, reason)
    finally:
        runtime.close()
    print(f"case {case_id} erased ({removed} rows)")
