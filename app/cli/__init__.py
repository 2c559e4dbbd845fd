"""The `survey` command: parse arguments, call a service, print. Nothing else.

Each command group lives in its own module, which registers itself on the root app in common.py.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from app.errors import SurveyError

if TYPE_CHECKING:
    import typer

__all__ = ["cli", "main"]


def commands() -> typer.Typer:
    """The root Typer app with every command group registered (each module registers its own)."""
    from app.cli import (  # noqa: F401 - importing a module registers its commands
        audit,
        cases,
        database,
        demo,
        export,
        questionnaire,
        rates,
        report,
        responses,
        retention,
        sample,
        serve,
        settings,
        signin,
        staff,
    )
    from app.cli.common import cli

    return cli


def __getattr__(name: str) -> Any:
    if name == "cli":
        return commands()
    raise AttributeError(name)


# ------------------------------------------------------------------ entry point


def main() -> None:
    """Run the CLI; expected failures print one line on stderr and exit 1, never a traceback.

    A plain `survey` (the app itself, options from the environment) starts without loading the commands.
    """
    from app.logs import setup_logging

    setup_logging()
    try:
        if len(sys.argv) == 1:
            from app.cli.start import run_app

            run_app(
                os.environ.get("SURVEY_DATABASE_URL") or None, os.environ.get("SURVEY_QUESTIONNAIRES") or None
            )
        else:
            commands()(standalone_mode=True)
    except SurveyError as exc:
        from app.domain.text import visible

        for line in str(exc).splitlines() or [type(exc).__name__]:
            line = visible(line)  # a message may quote a file's or the database's text
            print(line if _has_location(line) else f"survey: {line}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("survey: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a database that went away mid-command, a bug
        print(f"survey: {_unexpected(exc)}", file=sys.stderr)
        sys.exit(1)


def _has_location(line: str) -> bool:
    head = line.split(": ", 1)[0]
    return ":" in head and head.rsplit(":", 1)[-1].isdigit() or head.endswith((".yaml", ".yml", ".csv"))


def _unexpected(exc: Exception) -> str:
    """One line for a failure nobody planned for. The database's and Python's own messages can quote
    the values involved (a name, a note), so they go to the log without them, under an incident number."""
    import logging

    from sqlalchemy.exc import DBAPIError

    from app.logs import describe_failure, log_incident

    if isinstance(exc, OSError):
        return f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}"
    incident = log_incident(logging.getLogger("app.cli"), exc, "command")
    if isinstance(exc, DBAPIError):
        return f"database error: {describe_failure(exc)} (incident {incident.number})"
    return str(incident)
