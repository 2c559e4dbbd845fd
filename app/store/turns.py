"""Writers to one SQLite file take turns in the order they asked, across processes and threads.

SQLite has one write lock and no queue: a writer that finds it taken sleeps in its busy handler for
longer and longer (up to 0.1 s) between looks, so under many writers the one that just finished (and
is already running) takes it again and again while others starve until busy_timeout fails them.
Sixteen callers then see waits of seconds. Here each writer takes a ticket and waits for the one
before it, as at a bakery counter, so the turn passes in order and at once.

The tickets live in a small file beside the database (`<db>-writer`, owner-only), as Linux
open-file-description locks on single bytes: ticket n holds byte BASE+n from the moment it is
issued until its transaction ends, and waits by locking byte BASE+n-1. Closing the file releases
everything, so a writer that dies (even by SIGKILL) passes the turn on; the kernel wakes the next
one, with no polling. A writer that waits longer than `patience` (a turn held by a stopped program,
say) goes on without its turn, to SQLite's own waiting. Where there are no such locks (not Linux),
writers poll a whole-file lock instead.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's own waiting only
    fcntl = None  # type: ignore[assignment]

_SETLK = getattr(fcntl, "F_OFD_SETLK", None)
_SETLKW = getattr(fcntl, "F_OFD_SETLKW", None)
_COUNTER = 0  # bytes 0-7: the next ticket; a lock on byte 0 guards it
_BASE = 1 << 32  # ticket n's byte
_POLL_S = 0.002  # the fallback's look at a whole-file lock


def _lock(fd: int, kind: int, offset: int, *, wait: bool = False) -> bool:
    """Lock (or unlock) one byte for this open file; False if another holds it and we did not wait."""
    assert _SETLK is not None and _SETLKW is not None
    request = struct.pack("=hh4xqqi4x", kind, os.SEEK_SET, offset, 1, 0)  # struct flock, l_pid 0
    try:
        fcntl.fcntl(fd, _SETLKW if wait else _SETLK, request)
    except (BlockingIOError, PermissionError):
        return False
    return True


@contextmanager
def writer_turn(path: str, patience: float) -> Iterator[None]:
    """Hold the turn to write (see the module's text) for the body of the `with`."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield  # a folder we cannot write to: SQLite reports it in its own words
        return
    try:
        if _SETLK is None:
            _poll_whole_file(fd, patience)
        else:
            _take_ticket_and_wait(path, fd, patience)
        yield
    finally:
        os.close(fd)  # releases the ticket (and so passes the turn on)


def _take_ticket_and_wait(path: str, fd: int, patience: float) -> None:
    _lock(fd, fcntl.F_WRLCK, _COUNTER, wait=True)  # held for a read and a write of 8 bytes
    try:
        ticket = int.from_bytes(os.pread(fd, 8, _COUNTER).ljust(8, b"\0"), "little")
        os.pwrite(fd, (ticket + 1).to_bytes(8, "little"), _COUNTER)
        _lock(fd, fcntl.F_WRLCK, _BASE + ticket)  # nobody else has this ticket: free
    finally:
        _lock(fd, fcntl.F_UNLCK, _COUNTER)
    if ticket == 0:
        return
    before = _BASE + ticket - 1
    probe = os.open(path, os.O_RDWR)  # its own open file: its locks are not ours
    if _lock(probe, fcntl.F_WRLCK, before):  # the writer before has finished already
        os.close(probe)
        return
    # Wait for it in a thread, so that a turn held for ever (a stopped program) costs only `patience`.
    # The thread keeps the probe until it gets the byte, then lets it go at once.
    done = threading.Event()

    def wait_for_the_one_before() -> None:
        try:
            _lock(probe, fcntl.F_WRLCK, before, wait=True)
        finally:
            os.close(probe)
            done.set()

    threading.Thread(target=wait_for_the_one_before, name="sqlite-writer-turn", daemon=True).start()
    done.wait(patience)


def _poll_whole_file(fd: int, patience: float) -> None:
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                return
            time.sleep(_POLL_S)
