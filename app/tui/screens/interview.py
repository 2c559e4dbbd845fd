"""The interview: one question at a time, read-out text apart from instructions, keyboard first.

Every answer goes to the database in a worker; the screen moves to the next question only once the
answer is stored. Keys typed meanwhile wait (type-ahead, app.tui.typeahead) and are applied, in order,
to the next question once it is on screen, so the answer stored is always the one on screen when its
Enter was pressed. The layout keeps every option on screen at 80x24: the read-out text and the
caller's instruction scroll above (with a cue when there is more), the options sit below them, in two
columns for long lists. The keys come from app.tui.keys: Ctrl+K and Ctrl+R are "don't know" and
"refused" on every question; Ctrl+B goes back, Ctrl+F returns to the furthest question still on
route; Ctrl+O adds a note; Ctrl+G raises a safeguarding alert; the app-wide quick exit ends the call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

from app.domain.engine import Answer, AnswerError, Status, describe_answer
from app.domain.questionnaire import (
    DONT_KNOW,
    REFUSED,
    SPECIAL_LABELS,
    ChoiceQuestion,
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Statement,
    TextQuestion,
)
from app.domain.text import display
from app.services import interviews
from app.services.interviews import InterviewState
from app.tui import keys
from app.tui.screens.base import CallScreen
from app.tui.typeahead import TypeAhead
from app.tui.widgets.keys_bar import KeysBar
from app.tui.widgets.options import OptionsView
from app.tui.widgets.quick_exit import QuickExitBar

#: Keys after which the screen is busy until the next question is on screen.
MOVES_ON = frozenset({"enter", "ctrl+b", "ctrl+f"})
#: Keys that act at once, even while an answer is being saved.
IMMEDIATE = frozenset({"ctrl+x", "ctrl+q", "ctrl+g"})


@dataclass(frozen=True)
class CallContext:
    """What the call screens share: the case, the attempt, and the fields that text may insert."""

    case_id: int
    attempt_id: int | None
    survey: str
    sample: dict[str, object] = field(default_factory=dict)


def checks_again(state: InterviewState) -> tuple[str, ...]:
    """Questions asked again before carrying on with an interrupted interview in a new call.

    The opening checks (identity, and the safety check where the survey has one), once the interview
    has got past them: the person on the line, and whether it is safe to talk, may have changed.
    """
    opening = [q.id for q in state.questionnaire.sections[0].questions]
    started = any(qid not in opening for qid in state.answers)
    return tuple(qid for qid in opening if qid in state.answers) if started else ()


class AnswerArea(TextArea):
    """Typed answer text: Enter saves it; a paste keeps every line and never saves by itself."""

    @dataclass
    class Submitted(Message):
        area: AnswerArea

        @property
        def control(self) -> AnswerArea:
            return self.area

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self))
            return
        await super()._on_key(event)


class InterviewScreen(CallScreen):
    CSS_PATH = "interview.tcss"
    BINDINGS = keys.bindings("interview")
    #: Shown while an answer is being stored.
    SAVING = "Saving…"
    #: How long a save runs before "Saving…" is shown.
    SAVING_SHOWN_AFTER_S = 0.1

    def __init__(self, call: CallContext, state: InterviewState, recheck: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.call = call
        self.state = state
        self.recheck = list(recheck)  # asked again before carrying on (identity, safe to talk)
        self.shown: str | None = self.recheck[0] if self.recheck else state.current_question
        self.saving = False
        self.shown_at = time.monotonic()
        self.pending_note: dict[str, str] = {}
        self.drafts: dict[str, tuple[int, ...] | str] = {}  # typed or chosen, not yet saved
        self.special: int | None = None  # don't know / refused chosen on a typed answer
        self.latencies: list[float] = []  # seconds from Enter to the next question on screen
        #: For each answer saved, when each step ended (time.monotonic()): pressed, validated, stored
        #: (the service's statements, in the worker), saved (committed, back on the screen's thread),
        #: shown (the next question's widgets in place). benchmarks/keystroke.py adds when it was painted.
        self.steps: list[dict[str, float]] = []
        self.answer_steps: dict[str, float] = {}  # the steps of the answer being saved
        self.type_ahead = TypeAhead(moves_on=MOVES_ON, immediate=IMMEDIATE)

    def call_ids(self) -> tuple[int | None, int | None]:
        """(attempt, interview) of the call in progress, for the quick exit."""
        return self.call.attempt_id, self.state.interview_id

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static("", id="progress")
        with VerticalScroll(id="body", can_focus=False):
            yield from self.compose_trace()
            yield Static("", id="readout", classes="readout")
            yield Static("", id="instruction", classes="instruction")
        yield Static(Text("▼ more below: PgDn", style="bold"), id="more")
        with Vertical(id="answer"):
            # One widget of each kind of answer, each set to the question shown when it is its kind.
            for widget in (
                OptionsView([], multiple=False, id="options"),
                Static(Text("Read this out, then press Enter.", style="italic"), id="statement"),
                AnswerArea("", id="text", soft_wrap=True),
                Input("", id="input"),
            ):
                widget.display = False
                yield widget
        yield Static("", id="note", classes="muted")
        yield Static("", id="specials", classes="muted")
        yield Static("", id="error", classes="error")
        yield self.call_bar()
        yield KeysBar()

    def compose_trace(self) -> ComposeResult:
        """Widgets above the read-out (none on a live call)."""
        return []

    def call_bar(self) -> Widget:
        """The bar at the foot of the screen: on a live call, the quick exit reminder."""
        return QuickExitBar()

    def progress_marker(self) -> Text:
        """What the progress line starts with (nothing on a live call)."""
        return Text()

    def question_shown(self, question: QuestionBase | None) -> None:
        """Called once a question is on screen (a live call needs nothing more)."""

    async def on_mount(self) -> None:
        # The cue follows the body's scrolling, and each new layout of the screen (another question, a
        # resize): only then is the height of what is to be read out known.
        self.watch(self.query_one("#body", VerticalScroll), "scroll_y", self._show_cue, init=False)
        self.screen_layout_refresh_signal.subscribe(self, self._show_cue)
        if self.shown is None and self.state.finished:
            # Resumed after the last answer was stored but before the call's outcome was recorded.
            await self.show_question(
                self._last_question(), "This interview was ending: press Enter to finish the call."
            )
            return
        notice = "Carrying on an interrupted interview: ask these checks again first." if self.recheck else ""
        await self.show_question(self.shown, notice)

    def _last_question(self) -> str | None:
        """The question that ended the interview (a stop rule's), or the last one answered."""
        stop = self.state.engine.route(self.state.answers).stop
        return stop.question_id if stop else self.state.engine.previous(self.state.answers, None)

    def end_failed(self, message: str) -> None:
        """Ending the call did not work: back on the question that ended it, with the reason."""
        self.saving = False
        notice = f"{message} Enter tries again; Ctrl+B changes an answer."
        target = self.recheck[0] if self.recheck else self._last_question()
        self.call_later(self.show_question, target, notice)

    def on_screen_resume(self) -> None:
        if not self.saving:
            self.type_ahead.ready()

    @property
    def question(self) -> QuestionBase | None:
        return self.state.questionnaire.question(self.shown) if self.shown else None

    def _position(self, question_id: str) -> tuple[int, int]:
        """(position of this question on the route, questions on the route): right after going back too."""
        statuses = self.state.engine.route(self.state.answers).statuses
        on_route = [qid for qid, status in statuses.items() if status is not Status.OFF]
        position = on_route.index(question_id) + 1 if question_id in on_route else len(on_route)
        return position, len(on_route)

    async def show_question(self, question_id: str | None, notice: str = "") -> None:
        self.shown = question_id
        self.shown_at = time.monotonic()
        self.special = None
        question = self.question
        self.query_one("#error", Static).update(Text(notice, style="italic") if notice else "")
        if question is None:
            self.saving = False
            self.question_shown(None)
            self.type_ahead.ready()
            return
        questionnaire = self.state.questionnaire
        section = questionnaire.section_of(question.id)
        position, possible = self._position(question.id)
        changing = question.id in self.state.answers and question.id not in self.recheck
        self.query_one("#progress", Static).update(
            Text.assemble(
                self.progress_marker(),
                (display(questionnaire.title), "bold"),
                " · ",
                display(section.title),
                f" · Question {position} of about {possible}",
                (" (changing an earlier answer)" if changing else "", "italic"),
            )
        )
        readout = self.query_one("#readout", Static)
        readout.border_title = "READ OUT"
        readout.update(Text(self._pipe(question.text)))
        instruction = self.query_one("#instruction", Static)
        if question.instruction:
            instruction.update(
                Text.assemble(("Caller (not read out): ", "bold"), self._pipe(question.instruction))
            )
            instruction.display = True
        else:
            instruction.display = False
        self.query_one("#body", VerticalScroll).scroll_home(animate=False)
        area = self.query_one("#answer", Vertical)
        existing = None if question.id in self.recheck else self.state.answers.get(question.id)
        draft = self.drafts.pop(question.id, None)
        widget = self._place_answer(area, question, existing, draft)
        self._show_note()
        if draft is not None and not notice:
            self.query_one("#error", Static).update(
                Text("What you typed or chose here was kept: Enter saves it.", style="italic")
            )
        self._show_specials(question)
        self.saving = False
        if widget.can_focus:
            self.set_focus(widget)
        else:
            self.set_focus(None)
        self.question_shown(question)
        self.type_ahead.ready()

    def _show_note(self) -> None:
        question_id = self.shown
        note = (
            (self.pending_note.get(question_id) or self.state.notes.get(question_id)) if question_id else None
        )
        widget = self.query_one("#note", Static)
        widget.update(Text(f"Note: {display(note)}") if note else "")
        widget.display = bool(note)

    def _show_specials(self, question: QuestionBase) -> None:
        specials = self.query_one("#specials", Static)
        allowed = [c for c in (DONT_KNOW, REFUSED) if c in {o.code for o in question.options()}]
        if isinstance(question, ChoiceQuestion) or not allowed:
            specials.display = False
            return
        parts = []
        for code in allowed:
            key = keys.display("interview", "dont_know" if code == DONT_KNOW else "refused")
            label = SPECIAL_LABELS[code]
            parts.append((f"{key} {label}", "bold reverse") if self.special == code else f"{key} {label}")
        specials.update(Text.assemble(*[p for part in parts for p in (part, "   ")][:-1]))
        specials.display = True

    def _show_cue(self, *_: object) -> None:
        body = self.query_one("#body", VerticalScroll)
        self.query_one("#more", Static).display = body.max_scroll_y > 0 and body.scroll_y < body.max_scroll_y

    async def _show_and_time(self, question_id: str | None, notice: str, steps: dict[str, float]) -> None:
        await self.show_question(question_id, notice)
        steps["shown"] = time.monotonic()
        self.latencies.append(steps["shown"] - steps["validated"])
        self.steps.append(steps)

    def _pipe(self, text: str) -> str:
        caller = self.survey_app.user
        piped = interviews.read_out(self.state, text, self.call.sample, caller.display_name if caller else "")
        return display(piped, multiline=True)

    def _place_answer(
        self,
        area: Vertical,
        question: QuestionBase,
        existing: Answer | None,
        draft: tuple[int, ...] | str | None,
    ) -> Widget:
        """The question's answer widget, set to it and alone on show in the answer area.

        Each kind (options, a typed answer, a longer text, a statement) is mounted with the screen and
        set to each question of its kind, hidden while another kind is shown: mounting a text area for
        a question took 9 to 15 ms, setting one takes well under one."""
        widget = area.query_one(f"#{_answer_kind(question)}")
        if isinstance(widget, OptionsView):
            chosen = draft if isinstance(draft, tuple) else (existing.codes() if existing else ())
            multiple = isinstance(question, MultipleChoice)
            widget.show(question.options(), multiple=multiple, chosen_codes=chosen)
        elif isinstance(widget, AnswerArea):
            with widget.prevent(TextArea.Changed):
                widget.load_text(self._prefill(question, existing, draft))
            widget.set_class(isinstance(question, TextQuestion) and question.verbatim, "verbatim")
            widget.move_cursor(widget.document.end)
        elif isinstance(widget, Input):
            prefill = self._prefill(question, existing, draft)
            with widget.prevent(Input.Changed):
                widget.value = prefill
            widget.placeholder = _placeholder(question)
            widget.cursor_position = len(prefill)
        for child in area.children:
            child.display = child is widget
        return widget

    def _prefill(
        self, question: QuestionBase, existing: Answer | None, draft: tuple[int, ...] | str | None
    ) -> str:
        """What a typed answer starts with: the draft, else the answer given (don't know and refused are
        shown beside it instead, as the special chosen)."""
        prefill = ""
        if existing is not None and not existing.blank:
            if existing.code in (DONT_KNOW, REFUSED):
                self.special = existing.code
            elif isinstance(question, DateQuestion) and existing.value is not None:
                prefill = f"{existing.value:%d/%m/%Y}"  # type: ignore[str-format]
            elif existing.value is not None:
                prefill = str(existing.stored_value())
            else:
                prefill = describe_answer(question, existing)
        if isinstance(draft, str):
            prefill = draft
        return prefill

    def _typed(self) -> tuple[int, ...] | str | None:
        """What is on screen for the shown question (to keep as a draft when leaving it unsaved)."""
        question = self.question
        if question is None:
            return None
        if isinstance(question, ChoiceQuestion):
            return self.query_one("#options", OptionsView).codes
        if isinstance(question, TextQuestion):
            return self.query_one("#text", AnswerArea).text
        if isinstance(question, Statement):
            return None
        return self.query_one("#input", Input).value

    def _keep_draft(self) -> None:
        """Leaving a question without Enter: keep what was typed or chosen if it differs from the answer."""
        question = self.question
        typed = self._typed()
        if question is None or typed is None:
            return
        existing = self.state.answers.get(question.id)
        if isinstance(typed, tuple):
            stored: tuple[int, ...] | str = existing.codes() if existing else ()
        else:
            stored = ""
            if existing is not None and existing.value is not None:
                stored = (
                    f"{existing.value:%d/%m/%Y}"  # type: ignore[str-format]
                    if isinstance(question, DateQuestion)
                    else str(existing.stored_value())
                )
        if typed != stored:
            self.drafts[question.id] = typed

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
        if self.special is not None:
            return engine.validate(question, Answer(code=self.special))
        if isinstance(question, TextQuestion):
            return engine.parse(question, self.query_one("#text", AnswerArea).text)
        return engine.parse(question, self.query_one("#input", Input).value)

    def action_confirm(self) -> None:
        question = self.question
        if question is None or self.saving:
            if not self.saving:
                self.type_ahead.ready()
            return
        pressed = time.monotonic()
        try:
            answer = self._answer_from_widgets(question)
        except AnswerError as exc:
            self.query_one("#error", Static).update(Text(str(exc).capitalize() + "."))
            self.type_ahead.ready()
            return
        if question.id in self.recheck:
            self._rechecked(question, answer)
            return
        self.saving = True
        started = time.monotonic()
        steps = {"pressed": pressed, "validated": started}
        self._saving_shown_after(steps)
        duration_ms = int((started - self.shown_at) * 1000)
        note = self.pending_note.pop(question.id, None)
        qid = question.id

        def saved(state: InterviewState) -> None:
            steps["saved"] = time.monotonic()
            self.state = state
            self.drafts.pop(qid, None)
            if state.finished:
                self.latencies.append(time.monotonic() - started)
                self.type_ahead.discard()
                self.app.call_later(self._finished)
                return
            following = state.engine.following(state.answers, qid) or state.current_question
            self.call_later(self._show_and_time, following, self.notice_after(qid, state), steps)

        def failed(error: BaseException) -> None:
            self.saving = False
            if note is not None:
                self.pending_note[qid] = note
            message = str(error) if isinstance(error, Exception) and str(error) else "not saved"
            # A refusal (the case was taken away, the interview ended) will not change on a second Enter.
            refused = isinstance(error, interviews.InterviewError)
            after = " Press Ctrl+X to leave the call." if refused else " Press Enter to try again."
            self.query_one("#error", Static).update(Text(f"Not saved: {message}.{after}"))
            self.type_ahead.ready()

        self.answer_steps = steps
        self.store_answer(qid, answer, duration_ms, note, saved, failed)

    def _saving_shown_after(self, steps: dict[str, float]) -> None:
        """Show "Saving…" only once a save has taken long enough to be seen (SAVING_SHOWN_AFTER_S).

        An answer is usually stored within a few ms; painting a word that is gone before the eye can
        read it only delays the next question. A message left from before (an answer refused) goes now.
        """
        error = self.query_one("#error", Static)
        if error.content:
            error.update("")

        def still_saving() -> None:
            if self.saving and self.answer_steps is steps and self.SAVING:
                error.update(Text(self.SAVING, style="italic"))

        self.set_timer(self.SAVING_SHOWN_AFTER_S, still_saving)

    def store_answer(
        self,
        question_id: str,
        answer: Answer,
        duration_ms: int,
        note: str | None,
        saved: Callable[[InterviewState], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Store the answer in a worker; `saved` gets the interview as it now stands."""
        steps = self.answer_steps
        actor = self.actor
        catalogue = self.catalogue
        interview_id = self.state.interview_id

        def save(session):  # type: ignore[no-untyped-def]
            state = interviews.record_answer(
                session,
                actor,
                catalogue,
                interview_id,
                question_id,
                answer,
                duration_ms=duration_ms,
                note=note,
            )
            steps["stored"] = time.monotonic()
            return state

        self.db(save, saved, failed=failed, group="answers")

    def notice_after(self, question_id: str, state: InterviewState) -> str:
        """What to say on the next question after an answer was stored."""
        if not state.discarded:
            return ""
        labels = ", ".join(state.questionnaire.question(d).short_label() for d in state.discarded)
        return f"Answers no longer needed after this change were removed: {labels}"

    def _rechecked(self, question: QuestionBase, answer: Answer) -> None:
        """A check asked again: a stop ends this call (the interview waits for the next); else carry on."""
        from app.tui.screens.call_end import end_recheck

        route = self.state.engine.route({**self.state.answers, question.id: answer})
        stop = route.stop if route.stop is not None and route.stop.question_id == question.id else None
        self.recheck.remove(question.id)
        if stop is not None:
            self.type_ahead.discard()
            self.recheck.insert(0, question.id)
            end_recheck(self, self.call, self.state, stop.rule)
            return
        target = self.recheck[0] if self.recheck else self.state.current_question
        notice = (
            "" if self.recheck else "Checks done: carrying on at the question where the interview stopped."
        )
        self.call_later(self.show_question, target, notice)

    @on(Input.Submitted, "#input")
    @on(AnswerArea.Submitted, "#text")
    def _submitted(self) -> None:
        self.action_confirm()

    @on(Input.Changed, "#input")
    @on(TextArea.Changed, "#text")
    def _typing(self) -> None:
        if self.special is not None and self.question is not None:
            self.special = None
            self._show_specials(self.question)

    def _choose_special(self, code: int) -> None:
        question = self.question
        if question is None or self.saving:
            return
        label = SPECIAL_LABELS[code]
        if code not in {o.code for o in question.options()}:
            self.query_one("#error", Static).update(Text(f'"{label}" is not an answer to this question.'))
            return
        if isinstance(question, ChoiceQuestion):
            self.query_one("#options", OptionsView).pick_code(code)
            return
        self.special = code
        self._show_specials(question)
        self.query_one("#error", Static).update(Text(f"{label}: press Enter to save it.", style="italic"))

    def action_dont_know(self) -> None:
        self._choose_special(DONT_KNOW)

    def action_refused(self) -> None:
        self._choose_special(REFUSED)

    def action_scroll(self, step: int) -> None:
        body = self.query_one("#body", VerticalScroll)
        if step > 0:
            body.scroll_page_down(animate=False)
        else:
            body.scroll_page_up(animate=False)

    def action_back(self) -> None:
        if self.saving:
            return
        previous = self.state.engine.previous(self.state.answers, self.shown)
        if previous is None:
            self.query_one("#error", Static).update(Text("This is the first question.", style="italic"))
            self.type_ahead.ready()
            return
        self._keep_draft()
        self.call_later(
            self.show_question, previous, "Going back: change the answer, or press Enter to keep it."
        )

    def action_furthest(self) -> None:
        """Back to the furthest question still on route, keeping every answer still valid."""
        if self.saving:
            return
        target = self.state.current_question
        if target is None or target == self.shown:
            self.query_one("#error", Static).update(
                Text("This is already the furthest question.", style="italic")
            )
            self.type_ahead.ready()
            return
        self._keep_draft()
        self.call_later(self.show_question, target, "")

    def action_note(self) -> None:
        from app.tui.screens.dialogs import TextPrompt

        question = self.question
        if question is None:
            return
        current = self.pending_note.get(question.id) or self.state.notes.get(question.id, "")

        def keep(text: str | None) -> None:
            if text is None:
                return
            qid = question.id
            self.state.notes[qid] = text
            self.pending_note.pop(qid, None)
            self.store_note(qid, text)
            self._show_note()

        self.app.push_screen(TextPrompt("Note on this question (not read out)", current), keep)

    def store_note(self, question_id: str, text: str) -> None:
        """Keep the note at once; if that fails it waits and is saved with the answer."""
        actor = self.actor
        interview_id = self.state.interview_id

        def saved(_: object) -> None:
            self.notify("Note saved.", timeout=3)

        def failed(error: BaseException) -> None:
            self.pending_note[question_id] = text
            self.notify(f"Note not saved ({error}); it will be saved with the answer.", severity="warning")

        self.db(
            lambda session: interviews.add_note(session, actor, interview_id, question_id, text),
            saved,
            failed=failed,
        )

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


def _answer_kind(question: QuestionBase) -> str:
    """The id of the widget that takes the question's answer."""
    if isinstance(question, ChoiceQuestion):
        return "options"
    if isinstance(question, Statement):
        return "statement"
    return "text" if isinstance(question, TextQuestion) else "input"


def _placeholder(question: QuestionBase) -> str:
    """What an empty typed answer shows: the kind of answer, its range and unit, whether it may be blank."""
    placeholder = {NumberQuestion: "a number", DateQuestion: "a date: DD/MM/YYYY"}.get(type(question), "")
    if isinstance(question, NumberQuestion) and (question.min is not None or question.max is not None):
        low = "" if question.min is None else f"{question.min:g}"
        high = "" if question.max is None else f"{question.max:g}"
        placeholder += f" ({low} to {high})"
    if isinstance(question, NumberQuestion) and question.unit:
        placeholder += f" {question.unit}"
    if not question.required:
        placeholder += " · may be left blank"
    return placeholder
