"""`survey serve` on a free port against a scratch SQLite file with demo data, and a headless Chromium.

One server and one browser per module: starting them is most of a browser test's time. (Not one
browser per run: Playwright's sync API holds an event loop that async tests elsewhere cannot share.)
The browser is Debian's Chromium driven by Playwright's Python API; nothing is downloaded. Where no
Chromium is installed (`.ci/run` installs it), the browser tests are skipped with the reason.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.domain.permissions import Actor
from app.services.demo import load_demo
from app.services.runtime import open_runtime
from app.services.settings import set_setting

CHROMIUM = Path(os.environ.get("SURVEY_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: A desk-sized page: 111 x 29 cells in Roboto Mono at 16 px.
VIEWPORT = {"width": 1000, "height": 620}
DEMO_PASSWORD = "demo password"
#: Textual's key names as Playwright's keyboard spells them.
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


def playwright_name(key: str) -> str:
    *modifiers, name = key.split("+")
    name = PLAYWRIGHT_NAMES.get(name, name.upper() if len(name) > 1 and name[0] == "f" else name)
    return "+".join([*({"ctrl": "Control", "shift": "Shift", "alt": "Alt"}[m] for m in modifiers), name])


@dataclass
class Bureau:
    url: str
    db_url: str
    log: Path
    process: subprocess.Popen[str]

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()


def start_server(folder: Path, db_url: str, *args: str) -> Bureau:
    """`survey serve --port 0 ...` in a process of its own; returns once it listens."""
    environment = {
        **os.environ,
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_STATE_HOME": str(folder / "state"),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "XDG_CACHE_HOME": str(folder / "cache"),
        "SURVEY_LOG_DIR": str(folder / "log"),
    }
    log = folder / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--db", db_url, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=environment,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("survey serve: http"):
        process.kill()
        raise AssertionError(f"survey serve did not start: {line!r} {log.read_text()}")
    return Bureau(url=line.split()[2] + "/", db_url=db_url, log=log, process=process)


def stop_server(bureau: Bureau) -> int:
    bureau.process.send_signal(signal.SIGTERM)
    try:
        return bureau.process.wait(timeout=30)
    finally:
        if bureau.process.poll() is None:
            bureau.process.kill()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A scratch bureau: the demo's staff and cases, calls allowed at any hour (tests run at any hour)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bureau') / 'survey.db'}"
    runtime = open_runtime(url)
    try:
        with runtime.sessions.begin() as session:
            load_demo(session, runtime.catalogue, cases_per_survey=12)
            set_setting(session, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
    finally:
        runtime.close()
    return url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is a test extra: pip install -e '.[test]'"
    )
    pytest.importorskip("pyte", reason="pyte is a test extra: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_tab(browser) -> Iterator[Callable[[str], object]]:  # type: ignore[no-untyped-def]
    """Open tabs, each in a browser context of its own (its own cookies, as another desk would have)."""
    from tests.web.terminal_page import TerminalPage

    contexts = []

    def open_tab(name: str) -> TerminalPage:
        context = browser.new_context(viewport=VIEWPORT)
        contexts.append(context)
        return TerminalPage(context.new_page(), name)

    yield open_tab
    for context in contexts:
        context.close()
