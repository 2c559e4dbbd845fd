"""AAPOR outcome rates of one survey's cases: counts by final disposition (in SQL), then the formulas.

Which cases: those of the survey whose crime was reported (cases.report_date) between `start` and `end`
inclusive. The report date is the one date every case has from the sample, never changes, and decides
the fieldwork window, so a period's figures do not move when calls are made or cases imported late.
Closed cases count under their final disposition; cases still open or waiting for their window are
counted apart (`open_cases`) and stay out of the rates; cases closed without ever being released (out
of the field period, no disposition) are left out altogether.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.dispositions import (
    COUNTS_FIELD,
    FINAL_DISPOSITIONS,
    Counts,
    Disposition,
    Rates,
    disposition_for_code,
    rates,
)
from app.errors import SurveyError
from app.services.catalogue import Catalogue
from app.store.models import Case

#: Rate names as printed, and the Rates attribute holding each.
RATE_NAMES: tuple[tuple[str, str], ...] = tuple(
    (name.upper(), name) for name in (f.name for f in fields(Rates)) if name != "e"
)


class RatesError(SurveyError):
    """The report cannot be made as asked (unknown survey, dates the wrong way round, bad e...)."""


@dataclass(frozen=True)
class RatesReport:
    survey: str
    start: date
    end: date
    e_given: float | None  # None: e was estimated from the cases of known eligibility
    counts: tuple[tuple[Disposition, int], ...]  # every final disposition, in code order, zeros included
    categories: Counts
    open_cases: int  # open or pending: no final code yet, not in the rates
    rates: Rates

    @property
    def closed_cases(self) -> int:
        return self.categories.total


def rates_report(
    session: Session, catalogue: Catalogue, survey: str, start: date, end: date, e: float | None = None
) -> RatesReport:
    """Counts by final disposition and every AAPOR rate for the cases reported from `start` to `end`."""
    survey = catalogue.get(survey).id
    if start > end:
        raise RatesError(f"the period starts ({start}) after it ends ({end})")
    if e is not None and not 0 <= e <= 1:
        raise RatesError(f"e must be between 0 and 1, not {e}")
    in_period = (Case.survey == survey, Case.report_date >= start, Case.report_date <= end)
    grouped = session.execute(
        select(Case.final_disposition, func.count())
        .where(*in_period, Case.final_disposition.is_not(None))
        .group_by(Case.final_disposition)
    ).all()
    by_code: dict[str, int] = {}
    for code, count in grouped:
        try:
            disposition_for_code(code)
        except KeyError:
            raise RatesError(f"cases of {survey} have an unknown final disposition '{code}'") from None
        by_code[code] = int(count)
    open_cases = session.scalar(
        select(func.count())
        .select_from(Case)
        .where(*in_period, Case.final_disposition.is_(None), Case.status != "closed")
    )
    tally = dict.fromkeys(COUNTS_FIELD.values(), 0)
    for disposition in FINAL_DISPOSITIONS:
        tally[COUNTS_FIELD[disposition.category]] += by_code.get(disposition.code, 0)
    counts = Counts(**tally)
    return RatesReport(
        survey=survey,
        start=start,
        end=end,
        e_given=e,
        counts=tuple((d, by_code.get(d.code, 0)) for d in sorted(FINAL_DISPOSITIONS, key=_code_order)),
        categories=counts,
        open_cases=int(open_cases or 0),
        rates=rates(counts, e),
    )


def _code_order(disposition: Disposition) -> tuple[int, ...]:
    return tuple(int(part) for part in disposition.code.split("."))


def report_json(report: RatesReport) -> dict[str, object]:
    """The documented JSON shape of `survey rates --format json` (rates as fractions 0..1 or null)."""
    return {
        "survey": report.survey,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "e": report.rates.e,
        "e_source": "given" if report.e_given is not None else "estimated",
        "counts": {d.code: n for d, n in report.counts},
        "categories": {
            category.value: getattr(report.categories, name) for category, name in COUNTS_FIELD.items()
        },
        "open_cases": report.open_cases,
        "rates": {label: getattr(report.rates, attribute) for label, attribute in RATE_NAMES},
    }
