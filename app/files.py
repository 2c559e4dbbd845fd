"""Files and folders that only the account running the app may read: database, logs, sign-in."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(folder: Path) -> Path:
    """Create the folder (and missing parents) as 0700, whatever the umask; tighten it if it exists.

    Parents that exist already are left as they are: they may be shared folders such as ~/.local.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    with contextlib.suppress(PermissionError):  # a folder of another account's: its owner decides
        if folder.stat().st_mode & 0o777 != PRIVATE_DIR:
            folder.chmod(PRIVATE_DIR)
    return folder


def private_file(path: Path) -> Path:
    """Create the file empty if missing, as 0600 from the first moment; tighten an existing one."""
    fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, PRIVATE_FILE)
    try:
        if os.fstat(fd).st_mode & 0o777 != PRIVATE_FILE:
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace the file's content in one step (a reader never sees half), readable by its owner only."""
    private_dir(path.parent)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
