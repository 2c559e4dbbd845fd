"""The call log: every attempt, filtered and sorted; a row opens the whole history of its case.

Focus starts on the log, where the letter keys work; f (or Tab) reaches the filter boxes, and Enter in
one applies the filters and returns to the log. No Ctrl key is used that a text box or a browser keeps.
"""

from __future__ import annotations

from datetime import date, timedelta

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Static

from app.clock import LOCAL, today
from app.domain.engine import AnswerError, parse_date
from app.domain.text import display
from app.services import cases, review
from app.services.review import SORTS, CallLogRow
from app.tui import keys
from app.tui.screens.base import SurveyScreen

SORT_ORDER = ["started_at", "caller", "survey", "division", "outcome"]
#: Newest first by time; A to Z by a text column.
NEWEST_FIRST = {"started_at"}


class CallLogScreen(SurveyScreen[None]):
    CSS_PATH = "supervisor.tcss"
    BINDINGS = [*keys.bindings("call_log"), *keys.bindings("reviewing")]

    def __init__(self) -> None:
        super().__init__()
        self.sort = "started_at"
        self.descending = True
        self.rows: list[CallLogRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(f"{today() - timedelta(days=7):%d/%m/%Y}", placeholder="from", id="from")
            yield Input(f"{today():%d/%m/%Y}", placeholder="to", id="to")
            yield Input(placeholder="caller", id="caller")
            yield Input(placeholder="survey", id="survey")
            yield Input(placeholder="outcome", id="outcome")
            yield Input(placeholder="division", id="division")
        yield Static("", id="message", classes="muted")
        yield DataTable(id="log", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @on(DataTable.RowSelected, "#log")
    def _row_selected(self) -> None:
        self.action_open()

    def on_mount(self) -> None:
        log = self.query_one("#log", DataTable)
        log.add_columns("When", "Caller", "Survey", "Division", "Outcome", "Secs", "Case")
        log.focus()
        self.load()

    def action_filters(self) -> None:
        self.query_one("#from", Input).focus()

    @on(Input.Submitted)
    def _filter(self) -> None:
        self.load()
        self.query_one("#log", DataTable).focus()

    def _date(self, widget_id: str) -> date | None:
        text = self.query_one(f"#{widget_id}", Input).value.strip()
        return parse_date(text) if text else None

    def load(self) -> None:
        message = self.query_one("#message", Static)
        try:
            start, end = self._date("from"), self._date("to")
        except AnswerError as exc:
            message.update(Text(str(exc)))
            return
        if start and end and end < start:
            message.update("'to' is before 'from'.")
            return
        filters = {
            name: self.query_one(f"#{name}", Input).value.strip() or None
            for name in ("caller", "survey", "outcome", "division")
        }
        actor = self.actor
        sort, descending = self.sort, self.descending
        self.db(
            lambda session: review.call_log(
                session, actor, start=start, end=end, sort=sort, descending=descending, **filters
            ),
            self._show,
            write=False,
            group="call-log",
            exclusive=True,
        )

    def _show(self, rows: list[CallLogRow]) -> None:
        if not self.is_attached:
            return
        self.rows = rows
        table = self.query_one("#log", DataTable)
        table.clear()
        for row in rows:
            table.add_row(
                row.started_at.astimezone(LOCAL).strftime("%d/%m %H:%M"),
                row.caller,
                row.survey.replace("_", " "),
                display(row.division),
                (row.outcome or "in progress").replace("_", " "),
                str(row.seconds) if row.seconds is not None else "",
                f"#{row.case_id}",
            )
        if self.sort == "started_at":
            arrow = "newest first" if self.descending else "oldest first"
        else:
            arrow = f"by {self.sort.replace('_', ' ')}, {'Z to A' if self.descending else 'A to Z'}"
        calls = "1 call" if len(rows) == 1 else f"{len(rows)} calls"
        self.query_one("#message", Static).update(
            f"{calls}, {arrow}. f: filters (Enter in a box applies them) · s sort · o reverse ·"
            " Enter on a row: case."
        )

    def action_cycle_sort(self) -> None:
        assert set(SORT_ORDER) == SORTS
        self.sort = SORT_ORDER[(SORT_ORDER.index(self.sort) + 1) % len(SORT_ORDER)]
        self.descending = self.sort in NEWEST_FIRST
        self.load()

    def action_toggle_order(self) -> None:
        self.descending = not self.descending
        self.load()

    def action_open(self) -> None:
        table = self.query_one("#log", DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return
        self.app.push_screen(CaseHistoryScreen(self.rows[table.cursor_row].case_id))


class CaseHistoryScreen(SurveyScreen[None]):
    """A case's attempts, screening decisions, interviews and events, for a supervisor."""

    CSS_PATH = "supervisor.tcss"
    BINDINGS = [*keys.bindings("case_history"), *keys.bindings("reviewing")]

    def __init__(self, case_id: int) -> None:
        super().__init__()
        self.case_id = case_id
        self.history: cases.CaseHistory | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static("Loading…", id="history")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        actor = self.actor
        case_id = self.case_id
        self.db(lambda session: cases.case_history(session, actor, case_id), self._show)

    def _show(self, history: cases.CaseHistory) -> None:
        if not self.is_attached:
            return
        self.history = history
        state = history.state
        text = Text()
        text.append(
            f"Case #{state.case_id} · {state.survey.replace('_', ' ')} · {state.status}", style="bold"
        )
        if state.disposition:
            text.append(f" · {state.disposition}")
        text.append(
            f"\n{display(history.victim_name) or '(personal data deleted)'} · {display(history.crime_ref)}"
            f" · reported {history.report_date:%d/%m/%Y} · {display(history.division)}"
            f" / {display(history.district)}\n"
        )
        if state.allocated_to:
            text.append(f"Held by {state.allocated_to}\n")
        if state.closed_reason:
            text.append(f"Closed: {display(state.closed_reason)}\n")
        text.append("\nScreening\n", style="bold underline")
        for decision in history.screening:
            mark = "excluded" if decision.excluded else "ok"
            text.append(
                f"  {decision.decided_at.astimezone(LOCAL):%d/%m %H:%M} {decision.reason}: {mark}"
                f" ({decision.decided_by}){' - ' + display(decision.note) if decision.note else ''}\n"
            )
        text.append("\nCalls\n", style="bold underline")
        for attempt in history.attempts:
            outcome = attempt.outcome.value.replace("_", " ") if attempt.outcome else "in progress"
            text.append(f"  {attempt.started_at.astimezone(LOCAL):%d/%m %H:%M} {attempt.caller}: {outcome}")
            if attempt.appointment_at:
                text.append(f" (call back {attempt.appointment_at.astimezone(LOCAL):%d/%m %H:%M})")
            if attempt.note:
                text.append(f" - {display(attempt.note)}")
            text.append("\n")
        text.append("\nInterviews (press i to open the latest)\n", style="bold underline")
        for interview in history.interviews:
            text.append(
                f"  #{interview.interview_id} {interview.status}, {interview.answers} answers,"
                f" by {interview.caller or '?'}\n"
            )
        text.append("\nEvents\n", style="bold underline")
        for event in history.events:
            text.append(f"  {event.at.astimezone(LOCAL):%d/%m %H:%M} {event.action} by {event.by}\n")
        self.query_one("#history", Static).update(text)

    def action_interview(self) -> None:
        from app.tui.screens.review import InterviewDetailScreen

        if self.history and self.history.interviews:
            self.app.push_screen(InterviewDetailScreen(self.history.interviews[-1].interview_id))

    # ------------------------------------------------------------ case management (with a reason)

    def _with_reason(self, title: str, act) -> None:  # type: ignore[no-untyped-def]
        from app.tui.screens.dialogs import TextPrompt

        def go(reason: str | None) -> None:
            if not reason:
                return

            def done(state: cases.CaseState) -> None:
                self.notify(f"Case #{state.case_id}: {state.status}.", timeout=4)
                self.load()

            self.db(lambda session: act(session, reason), done)

        self.app.push_screen(TextPrompt(title, required=True), go)

    def action_reassign(self) -> None:
        from app.tui.screens.dialogs import TextPrompt

        actor = self.actor
        case_id = self.case_id

        def to_whom(username: str | None) -> None:
            if username:
                self._with_reason(
                    f"Reason for giving case #{case_id} to {username}",
                    lambda session, reason: cases.reassign(session, actor, case_id, username, reason),
                )

        self.app.push_screen(TextPrompt("Reassign to which caller? (user name)", required=True), to_whom)

    def action_reopen(self) -> None:
        actor = self.actor
        catalogue = self.catalogue
        case_id = self.case_id
        self._with_reason(
            f"Reason for reopening case #{case_id}",
            lambda session, reason: cases.reopen(session, actor, catalogue, case_id, reason),
        )

    def action_close(self) -> None:
        actor = self.actor
        catalogue = self.catalogue
        case_id = self.case_id
        self._with_reason(
            f"Reason for closing case #{case_id}",
            lambda session, reason: cases.close_case(session, actor, catalogue, case_id, reason),
        )
