"""Quick exits kept on the caller's computer while the database cannot be reached.

A quick exit must end the call on screen at once, whatever the database is doing. When the database
cannot be reached, the exit (which database, which caller, which attempt and interview, and when) is
written to `pending_quick_exits.json` in the user's data folder (0600, written whole and synced before
the caller is told), and recorded as soon as the database answers again: before that caller is offered
any case or any interview to resume, and every few seconds while they are signed in. Until it is
recorded the case stays allocated to that caller, so no one else is offered it either; if that caller
does not come back within `stale_allocation_hours`, the stale release holds the case for a supervisor
(its call left unfinished) rather than offering it to anyone, and the quick exit, once recorded, is
written on that call for the supervisor to read.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import platformdirs
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.domain.permissions import Actor
from app.errors import SurveyError
from app.files import write_private
from app.services import calls
from app.services.catalogue import Catalogue
from app.store.db import is_lock_conflict

_FILE_LOCK = threading.Lock()  # the screen's thread keeps, database workers forget


class DatabaseUnreachable(SurveyError):
    """The database did not answer (down, unreachable, its file gone): nothing was written."""


@dataclass(frozen=True)
class PendingExit:
    database: str  # as shown (no password)
    staff_id: int
    attempt_id: int | None
    interview_id: int | None
    at: str  # ISO 8601, UTC: when the caller pressed the key


def pending_file() -> Path:
    return Path(platformdirs.user_data_dir("survey", appauthor=False)) / "pending_quick_exits.json"


def is_unreachable(error: BaseException) -> bool:
    """Whether a failed database task failed because the database could not be reached at all."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    return type(error.orig).__name__ == "OperationalError" and not is_lock_conflict(error)


def keep(database: str, actor: Actor, attempt_id: int | None, interview_id: int | None) -> PendingExit:
    """Write the quick exit to this computer's file (synced to disk before this returns)."""
    if actor.staff_id is None:
        raise SurveyError("only a member of staff's quick exit can be kept")
    pending = PendingExit(database, actor.staff_id, attempt_id, interview_id, utcnow().isoformat())
    with _FILE_LOCK:
        _write([*_read(), pending])
    return pending


def waiting(database: str, actor: Actor) -> list[PendingExit]:
    """This caller's quick exits on this computer not yet recorded in this database."""
    return [p for p in _read() if p.database == database and p.staff_id == actor.staff_id]


def record_waiting(session: Session, actor: Actor, catalogue: Catalogue, database: str) -> list[PendingExit]:
    """Record in this transaction every quick exit of this caller kept here; returns them.

    They are removed from this computer's file once the transaction has committed (a crash in between
    records one twice: harmless, as a quick exit of a call already ended changes nothing).
    """
    kept = waiting(database, actor)
    if kept:
        event.listen(session, "after_commit", lambda _: _forget(kept), once=True)
    for pending in kept:
        pressed = datetime.fromisoformat(pending.at).astimezone(LOCAL)
        calls.quick_exit(
            session,
            actor,
            catalogue,
            attempt_id=pending.attempt_id,
            interview_id=pending.interview_id,
            note=f"quick exit at {pressed:%H:%M} on {pressed:%d/%m/%Y}, recorded later: the database could"
            " not be reached",
        )
    return kept


def _forget(recorded: list[PendingExit]) -> None:
    with _FILE_LOCK:
        _write([p for p in _read() if p not in recorded])


def _read() -> list[PendingExit]:
    path = pending_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        return [PendingExit(**item) for item in json.loads(text)]
    except (ValueError, TypeError) as exc:
        raise SurveyError(f"{path}: cannot read the quick exits kept on this computer ({exc})") from None


def _write(pending: list[PendingExit]) -> None:
    path = pending_file()
    if not pending:
        if path.exists():
            os.unlink(path)
        return
    write_private(path, json.dumps([asdict(p) for p in pending], indent=1))
