"""`survey user ...`"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.cli.common import Format, cli, open_runtime_for, options, print_rows

user_cli = typer.Typer(help="Staff accounts.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")

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
    """Add a member of staff; asks for the password (twice) unless --password-stdin is given.

    Needs an administrator's sign-in, except on a new database: its first account, an administrator,
    is added without one.
    """
    from app.domain.permissions import Role
    from app.services.staff import StaffError, add_first_admin, add_staff, parse_role

    parsed_role = parse_role(role)
    runtime = open_runtime_for(ctx)
    try:
        who = options(ctx).actor
        if who is None and parsed_role is not Role.ADMIN:
            raise StaffError(
                f"the first account must be an administrator: survey user add {name} --role admin"
            )
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        with runtime.sessions.begin() as session:
            if who is None:
                record = add_first_admin(session, username=name, password=password, display_name=display_name)
            else:
                record = add_staff(
                    session,
                    who,
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

    runtime = open_runtime_for(ctx)
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
    print_rows(rows, format, title="Staff")
