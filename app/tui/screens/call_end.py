"""The end of an interview: the closing words of a stop rule, an appointment, the call's outcome."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from app.domain.questionnaire import StopOutcome
from app.services import calls, interviews
from app.services.interviews import InterviewState
from app.tui.screens.base import SurveyScreen
from app.tui.screens.interview import CallContext


class ReadOut(ModalScreen[None]):
    """Words the caller must say before the call ends; Enter when said."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("enter", "done", "Said it")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            box = Static(Text(self.text), classes="readout")
            box.border_title = "READ OUT"
            yield box
            yield Static("Press Enter once you have said this.", classes="muted")

    def action_done(self) -> None:
        self.dismiss(None)


def end_call(screen: SurveyScreen[None], call: CallContext, state: InterviewState) -> None:
    """Finish the interview's call: read out the closing words, ask for details, record the outcome."""
    from app.tui.screens.dialogs import AppointmentDialog

    app = screen.app
    actor = screen.actor
    catalogue = screen.catalogue
    interview_id = state.interview_id

    def record(appointment_at: datetime | None = None, refusal_by: str | None = None) -> None:
        def done(ended: calls.CallEnded) -> None:
            if app.screen is screen:
                app.pop_screen()
            if ended.outcome.value == "completed":
                app.notify("Interview complete and saved. Thank you.", timeout=5)
            else:
                closed = " The case is closed." if ended.state.closed else ""
                app.notify(f"Call ended: {ended.outcome.value.replace('_', ' ')}.{closed}", timeout=6)

        screen.db(
            lambda session: calls.end_interview_call(
                session, actor, catalogue, interview_id, appointment_at=appointment_at, refusal_by=refusal_by
            ),
            done,
        )

    def after_words(_: object = None) -> None:
        if state.stop_outcome is StopOutcome.APPOINTMENT:
            app.push_screen(
                AppointmentDialog(), lambda at: record(appointment_at=at) if at else after_words()
            )
        elif state.stop_outcome is StopOutcome.REFUSAL:
            record(refusal_by="the victim")
        else:
            record()

    if state.stop_say:
        user = screen.survey_app.user
        words = interviews.read_out(state, state.stop_say, call.sample, user.display_name if user else "")
        app.push_screen(ReadOut(words), after_words)
    else:
        after_words()
