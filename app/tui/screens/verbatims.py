"""Verbatim review: a supervisor replaces names and places in free-text answers before analysts see them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from app.domain.text import display, find_spans, redact
from app.services import redaction
from app.services.redaction import Verbatim
from app.tui.screens.base import SurveyScreen

KIND_OF_KEY = {"mark_name": "name", "mark_place": "place", "mark_other": "other"}


class VerbatimReviewScreen(SurveyScreen[None]):
    """One free-text answer at a time: mark what identifies someone, then approve (or skip for now)."""

    CSS_PATH = "supervisor.tcss"
    BINDINGS = [
        Binding("n", "mark_name", "Mark a name"),
        Binding("p", "mark_place", "Mark a place"),
        Binding("o", "mark_other", "Mark other"),
        Binding("u", "undo", "Undo mark"),
        Binding("enter", "approve", "Approve"),
        Binding("s", "skip", "Skip"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[Verbatim] = []
        self.index = 0
        self.marks: list[list[tuple[int, int, str]]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="heading", classes="title")
        with VerticalScroll():
            yield Static("", id="question", classes="muted")
            yield Static("", id="original")
            yield Static("", id="redacted")
        yield Static("", id="message", classes="muted")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        actor, catalogue = self.actor, self.catalogue
        self.db(
            lambda session: redaction.pending_verbatims(session, actor, catalogue),
            self._loaded,
            write=False,
            group="verbatims",
            exclusive=True,
        )

    def _loaded(self, pending: list[Verbatim]) -> None:
        if not self.is_attached:
            return
        self.pending, self.index, self.marks = pending, 0, []
        self._show()

    @property
    def current(self) -> Verbatim | None:
        return self.pending[self.index] if self.index < len(self.pending) else None

    def _spans(self) -> list[tuple[int, int, str]]:
        return [span for mark in self.marks for span in mark]

    def _show(self, message: str = "") -> None:
        verbatim = self.current
        heading = self.query_one("#heading", Static)
        if verbatim is None:
            heading.update("No free-text answers await review.")
            for name in ("#question", "#original", "#redacted"):
                self.query_one(name, Static).update("")
            self.query_one("#message", Static).update(message)
            return
        heading.update(
            Text(
                f"Verbatim {self.index + 1} of {len(self.pending)} · interview #{verbatim.interview_id}"
                f" · {verbatim.survey.replace('_', ' ')}"
            )
        )
        self.query_one("#question", Static).update(Text(display(verbatim.question)))
        self.query_one("#original", Static).update(
            Text("As said:\n" + display(verbatim.text, multiline=True))
        )
        shown = redact(verbatim.text, self._spans())
        self.query_one("#redacted", Static).update(
            Text("Analysts will see:\n" + display(shown, multiline=True), style="bold")
        )
        self.query_one("#message", Static).update(
            message or "n name · p place · o other: type the words to replace; Enter approves; s skips."
        )

    def _mark(self, kind: str) -> None:
        from app.tui.screens.dialogs import TextPrompt

        verbatim = self.current
        if verbatim is None:
            return

        def marked(words: str | None) -> None:
            if not words:
                return
            spans = find_spans(verbatim.text, words, kind)
            if not spans:
                self._show(f"'{display(words)}' is not in the answer.")
                return
            self.marks.append(spans)
            self._show(f"{len(spans)} × [{kind}]")

        self.app.push_screen(TextPrompt(f"Words to replace with [{kind}]", ""), marked)

    def action_mark_name(self) -> None:
        self._mark("name")

    def action_mark_place(self) -> None:
        self._mark("place")

    def action_mark_other(self) -> None:
        self._mark("other")

    def action_undo(self) -> None:
        if self.marks:
            self.marks.pop()
            self._show()

    def action_skip(self) -> None:
        if self.current is not None:
            self.index += 1
            self.marks = []
            self._show()

    def action_approve(self) -> None:
        verbatim = self.current
        if verbatim is None:
            return
        actor, spans = self.actor, self._spans()

        def approved(_: str) -> None:
            self.index += 1
            self.marks = []
            self._show("Approved: analysts' exports now carry the redacted text.")

        self.db(lambda session: redaction.approve(session, actor, verbatim.answer_id, spans), approved)
