"""`survey settings ...`: the bureau's calling hours, retry gaps and stale-allocation limit."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import Format, actor, cli, open_runtime_for, print_rows

settings_cli = typer.Typer(
    help="Bureau settings: calling hours, retry gaps, stale allocations.", no_args_is_help=True
)
cli.add_typer(settings_cli, name="settings")


@settings_cli.command("show")
def settings_show(
    ctx: typer.Context, format: Annotated[Format, typer.Option("--format", "-f")] = Format.table
) -> None:
    """Every setting with its value, its default and what it does."""
    from app.services.settings import list_settings

    runtime = open_runtime_for(ctx)
    try:
        with runtime.readers() as session:
            rows = [
                {"key": r.key, "value": r.value, "default": r.default, "description": r.description}
                for r in list_settings(session)
            ]
    finally:
        runtime.close()
    print_rows(rows, format, title="Settings")


@settings_cli.command("set")
def settings_set(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Setting name, as `survey settings show` lists it.")],
    value: Annotated[str, typer.Argument(help="New value, e.g. 'Mon-Fri 09:00-20:00, Sat 10:00-16:00'.")],
) -> None:
    """Change one setting (checked first; recorded in the audit log)."""
    from app.services.settings import set_setting

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            stored = set_setting(session, actor(ctx), key, value)
    finally:
        runtime.close()
    print(f"{key} = {stored}")
