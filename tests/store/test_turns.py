"""SQLite writers' turns: in the order asked, passed on when a holder ends or dies, never for ever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.store import turns
from app.store.turns import writer_turn

pytestmark = pytest.mark.skipif(turns._SETLK is None, reason="tickets need Linux's open file locks")


def tickets_issued(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[:8].ljust(8, b"\0"), "little")


def test_writers_get_their_turn_in_the_order_they_asked(tmp_path: Path) -> None:
    path = tmp_path / "db-writer"
    order: list[int] = []
    threads = []
    with writer_turn(str(path), patience=10):
        for n in range(6):

            def write(n: int = n) -> None:
                with writer_turn(str(path), patience=10):
                    order.append(n)

            thread = threading.Thread(target=write)
            thread.start()
            threads.append(thread)
            deadline = time.monotonic() + 5
            while tickets_issued(path) < n + 2 and time.monotonic() < deadline:  # it has taken its ticket
                time.sleep(0.001)
        time.sleep(0.1)
        assert order == []  # everyone waits while the turn is held
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3, 4, 5]
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_writer_that_dies_with_its_turn_passes_it_on(tmp_path: Path) -> None:
    path = tmp_path / "db-writer"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from app.store.turns import writer_turn\n"
            f"with writer_turn({str(path)!r}, 10):\n    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        got = threading.Event()

        def write() -> None:
            with writer_turn(str(path), patience=30):
                got.set()

        threading.Thread(target=write, daemon=True).start()
        assert not got.wait(0.3)
        holder.send_signal(signal.SIGKILL)
        assert got.wait(5)  # the kernel let the dead writer's ticket go: no 30 s wait
    finally:
        holder.kill()
        holder.wait()


def test_a_turn_held_too_long_is_waited_for_only_so_long(tmp_path: Path) -> None:
    path = tmp_path / "db-writer"
    with writer_turn(str(path), patience=10):
        started = time.monotonic()
        with writer_turn(str(path), patience=0.3):  # goes on to SQLite's own waiting
            waited = time.monotonic() - started
    assert 0.25 < waited < 3
    with writer_turn(str(path), patience=10):  # and the turns carry on afterwards
        pass


def test_an_unwritable_folder_is_left_to_sqlite_to_report(tmp_path: Path) -> None:
    with writer_turn(str(tmp_path / "missing" / "db-writer"), patience=1):
        pass
