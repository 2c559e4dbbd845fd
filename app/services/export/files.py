"""Files written whole or not at all, rows counted as they go, and the audit of each export."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from app.clock import utcnow
from app.domain.permissions import Actor
from app.progress import SILENT, Progress
from app.services.export.formats import ExportError, ExportFormat
from app.store.models import AuditEvent

#: Rows between two reports of progress (a report per row would cost more than the row).
PROGRESS_EVERY = 1000

T = TypeVar("T")


class Counted(Generic[T]):
    """An iterable of rows that counts what its consumer took, and reports it as progress."""

    def __init__(self, rows: Iterable[T], progress: Progress = SILENT) -> None:
        self._rows = iter(rows)
        self._progress = progress
        self.n = 0

    def __iter__(self) -> Iterator[T]:
        reported = 0
        for row in self._rows:
            self.n += 1
            if self.n - reported == PROGRESS_EVERY:
                self._progress.advance(PROGRESS_EVERY)
                reported = self.n
            yield row
        self._progress.advance(self.n - reported)


def audit_export(
    session: Session,
    actor: Actor,
    action: str,
    survey: str,
    export_format: ExportFormat,
    path: Path,
    start: date,
    end: date,
    include_partial: bool,
    rows: int,
    variables: int,
) -> None:
    counts = {"interviews": rows, "variables": variables} if action == "export" else {"changes": rows}
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action=action,
            entity="survey",
            entity_id=survey,
            detail=json.dumps(
                {
                    "format": export_format.value,
                    "file": path.name,
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "include_partial": include_partial,
                    **counts,
                }
            ),
        )
    )
    session.flush()


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A temporary file beside `path`, renamed over it only when writing succeeded."""
    if path.is_dir():
        raise ExportError(f"{path}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise ExportError(f"{path.parent}: folder not found")
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
