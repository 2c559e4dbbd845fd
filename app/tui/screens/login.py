"""Sign in with a staff name and password."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Footer, Header, Input, Label, Static

from app.tui.screens.base import SurveyHost, SurveyScreen

if TYPE_CHECKING:  # the database layer loads while this screen is already shown
    from app.services.staff import PasswordCheck, SignInRefused, SignInTry, StaffRecord

#: Each wrong password in a row adds this many seconds before the next try is accepted.
DELAY_PER_FAILURE = 1.0
MAX_DELAY = 10.0


def check_sign_in(
    host: SurveyHost,
    username: str,
    password: str,
    then: Callable[[StaffRecord | SignInRefused], None],
    *,
    failed: Callable[[BaseException], None] | None = None,
) -> None:
    """Sign in as staff.sign_in does, in two database tasks with the password check between them.

    The try is counted and committed first; Argon2 then runs in the second task before its first
    statement, so no transaction (on SQLite: no write lock on the whole database) waits for it.
    """
    from app.services.staff import SignInRefused, check_password, count_try, settle_try

    def counted(attempt: SignInTry | SignInRefused) -> None:
        if isinstance(attempt, SignInRefused):
            then(attempt)
            return

        def settle(session: Any) -> StaffRecord | SignInRefused:
            check: PasswordCheck = check_password(attempt, password)  # before the transaction begins
            return settle_try(session, attempt, check)

        host.db(settle, then, failed=failed)

    host.db(lambda session: count_try(session, username), counted, failed=failed)


class NameInput(Input):
    """The name box: keys typed straight after its Enter belong to the password box.

    The app hands each key to the focused widget's own queue as it arrives, so in a burst (a fast
    typist, a paste, a busy machine) the password's keys are queued here before Enter is handled.
    After Enter, this box passes such keys on instead of keeping them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._passing_on = False

    def _password(self) -> Input:
        return self.screen.query_one("#password", Input)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter" and not self._passing_on:
            # Handled here, not by the Enter binding, which runs only once the key has bubbled up to
            # the screen: after this box has taken every key queued behind it.
            event.stop()
            event.prevent_default()
            self._passing_on = True
            self.screen.set_focus(self._password())
            return
        if self._passing_on:
            event.stop()
            event.prevent_default()
            self._password()._forward_event(events.Key(event.key, event.character))
            return
        await super()._on_key(event)

    def _on_focus(self, event: events.Focus) -> None:
        self._passing_on = False
        super()._on_focus(event)


class LoginScreen(SurveyScreen[None]):
    CSS_PATH = "login.tcss"
    AUTO_FOCUS = "#username"

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.not_before = 0.0

    def on_mount(self) -> None:
        self.call_after_refresh(self.survey_app.first_screen_drawn)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="box"):
            yield Static("Research Bureau · sign in", classes="title")
            yield Label("Name")
            yield NameInput(placeholder="your user name", id="username")
            yield Label("Password")
            yield Input(placeholder="password", password=True, id="password")
            yield Static("", id="message", classes="error")
            yield Button("Sign in", id="sign-in", variant="primary")
        yield Footer()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#sign-in")
    def _submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        message = self.query_one("#message", Static)
        if not username or not password:
            message.update("Enter your name and password.")
            return
        wait = self.not_before - time.monotonic()
        if wait > 0:
            message.update(f"Please wait {wait:.0f} s before trying again.")
            return
        message.update("Signing in…")
        self.query_one("#sign-in", Button).disabled = True
        check_sign_in(self.survey_app, username, password, self._signed_in, failed=self._failed)

    def _signed_in(self, user: StaffRecord | SignInRefused) -> None:
        from app.services.staff import SignInRefused

        if isinstance(user, SignInRefused):
            self._refused(user.message)
            return
        self.survey_app.signed_in(user)

    def _refused(self, why: str) -> None:
        self.query_one("#sign-in", Button).disabled = False
        self.failures += 1
        self.not_before = time.monotonic() + min(MAX_DELAY, DELAY_PER_FAILURE * self.failures)
        self.query_one("#message", Static).update(why.capitalize() + ".")
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()

    def _failed(self, error: BaseException) -> None:
        self.query_one("#sign-in", Button).disabled = False
        self.query_one("#message", Static).update("Cannot reach the database. Try again in a moment.")
