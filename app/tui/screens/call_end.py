"""The end of an interview: the closing words (a stop rule's, or the questionnaire's closing block with
its support lines), an appointment checked before the dialog closes, and the call's outcome.

No dead ends: if the outcome cannot be recorded, or the caller backs out of the appointment, the
interview screen shows the question that ended the call again, with the reason; Enter tries again,
Ctrl+B changes an answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from app.domain.questionnaire import StopOutcome, StopRule
from app.domain.text import display
from app.services import calls, interviews
from app.services.interviews import InterviewState
from app.tui import keys
from app.tui.screens.base import CallScreen
from app.tui.widgets.practice_bar import PracticeBar
from app.tui.widgets.quick_exit import QuickExitBar

if TYPE_CHECKING:
    from app.tui.screens.interview import CallContext, InterviewScreen

#: Said at the end of a completed interview when the questionnaire declares no closing block.
DEFAULT_CLOSING = "Thank you very much for your time; what you have told us will help us improve the service."


class ReadOut(ModalScreen[None]):
    """Words the caller must say before the call ends; Enter when said."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = keys.bindings("closing")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            box = Static(Text(display(self.text, multiline=True)), classes="readout")
            box.border_title = "READ OUT"
            yield box
            yield Static("Press Enter once you have said this.", classes="muted")

    def action_done(self) -> None:
        self.dismiss(None)


class ClosingScreen(CallScreen):
    """A completed interview's closing words and support lines, until the caller presses Enter.

    The interview is already recorded as complete; the victim may still be on the line, so quick exit
    still clears this screen.
    """

    CSS_PATH = "dialogs.tcss"
    BINDINGS = keys.bindings("closing")

    def __init__(
        self,
        title: str,
        words: str,
        support: list[tuple[str, str, str]],
        instruction: str,
        *,
        practice: bool = False,
    ) -> None:
        super().__init__()
        self.survey_title = title
        self.words = words
        self.support = support
        self.instruction = instruction
        self.practice = practice  # tried with `survey questionnaire try`: nothing was saved

    def call_ids(self) -> tuple[int | None, int | None]:
        return None, None  # nothing left to record

    def compose(self) -> ComposeResult:
        if self.practice:
            title = Text.assemble(
                ("PRACTICE", "bold reverse"),
                " ",
                (self.survey_title, "bold"),
                " · complete; nothing was saved",
            )
        else:
            title = Text.assemble((self.survey_title, "bold"), " · Interview complete and saved")
        yield Static(title, id="closing-title")
        with VerticalScroll(id="closing", can_focus=False):
            box = Static(Text(display(self.words, multiline=True)), classes="readout", id="closing-words")
            box.border_title = "READ OUT"
            yield box
            if self.support:
                lines = Text()
                for i, (name, number, note) in enumerate(self.support):
                    lines.append(f"{display(number):<22}", style="bold")
                    lines.append(display(name) + (f" ({display(note)})" if note else ""))
                    if i < len(self.support) - 1:
                        lines.append("\n")
                yield Static("Support lines to offer", classes="heading")
                yield Static(lines, id="support")
            if self.instruction:
                note = Text.assemble(("Caller (not read out): ", "bold"), display(self.instruction))
                yield Static(note, classes="instruction")
            yield Static("Press Enter once the call has ended.", classes="muted")
        yield PracticeBar() if self.practice else QuickExitBar()
        yield Footer(compact=True, show_command_palette=False)

    def action_done(self) -> None:
        self.dismiss(None)


def closing_screen(
    state: InterviewState, call: CallContext, caller_name: str, *, practice: bool = False
) -> ClosingScreen:
    questionnaire = state.questionnaire
    closing = questionnaire.closing
    words = interviews.read_out(state, closing.say if closing else DEFAULT_CLOSING, call.sample, caller_name)
    support = [(line.name, line.number, line.note or "") for line in closing.support] if closing else []
    instruction = closing.instruction if closing and closing.instruction else ""
    return ClosingScreen(questionnaire.title, words, support, instruction, practice=practice)


def end_call(screen: InterviewScreen, call: CallContext, state: InterviewState) -> None:
    """Finish the interview's call: read out the closing words, ask for details, record the outcome."""
    from app.tui.screens.dialogs import AppointmentDialog

    app = screen.app
    actor = screen.actor
    catalogue = screen.catalogue
    interview_id = state.interview_id
    user = screen.survey_app.user
    caller_name = user.display_name if user else ""

    def record(appointment_at: datetime | None = None, refusal_by: str | None = None) -> None:
        def done(ended: calls.CallEnded) -> None:
            if ended.outcome.value == "completed":
                app.switch_screen(closing_screen(state, call, caller_name))
                return
            if app.screen is screen:
                app.pop_screen()
            closed = " The case is closed." if ended.state.closed else ""
            app.notify(f"Call ended: {ended.outcome.value.replace('_', ' ')}.{closed}", timeout=6)

        def failed(error: BaseException) -> None:
            screen.end_failed(f"The call's outcome was not recorded: {error}")

        screen.db(
            lambda session: calls.end_interview_call(
                session, actor, catalogue, interview_id, appointment_at=appointment_at, refusal_by=refusal_by
            ),
            done,
            failed=failed,
        )

    def appointment(rules: calls.AppointmentRules) -> None:
        def chosen(at: datetime | None) -> None:
            if at is None:
                screen.end_failed("No appointment was made.")
            else:
                record(appointment_at=at)

        app.push_screen(AppointmentDialog(rules), chosen)

    def after_words(_: object = None) -> None:
        if state.stop_outcome is StopOutcome.APPOINTMENT:
            case_id = call.case_id
            screen.db(
                lambda session: calls.appointment_rules(session, actor, catalogue, case_id),
                appointment,
                write=False,
                failed=lambda error: screen.end_failed(f"Cannot make the appointment now: {error}"),
            )
        elif state.stop_outcome is StopOutcome.REFUSAL:
            record(refusal_by="the victim")
        else:
            record()

    if state.stop_say:
        words = interviews.read_out(state, state.stop_say, call.sample, caller_name)
        app.push_screen(ReadOut(words), after_words)
    else:
        after_words()


def end_recheck(screen: InterviewScreen, call: CallContext, state: InterviewState, rule: StopRule) -> None:
    """A check asked again stopped the call: say the words, record the attempt, keep the interview."""
    from app.tui.screens.dialogs import AppointmentDialog

    app = screen.app
    actor = screen.actor
    catalogue = screen.catalogue
    interview_id, attempt_id = state.interview_id, call.attempt_id
    user = screen.survey_app.user
    caller_name = user.display_name if user else ""

    def record(appointment_at: datetime | None = None) -> None:
        def done(ended: calls.CallEnded) -> None:
            if app.screen is screen:
                app.pop_screen()
            what = ended.outcome.value.replace("_", " ")
            app.notify(f"Call ended: {what}. The interview waits for the next call.", timeout=6)

        if attempt_id is None:
            screen.end_failed("This call has no attempt to record.")
            return
        screen.db(
            lambda session: calls.end_call_keeping_interview(
                session,
                actor,
                catalogue,
                interview_id,
                attempt_id,
                rule.outcome,
                appointment_at=appointment_at,
            ),
            done,
            failed=lambda error: screen.end_failed(f"The call's outcome was not recorded: {error}"),
        )

    def after_words(_: object = None) -> None:
        if rule.outcome is StopOutcome.APPOINTMENT:
            case_id = call.case_id

            def ask(rules: calls.AppointmentRules) -> None:
                app.push_screen(
                    AppointmentDialog(rules),
                    lambda at: record(at) if at else screen.end_failed("No appointment was made."),
                )

            screen.db(
                lambda session: calls.appointment_rules(session, actor, catalogue, case_id), ask, write=False
            )
        else:
            record()

    if rule.say:
        app.push_screen(ReadOut(interviews.read_out(state, rule.say, call.sample, caller_name)), after_words)
    else:
        after_words()
