"""Logging to a file in the user's log folder, readable by its owner only. Messages never carry
personal data: the database engine hides statement parameters, and failures are logged by type and
statement, without values (see app.store.db)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import traceback
from pathlib import Path

import platformdirs

from app.errors import SurveyError
from app.files import PRIVATE_FILE, private_dir

ENV_LOG_DIR = "SURVEY_LOG_DIR"


def log_dir() -> Path:
    return Path(os.environ.get(ENV_LOG_DIR) or platformdirs.user_log_dir("survey", appauthor=False))


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Each log file, the first and every one after a rollover, is created 0600 whatever the umask."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        if os.fstat(fd).st_mode & 0o777 != PRIVATE_FILE:
            os.fchmod(fd, PRIVATE_FILE)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)  # noqa: SIM115


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send the app's log records to survey.log (rotated, owner-only); skip quietly if unwritable."""
    folder = log_dir()
    try:
        private_dir(folder)
        handler = PrivateRotatingFileHandler(
            folder / "survey.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("app")
    root.setLevel(level)
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        root.addHandler(handler)
    return folder / "survey.log"


def log_to_stderr(logger: logging.Logger) -> None:
    """Also send `logger`'s records to stderr (a service's journal), one line each."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


# ------------------------------------------------------------------ failures, without personal data


class Incident(SurveyError):
    """An unexpected failure, logged under a number; its message holds nothing but that number."""

    def __init__(self, number: str, message: str) -> None:
        super().__init__(message)
        self.number = number


def describe_failure(error: BaseException) -> str:
    """What failed, in words that carry no data: exception types, and for a database error its
    SQLSTATE and the names of the table, column and constraint (PostgreSQL), or SQLite's own message,
    which never quotes values. Never the driver's message on PostgreSQL, whose DETAIL quotes the row."""
    parts = [type(error).__name__]
    cause = getattr(error, "orig", None)
    if cause is not None:
        parts.append(type(cause).__name__)
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate:
            parts.append(f"SQLSTATE {sqlstate}")
        diag = getattr(cause, "diag", None)
        for field in ("table_name", "column_name", "constraint_name"):
            name = getattr(diag, field, None) if diag is not None else None
            if name:
                parts.append(f"{field.removesuffix('_name')} {name}")
        if type(cause).__module__.startswith("sqlite3"):
            lines = str(cause).strip().splitlines()
            parts.append(lines[0] if lines else "")
    return ", ".join(part for part in parts if part)


def log_incident(logger: logging.Logger, error: BaseException, what: str) -> Incident:
    """Log a failure under a new incident number: what failed, the SQL statement without its
    parameters, and where in the code; never a message or a value. Returns the Incident to show."""
    import secrets  # only when something has failed: not on every start

    number = secrets.token_hex(3).upper()
    statement = getattr(error, "statement", None)
    frames = "".join(traceback.format_tb(error.__traceback__)).rstrip()
    logger.error(
        "incident %s: %s failed: %s%s\n%s",
        number,
        what,
        describe_failure(error),
        f"\nstatement: {' '.join(str(statement).split())}" if statement else "",
        frames,
    )
    return Incident(number, f"something went wrong (incident {number}, in the log)")
