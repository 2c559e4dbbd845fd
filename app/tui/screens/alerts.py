"""Safeguarding alerts and held cases: what a supervisor must act on after a call.

Alerts: open ones first, each closed only once a supervisor records what was done; the highlighted
alert's whole disclosure and the case's contact details are shown beneath (that view is audited).
Held cases: a quick exit in the middle of an interview holds the case; the supervisor retries it from
a date (t) or closes it (c) as a partial or a break-off, whichever its answers reached.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from app.clock import LOCAL
from app.domain.text import display
from app.services import cases, interviews
from app.services.cases import HeldCase
from app.services.interviews import AlertRecord, CaseContact
from app.tui.screens.base import SurveyScreen


class AlertsScreen(SurveyScreen[None]):
    CSS_PATH = "supervisor.tcss"
    BINDINGS = [
        Binding("enter", "resolve", "Record action taken"),
        Binding("h", "toggle_history", "Show closed too"),
        Binding("t", "retry_held", "Retry held case"),
        Binding("c", "close_held", "Close held case"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.show_closed = False
        self.alerts: list[AlertRecord] = []
        self.held: list[HeldCase] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            Text("Safeguarding alerts raised during calls. Act at once; then record what was done (Enter)."),
            classes="title",
        )
        yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Static("", id="message", classes="muted")
        yield Static(
            Text("Held (quick exit mid-call, or call left unfinished): retry from a date (t) or close (c)."),
            classes="title",
        )
        yield DataTable(id="held", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @on(DataTable.RowSelected, "#alerts")
    def _row_selected(self) -> None:
        self.action_resolve()

    def on_mount(self) -> None:
        table = self.query_one("#alerts", DataTable)
        table.add_columns("Raised", "By", "Survey", "Case", "Disclosure", "Action taken")
        self.query_one("#held", DataTable).add_columns(
            *("Held since", "Why", "Caller", "Survey", "Case", "Victim", "Telephone", "Answers"),
            "Closing would be",
        )
        self.refresh_alerts()
        self.set_interval(5, self.refresh_alerts)

    @on(DataTable.RowHighlighted, "#alerts")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= len(self.alerts):
            return
        alert = self.alerts[event.cursor_row]
        detail = self.query_one("#detail", Static)
        detail.update(Text.assemble(("Disclosure: ", "bold"), display(alert.note, multiline=True)))
        if alert.case_id is None:
            return
        actor = self.actor
        case_id = alert.case_id

        def show(contact: CaseContact) -> None:
            if (
                self.is_attached
                and self.alerts
                and self.alerts[self.query_one("#alerts", DataTable).cursor_row] is alert
            ):
                numbers = " · ".join(n for n in (contact.phone, contact.alt_phone) if n) or "no number"
                detail.update(
                    Text.assemble(
                        ("Disclosure: ", "bold"),
                        display(alert.note, multiline=True),
                        ("\nCase: ", "bold"),
                        f"#{contact.case_id} {display(contact.victim_name)} · {display(numbers)}",
                        f" · {contact.division} / {contact.district}",
                    )
                )

        self.db(lambda session: interviews.case_contact(session, actor, case_id), show, group="alert-detail")

    def refresh_alerts(self) -> None:
        actor = self.actor
        catalogue = self.catalogue
        self.db(
            lambda session: cases.list_held(session, actor, catalogue),
            self._show_held,
            write=False,
            group="held-screen",
            exclusive=True,
        )
        open_only = not self.show_closed
        self.db(
            lambda session: interviews.list_alerts(session, actor, open_only=open_only),
            self._show,
            write=False,
            group="alerts-screen",
            exclusive=True,
        )

    def _show(self, alerts: list[AlertRecord]) -> None:
        if not self.is_attached:
            return
        self.alerts = sorted(alerts, key=lambda a: (a.resolved_at is not None, a.raised_at), reverse=False)
        self.alerts.sort(key=lambda a: a.resolved_at is not None)
        table = self.query_one("#alerts", DataTable)
        row = table.cursor_row
        table.clear()
        for alert in self.alerts:
            style = "bold red" if alert.resolved_at is None else "dim"
            table.add_row(
                Text(alert.raised_at.astimezone(LOCAL).strftime("%d/%m %H:%M"), style=style),
                alert.raised_by,
                (alert.survey or "").replace("_", " "),
                f"#{alert.case_id}" if alert.case_id else "",
                Text(display(alert.note), style=style),
                display(alert.action_taken) or "OPEN",
                key=str(alert.id),
            )
        if self.alerts:
            table.move_cursor(row=min(row, len(self.alerts) - 1))
        open_count = sum(1 for a in self.alerts if a.resolved_at is None)
        self.query_one("#message", Static).update(
            f"{open_count} open alert{'s' if open_count != 1 else ''}." if open_count else "No open alerts."
        )

    def _show_held(self, held: list[HeldCase]) -> None:
        if not self.is_attached:
            return
        self.held = held
        table = self.query_one("#held", DataTable)
        row = table.cursor_row
        table.clear()
        for case in held:
            table.add_row(
                case.held_at.astimezone(LOCAL).strftime("%d/%m %H:%M"),
                case.why,
                display(case.caller),
                case.survey.replace("_", " "),
                f"#{case.case_id}",
                Text(display(case.victim_name)),
                display(case.phone or ""),
                str(case.answers),
                "partial (1.2)" if case.partial else "break-off (2.12)",
                key=str(case.case_id),
            )
        if held:
            table.move_cursor(row=min(row, len(held) - 1))

    def _held_case(self) -> HeldCase | None:
        table = self.query_one("#held", DataTable)
        if not self.held or table.cursor_row >= len(self.held):
            self.notify("No held case is selected.", timeout=3)
            return None
        return self.held[table.cursor_row]

    def action_retry_held(self) -> None:
        from app.tui.screens.dialogs import AppointmentDialog, TextPrompt

        held = self._held_case()
        if held is None:
            return
        actor = self.actor

        def when(at: object) -> None:
            if at is None:
                return

            def why(reason: str | None) -> None:
                if not reason:
                    return
                self.db(
                    lambda session: cases.retry_held(session, actor, held.case_id, at, reason),  # type: ignore[arg-type]
                    lambda _: (
                        self.notify(f"Case #{held.case_id} will be called again.", timeout=4),
                        self.refresh_alerts(),
                    ),
                )

            self.app.push_screen(TextPrompt("Why is it safe to try again? (recorded)", required=True), why)

        self.app.push_screen(AppointmentDialog(title="Try case again from (DD/MM/YYYY)"), when)

    def action_close_held(self) -> None:
        from app.tui.screens.dialogs import TextPrompt

        held = self._held_case()
        if held is None:
            return
        actor = self.actor
        catalogue = self.catalogue
        outcome = "a partial (1.2)" if held.partial else "a break-off (2.12)"

        def why(reason: str | None) -> None:
            if not reason:
                return
            self.db(
                lambda session: cases.close_held(session, actor, catalogue, held.case_id, reason),
                lambda _: (
                    self.notify(f"Case #{held.case_id} closed as {outcome}.", timeout=4),
                    self.refresh_alerts(),
                ),
            )

        self.app.push_screen(
            TextPrompt(f"Close case #{held.case_id} as {outcome}: why? (recorded)", required=True), why
        )

    def action_toggle_history(self) -> None:
        self.show_closed = not self.show_closed
        self.refresh_alerts()

    def action_resolve(self) -> None:
        from app.tui.screens.dialogs import TextPrompt

        table = self.query_one("#alerts", DataTable)
        if not self.alerts or table.cursor_row >= len(self.alerts):
            return
        alert = self.alerts[table.cursor_row]
        if alert.resolved_at is not None:
            self.notify("That alert is already closed.", timeout=3)
            return
        actor = self.actor

        def record(text: str | None) -> None:
            if not text:
                return
            self.db(
                lambda session: interviews.resolve_alert(session, actor, alert.id, text),
                lambda _: (
                    self.notify("Alert closed with the action recorded.", timeout=4),
                    self.refresh_alerts(),
                ),
            )

        self.app.push_screen(
            TextPrompt("What was done? (e.g. 999 called, officer attended)", required=True), record
        )
