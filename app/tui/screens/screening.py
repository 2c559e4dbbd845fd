"""Screening before dialling: the automatic decisions with their reasons, the caller's checks."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Footer, Header, Static

from app.domain.text import display
from app.services import calls, cases
from app.services.calls import ScreeningView
from app.tui import keys
from app.tui.screens.base import CallScreen
from app.tui.widgets.quick_exit import QuickExitBar

REASON_LABELS = {
    "opted_out": "unwilling to be surveyed",
    "under_16": "under 16",
    "vulnerable": "vulnerable",
    "nfa_requested": "asked for no further police action",
    "not_cooperating": "not co-operating with the investigation",
}


class ScreeningScreen(CallScreen):
    """One check at a time: y or n answers it; Enter goes on to dialling once all are answered."""

    CSS_PATH = "screening.tcss"
    BINDINGS = keys.bindings("screening")

    current: reactive[int] = reactive(0)

    def __init__(self, view: ScreeningView) -> None:
        super().__init__()
        self.view = view
        self.answers: dict[str, bool] = {}
        self.busy = False

    def call_ids(self) -> tuple[int | None, int | None]:
        """(attempt, interview) of the call in progress, for the quick exit."""
        return self.view.open_attempt_id, None

    def compose(self) -> ComposeResult:
        view = self.view
        yield Header()
        with VerticalScroll(id="screening"):
            yield Static(
                Text.assemble(
                    (f"Case #{view.case_id} · {view.survey_title}", "bold"),
                    f"\nAttempt {view.attempt_count + 1} of {view.max_attempts}",
                    f" · {view.disposition}" if view.disposition else "",
                ),
                id="case-title",
            )
            risk = f"   Risk: {view.risk_level.upper()}" if view.risk_level else ""
            yield Static(
                Text(
                    f"Victim: {display(view.victim_name)}   Crime ref: {display(view.crime_ref)}\n"
                    f"Reported {view.report_date:%d/%m/%Y}   {display(view.division)}"
                    f" / {display(view.district)}{risk}"
                ),
                id="case-details",
            )
            yield Static("Automatic checks", classes="heading")
            yield Static(self._decisions(), id="decisions")
            if view.checks:
                yield Static("Confirm from the case notes before dialling (y / n)", classes="heading")
            yield Vertical(id="checks")
            yield Static("", id="message", classes="error")
        yield QuickExitBar()
        yield Footer()

    def _decisions(self) -> Text:
        text = Text()
        for decision in self.view.decisions:
            mark, style = ("✗ EXCLUDED ", "bold red") if decision.excluded else ("✓ ", "green")
            text.append(mark, style=style)
            text.append(decision.explanation + "\n")
        if not self.view.decisions:
            text.append("None apply to this survey.\n", style="dim")
        return text

    def on_mount(self) -> None:
        self._render_checks()
        if self.view.excluded_reason:
            reason = REASON_LABELS.get(self.view.excluded_reason, self.view.excluded_reason)
            self.query_one("#message", Static).update(
                Text(f"Not eligible today ({reason}). Press Enter to close the case with this reason.")
            )

    def _render_checks(self) -> None:
        area = self.query_one("#checks", Vertical)
        area.remove_children()
        for i, check in enumerate(self.view.checks):
            answer = self.answers.get(check.reason.value)
            shown = "   " if answer is None else (" Y " if answer else " N ")
            pointer = "▶" if i == self.current else " "
            style = "bold" if i == self.current else ""
            area.mount(
                Static(
                    Text.assemble(f"{pointer} {i + 1}. [", (shown, "reverse"), "] ", (check.question, style))
                )
            )

    def watch_current(self) -> None:
        if self.is_mounted:
            self._render_checks()

    def action_move(self, step: int) -> None:
        if self.view.checks:
            self.current = max(0, min(len(self.view.checks) - 1, self.current + step))

    def action_answer(self, yes: bool) -> None:
        if not self.view.checks:
            return
        check = self.view.checks[self.current]
        self.answers[check.reason.value] = yes
        if self.current < len(self.view.checks) - 1:
            self.current += 1
        else:
            self._render_checks()
        if len(self.answers) == len(self.view.checks):
            self.query_one("#message", Static).update("All checked: press Enter to continue.")

    def _confirm_exclusion(self, reason: str) -> None:
        from app.tui.screens.dialogs import Confirm

        label = REASON_LABELS.get(reason, reason)

        def chosen(yes: bool | None) -> None:
            if yes:
                self.action_proceed(confirmed=True)

        self.app.push_screen(
            Confirm(
                f"This closes case #{self.view.case_id} as not eligible ({label}). Close it?",
                yes="Close the case",
                no="Go back",
            ),
            chosen,
        )

    def action_proceed(self, confirmed: bool = False) -> None:
        if self.busy:
            return
        unanswered = [c for c in self.view.checks if c.reason.value not in self.answers]
        if unanswered and not self.view.excluded_reason:
            self.query_one("#message", Static).update(
                Text(f"Answer every check first ({len(unanswered)} left).")
            )
            return
        excluding = self.view.excluded_reason or next(
            (c.reason.value for c in self.view.checks if c.excludes(self.answers[c.reason.value])), None
        )
        if excluding is not None and not confirmed:
            self._confirm_exclusion(excluding)
            return
        self.busy = True
        actor = self.actor
        catalogue = self.catalogue
        answers = dict(self.answers)
        if self.view.excluded_reason:
            answers = {c.reason.value: answers.get(c.reason.value, False) for c in self.view.checks}
        case_id = self.view.case_id
        self.db(
            lambda session: calls.record_screening(session, actor, catalogue, case_id, answers),
            self._screened,
            failed=self._failed,
        )

    def _screened(self, excluded: str | None) -> None:
        from app.tui.screens.dial import DialScreen

        if excluded is not None:
            reason = REASON_LABELS.get(excluded, excluded)
            self.app.pop_screen()
            self.app.notify(f"Case #{self.view.case_id} closed: not eligible ({reason}).", timeout=6)
            return
        self.app.switch_screen(DialScreen(self.view))

    def _failed(self, error: BaseException) -> None:
        self.busy = False
        self.query_one("#message", Static).update(Text(str(error)))

    def action_give_back(self) -> None:
        actor = self.actor
        case_id = self.view.case_id

        def given_back(_: object) -> None:
            self.app.pop_screen()
            self.app.notify(f"Case #{case_id} returned to the queue.", timeout=4)

        self.db(lambda session: cases.return_case(session, actor, case_id), given_back)
