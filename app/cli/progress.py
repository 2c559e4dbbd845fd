"""A progress bar for long commands: on standard error, only when it is a terminal, never with --quiet.

Standard output stays exactly what the command prints (a table, JSON, CSV), whether or not a bar was
shown: the bar writes to standard error only and is erased when the work ends.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from app.progress import SILENT, Progress

QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar (it only ever shows on a terminal).")
]


def wanted(quiet: bool) -> bool:
    """Whether to show progress: on a terminal, and not asked to be quiet."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress_bar(quiet: bool = False) -> Iterator[Progress]:
    """Progress for a command's service call: a bar on a terminal, else nothing at all."""
    if not wanted(quiet):
        yield SILENT
        return
    from app.cli.richbar import rich_bar  # Rich only when a bar is shown

    with rich_bar() as bar:
        yield bar


__all__ = ["QuietOption", "progress_bar", "wanted"]
