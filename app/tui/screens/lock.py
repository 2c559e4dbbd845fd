"""The idle lock: after idle_minutes without a key press the app covers the screen and asks for the
password of whoever is signed in. Nothing underneath changes (a call in progress stays as it was), and
quick exit still works from the lock screen."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class LockScreen(ModalScreen[None]):
    """Covers everything (opaque, unlike other dialogs) until the signed-in person's password is given."""

    DEFAULT_CSS = """
    LockScreen { background: $background; align: center middle; }
    LockScreen > Vertical { width: 60; height: auto; border: heavy $primary; padding: 1 2; }
    LockScreen #lock-message { color: $error; }
    """

    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Locked after a while without use", style="bold"))
            yield Static(Text(f"Signed in as {self.username}. Your password to carry on:"))
            yield Input(password=True, id="lock-password")
            yield Static("", id="lock-message")
            yield Static("Ctrl+X still ends a call at once.", classes="muted")

    def on_mount(self) -> None:
        self.query_one("#lock-password", Input).focus()

    @on(Input.Submitted, "#lock-password")
    def _unlock(self) -> None:
        from app.services.staff import SignInRefused
        from app.tui.screens.login import check_sign_in

        field = self.query_one("#lock-password", Input)
        password, field.value = field.value, ""
        if not password:
            return
        username = self.username
        app: Any = self.app  # the survey app: SurveyHost, with its IdleLock as `idle`

        def checked(outcome: object) -> None:
            if isinstance(outcome, SignInRefused):
                self.query_one("#lock-message", Static).update(outcome.message)
                return
            app.idle.unlocked()
            self.dismiss(None)

        # The same check as signing in: wrong passwords count towards the lock-out, and are audited.
        check_sign_in(app, username, password, checked)


class IdleLock:
    """Keeps time since the last key press and locks the app when it passes the setting idle_minutes.

    In a browser (`survey serve`) a tab left alone also ends its app, so that it does not keep a place
    on the server for ever: idle_minutes on the sign-in screen, or idle_minutes more on the lock
    screen. As after a closed tab, an interview in progress is offered for resuming at the next sign-in.
    """

    #: How often the app looks at the clock.
    CHECK_SECONDS = 5.0

    def __init__(self, app: Any) -> None:
        """`app`: the survey app (a SurveyHost that is also a Textual App)."""
        self.app = app
        self.timeout: float | None = None  # seconds; None until the setting is read
        self.last_input = time.monotonic()
        self.locked = False
        self._watching = False

    def touch(self) -> None:
        self.last_input = time.monotonic()

    def start(self) -> None:
        """After sign-in (and, in a browser, when the app starts): read idle_minutes and begin watching."""
        from app.services.settings import get_settings

        def loaded(minutes: int) -> None:
            self.timeout = minutes * 60.0
            self.touch()
            if not self._watching:
                self._watching = True
                self.app.set_interval(self.CHECK_SECONDS, self.check)

        self.app.db(lambda session: get_settings(session).idle_minutes, loaded, write=False)

    def check(self) -> None:
        if self.timeout is None:
            return
        idle = time.monotonic() - self.last_input
        if self.app.user is None or self.locked:
            unattended = self.timeout if self.app.user is None else 2 * self.timeout
            if self.app.is_web and idle >= unattended:
                self.app.exit(message="Ended after a while without use.")
            return
        if idle >= self.timeout:
            self.lock()

    def lock(self) -> None:
        if self.app.user is None:
            return
        self.locked = True
        self.app.push_screen(LockScreen(self.app.user.username))

    def unlocked(self) -> None:
        self.locked = False
        self.touch()
