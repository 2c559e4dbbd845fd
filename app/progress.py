"""Progress of long work: services (and migrations) report stages and units done; the CLI or TUI shows them.

A service takes a `Progress` and calls `start` for each stage of its work and `advance` as units are
done. The CLI shows a bar on standard error when it is a terminal (app.cli.progress); the TUI shows a
bar fed from the worker thread; tests and scripts pass nothing and get `SILENT`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, stage: str, total: float | None = None, unit: str = "rows") -> None:
        """A new stage of the work, with `total` units to do (None: not known in advance).

        `unit` names what is counted ("rows", "interviews", "steps"); "bytes" is shown in megabytes.
        """

    def advance(self, done: float = 1) -> None:
        """`done` more units of the current stage are finished."""


class _Silent:
    def start(self, stage: str, total: float | None = None, unit: str = "rows") -> None:
        pass

    def advance(self, done: float = 1) -> None:
        pass


#: Progress that goes nowhere: the default of every service that reports progress.
SILENT: Progress = _Silent()

__all__ = ["SILENT", "Progress"]
