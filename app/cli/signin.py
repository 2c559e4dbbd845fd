"""`survey login NAME` and `survey logout`: a sign-in that the following commands act under."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.cli.access import forget_session, save_session, saved_session
from app.cli.common import cli, open_runtime_for
from app.errors import SurveyError


@cli.command("login")
def login(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Your user name, e.g. jsmith.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")
    ] = False,
) -> None:
    """Sign in on the command line: the commands that follow act as you, until `survey logout` or the idle
    time (setting idle_minutes) passes without a command."""
    from app.services.settings import get_settings
    from app.services.signin import SignedIn, start_session

    runtime = open_runtime_for(ctx)
    try:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True)
        outcome = start_session(runtime.sessions, name, password)
        with runtime.readers() as session:
            idle = get_settings(session).idle_minutes
        if not isinstance(outcome, SignedIn):
            raise SurveyError(outcome.message)
        save_session(runtime.display_url, outcome.token, outcome.staff.username)
    finally:
        runtime.close()
    staff = outcome.staff
    print(
        f"signed in as {staff.username} ({staff.role.value}) to {runtime.display_url} until `survey logout`"
        f" or {idle} minutes without a command"
    )


@cli.command("logout")
def logout(ctx: typer.Context) -> None:
    """Sign out of the database: the session ends for good."""
    from app.services.signin import end_session

    runtime = open_runtime_for(ctx)
    try:
        saved = saved_session(runtime.display_url)
        if saved is None:
            print("not signed in")
            return
        with runtime.sessions.begin() as session:
            end_session(session, saved["token"])
        forget_session(runtime.display_url)
    finally:
        runtime.close()
    print(f"signed out {saved.get('username', '')}".rstrip())
