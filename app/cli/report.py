"""`survey report SURVEY --from --to`: the quarterly satisfaction figures."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.cli.common import actor, cli, open_runtime_for, out
from app.domain.narrative import one_decimal
from app.errors import SurveyError

if TYPE_CHECKING:
    from app.services.report import MeasureFigures, Report


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    html = "html"


class By(StrEnum):
    quarter = "quarter"
    month = "month"
    period = "period"


def parse_day(text: str, option: str) -> date:
    """A YYYY-MM-DD date from an option, or one clear line saying what is wrong."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SurveyError(f"{option} '{text}' is not a date; use YYYY-MM-DD, e.g. 2020-07-01") from None


def parse_range(start: str, end: str) -> tuple[date, date]:
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if last < first:
        raise SurveyError(f"--to {last.isoformat()} is before --from {first.isoformat()}")
    return first, last


SurveyArgument = Annotated[str, typer.Argument(help="Survey id, e.g. domestic_abuse.")]
FromOption = Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (local date).")]
ToOption = Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive).")]


@cli.command("report")
def report_command(
    ctx: typer.Context,
    survey: SurveyArgument,
    start: FromOption,
    end: ToOption,
    by: Annotated[By, typer.Option("--by", help="quarter (financial), month, or one period.")] = By.quarter,
    division: Annotated[str | None, typer.Option("--division", help="One Division; default: force.")] = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
    small_cell: Annotated[
        int, typer.Option("--small-cell", min=1, help="Fewer surveys than this: too small to publish.")
    ] = 10,
) -> None:
    """Satisfaction per period and measure, with 95% intervals, changes and narratives.

    --format json is the stable contract for programs: see docs or issue 5.
    """
    from app.services.report import build_report

    first, last = parse_range(start, end)
    runtime = open_runtime_for(ctx)
    try:
        runtime.catalogue.get(survey)
        with runtime.readers() as session:
            report = build_report(
                session,
                actor(ctx),
                runtime.catalogue,
                survey,
                first,
                last,
                by=by.value,
                division=division,
                small_cell=small_cell,
            )
    finally:
        runtime.close()
    text = render(report, format)
    if output is None:
        if format is ReportFormat.table:
            print_table(report, out)
        else:
            print(text, end="")
        return
    output.write_text(text, encoding="utf-8")
    print(f"wrote {format.value} report to {output}")


def render(report: Report, fmt: ReportFormat) -> str:
    from app.services.report import CSV_COLUMNS, report_json, report_rows
    from app.services.report_html import render_html

    if fmt is ReportFormat.json:
        return json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n"
    if fmt is ReportFormat.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(report_rows(report))
        return buffer.getvalue()
    if fmt is ReportFormat.html:
        return render_html(report)
    console = Console(file=io.StringIO(), width=200, highlight=False, soft_wrap=True)
    print_table(report, console)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


# ------------------------------------------------------------------ the table for people


def _pct(value: float | None, small: bool = False) -> str:
    if value is None:
        return "u/a"
    return f"{one_decimal(value):.1f}%" + ("*" if small else "")


def _interval(figures: MeasureFigures) -> str:
    if figures.ci95 is None:
        return "u/a"
    low, high = (one_decimal(bound) for bound in figures.ci95)
    return f"{low:.1f}–{high:.1f}"


CHANGE_WORDS = {"rise": "▲ rise", "fall": "▼ fall", "in_line": "in line", "unavailable": "–"}


def print_table(report: Report, console: Console) -> None:
    """Periods as columns, as the published papers lay them out; then the narratives."""
    where = f"Division {report.division}" if report.division else "force-wide"
    table = Table(title=f"{report.title} ({where})", title_justify="left")
    table.add_column("")
    for figures in report.periods:
        table.add_column(figures.period.label, justify="right")
    table.add_row("Surveys", *(f"{p.surveys}{'*' if p.small_sample else ''}" for p in report.periods))
    for info in report.measures:
        cells = [p.measure(info.id) for p in report.periods]
        table.add_section()
        table.add_row(info.label, *(_pct(m.pct, m.small_sample) for m in cells), style="bold")
        table.add_row("  95% interval", *(_interval(m) for m in cells))
        table.add_row("  excl. neutral", *(_pct(m.pct_excl_neutral) for m in cells))
        table.add_row("  not recorded", *(str(m.not_recorded) for m in cells))
        table.add_row("  change", *(CHANGE_WORDS[m.change.direction.value] for m in cells))
    console.print(table)
    console.print(
        f"u/a: no surveys. * fewer than {report.small_cell} surveys: too small to publish. Percentages are"
        " of all surveys; a change is a rise or fall only when significant at 95%."
    )
    for info in report.measures:
        console.print()
        console.print(report.narrative(info.id))
