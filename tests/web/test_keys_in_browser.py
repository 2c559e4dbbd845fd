"""Every key the app binds reaches a Textual app through a real Chromium page and the bureau server.

The server runs a key-echo app (key_echo.py) in place of the survey app; each key is pressed in the
page and must arrive under the name the app binds. (Keys a browser keeps for itself, such as Ctrl+W,
are taken by the browser's window, which a headless page does not have: the app's key table must avoid
those; see test_keys.py beside the table.)
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

import app.tui.screens
from app.tui.app import SurveyApp
from app.web.server import BureauServer

ECHO = Path(__file__).with_name("key_echo.py")
PLAYWRIGHT_NAMES = {
    "enter": "Enter",
    "escape": "Escape",
    "tab": "Tab",
    "space": "Space",
    "up": "ArrowUp",
    "down": "ArrowDown",
    "left": "ArrowLeft",
    "right": "ArrowRight",
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "home": "Home",
    "end": "End",
    "delete": "Delete",
    "backspace": "Backspace",
}


def bound_keys() -> list[str]:
    """Every key bound by the app and its screens (Textual's key names)."""
    for module in pkgutil.iter_modules(app.tui.screens.__path__):
        importlib.import_module(f"app.tui.screens.{module.name}")
    classes: list[type] = [SurveyApp]
    pending: list[type] = [Screen]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.startswith("app."):
            classes.append(cls)
    keys: set[str] = set()
    for cls in classes:
        for binding in vars(cls).get("BINDINGS", []):
            key = binding.key if isinstance(binding, Binding) else binding[0]
            keys |= {k.strip() for k in key.split(",")}
    assert issubclass(SurveyApp, App)
    return sorted(keys)


def playwright_name(key: str) -> str:
    *modifiers, name = key.split("+")
    name = PLAYWRIGHT_NAMES.get(name, name.upper() if len(name) > 1 and name[0] == "f" else name)
    return "+".join([*({"ctrl": "Control", "shift": "Shift", "alt": "Alt"}[m] for m in modifiers), name])


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


def test_every_key_the_app_binds_reaches_it_through_chromium(echo_server, new_tab) -> None:  # type: ignore[no-untyped-def]
    url, received = echo_server
    keys = bound_keys()
    assert "enter" in keys and len(keys) > 10
    tab = new_tab("keys")
    tab.goto(url)
    tab.wait_for("key echo ready", 60)
    tab.page.focus(".xterm-helper-textarea")

    def arrived() -> list[str]:
        return received.read_text().split() if received.exists() else []

    for key in keys:
        count = len(arrived())
        tab.press(playwright_name(key))
        deadline = time.monotonic() + 5  # one key at a time, so that a lost key is named
        while len(arrived()) == count and time.monotonic() < deadline:
            tab.page.wait_for_timeout(20)
    tab.shot("last-key")
    missing = [key for key in keys if key not in arrived()]
    assert not missing, f"these keys never reached the app: {missing} (arrived: {arrived()})"
