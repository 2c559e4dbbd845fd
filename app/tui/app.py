"""The Textual app: one App, app-wide bindings, screens pushed on top."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from app.services.runtime import Runtime
from app.tui.screens.surveys import SurveysScreen


class SurveyApp(App[None]):
    """The Research Bureau's telephone survey app."""

    TITLE = "Survey"
    SUB_TITLE = "Research Bureau"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime

    def on_mount(self) -> None:
        self.push_screen(SurveysScreen(self.runtime))


def make_app(runtime: Runtime) -> SurveyApp:
    """Build the app around its services; tests use the same factory with a seeded database."""
    return SurveyApp(runtime)
