"""A browser tab on `survey serve`, and the screen it shows, read as text.

The page draws the app on a canvas, so the text is read from the same bytes the page's terminal
receives: every websocket frame is fed to a terminal emulator (pyte) of the page's size.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyte
from playwright.sync_api import Page, WebSocket

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


class TerminalPage:
    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = name
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.requests: list[str] = []
        self.closed = False
        self.shots: list[Path] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", self._watch)

    def _watch(self, socket: WebSocket) -> None:
        query = parse_qs(urlsplit(socket.url).query)
        self.screen.resize(int(query.get("height", ["24"])[0]), int(query.get("width", ["80"])[0]))
        socket.on("framereceived", self._received)
        socket.on("framesent", self._sent)
        socket.on("close", lambda _: setattr(self, "closed", True))

    def _received(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            self.stream.feed(payload)

    def _sent(self, payload: bytes | str) -> None:
        match = re.match(r'\["resize",\{"width":(\d+),"height":(\d+)\}\]', str(payload))
        if match:
            self.screen.resize(int(match.group(2)), int(match.group(1)))

    def open(self, url: str, timeout: float = 60) -> None:
        """Open the page and wait for the sign-in screen (`goto` then `ready` opens several at once)."""
        self.goto(url)
        self.ready(timeout)

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def ready(self, timeout: float = 60) -> None:
        self.wait_for("Sign in", timeout)
        # The page gives the terminal the keyboard itself: a caller types the name without clicking.
        self.page.wait_for_function(
            "document.activeElement && document.activeElement.classList.contains('xterm-helper-textarea')",
            timeout=timeout * 1000,
        )

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, pattern: str, timeout: float = 15) -> str:
        """Wait until the screen shows `pattern` (a regular expression); returns the screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if re.search(pattern, text):
                return text
            self.page.wait_for_timeout(50)
        self.shot(f"timeout-{re.sub(r'[^a-z0-9]+', '-', pattern.lower())[:30]}")
        raise AssertionError(f"{self.name}: the page never showed {pattern!r}; it shows:\n{self.text()}")

    def wait_until_gone(self, pattern: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if not re.search(pattern, text):
                return text
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{self.name}: the page still shows {pattern!r}:\n{self.text()}")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def shot(self, step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{len(self.shots) + 1:02d}-{step}.png"
        self.page.screenshot(path=path)
        self.shots.append(path)
        return path

    def cursor_row(self) -> int:
        return int(self.screen.cursor.y)

    def wait_for_cursor_on(self, pattern: str, timeout: float = 15) -> None:
        """Wait until the terminal cursor (it follows the focused input) is on the line showing `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.text().splitlines()
            rows = [i for i, line in enumerate(lines) if re.search(pattern, line)]
            if self.cursor_row() in rows:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{self.name}: the cursor never reached {pattern!r}:\n{self.text()}")

    def sign_in(self, username: str, password: str) -> None:
        self.type(username)
        self.press("Enter")
        self.wait_for_cursor_on(r"▊  password")
        self.type(password)
        self.press("Enter")
