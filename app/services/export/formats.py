"""The export's formats, its errors and its result; times as the bureau's local clock shows them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.clock import LOCAL
from app.errors import SurveyError
from app.progress import Progress

if TYPE_CHECKING:
    from app.services.export.columns import Variable


class ExportError(SurveyError):
    """The export cannot be made as asked."""


class ExportFormat(StrEnum):
    CSV = "csv"
    SAV = "sav"
    XLSX = "xlsx"
    PARQUET = "parquet"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: ExportFormat
    survey: str
    interviews: int
    variables: int
    beside: tuple[Path, ...] = ()  # the codebook and syntax files written next to it


def parse_format(text: str | None, path: Path) -> ExportFormat:
    """--format, else the file's extension."""
    chosen = text or path.suffix.lstrip(".").lower()
    try:
        return ExportFormat(chosen)
    except ValueError:
        names = ", ".join(f.value for f in ExportFormat)
        if text is None:
            raise ExportError(f"{path}: give --format ({names}) or a file ending in one of them") from None
        raise ExportError(f"unknown export format '{text}'; use one of {names}") from None


def naive_local(value: datetime) -> datetime:
    """A moment as the bureau's local date and time, for formats without time zones (.sav, .xlsx)."""
    return value.astimezone(LOCAL).replace(tzinfo=None)


class Writer(Protocol):
    """Writes one format: the columns, the rows (streamed: each is read once, in order), the file's title,
    the change history (only the .xlsx holds it), and the progress of any stage of its own."""

    def __call__(
        self,
        path: Path,
        variables: list[Variable],
        rows: Iterable[Sequence[Any]],
        title: str,
        changes: Iterable[Mapping[str, Any]],
        progress: Progress,
        /,
    ) -> None: ...
