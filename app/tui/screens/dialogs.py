"""Small typed dialogs: each returns its value through dismiss()."""

from __future__ import annotations

from datetime import datetime, time

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from app.clock import LOCAL, local_now
from app.domain.engine import AnswerError, parse_date


class TextPrompt(ModalScreen[str | None]):
    """Ask for a line of text; Enter keeps it, Escape cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", *, required: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="title")
            yield Input(self.value, id="text")
            yield Static("", id="error", classes="error")
            yield Static("Enter: save · Escape: cancel", classes="muted")

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    @on(Input.Submitted, "#text")
    def _save(self) -> None:
        text = self.query_one("#text", Input).value.strip()
        if self.required and not text:
            self.query_one("#error", Static).update("This cannot be left empty.")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SafeguardingDialog(ModalScreen[str | None]):
    """Raise a safeguarding alert: the disclosure in a few words, then Enter."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog alert"):
            yield Static(Text("SAFEGUARDING ALERT", style="bold"), classes="banner-alert")
            yield Static(
                Text(
                    "If the victim is in danger now, advise them to call 999 (or 999 then 55 if they cannot"
                    " speak). The alert goes to supervisors at once."
                ),
                classes="instruction",
            )
            yield Label("What was disclosed (a few words; no more than needed)")
            yield Input(id="note", placeholder="e.g. ex-partner is outside the house now")
            yield Static("Enter: send alert · Escape: cancel", classes="muted")

    def on_mount(self) -> None:
        self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    def _send(self) -> None:
        self.dismiss(self.query_one("#note", Input).value.strip() or "(no note given)")

    def action_cancel(self) -> None:
        self.dismiss(None)


class AppointmentDialog(ModalScreen[datetime | None]):
    """Pick the date and time of a call back, in the bureau's local time."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        tomorrow = local_now().date().toordinal() + 1
        default = datetime.fromordinal(tomorrow).date()
        with Vertical(classes="dialog"):
            yield Label("Call back on (DD/MM/YYYY)", classes="title")
            yield Input(f"{default:%d/%m/%Y}", id="date")
            yield Label("at (HH:MM, 24-hour)")
            yield Input("10:00", id="time")
            yield Static("", id="error", classes="error")
            yield Static("Enter: save appointment · Escape: cancel", classes="muted")

    def on_mount(self) -> None:
        self.query_one("#date", Input).focus()

    @on(Input.Submitted, "#date")
    def _to_time(self) -> None:
        self.query_one("#time", Input).focus()

    @on(Input.Submitted, "#time")
    def _save(self) -> None:
        error = self.query_one("#error", Static)
        try:
            day = parse_date(self.query_one("#date", Input).value)
        except AnswerError as exc:
            error.update(str(exc))
            return
        try:
            at = time.fromisoformat(self.query_one("#time", Input).value.strip())
        except ValueError:
            error.update("Enter the time as HH:MM, e.g. 18:30")
            return
        moment = datetime.combine(day, at, tzinfo=LOCAL)
        if moment <= local_now():
            error.update("The appointment must be in the future.")
            return
        self.dismiss(moment)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """A yes/no question: y or Enter for yes, n or Escape for no."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question), classes="title")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="primary")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
