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
from app.services.calls import AppointmentRules


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
    """Pick the date and time of a call back, in the bureau's local time.

    Everything is checked before the dialog closes (in the future, inside calling hours, inside the
    case's fieldwork), with the allowed hours on show, so what the victim agreed is never lost.
    """

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        rules: AppointmentRules | None = None,
        *,
        initial: datetime | None = None,
        error: str = "",
        title: str = "Call back on (DD/MM/YYYY)",
    ) -> None:
        super().__init__()
        self.rules = rules
        self.initial = initial
        self.error = error
        self.title_text = title

    def compose(self) -> ComposeResult:
        if self.initial is not None:
            local = self.initial.astimezone(LOCAL)
            day, hour = f"{local:%d/%m/%Y}", f"{local:%H:%M}"
        else:
            tomorrow = datetime.fromordinal(local_now().date().toordinal() + 1).date()
            day, hour = f"{tomorrow:%d/%m/%Y}", "10:00"
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            if self.rules is not None:
                yield Static(Text(self.rules.describe()), id="rules", classes="muted")
            yield Input(day, id="date")
            yield Label("at (HH:MM, 24-hour)")
            yield Input(hour, id="time")
            yield Static(Text(self.error), id="error", classes="error")
            yield Static("Enter: save appointment · Escape: cancel", classes="muted")

    def on_mount(self) -> None:
        self.query_one("#date", Input).focus()

    @on(Input.Submitted, "#date")
    def _to_time(self) -> None:
        self.set_focus(self.query_one("#time", Input))

    @on(Input.Submitted, "#time")
    def _save(self) -> None:
        error = self.query_one("#error", Static)
        try:
            day = parse_date(self.query_one("#date", Input).value)
        except AnswerError as exc:
            error.update(Text(str(exc)))
            self.query_one("#date", Input).focus()
            return
        try:
            at = time.fromisoformat(self.query_one("#time", Input).value.strip())
        except ValueError:
            error.update("Enter the time as HH:MM, e.g. 18:30")
            return
        moment = datetime.combine(day, at, tzinfo=LOCAL)
        problem = self.rules.problem(moment) if self.rules is not None else None
        if problem is None and moment <= local_now():
            problem = "the appointment must be in the future"
        if problem is not None:
            error.update(Text(problem[0].upper() + problem[1:] + ". Change the date or time."))
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
