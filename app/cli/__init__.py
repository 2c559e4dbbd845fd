"""The `survey` command: parse arguments, call a service, print. Nothing else.

Each command group lives in its own module, which registers itself on the root app in common.py.
"""

from __future__ import annotations

import sys

from app.cli import (  # noqa: F401 - importing a module registers its commands
    cases,
    database,
    demo,
    export,
    questionnaire,
    rates,
    report,
    responses,
    sample,
    serve,
    settings,
    signin,
    staff,
)
from app.cli.common import cli
from app.errors import SurveyError

__all__ = ["cli", "main"]


# ------------------------------------------------------------------ entry point


def main() -> None:
    """Run the CLI; expected failures print one line on stderr and exit 1, never a traceback."""
    from app.logs import setup_logging

    setup_logging()
    try:
        cli(standalone_mode=True)
    except SurveyError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(line if _has_location(line) else f"survey: {line}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("survey: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a database that went away mid-command, and the like
        message = _unexpected(exc)
        if message is None:
            raise
        print(f"survey: {message}", file=sys.stderr)
        sys.exit(1)


def _has_location(line: str) -> bool:
    head = line.split(": ", 1)[0]
    return ":" in head and head.rsplit(":", 1)[-1].isdigit() or head.endswith((".yaml", ".yml", ".csv"))


def _unexpected(exc: Exception) -> str | None:
    """A one-line message for failures of the environment (database down, disk full), else None."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError | DBAPIError):
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        return f"database error: {reason[0] if reason else type(exc).__name__}"
    if isinstance(exc, OSError):
        return f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}"
    return None
