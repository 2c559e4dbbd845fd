"""`survey db ...`"""

from __future__ import annotations

import typer

from app.cli.common import cli, options
from app.cli.progress import QuietOption, progress_bar

db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")

# ------------------------------------------------------------------ database


@db_cli.command("upgrade")
def db_upgrade(ctx: typer.Context, quiet: QuietOption = False) -> None:
    """Migrate the database to the latest schema (the app also does this when it starts).

    A migration that fills a new table from the interviews shows its progress on a terminal.
    """
    from app.store.db import check_connection, default_database_url, make_engine, redact_url
    from app.store.migrate import current_revision, upgrade

    url = options(ctx).db or default_database_url()
    engine = make_engine(url)
    try:
        check_connection(engine)
        before = current_revision(engine)
        with progress_bar(quiet) as progress:
            upgrade(engine, progress=progress)
        after = current_revision(engine)
    finally:
        engine.dispose()
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    print(f"{redact_url(engine.url)}: {state} revision {after}")
