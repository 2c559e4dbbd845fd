"""The keys of the app's table reach the app in a real Chromium page; the footer shows those that work.

The server runs a key-echo app (key_echo.py) in place of the survey app; each key of the table's browser
column is pressed in the page and must arrive under the name the app binds. Keys a browser keeps for
itself (Ctrl+W and the like) are taken by the browser's window, which a headless page lacks: the table
marks them, and tests/tui/test_keys.py checks that no action depends on one.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tui import keys
from app.web import SERVED_ENV
from app.web.server import BureauServer
from tests.web.conftest import playwright_name

ECHO = Path(__file__).with_name("key_echo.py")


def browser_keys() -> list[str]:
    """Every key the app's table says works in a browser (Textual's key names)."""
    return sorted({name.strip() for k in keys.KEYS if k.browser for name in k.key.split(",")})


@pytest.fixture(scope="module")
def echo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    received = tmp_path_factory.mktemp("keys") / "received.txt"
    server = BureauServer([sys.executable, str(ECHO), str(received)], port=0, announce=lambda _: None)
    loop = asyncio.new_event_loop()
    ready, stop = asyncio.Event(), asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.run(ready, stop),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while server.address is None:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.address[1]}/", received
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)


def test_every_key_of_the_browser_column_reaches_the_app_through_chromium(echo_server, new_tab) -> None:  # type: ignore[no-untyped-def]
    url, received = echo_server
    wanted = browser_keys()
    assert "enter" in wanted and keys.key_for("app", "quick_exit").key in wanted
    tab = new_tab("keys")
    tab.goto(url)
    tab.wait_for("key echo ready", 60)
    tab.page.focus(".xterm-helper-textarea")

    def arrived() -> list[str]:
        return received.read_text().split() if received.exists() else []

    for key in wanted:
        count = len(arrived())
        tab.press(playwright_name(key))
        deadline = time.monotonic() + 5  # one key at a time, so that a lost key is named
        while len(arrived()) == count and time.monotonic() < deadline:
            tab.page.wait_for_timeout(20)
    tab.shot("last-key")
    missing = [key for key in wanted if key not in arrived()]
    assert not missing, f"these keys never reached the app: {missing} (arrived: {arrived()})"


def test_the_footer_shows_only_keys_that_work_where_the_app_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    only_terminal = keys.AppKey("home", "new_tab", "ctrl+t", "Ctrl+T", "New tab", browser=False)
    monkeypatch.setattr(keys, "KEYS", (*keys.KEYS, only_terminal))

    def shown() -> set[str]:
        return {b.key for b in keys.bindings("home") if b.show}  # type: ignore[union-attr]

    monkeypatch.delenv(SERVED_ENV, raising=False)
    assert "ctrl+t" in shown() and "n" in shown()
    monkeypatch.setenv(SERVED_ENV, "1")  # as the bureau server sets it for every app it starts
    assert "ctrl+t" not in shown() and "n" in shown()
