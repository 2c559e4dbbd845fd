"""`survey report SURVEY --from --to`: the quarterly satisfaction figures."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import actor, cli, open_runtime_for, out
from app.errors import SurveyError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from app.services.report import MeasureFigures, Report

#: Dates outside these years are typing mistakes, not survey dates.
FIRST_YEAR, LAST_YEAR = 1900, 2100
#: A table written to a file (-o) is laid out for this width; a terminal's or a pipe's own width
#: (COLUMNS, else 80) otherwise. Either way nothing is ever cut: a table too wide turns periods into rows.
FILE_WIDTH = 120


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    html = "html"


class By(StrEnum):
    quarter = "quarter"
    month = "month"
    period = "period"
    rolling12 = "rolling12"


def parse_day(text: str, option: str) -> date:
    """A YYYY-MM-DD date from an option, or one clear line saying what is wrong."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise SurveyError(f"{option} '{text}' is not a date; use YYYY-MM-DD, e.g. 2020-07-01") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise SurveyError(f"{option} '{text}': the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return day


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
    by: Annotated[
        By,
        typer.Option(
            "--by", help="quarter (financial), month, one period, or rolling12 (the 12 months to each month)."
        ),
    ] = By.quarter,
    by_field: Annotated[
        str | None,
        typer.Option(
            "--by-field",
            help="Break the whole range down by a field instead of by period: division, district,"
            " risk_level or a single-coded question (e.g. contact_method); each group is tested"
            " against the rest.",
        ),
    ] = None,
    division: Annotated[str | None, typer.Option("--division", help="One Division; default: force.")] = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
    small_cell: Annotated[
        int,
        typer.Option(
            "--small-cell",
            min=1,
            help="Fewer surveys than this: too small to publish, and no change is tested.",
        ),
    ] = 10,
) -> None:
    """Satisfaction per period and measure, with 95% intervals, changes and narratives.

    --format json is the stable contract for programs: {"survey", "title", "division", "by", "by_field",
    "from", "to", "small_cell", "periods": [{"label", "start", "end", "partial", "to_date", "surveys",
    "small_sample", "against", "measures": {ID: {"positive", "neutral", "negative",
    "dont_know_refused", "not_recorded", "pct", "pct_excl_neutral", "ci95", "ci95_excl_neutral",
    "change", "change_excl_neutral", "small_sample"}}}], "previous_period", "narratives", "warnings"};
    a change is {"direction" (rise, fall, in_line, too_few, unavailable), "against", "previous_pct",
    "points", "ci95"}. Percentages have one decimal; null where unavailable.
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
                by_field=by_field,
            )
    finally:
        runtime.close()
    for warning in report.warnings:
        print(f"survey: warning: {warning}", file=sys.stderr)
    if output is None:
        if format is ReportFormat.table:
            print_table(report, out)
        else:
            print(render(report, format), end="")
        return
    output.write_text(render(report, format), encoding="utf-8")
    print(f"wrote {format.value} report to {output}")


def render(report: Report, fmt: ReportFormat) -> str:
    from rich.console import Console

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
    console = Console(file=io.StringIO(), width=FILE_WIDTH, highlight=False, soft_wrap=True)
    print_table(report, console)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


# ------------------------------------------------------------------ the table for people


def _pct(value: float | None, small: bool = False) -> str:
    from app.domain.narrative import one_decimal

    if value is None:
        return "u/a"
    return f"{one_decimal(value):.1f}%" + ("*" if small else "")


def _interval(interval: tuple[float, float] | None) -> str:
    from app.domain.narrative import one_decimal

    if interval is None:
        return "u/a"
    low, high = (one_decimal(bound) for bound in interval)
    return f"{low:.1f}–{high:.1f}"


CHANGE_WORDS = {
    "rise": "▲ rise",
    "fall": "▼ fall",
    "in_line": "in line",
    "too_few": "too few",
    "unavailable": "–",
}
GROUP_WORDS = {**CHANGE_WORDS, "rise": "▲ above", "fall": "▼ below"}


def change_words(report: Report, figures: MeasureFigures, excluding_neutral: bool = False) -> str:
    change = figures.change_excl_neutral if excluding_neutral else figures.change
    words = GROUP_WORDS if report.by_field else CHANGE_WORDS
    return words[change.direction.value]


def _wide_table(report: Report) -> Table:
    """Periods as columns, as the published papers lay them out."""
    from rich.table import Table

    where = f"Division {report.division}" if report.division else "force-wide"
    table = Table(title=f"{report.title} ({where})", title_justify="left")
    table.add_column("", no_wrap=True)
    for figures in report.periods:
        table.add_column(figures.period.label, justify="right", no_wrap=True)
    table.add_row("Surveys", *(f"{p.surveys}{'*' if p.small_sample else ''}" for p in report.periods))
    change = "  vs rest" if report.by_field else "  change"
    for info in report.measures:
        cells = [p.measure(info.id) for p in report.periods]
        table.add_section()
        table.add_row(info.label, *(_pct(m.pct, m.small_sample) for m in cells), style="bold")
        table.add_row("  95% interval", *(_interval(m.ci95) for m in cells))
        table.add_row(change, *(change_words(report, m) for m in cells))
        table.add_row("  excl. neutral", *(_pct(m.pct_excl_neutral, m.small_sample) for m in cells))
        table.add_row("  95% interval", *(_interval(m.ci95_excl_neutral) for m in cells))
        table.add_row(change, *(change_words(report, m, True) for m in cells))
        table.add_row("  not recorded", *(str(m.not_recorded) for m in cells))
    return table


def _long_tables(report: Report, *, split: bool = False) -> list[Table]:
    """Periods as rows, one table per measure: for many periods or a narrow screen.

    `split` gives each measure two tables (all surveys, then excluding neutral answers), for a screen
    too narrow even for one.
    """
    from rich import box
    from rich.table import Table

    first = report.by_field.replace("_", " ").capitalize() if report.by_field else "Period"
    change = "vs rest" if report.by_field else "change"
    every = ("%\n(95% interval)", "excl. neutral\n(95% interval)")
    parts = [every[:1], every[1:]] if split else [every]
    tables = []
    for info in report.measures:
        for part, shown in enumerate(parts):
            title = info.label if part == 0 else f"{info.label}, excluding neutral answers"
            table = Table(
                title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0)
            )
            columns = [(first, "left"), ("Surveys", "right")]
            for heading in shown:
                columns += [(heading, "right"), (change, "left")]
            if part == 0:
                columns.append(("not\nrec.", "right"))
            for name, justify in columns:
                table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
            for figures in report.periods:
                m = figures.measure(info.id)
                cells = [figures.period.label, f"{figures.surveys}{'*' if figures.small_sample else ''}"]
                if every[0] in shown:
                    cells += [f"{_pct(m.pct, m.small_sample)} ({_interval(m.ci95)})", change_words(report, m)]
                if every[1] in shown:
                    cells += [
                        f"{_pct(m.pct_excl_neutral, m.small_sample)} ({_interval(m.ci95_excl_neutral)})",
                        change_words(report, m, True),
                    ]
                if part == 0:
                    cells.append(str(m.not_recorded))
                table.add_row(*cells)
            tables.append(table)
    return tables


def _natural_width(console: Console, table: Table) -> int:
    """The width a table takes when nothing limits it (rich's own measure stops at the console's)."""
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update_width(100_000), table).maximum


def print_table(report: Report, console: Console) -> None:
    """The figures as wide as the console allows, never cut; then the notes and the narratives.

    Periods are columns when that fits the console's width; otherwise each measure gets a table with
    periods as rows. Should even that be wider than the console, it is printed at its own width (a
    terminal wraps the line) rather than squeezed: a figure is never shortened to "10…".
    """
    width = console.width
    wide = _wide_table(report)
    tables = [wide] if _natural_width(console, wide) <= width else _long_tables(report)
    if len(tables) > 1 and max(_natural_width(console, table) for table in tables) > width:
        tables = _long_tables(report, split=True)
    if len(tables) > 1:
        where = f"Division {report.division}" if report.division else "force-wide"
        console.print(f"{report.title} ({where})", style="bold")
    for table in tables:
        needed = _natural_width(console, table)
        console.width = max(width, needed)
        try:
            console.print(table)
        finally:
            console.width = width
    from app.services.report import comparison_note

    what = "the Division's" if report.division else "all"
    console.print(
        f"u/a: no surveys. * fewer than {report.small_cell} surveys: too small to publish, and no change is"
        f" tested ('too few'). Percentages are of {what} surveys in the period; 'excl. neutral' leaves the"
        " neutral answers out. A change is a rise or fall only when significant at 95%."
        f" {comparison_note(report)}",
        soft_wrap=False,  # prose wraps between words at the console's width
    )
    for info in report.measures:
        console.print()
        console.print(report.narrative(info.id), soft_wrap=False)
