"""Sign in with a staff name and password."""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Footer, Header, Input, Label, Static

from app.services.staff import SignInRefused, StaffRecord, sign_in
from app.tui.screens.base import SurveyScreen

#: Each wrong password in a row adds this many seconds before the next try is accepted.
DELAY_PER_FAILURE = 1.0
MAX_DELAY = 10.0


class LoginScreen(SurveyScreen[None]):
    CSS_PATH = "login.tcss"
    AUTO_FOCUS = "#username"

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.not_before = 0.0

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="box"):
            yield Static("Research Bureau · sign in", classes="title")
            yield Label("Name")
            yield Input(placeholder="your user name", id="username")
            yield Label("Password")
            yield Input(placeholder="password", password=True, id="password")
            yield Static("", id="message", classes="error")
            yield Button("Sign in", id="sign-in", variant="primary")
        yield Footer()

    @on(Input.Submitted, "#username")
    def _to_password(self) -> None:
        self.query_one("#password", Input).focus()

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
        self.db(
            lambda session: sign_in(session, username, password),
            self._signed_in,
            failed=self._failed,
        )

    def _signed_in(self, user: StaffRecord | SignInRefused) -> None:
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
