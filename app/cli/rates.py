"""`survey rates`: AAPOR response, cooperation, refusal and contact rates of one survey."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated

import typer

from app.cli.common import cli, open_runtime_for, out
from app.cli.report import parse_range
from app.errors import SurveyError


class RatesFormat(StrEnum):
    table = "table"
    json = "json"


def _percent(value: float | None) -> str:
    """One decimal, halves rounded up as people do by hand (45/80 = 56.25% shows as 56.3%)."""
    if value is None:
        return "n/a"
    return f"{Decimal(repr(100 * value)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


@cli.command("rates")
def rates_command(
    ctx: typer.Context,
    survey: Annotated[str, typer.Argument(help="Survey id, e.g. domestic_abuse.")],
    start: Annotated[str, typer.Option("--from", help="First report date, YYYY-MM-DD (inclusive).")],
    end: Annotated[str, typer.Option("--to", help="Last report date, YYYY-MM-DD (inclusive).")],
    e: Annotated[
        float | None,
        typer.Option(
            "--e",
            help="Share of the cases of unknown eligibility taken as eligible, 0 to 1. Default: estimated"
            " from the cases of known eligibility, (I+P+R+NC+O)/(I+P+R+NC+O+NE).",
        ),
    ] = None,
    format: Annotated[RatesFormat, typer.Option("--format", "-f")] = RatesFormat.table,
) -> None:
    """Case counts by final AAPOR disposition and the rates RR1-RR6, COOP1-4, REF1-3, CON1-3.

    Cases are those of SURVEY whose crime was reported from --from to --to. Open cases (and cases
    waiting for their fieldwork window) are counted apart and left out of the rates; cases never
    released (out of the field period) are left out.

    --format json prints one object: {"survey", "from", "to", "e" (the e used, or null), "e_source"
    ("given" or "estimated"), "counts" (every final code, e.g. "1.1": n), "categories" ("I", "P", "R",
    "NC", "O", "UH", "UO", "NE": n), "open_cases": n, "rates" ("RR1" ... "CON3": a fraction from 0 to 1,
    or null when its denominator is 0)}. The table shows the rates as percentages.
    """
    from rich.table import Table

    from app.services.rates import rates_report, report_json

    first, last = parse_range(start, end)
    if e is not None and not 0 <= e <= 1:
        raise SurveyError(f"--e must be between 0 and 1, not {e:g}")
    runtime = open_runtime_for(ctx)
    try:
        with runtime.readers() as session:
            report = rates_report(session, runtime.catalogue, survey, first, last, e)
    finally:
        runtime.close()
    data = report_json(report)
    if format is RatesFormat.json:
        print(json.dumps(data, indent=2))
        return
    e_text = "n/a" if report.rates.e is None else f"{report.rates.e:.3f}"
    out.print(
        f"{report.survey}: cases reported {first} to {last}; {report.closed_cases} closed,"
        f" {report.open_cases} still open (not in the rates); e = {e_text} ({data['e_source']})"
    )
    counts = Table(title="Cases by final disposition")
    for column, justify in (
        ("code", "left"),
        ("disposition", "left"),
        ("category", "left"),
        ("cases", "right"),
    ):
        counts.add_column(column, justify=justify)  # type: ignore[arg-type]
    for disposition, n in report.counts:
        counts.add_row(disposition.code, disposition.label, disposition.category.value, str(n))
    out.print(counts)
    rates = Table(title="AAPOR rates")
    rates.add_column("rate")
    rates.add_column("value", justify="right")
    for name, value in data["rates"].items():  # type: ignore[union-attr]
        rates.add_row(name, _percent(value))
    out.print(rates)
