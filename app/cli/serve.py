"""`survey serve`: the app in staff's browsers; the database and its credentials stay on this server."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from app.cli.common import cli, open_runtime_for, options

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@cli.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on. Keep the default behind a reverse proxy.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")] = 8000,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="The address staff open, when a reverse proxy serves this server"
            " (e.g. https://survey.bureau.example).",
        ),
    ] = None,
    max_sessions: Annotated[
        int, typer.Option("--max-sessions", min=1, max=1000, help="Most browser sessions at once.")
    ] = 20,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            min=0.5,
            max=600,
            help="Seconds an app process gets to end after its browser has gone, before it is ended.",
        ),
    ] = 10.0,
) -> None:
    """Serve the app to browsers: each tab runs its own app, with its own sign-in, on this server.

    Staff need only a browser; nothing is installed on their desktops and no database credentials
    leave this server. See docs/bureau-server.md for a service account, systemd and TLS.
    """
    from app.logs import log_to_stderr
    from app.web.server import BureauServer

    runtime = open_runtime_for(ctx)  # migrate and check the questionnaires once, before anyone connects
    runtime.close()
    chosen = options(ctx)
    environment = {"SURVEY_DATABASE_URL": runtime.url}
    if chosen.questionnaires:
        environment["SURVEY_QUESTIONNAIRES"] = chosen.questionnaires
    log_to_stderr(logging.getLogger("app.web"))
    if host not in LOOPBACK and public_url is None:
        print(
            f"survey serve: listening on {host} without TLS; put a reverse proxy with TLS in front"
            " (docs/bureau-server.md)",
            file=sys.stderr,
        )
    server = BureauServer(
        [sys.executable, "-m", "app.cli"],
        host=host,
        port=port,
        public_url=public_url,
        max_sessions=max_sessions,
        grace=grace,
        environment=environment,
        announce=lambda line: print(line, flush=True),
        database=runtime.display_url,
    )
    server.serve()
