"""Practice: the real interview screen on an interview kept in memory, for trying a questionnaire.

The screen is the live interview screen (same layout, keys, validation and routing); what differs is
where answers go (app.services.practice: memory only, never a database), a trace above the read-out
of why the question is asked, F2 to jump to any question, and PRACTICE marked on the progress line
and at the foot of every screen, where a live call shows its quick exit.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from app.domain.document import stop_outcome_words
from app.domain.engine import Answer, AnswerError, Status
from app.domain.questionnaire import QuestionBase
from app.domain.trace import why_asked
from app.services import interviews
from app.services.interviews import InterviewState
from app.services.practice import on_route, practice_answer, start_practice, with_note
from app.tui import keys
from app.tui.screens.interview import CallContext, InterviewScreen
from app.tui.widgets.practice_bar import PracticeBar

#: How the jump list names each question's place on the route.
ROUTE_WORDS = {
    Status.ANSWERED: "answered",
    Status.PENDING: "on the route",
    Status.UNDECIDED: "not decided yet",
    Status.OFF: "not on the route",
}


class PracticeInterviewScreen(InterviewScreen):
    """The interview screen, practising: answers in memory, the routing traced, any question a key away."""

    BINDINGS = keys.bindings("interview") + keys.bindings("practice")
    SAVING = ""  # nothing is stored

    def __init__(self, call: CallContext, state: InterviewState) -> None:
        super().__init__(call, state)
        self.off_route_answer = False

    # ------------------------------------------------------------ what differs on screen

    def compose_trace(self) -> ComposeResult:
        yield Static("", id="why", classes="trace")

    def call_bar(self) -> Widget:
        return PracticeBar()

    def progress_marker(self) -> Text:
        return Text.assemble(("PRACTICE", "bold reverse"), " · ")

    def question_shown(self, question: QuestionBase | None) -> None:
        why = self.query_one("#why", Static)
        if question is None:
            why.update("")
            return
        trace = why_asked(self.state.questionnaire, self.state.answers, question.id)
        why.update(Text("\n".join(trace.lines())))
        self.query_one("#readout", Static).border_title = "READ OUT · PRACTICE"

    # ------------------------------------------------------------ where answers go: memory only

    def store_answer(
        self,
        question_id: str,
        answer: Answer,
        duration_ms: int,
        note: str | None,
        saved: Callable[[InterviewState], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        self.off_route_answer = not on_route(self.state, question_id)
        try:
            state = practice_answer(self.state, question_id, answer)
        except AnswerError as exc:
            failed(exc)
            return
        if note is not None:
            state = with_note(state, question_id, note)
        saved(state)

    def notice_after(self, question_id: str, state: InterviewState) -> str:
        if self.off_route_answer:
            return "That question is not on the route with these answers: its answer was not kept."
        return super().notice_after(question_id, state)

    def store_note(self, question_id: str, text: str) -> None:
        self.state = with_note(self.state, question_id, text)
        self.notify("Note kept for this practice only.", timeout=3)

    def action_alert(self) -> None:
        self.notify(
            "On a live call this raises a safeguarding alert for supervisors at once. Nothing was sent.",
            title="Practice",
            timeout=8,
        )

    # ------------------------------------------------------------ jumping

    def action_jump(self) -> None:
        if self.saving:
            return

        def chosen(question_id: str | None) -> None:
            if question_id is None:
                self.type_ahead.ready()
                return
            self._keep_draft()
            notice = "" if on_route(self.state, question_id) else "Not on the route with these answers."
            self.call_later(self.show_question, question_id, notice)

        self.app.push_screen(JumpDialog(self.state, self.shown), chosen)

    # ------------------------------------------------------------ the end

    def _finished(self) -> None:
        state = self.state
        user = self.survey_app.user
        caller_name = user.display_name if user else ""

        def ended(_: object = None) -> None:
            self.app.push_screen(PracticeEnd(state), self._after_end)

        if state.complete:
            from app.tui.screens.call_end import closing_screen

            self.app.push_screen(closing_screen(state, self.call, caller_name, practice=True), ended)
        elif state.stop_say:
            from app.tui.screens.call_end import ReadOut

            words = interviews.read_out(state, state.stop_say, self.call.sample, caller_name)
            self.app.push_screen(ReadOut(words), ended)
        else:
            ended()

    def _after_end(self, choice: str | None) -> None:
        if choice == "again":
            self.state = start_practice(self.state.questionnaire)
            self.drafts.clear()
            self.pending_note.clear()
            self.call_later(self.show_question, self.state.current_question, "Starting again.")
            return
        self.call_later(
            self.show_question,
            self._last_question(),
            "Back on the last question: change an answer, or Ctrl+B to go further back.",
        )


#: Characters a line of the jump list has at 80 columns.
LIST_WIDTH = 62


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"


class JumpDialog(ModalScreen[str | None]):
    """Every question in order, with its place on the route; Enter goes to the one highlighted."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = keys.bindings("jump")

    def __init__(self, state: InterviewState, current: str | None) -> None:
        super().__init__()
        self.state = state
        self.current = current

    def compose(self) -> ComposeResult:
        statuses = self.state.engine.route(self.state.answers).statuses
        options = []
        for n, question in enumerate(self.state.questionnaire.questions(), 1):
            where = ROUTE_WORDS[statuses.get(question.id, Status.OFF)]
            if question.id == self.state.current_question:
                where = "next"
            room = max(LIST_WIDTH - len(question.id) - len(where) - 10, 8)
            label = Text.assemble(
                f"{n:>3}. ", (question.id, "bold"), f" ({where}) ", _cut(question.short_label(), room)
            )
            options.append(Option(label, id=question.id))
        with Vertical(classes="dialog", id="jump"):
            yield Static(
                Text.assemble(
                    ("Jump to a question", "bold"), " (practice): Up/Down, Enter goes there, Esc back"
                )
            )
            yield OptionList(*options, id="questions")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        listing = self.query_one("#questions", OptionList)
        ids = [q.id for q in self.state.questionnaire.questions()]
        if self.current in ids:
            listing.highlighted = ids.index(self.current)
        listing.focus()

    @on(OptionList.OptionSelected, "#questions")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_choose(self) -> None:
        listing = self.query_one("#questions", OptionList)
        if listing.highlighted is not None:
            self.dismiss(listing.get_option_at_index(listing.highlighted).id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PracticeEnd(ModalScreen[str]):
    """How the practice ended, and that nothing was stored; Enter starts again, Esc goes back."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = keys.bindings("practice_end")

    def __init__(self, state: InterviewState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        state = self.state
        answered = len(state.answers)
        if state.stop_outcome is not None:
            how = f"The call would end here: {stop_outcome_words(state.stop_outcome.value)}."
        else:
            how = "The interview is complete."
        with Vertical(classes="dialog", id="practice-end"):
            yield Static(Text("PRACTICE finished", style="bold reverse"))
            yield Static(Text(f"{how} {answered} question{'s' if answered != 1 else ''} answered."))
            yield Static(Text("Nothing was stored: no case, no call, no answers.", style="bold"))
            yield Static(
                "Enter starts again; Esc goes back to the last question; Ctrl+Q quits.", classes="muted"
            )
        yield Footer(compact=True, show_command_palette=False)

    def action_again(self) -> None:
        self.dismiss("again")

    def action_back(self) -> None:
        self.dismiss("back")
