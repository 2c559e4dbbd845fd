"""Logging to a file in the user's log folder, readable by its owner only. Messages never carry
personal data: the database engine hides statement parameters, and failures are logged by type and
statement, without values (see app.store.db)."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

import platformdirs

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
