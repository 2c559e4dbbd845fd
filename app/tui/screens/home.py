"""The caller's home: today's counts, appointments, cases waiting, and "next case"."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static

from app.clock import LOCAL
from app.domain.permissions import Permission, can
from app.domain.text import display
from app.services import calls, cases, interviews, pending_exits, workload
from app.services.workload import CallerSummary
from app.tui import keys
from app.tui.memory import settle_memory
from app.tui.screens.base import SurveyScreen


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class HomeScreen(SurveyScreen[None]):
    CSS_PATH = "home.tcss"
    BINDINGS = keys.bindings("home")

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="home"):
            yield Static("", id="alerts-banner", classes="banner-alert")
            yield Static("", id="unavailable", classes="banner-alert")
            yield Static("", id="today", classes="title")
            yield Static("Appointments", id="appointments-heading", classes="heading")
            yield DataTable(id="appointments", cursor_type="row", show_cursor=False)
            yield Static("", id="waiting")
            yield Static("", id="message", classes="muted")
            yield Static("", id="keys", classes="muted")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        user = self.survey_app.user
        if user is None:
            return True
        actor = user.actor()
        if action == "next_case":
            return can(actor, Permission.CALL_CASES)
        if action == "alerts":
            return can(actor, Permission.HANDLE_SAFEGUARDING)
        if action in ("call_log", "callers_work", "interviews", "feedback"):
            return can(actor, Permission.REVIEW_CALLS)
        if action == "dashboard":
            return can(actor, Permission.REPORT)
        if action == "verbatims":
            return can(actor, Permission.REDACT_VERBATIMS)
        return True

    def on_mount(self) -> None:
        self.query_one("#alerts-banner", Static).display = False
        self._show_unavailable()
        shown = [k for k in keys.keys_of("home") if k.works_here() and self.check_action(k.action, ())]
        self.query_one("#keys", Static).update(
            Text("Keys: " + " · ".join(f"{k.display} {k.description.lower()}" for k in shown))
        )
        table = self.query_one("#appointments", DataTable)
        table.add_columns("When", "Survey", "Case")
        if not self.check_action("next_case", ()):  # only callers have appointments
            table.display = False
            self.query_one("#appointments-heading", Static).display = False
        self.action_refresh()
        self.set_interval(20, self.action_refresh)
        self._offer_resume()

    def on_screen_resume(self) -> None:
        self.action_refresh()
        self.call_after_refresh(settle_memory)  # between calls, never during one (app.tui.memory)

    def _show_unavailable(self) -> None:
        """Questionnaire files that did not load, for whoever manages questionnaires to put right."""
        banner = self.query_one("#unavailable", Static)
        problems = self.catalogue.unavailable
        banner.display = bool(problems) and can(self.actor, Permission.MANAGE_QUESTIONNAIRES)
        if banner.display:
            lines = [
                f"Unavailable until put right (survey questionnaire check): {display(str(p))}"
                for p in problems
            ]
            banner.update(Text("\n".join(lines)))

    # ------------------------------------------------------------ data

    def action_refresh(self) -> None:
        actor = self.actor
        if can(actor, Permission.CALL_CASES):
            self.db(
                lambda session: workload.caller_summary(session, actor),
                self._show,
                write=False,
                group="home",
                exclusive=True,
            )
        elif self.survey_app.user is not None:
            user = self.survey_app.user
            self.query_one("#today", Static).update(
                Text(f"Signed in as {user.display_name} ({user.role.value}).")
            )
        if can(actor, Permission.HANDLE_SAFEGUARDING):
            self.db(
                lambda session: interviews.list_alerts(session, actor),
                self._show_alerts,
                write=False,
                group="alerts",
                exclusive=True,
            )

    def _show(self, summary: CallerSummary) -> None:
        if not self.is_attached:
            return
        counts = [
            _count(summary.attempts_today, "call"),
            _count(summary.contacts_today, "contact"),
            f"{summary.completes_today} completed",
            _count(summary.refusals_today, "refusal"),
        ]
        self.query_one("#today", Static).update(Text("Today: " + " · ".join(counts)))
        table = self.query_one("#appointments", DataTable)
        table.clear()
        for appointment in summary.appointments:
            table.add_row(
                appointment.at.astimezone(LOCAL).strftime("%a %d %b %H:%M"),
                appointment.survey.replace("_", " "),
                f"#{appointment.case_id}",
            )
        if not summary.appointments:
            table.add_row("none booked", "", "")
        waiting = ", ".join(
            f"{survey.replace('_', ' ')} {n}" for survey, n in sorted(summary.waiting.items())
        )
        held = (
            f"You hold case #{summary.held_case_id}: press n to carry on with it. "
            if summary.held_case_id
            else ""
        )
        self.query_one("#waiting", Static).update(
            Text(
                held
                + (f"Waiting to be called now: {waiting}." if waiting else "No cases are waiting right now.")
            )
        )

    def _show_alerts(self, alerts: list[interviews.AlertRecord]) -> None:
        if not self.is_attached:
            return
        banner = self.query_one("#alerts-banner", Static)
        banner.display = bool(alerts)
        if alerts:
            plural = "s" if len(alerts) > 1 else ""
            banner.update(Text(f"{len(alerts)} open safeguarding alert{plural}: press a to act now"))

    # ------------------------------------------------------------ actions

    def action_next_case(self) -> None:
        actor = self.actor
        catalogue = self.catalogue
        database = self.survey_app.database
        message = self.query_one("#message", Static)
        message.update("Finding your next case…")

        def allocate(session):  # type: ignore[no-untyped-def]
            # A quick exit kept on this computer is recorded first: its case must not come back.
            pending_exits.record_waiting(session, actor, catalogue, database)
            allocation = cases.next_case(session, actor, catalogue)
            if allocation.case is None:
                return allocation, None
            return allocation, calls.screening_for(session, actor, catalogue, allocation.case.case_id)

        def failed(error: BaseException) -> None:
            message.update(Text(f"No case: {error}."))

        self.db(allocate, self._allocated, failed=failed)

    def _allocated(self, result: tuple[cases.Allocation, calls.ScreeningView | None]) -> None:
        from app.tui.screens.screening import ScreeningScreen

        allocation, view = result
        message = self.query_one("#message", Static)
        if view is None:
            message.update(Text(f"No case to call: {allocation.reason}."))
            return
        message.update("")
        self.app.push_screen(ScreeningScreen(view))

    def _offer_resume(self) -> None:
        actor = self.actor
        if not can(actor, Permission.CALL_CASES):
            return
        catalogue, database = self.catalogue, self.survey_app.database
        if pending_exits.waiting(database, actor):  # recorded first, or its interview would be offered

            def resumable(session):  # type: ignore[no-untyped-def]
                pending_exits.record_waiting(session, actor, catalogue, database)
                return interviews.resumable_interview(session, actor)

            self.db(resumable, self._resume_found, failed=lambda _: None)
            return
        self.db(
            lambda session: interviews.resumable_interview(session, actor), self._resume_found, write=False
        )

    def _resume_found(self, interview_id: int | None) -> None:
        from app.tui.screens.resume import offer_resume

        if interview_id is not None:
            offer_resume(self, interview_id)

    def action_alerts(self) -> None:
        from app.tui.screens.alerts import AlertsScreen

        self.app.push_screen(AlertsScreen())

    def action_call_log(self) -> None:
        from app.tui.screens.call_log import CallLogScreen

        self.app.push_screen(CallLogScreen())

    def action_callers_work(self) -> None:
        from app.tui.screens.review import CallersWorkScreen

        self.app.push_screen(CallersWorkScreen())

    def action_interviews(self) -> None:
        from app.tui.screens.review import InterviewsScreen

        self.app.push_screen(InterviewsScreen())

    def action_feedback(self) -> None:
        from app.tui.screens.review import FeedbackScreen

        self.app.push_screen(FeedbackScreen())

    def action_verbatims(self) -> None:
        from app.tui.screens.verbatims import VerbatimReviewScreen

        self.app.push_screen(VerbatimReviewScreen())

    def action_dashboard(self) -> None:
        from app.tui.screens.dashboard import DashboardScreen

        self.app.push_screen(DashboardScreen())
