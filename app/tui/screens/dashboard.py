"""The analysts' dashboard: the quarterly table and a trend chart per measure, by Division.

Focus starts on the figures, where the screen's letter keys work; the date boxes are reached with f
(or Tab) and give the keys back on Enter. Letter keys never act while a date box has focus (the box
takes them, and the footer hides them), and no Ctrl key is used that a text box or a browser keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Input, Static
from textual_plotext import PlotextPlot

from app.clock import today
from app.domain.engine import AnswerError, parse_date
from app.domain.narrative import one_decimal
from app.domain.statistics import Direction, financial_quarter
from app.services import report as report_service
from app.services.report import Report
from app.tui import keys
from app.tui.screens.base import SurveyScreen


@dataclass(frozen=True)
class Loaded:
    report: Report
    divisions: list[str]


def default_start() -> date:
    """The first day of the quarter four quarters back: five quarters, as the published papers show."""
    quarter = financial_quarter(today())
    for _ in range(4):
        quarter = quarter.previous()
    return quarter.start


class DashboardScreen(SurveyScreen[None]):
    CSS_PATH = "supervisor.tcss"
    BINDINGS = [*keys.bindings("dashboard"), *keys.bindings("reviewing")]

    def __init__(self) -> None:
        super().__init__()
        self.surveys: list[str] = []
        self.survey_index = 0
        self.division: str | None = None
        self.divisions: list[str] = []
        self.measure_index = 0
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(f"{default_start():%d/%m/%Y}", placeholder="from", id="from")
            yield Input(f"{today():%d/%m/%Y}", placeholder="to", id="to")
        yield Static("", id="heading", classes="title")
        with Vertical(id="dashboard"):
            yield DataTable(id="figures", cursor_type="row", zebra_stripes=True)
            yield PlotextPlot(id="chart")
            yield Static("", id="narrative")
        yield Footer()

    def on_mount(self) -> None:
        self.surveys = [q.id for q in self.catalogue]
        self.query_one("#figures", DataTable).focus()
        self.load()

    @on(Input.Submitted)
    def _reload(self) -> None:
        self.load()
        self.query_one("#figures", DataTable).focus()

    def action_dates(self) -> None:
        self.query_one("#from", Input).focus()

    def load(self) -> None:
        heading = self.query_one("#heading", Static)
        try:
            start = parse_date(self.query_one("#from", Input).value)
            end = parse_date(self.query_one("#to", Input).value)
        except AnswerError as exc:
            heading.update(Text(str(exc)))
            return
        if not self.surveys:
            heading.update("No surveys.")
            return
        actor = self.actor
        catalogue = self.catalogue
        survey = self.surveys[self.survey_index]
        division = self.division

        def build(session):  # type: ignore[no-untyped-def]
            return Loaded(
                report=report_service.build_report(
                    session, actor, catalogue, survey, start, end, division=division
                ),
                divisions=report_service.divisions(session, survey),
            )

        def failed(error: BaseException) -> None:
            heading.update(Text(str(error)))

        self.db(build, self._show, write=False, failed=failed, group="dashboard", exclusive=True)

    def _show(self, loaded: Loaded) -> None:
        if not self.is_attached:
            return
        report = loaded.report
        self.report = report
        self.divisions = loaded.divisions
        where = report.division or "whole force"
        self.query_one("#heading", Static).update(
            Text(
                f"{report.title} · {where} · % positive of all surveys (u/a: no surveys; * fewer than"
                f" {report.small_cell}, no change tested)  s survey · v division · m measure · f dates"
            )
        )
        table = self.query_one("#figures", DataTable)
        table.clear(columns=True)
        table.add_column("Measure")
        for period in report.periods:
            table.add_column(period.period.label)
        table.add_row("Surveys", *[str(p.surveys) for p in report.periods])
        arrows = {Direction.RISE: " ▲", Direction.FALL: " ▼"}
        for info in report.measures:
            cells = []
            for period in report.periods:
                figures = period.measure(info.id)
                if figures.pct is None:
                    cells.append(Text("u/a", style="dim"))
                else:
                    mark = "*" if figures.small_sample else ""
                    arrow = arrows.get(figures.change.direction, "")
                    cells.append(Text(f"{one_decimal(figures.pct):.1f}%{mark}{arrow}"))
            table.add_row(info.label, *cells)
        self._chart()

    def _chart(self) -> None:
        report = self.report
        if report is None or not report.measures:
            return
        info = report.measures[self.measure_index % len(report.measures)]
        plot = self.query_one("#chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        xs, ys, lows, highs = [], [], [], []
        for i, period in enumerate(report.periods, start=1):
            figures = period.measure(info.id)
            if figures.pct is not None and figures.ci95 is not None:
                xs.append(i)
                ys.append(figures.pct)
                lows.append(figures.ci95[0])
                highs.append(figures.ci95[1])
        if xs:
            plt.plot(xs, lows, color="gray", label="95% interval")
            plt.plot(xs, highs, color="gray")
            plt.plot(xs, ys, marker="dot", color="green", label=info.label)
        plt.xticks(list(range(1, len(report.periods) + 1)), [p.period.label for p in report.periods])
        plt.ylim(0, 100)
        plt.title(f"{info.label} (%)")
        plot.refresh()
        self.query_one("#narrative", Static).update(Text(report.narrative(info.id)))

    def action_next_survey(self) -> None:
        self.survey_index = (self.survey_index + 1) % len(self.surveys)
        self.division = None
        self.measure_index = 0
        self.load()

    def action_next_division(self) -> None:
        choices: list[str | None] = [None, *self.divisions]
        self.division = (
            choices[(choices.index(self.division) + 1) % len(choices)] if self.division in choices else None
        )
        self.load()

    def action_next_measure(self) -> None:
        self.measure_index += 1
        self._chart()
