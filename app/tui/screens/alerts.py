"""Safeguarding alerts: open ones first, each closed only once a supervisor records what was done."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from app.clock import LOCAL
from app.domain.text import display
from app.services import interviews
from app.services.interviews import AlertRecord
from app.tui.screens.base import SurveyScreen


class AlertsScreen(SurveyScreen[None]):
    CSS_PATH = "supervisor.tcss"
    BINDINGS = [
        Binding("enter", "resolve", "Record action taken"),
        Binding("h", "toggle_history", "Show closed too"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.show_closed = False
        self.alerts: list[AlertRecord] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            Text("Safeguarding alerts raised during calls. Act at once; then record what was done (Enter)."),
            classes="title",
        )
        yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="message", classes="muted")
        yield Footer()

    @on(DataTable.RowSelected, "#alerts")
    def _row_selected(self) -> None:
        self.action_resolve()

    def on_mount(self) -> None:
        table = self.query_one("#alerts", DataTable)
        table.add_columns("Raised", "By", "Survey", "Case", "Disclosure", "Action taken")
        self.refresh_alerts()
        self.set_interval(5, self.refresh_alerts)

    def refresh_alerts(self) -> None:
        actor = self.actor
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
