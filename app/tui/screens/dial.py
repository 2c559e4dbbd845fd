"""Dialling and the call's outcome: the number to dial, then what happened."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from app.domain.dispositions import Outcome
from app.domain.questionnaire import Option
from app.domain.text import display
from app.services import calls, cases
from app.services.calls import ScreeningView
from app.services.interviews import InterviewState
from app.tui import keys
from app.tui.screens.base import CallScreen
from app.tui.typeahead import TypeAhead
from app.tui.widgets.options import OptionsView
from app.tui.widgets.quick_exit import QuickExitBar

#: What the caller can record after dialling, in the order the keys 1-9 pick them.
OUTCOMES: list[tuple[str, str]] = [
    ("answered", "Speaking to someone: start the interview (identity check first)"),
    (Outcome.NO_ANSWER.value, "No answer"),
    (Outcome.ENGAGED.value, "Engaged"),
    (Outcome.ANSWERPHONE.value, "Answerphone"),
    (Outcome.WRONG_NUMBER.value, "Wrong or dead number"),
    (Outcome.APPOINTMENT.value, "Appointment: call back at a date and time"),
    (Outcome.REFUSAL.value, "Refusal"),
    (Outcome.INELIGIBLE.value, "Found not eligible"),
    (Outcome.UNSAFE_TO_TALK.value, "Unsafe to talk"),
]


class DialScreen(CallScreen):
    CSS_PATH = "dial.tcss"
    BINDINGS = keys.bindings("dial")

    def __init__(self, view: ScreeningView) -> None:
        super().__init__()
        self.view = view
        self.number_index = 0
        self.attempt_id: int | None = view.open_attempt_id
        self.busy = False
        # Keys typed straight after d or Enter ("d 1 Enter" in one burst) wait until the attempt is
        # stored, then apply in order; if the screen moves on, they are dropped rather than misapplied.
        self.type_ahead = TypeAhead(
            moves_on=frozenset({"d", "enter"}), immediate=frozenset({"ctrl+x", "ctrl+q"})
        )

    def call_ids(self) -> tuple[int | None, int | None]:
        """(attempt, interview) of the call in progress, for the quick exit."""
        return self.attempt_id, None

    def compose(self) -> ComposeResult:
        yield Static(
            Text(f"Case #{self.view.case_id} · {self.view.survey_title} · {display(self.view.victim_name)}"),
            classes="title",
            id="case",
        )
        with VerticalScroll(id="dial", can_focus=False):
            yield Static("", id="number", classes="readout")
            yield Static(self._instruction(), classes="instruction")
        yield Static("", id="state", classes="muted")
        yield OptionsView(
            [Option(code=i + 1, label=label) for i, (_, label) in enumerate(OUTCOMES)],
            multiple=False,
            id="outcomes",
        )
        yield Static("", id="message", classes="error")
        yield QuickExitBar()
        yield Footer(compact=True, show_command_palette=False)

    def _instruction(self) -> Text:
        lines = [
            "Caller: the number is withheld. Ask for the victim by first name only; say nothing about the"
            " police or the crime until you are speaking to them."
        ]
        if self.view.leave_voicemail and self.view.voicemail_message:
            lines.append(f'An answerphone message may be left, exactly: "{self.view.voicemail_message}"')
        else:
            lines.append("NEVER leave an answerphone message for this survey.")
        return Text("\n".join(lines))

    def on_mount(self) -> None:
        self._show_number()
        self._show_state()

    def _show_number(self) -> None:
        widget = self.query_one("#number", Static)
        widget.border_title = "DIAL"
        if not self.view.numbers:
            widget.update("This case has no number to dial.")
            return
        number = self.view.numbers[self.number_index]
        others = [n for i, n in enumerate(self.view.numbers) if i != self.number_index]
        extra = f"\n{others[0].label}: {others[0].display} (Tab to use it)" if others else ""
        widget.update(Text(f"{number.label}: {number.display}{extra}"))

    def _show_state(self) -> None:
        state = self.query_one("#state", Static)
        if self.attempt_id is None:
            state.update("Press d when you dial. Then choose what happened (1-9) and press Enter.")
        else:
            state.update(Text("Call in progress: choose what happened (1-9) and press Enter.", style="bold"))
            self.query_one("#outcomes", OptionsView).focus()

    def action_other_number(self) -> None:
        if self.attempt_id is None and len(self.view.numbers) > 1:
            self.number_index = (self.number_index + 1) % len(self.view.numbers)
            self._show_number()

    def action_dial(self) -> None:
        if self.busy:
            return
        if self.attempt_id is not None or not self.view.numbers:
            self.type_ahead.ready()
            return
        self.busy = True
        actor = self.actor
        number = self.view.numbers[self.number_index].e164
        case_id = self.view.case_id

        def dialled(attempt_id: int) -> None:
            self.busy = False
            self.attempt_id = attempt_id
            self._show_state()
            self.type_ahead.ready()

        def failed(error: BaseException) -> None:
            self.busy = False
            self.query_one("#message", Static).update(Text(str(error)))
            self.type_ahead.ready()

        self.db(lambda session: cases.start_attempt(session, actor, case_id, number), dialled, failed=failed)

    def action_record(self) -> None:
        from app.tui.screens.dialogs import Confirm, TextPrompt

        if self.busy:
            return
        if self.attempt_id is None:
            self.query_one("#message", Static).update("Press d when you dial, before recording an outcome.")
            self.type_ahead.ready()
            return
        codes = self.query_one("#outcomes", OptionsView).codes
        if not codes:
            self.query_one("#message", Static).update("Choose what happened (1-9) first.")
            self.type_ahead.ready()
            return
        outcome = OUTCOMES[codes[0] - 1][0]
        asks_more = outcome in (
            Outcome.APPOINTMENT.value,
            Outcome.REFUSAL.value,
            Outcome.INELIGIBLE.value,
        ) or (outcome == Outcome.ANSWERPHONE.value and self.view.leave_voicemail)
        if asks_more:
            # A dialog asks for more: keys typed ahead were not meant for it, and are dropped.
            self.type_ahead.discard()
        if outcome == "answered":
            self._start_interview()
        elif outcome == Outcome.APPOINTMENT.value:
            self._ask_appointment()
        elif outcome == Outcome.REFUSAL.value:
            self.app.push_screen(
                TextPrompt("Who refused? (e.g. the victim, a family member)"),
                lambda who: self._finish(outcome, refusal_by=who) if who is not None else None,
            )
        elif outcome == Outcome.INELIGIBLE.value:
            self.app.push_screen(
                TextPrompt("Why is the victim not eligible?", required=True),
                lambda why: self._finish(outcome, ineligible_reason=why) if why else None,
            )
        elif outcome == Outcome.ANSWERPHONE.value and self.view.leave_voicemail:
            self.app.push_screen(
                Confirm("Did you leave the approved message?", yes="Message left", no="No message"),
                lambda left: self._finish(outcome, message_left=bool(left)),
            )
        else:
            self._finish(outcome)

    def _ask_appointment(self, initial: datetime | None = None, error: str = "") -> None:
        """The appointment dialog, with the case's rules; again with what was typed if it was refused."""
        from app.tui.screens.dialogs import AppointmentDialog

        actor = self.actor
        catalogue = self.catalogue
        case_id = self.view.case_id

        def ask(rules: calls.AppointmentRules) -> None:
            self.app.push_screen(
                AppointmentDialog(rules, initial=initial, error=error),
                lambda at: self._finish(Outcome.APPOINTMENT.value, appointment_at=at) if at else None,
            )

        self.db(lambda session: calls.appointment_rules(session, actor, catalogue, case_id), ask, write=False)

    def _finish(
        self,
        outcome: str,
        *,
        appointment_at: datetime | None = None,
        refusal_by: str | None = None,
        ineligible_reason: str | None = None,
        message_left: bool | None = None,
    ) -> None:
        self.busy = True
        actor = self.actor
        catalogue = self.catalogue
        attempt_id = self.attempt_id
        assert attempt_id is not None

        def record(session):  # type: ignore[no-untyped-def]
            return cases.finish_attempt(
                session,
                actor,
                catalogue,
                attempt_id,
                outcome,
                appointment_at=appointment_at,
                refusal_by=refusal_by,
                ineligible_reason=ineligible_reason,
                message_left=message_left if outcome == Outcome.ANSWERPHONE.value else None,
            )

        def recorded(state: cases.CaseState) -> None:
            self.type_ahead.discard()
            self.app.pop_screen()
            what = state.disposition.label if state.disposition else outcome.replace("_", " ")
            closed = " Case closed." if state.closed else ""
            self.app.notify(f"Case #{state.case_id}: {what}.{closed}", timeout=5)

        def failed(error: BaseException) -> None:
            self.busy = False
            self.query_one("#message", Static).update(Text(str(error)))
            self.type_ahead.ready()
            if appointment_at is not None:
                self._ask_appointment(appointment_at, str(error))

        self.db(record, recorded, failed=failed)

    def _start_interview(self) -> None:
        from app.tui.screens.interview import CallContext, InterviewScreen, checks_again

        self.busy = True
        actor = self.actor
        catalogue = self.catalogue
        attempt_id = self.attempt_id
        assert attempt_id is not None
        case_id = self.view.case_id

        def started(state: InterviewState) -> None:
            call = CallContext(
                case_id=case_id, attempt_id=attempt_id, survey=self.view.survey, sample=self.view.sample
            )
            self.type_ahead.discard()
            self.app.switch_screen(InterviewScreen(call, state, recheck=checks_again(state)))

        def failed(error: BaseException) -> None:
            self.busy = False
            self.query_one("#message", Static).update(Text(str(error)))
            self.type_ahead.ready()

        self.db(
            lambda session: calls.start_interview_call(session, actor, catalogue, case_id, attempt_id),
            started,
            failed=failed,
        )
