"""The surveys this bureau runs, with their versions and sizes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from app.services.runtime import Runtime


class SurveysScreen(Screen[None]):
    CSS_PATH = "surveys.tcss"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Database: {self.runtime.display_url}", id="database")
        yield DataTable(id="surveys", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#surveys", DataTable)
        table.add_columns("Survey", "Title", "Version", "Questions")
        for questionnaire in self.runtime.catalogue:
            table.add_row(
                questionnaire.id,
                questionnaire.title,
                str(questionnaire.version),
                str(len(questionnaire.questions())),
                key=questionnaire.id,
            )
        table.focus()
