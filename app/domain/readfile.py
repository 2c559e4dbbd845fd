"""Reading a questionnaire file whatever it is: never more than the size allowed, never a pipe."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_BYTES = 2_000_000


def read_bounded(path: Path) -> bytes:
    """The file's bytes, never more than one byte past the size allowed (a huge file is not read)."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a pipe must not block
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return file.read(MAX_BYTES + 1)
