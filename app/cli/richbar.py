"""The Rich progress bar behind app.cli.progress (imported only when a bar is shown)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text


class _Done(ProgressColumn):
    """ "12,000 / 100,000 rows", or megabytes for bytes."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        if unit == "bytes":
            total = f" / {task.total / 1e6:,.1f}" if task.total is not None else ""
            return Text(f"{task.completed / 1e6:,.1f}{total} MB")
        total = f" / {task.total:,.0f}" if task.total is not None else ""
        return Text(f"{task.completed:,.0f}{total} {unit}")


class _Rate(ProgressColumn):
    """ "24,000 rows/s", or MB/s for bytes."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None and task.elapsed and task.completed:
            speed = task.completed / task.elapsed  # too early (or too quick) for Rich's own estimate
        if speed is None:
            return Text("")
        unit = task.fields.get("unit", "")
        if unit == "bytes":
            return Text(f"{speed / 1e6:,.1f} MB/s")
        return Text(f"{speed:,.0f} {unit}/s")


class _Bar:
    """Progress shown with Rich: one line per stage, each with its bar, count, rate and time left."""

    def __init__(self, bar: RichProgress) -> None:
        self.bar = bar
        self.task: TaskID | None = None

    def start(self, stage: str, total: float | None = None, unit: str = "rows") -> None:
        if self.task is not None:
            task = self.bar.tasks[-1]
            if task.total is not None:
                self.bar.update(self.task, completed=task.total)
            self.bar.stop_task(self.task)
        self.task = self.bar.add_task(stage, total=total, unit=unit)

    def advance(self, done: float = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, done)


@contextmanager
def rich_bar() -> Iterator[_Bar]:
    """One line per stage on standard error, erased when the work ends."""
    bar = RichProgress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        _Done(),
        _Rate(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
        refresh_per_second=5,
    )
    with bar:
        yield _Bar(bar)
