"""The interview: one question at a time, read-out text apart from instructions, keyboard first.

Every answer goes to the database in a worker; the screen moves to the next question only once the
answer is stored. Ctrl+B goes back, Ctrl+N adds a note, Ctrl+G raises a safeguarding alert, and the
app-wide quick exit ends the call from here at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Header, Input, Static, TextArea

from app.domain.engine import Answer, AnswerError, describe_answer
from app.domain.questionnaire import (
    ChoiceQuestion,
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Statement,
    TextQuestion,
)
from app.services import interviews
from app.services.interviews import InterviewState
from app.tui.screens.base import SurveyScreen
from app.tui.widgets.options import OptionsView
from app.tui.widgets.quick_exit import QuickExitBar


@dataclass(frozen=True)
class CallContext:
    """What the call screens share: the case, the attempt, and the fields that text may insert."""

    case_id: int
    attempt_id: int | None
    survey: str
    sample: dict[str, object] = field(default_factory=dict)


class AnswerArea(TextArea):
    """A verbatim answer: Enter confirms, as everywhere else; long text wraps."""

    BINDINGS = [Binding("enter", "submit", "Save answer", show=False, priority=True)]

    @dataclass
    class Submitted(TextArea.Changed):
        pass

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self))


class InterviewScreen(SurveyScreen[None]):
    CSS_PATH = "interview.tcss"
    BINDINGS = [
        Binding("enter", "confirm", "Next", priority=False),
        Binding("ctrl+b", "back", "Back"),
        Binding("ctrl+n", "note", "Note"),
        Binding("ctrl+g", "alert", "Safeguarding alert", priority=True),
    ]

    def __init__(self, call: CallContext, state: InterviewState) -> None:
        super().__init__()
        self.call = call
        self.state = state
        self.shown: str | None = state.current_question
        self.saving = False
        self.shown_at = time.monotonic()
        self.pending_note: dict[str, str] = {}
        self.latencies: list[float] = []  # seconds from Enter to the next question on screen

    def call_ids(self) -> tuple[int | None, int | None]:
        """(attempt, interview) of the call in progress, for the quick exit."""
        return self.call.attempt_id, self.state.interview_id

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="frame"):
            yield Static("", id="progress")
            with VerticalScroll(id="body"):
                yield Static("", id="instruction", classes="instruction")
                yield Static("", id="readout", classes="readout")
                yield Vertical(id="answer")
                yield Static("", id="error", classes="error")
                yield Static("", id="notice", classes="muted")
        yield QuickExitBar()
        yield Footer()

    async def on_mount(self) -> None:
        self.sub_title = self.state.questionnaire.title
        await self.show_question(self.shown)

    @property
    def question(self) -> QuestionBase | None:
        return self.state.questionnaire.question(self.shown) if self.shown else None

    async def show_question(self, question_id: str | None, notice: str = "") -> None:
        self.shown = question_id
        self.saving = False
        self.shown_at = time.monotonic()
        question = self.question
        self.query_one("#error", Static).update("")
        self.query_one("#notice", Static).update(notice)
        if question is None:
            return
        questionnaire = self.state.questionnaire
        section = questionnaire.section_of(question.id)
        answered, possible = self.state.engine.progress(self.state.answers)
        position = answered + (0 if question.id in self.state.answers else 1)
        self.query_one("#progress", Static).update(
            Text.assemble(
                (section.title, "bold"),
                f"   Question {position} of about {possible}",
                ("   (changing an earlier answer)" if question.id in self.state.answers else "", "italic"),
            )
        )
        instruction = self.query_one("#instruction", Static)
        if question.instruction:
            instruction.update(Text("Caller: " + self._pipe(question.instruction)))
            instruction.display = True
        else:
            instruction.display = False
        readout = self.query_one("#readout", Static)
        readout.border_title = "READ OUT"
        readout.update(Text(self._pipe(question.text)))
        area = self.query_one("#answer", Vertical)
        await area.remove_children()
        existing = self.state.answers.get(question.id)
        widget = self._answer_widget(question, existing)
        await area.mount(widget)
        if question.id in self.pending_note or question.id in self.state.notes:
            note = self.pending_note.get(question.id) or self.state.notes.get(question.id, "")
            await area.mount(Static(Text(f"Note: {note}"), classes="muted"))
        widget.focus()

    async def _show_and_time(self, question_id: str | None, notice: str, started: float) -> None:
        await self.show_question(question_id, notice)
        self.latencies.append(time.monotonic() - started)

    def _pipe(self, text: str) -> str:
        caller = getattr(self.app, "user", None)
        return interviews.read_out(self.state, text, self.call.sample, caller.display_name if caller else "")

    def _answer_widget(self, question: QuestionBase, existing: Answer | None) -> Static | OptionsView | Input:
        if isinstance(question, ChoiceQuestion):
            chosen = existing.codes() if existing else ()
            return OptionsView(
                question.options(),
                multiple=isinstance(question, MultipleChoice),
                chosen_codes=chosen,
                id="options",
            )
        prefill = ""
        if existing is not None and not existing.blank:
            prefill = (
                describe_answer(question, existing)
                if existing.value is None
                else str(existing.stored_value())
            )
            if isinstance(question, DateQuestion) and existing.value is not None:
                prefill = f"{existing.value:%d/%m/%Y}"  # type: ignore[str-format]
        if isinstance(question, TextQuestion) and question.verbatim:
            return AnswerArea(prefill, id="text", soft_wrap=True)
        if isinstance(question, Statement):
            return Static(Text("Read this out, then press Enter.", style="italic"), id="statement")
        placeholder = {
            NumberQuestion: "a number",
            DateQuestion: "a date: DD/MM/YYYY",
            TextQuestion: "type the answer",
        }.get(type(question), "")
        if isinstance(question, NumberQuestion) and (question.min is not None or question.max is not None):
            low = "" if question.min is None else f"{question.min:g}"
            high = "" if question.max is None else f"{question.max:g}"
            placeholder += f" ({low} to {high})"
        if not question.required:
            placeholder += " · may be left blank"
        return Input(prefill, placeholder=placeholder, id="input")

    # ------------------------------------------------------------ answering

    def _answer_from_widgets(self, question: QuestionBase) -> Answer:
        engine = self.state.engine
        if isinstance(question, ChoiceQuestion):
            codes = self.query_one("#options", OptionsView).codes
            if not codes:
                return engine.validate(question, Answer())
            if isinstance(question, MultipleChoice) and not any(c >= 98 for c in codes):
                return engine.validate(question, Answer(value=codes))
            return engine.validate(question, Answer(code=codes[0]))
        if isinstance(question, Statement):
            return Answer()
        if isinstance(question, TextQuestion) and question.verbatim:
            return engine.parse(question, self.query_one("#text", AnswerArea).text)
        return engine.parse(question, self.query_one("#input", Input).value)

    def action_confirm(self) -> None:
        question = self.question
        if question is None or self.saving:
            return
        try:
            answer = self._answer_from_widgets(question)
        except AnswerError as exc:
            self.query_one("#error", Static).update(Text(str(exc).capitalize()))
            return
        self.saving = True
        self.query_one("#error", Static).update(Text("Saving…", style="italic"))
        started = time.monotonic()
        duration_ms = int((started - self.shown_at) * 1000)
        note = self.pending_note.pop(question.id, None)
        actor = self.actor
        catalogue = self.catalogue
        interview_id = self.state.interview_id
        qid = question.id

        def save(session):  # type: ignore[no-untyped-def]
            return interviews.record_answer(
                session, actor, catalogue, interview_id, qid, answer, duration_ms=duration_ms, note=note
            )

        def saved(state: InterviewState) -> None:
            self.state = state
            if state.finished:
                self.latencies.append(time.monotonic() - started)
                self.app.call_later(self._finished)
                return
            following = state.engine.following(state.answers, qid) or state.current_question
            notice = ""
            if state.discarded:
                labels = ", ".join(state.questionnaire.question(d).short_label() for d in state.discarded)
                notice = f"Answers no longer needed after this change were removed: {labels}"
            self.call_later(self._show_and_time, following, notice, started)

        def failed(error: BaseException) -> None:
            self.saving = False
            if note is not None:
                self.pending_note[qid] = note
            message = str(error) if isinstance(error, Exception) and str(error) else "not saved"
            self.query_one("#error", Static).update(Text(f"Not saved: {message}. Press Enter to try again."))

        self.db(save, saved, failed=failed, group="answers")

    @on(Input.Submitted, "#input")
    @on(AnswerArea.Submitted, "#text")
    def _submitted(self) -> None:
        self.action_confirm()

    def action_back(self) -> None:
        if self.saving:
            return
        previous = self.state.engine.previous(self.state.answers, self.shown)
        if previous is None:
            self.notify("This is the first question.", timeout=3)
            return
        self.call_later(
            self.show_question, previous, "Going back: change the answer, or press Enter to keep it."
        )

    def action_note(self) -> None:
        from app.tui.screens.dialogs import TextPrompt

        question = self.question
        if question is None:
            return
        current = self.pending_note.get(question.id) or self.state.notes.get(question.id, "")

        def keep(text: str | None) -> None:
            if text is None:
                return
            if question.id in self.state.answers:
                actor = self.actor
                interview_id = self.state.interview_id
                self.db(
                    lambda session: interviews.add_note(session, actor, interview_id, question.id, text),
                    lambda _: self.notify("Note saved.", timeout=3),
                )
                self.state.notes[question.id] = text
            else:
                self.pending_note[question.id] = text
                self.notify("Note kept: it is saved with the answer.", timeout=3)

        self.app.push_screen(TextPrompt("Note on this question (not read out)", current), keep)

    def action_alert(self) -> None:
        from app.tui.screens.dialogs import SafeguardingDialog

        def raised(note: str | None) -> None:
            if note is None:
                return
            actor = self.actor
            case_id, interview_id = self.call.case_id, self.state.interview_id
            self.db(
                lambda session: interviews.raise_alert(
                    session, actor, case_id=case_id, interview_id=interview_id, note=note
                ),
                lambda _: self.notify(
                    "Safeguarding alert sent to supervisors. Advise the victim to call 999 if in danger now.",
                    title="Alert raised",
                    severity="warning",
                    timeout=15,
                ),
            )

        self.app.push_screen(SafeguardingDialog(), raised)

    # ------------------------------------------------------------ the end

    def _finished(self) -> None:
        from app.tui.screens.call_end import end_call

        end_call(self, self.call, self.state)
