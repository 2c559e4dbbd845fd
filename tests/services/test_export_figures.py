"""The exports reproduce the published figures: the derived measure variables, read back from the .sav
(pyreadstat, user-missing values as SPSS treats them) and the .xlsx (openpyxl), give the report's
percentages for every measure and period of a generated data set."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyreadstat
import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from app.domain.narrative import one_decimal
from app.domain.permissions import Actor
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue, register
from app.services.export import NEUTRAL_LEFT_OUT, export_interviews
from app.services.report import Report, build_report
from tests.services.generated import generate

SYSTEM = Actor.system()
SURVEY = "domestic_abuse"
START, END = date(2024, 4, 1), date(2026, 3, 31)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(bundled_dir())


@pytest.fixture
def generated(session_factory: sessionmaker[Session], catalogue: Catalogue) -> sessionmaker[Session]:
    with session_factory.begin() as session:
        register(session, catalogue)
        assert generate(session, catalogue, SURVEY, START, END, per_month=5) > 80
    return session_factory


def valid_percent(values: list[Any], missing: set[float]) -> float | None:
    """SPSS FREQUENCIES' Valid Percent of 1: the share of 1 among the values that are not missing."""
    valid = [v for v in values if v is not None and v == v and v not in missing]
    return None if not valid else 100 * sum(1 for v in valid if v == 1) / len(valid)


def check(report: Report, rows: list[dict[str, Any]], missing: set[float]) -> int:
    checked = 0
    for period in report.periods:
        inside = [r for r in rows if period.period.start <= r["completed_at"].date() <= period.period.end]
        assert len(inside) == period.surveys
        for figures in period.measures:
            m = figures.measure_id
            positive = valid_percent([r[f"{m}_positive"] for r in inside], missing)
            excluding = valid_percent([r[f"{m}_excl_neutral"] for r in inside], missing)
            assert (one_decimal(positive), one_decimal(excluding)) == (
                one_decimal(figures.pct),
                one_decimal(figures.pct_excl_neutral),
            ), (period.period.label, m)
            checked += 1
    return checked


def test_sav_and_xlsx_reproduce_every_figure(
    generated: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    with generated.begin() as session:
        for suffix in ("sav", "xlsx"):
            export_interviews(
                session, SYSTEM, catalogue, SURVEY, START, END, suffix, tmp_path / f"da.{suffix}"
            )
        quarters = build_report(session, SYSTEM, catalogue, SURVEY, START, END)
        months = build_report(session, SYSTEM, catalogue, SURVEY, START, END, by="month")
    # The data set has what makes the published figure differ from a naive one.
    totals = [(m.neutral, m.dont_know_refused, m.not_recorded) for p in quarters.periods for m in p.measures]
    assert all(sum(column) > 0 for column in zip(*totals, strict=True))

    # .sav: user-missing values (995 neutral left out) come back as NaN, as SPSS leaves them out.
    _, meta = pyreadstat.read_sav(str(tmp_path / "da.sav"), user_missing=True, metadataonly=True)
    assert meta.missing_ranges["overall_excl_neutral"] == [{"lo": 995.0, "hi": 995.0}]
    assert "overall_positive" not in meta.missing_ranges  # every survey is in the published base
    frame, _ = pyreadstat.read_sav(str(tmp_path / "da.sav"))
    sav_rows = frame.to_dict("records")
    assert check(quarters, sav_rows, set()) == 8 * 5
    assert check(months, sav_rows, set()) == 24 * 5

    # .xlsx: the codes as numbers; 995 is the missing one, as the codebook sheet says.
    sheet = list(load_workbook(tmp_path / "da.xlsx", read_only=True)["data"].values)
    xlsx_rows = [dict(zip(sheet[0], row, strict=True)) for row in sheet[1:]]
    assert all(isinstance(r["completed_at"], datetime) for r in xlsx_rows)
    assert check(quarters, xlsx_rows, {NEUTRAL_LEFT_OUT}) == 8 * 5
