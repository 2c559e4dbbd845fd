"""What each figure is compared with, periods cut short or not over yet, small bases, rolling 12
months and breakdowns by field, on a generated data set with the clock frozen on 27 November 2026."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.domain.permissions import Actor
from app.domain.statistics import Direction, compare
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue, register
from app.services.report import Report, ReportError, build_report, report_json, report_rows
from app.services.report_html import render_html
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from tests.services.generated import generate

SYSTEM = Actor.system()
SURVEY = "domestic_abuse"
TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(bundled_dir())


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    clock.freeze(datetime(2026, 11, 27, 15, 0, tzinfo=UTC))
    yield
    clock.freeze(None)


@pytest.fixture(scope="module")
def two_years(
    tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue
) -> Iterator[sessionmaker[Session]]:
    """Read only by the tests, so built once for the module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('two_years') / 'survey.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        register(session, catalogue)
        generate(session, catalogue, SURVEY, date(2024, 10, 1), TODAY, per_month=6)
    yield sessions
    engine.dispose()


def build(sessions: sessionmaker[Session], catalogue: Catalogue, start: date, end: date, **kw: Any) -> Report:
    with sessions() as session:
        return build_report(session, SYSTEM, catalogue, SURVEY, start, end, **kw)


def test_a_period_not_over_is_to_date_and_the_future_is_left_out(
    two_years: sessionmaker[Session], catalogue: Catalogue
) -> None:
    report = build(two_years, catalogue, date(2026, 4, 1), date(2027, 3, 31))
    assert report.warnings == (
        "--to 2027-03-31 is after today (2026-11-27): the figures run to today, and a period not over"
        " yet is marked 'to date'",
    )
    labels = [(p.period.label, p.period.partial, p.period.to_date) for p in report.periods]
    assert labels == [
        ("Apr to Jun 26", False, False),
        ("Jul to Sep 26", False, False),
        ("1 Oct 26 to date", True, True),  # no "Jan to Mar 27"
    ]
    latest = report.periods[-1]
    # 1 October to 27 November is 58 days: compared with the 58 days before, not with a whole quarter.
    assert (latest.period.start, latest.period.end) == (date(2026, 10, 1), TODAY)
    assert latest.against == "4 Aug to 30 Sep 26"
    assert report.periods[1].against == "Apr to Jun 26"
    text = report.narrative("overall")
    assert "in the quarter so far (1 Oct 26 to date:" in text
    assert "Jan to Mar 27" not in text and "u/a" not in text
    assert "the same length of time before (" in text or "too few surveys to compare" in text
    data = report_json(report)
    assert data["periods"][-1]["to_date"] is True and data["periods"][-1]["against"] == "4 Aug to 30 Sep 26"
    assert {r["change_against"] for r in report_rows(report) if r["period"] == "1 Oct 26 to date"} == {
        "4 Aug to 30 Sep 26"
    }
    page = render_html(report)
    assert "1 Oct 26 to date" in page and "1 Oct 26 to date with 4 Aug to 30 Sep 26" in page
    with pytest.raises(ReportError, match=r"--from 2026-12-01 is after today \(2026-11-27\)"):
        build(two_years, catalogue, date(2026, 12, 1), date(2027, 3, 31))


def test_a_cut_first_period_is_compared_like_with_like(
    two_years: sessionmaker[Session], catalogue: Catalogue
) -> None:
    report = build(two_years, catalogue, date(2025, 8, 15), date(2026, 3, 31))
    first, second = report.periods[:2]
    assert (first.period.label, first.against) == ("15 Aug to 30 Sep 25", "29 Jun to 14 Aug 25")
    assert (second.period.label, second.against) == ("Oct to Dec 25", "Jul to Sep 25")
    with two_years() as session:  # the comparison is counted for the purpose
        before = build_report(
            session, SYSTEM, catalogue, SURVEY, date(2025, 6, 29), date(2025, 8, 14), by="period"
        )
    assert report.previous.surveys == before.periods[0].surveys > 0
    months = build(two_years, catalogue, date(2024, 12, 1), date(2025, 3, 31))
    assert months.periods[0].period.label == "1 Dec to 31 Dec 24"  # part of Oct to Dec 24
    assert months.periods[0].against == "Nov 24"


def test_no_change_is_called_on_a_small_base(two_years: sessionmaker[Session], catalogue: Catalogue) -> None:
    report = build(two_years, catalogue, date(2025, 1, 1), date(2026, 9, 30), by="month", division="north")
    assert report.division == "North"  # matched whatever the case
    tested = 0
    for period in report.periods:
        for m in period.measures:
            small = period.surveys < report.small_cell or (period.against_surveys or 0) < report.small_cell
            if small:
                assert m.change.direction in (Direction.TOO_FEW, Direction.UNAVAILABLE)
                assert m.change.difference_points is None
            else:
                tested += 1
    assert tested == 0  # a Division has a few surveys a month: nothing to call
    page = render_html(report)
    assert "▲" not in page and "▼" not in page and "too few" in page


def test_every_percentage_has_an_interval_and_a_change(
    two_years: sessionmaker[Session], catalogue: Catalogue
) -> None:
    report = build(two_years, catalogue, date(2025, 4, 1), date(2026, 9, 30))
    for period in report.periods:
        for m in period.measures:
            assert (m.pct is None) == (m.ci95 is None)
            assert (m.pct_excl_neutral is None) == (m.ci95_excl_neutral is None)
            assert m.change_excl_neutral.direction is not Direction.UNAVAILABLE or m.pct_excl_neutral is None
    row = report_rows(report)[-1]
    assert row["ci95_excl_neutral_low"] is not None and row["change_excl_neutral"] in (
        "rise",
        "fall",
        "in_line",
        "too_few",
    )


def test_rolling_twelve_months(two_years: sessionmaker[Session], catalogue: Catalogue) -> None:
    report = build(two_years, catalogue, date(2026, 9, 1), date(2026, 11, 30), by="rolling12")
    assert [(p.period.label, p.against) for p in report.periods] == [
        ("12 months to Sep 26", "12 months to Sep 25"),
        ("12 months to Oct 26", "12 months to Oct 25"),
        ("12 months to 27 Nov 26", "28 Nov 24 to 27 Nov 25"),
    ]
    months = build(two_years, catalogue, date(2025, 10, 1), date(2026, 9, 30), by="month")
    assert report.periods[0].surveys == sum(p.surveys for p in months.periods)
    assert report.periods[-1].period.to_date
    assert "12 months" in report.narrative("overall")


def test_breakdown_by_field_tests_each_group_against_the_rest(
    two_years: sessionmaker[Session], catalogue: Catalogue
) -> None:
    report = build(two_years, catalogue, date(2025, 4, 1), date(2026, 3, 31), by_field="District")
    assert report.by_field == "district"
    assert [p.period.label for p in report.periods] == ["Central 1", "North 1", "North 2", "South 1"]
    total = report.previous
    assert sum(p.surveys for p in report.periods) == total.surveys > 0
    for group in report.periods:
        assert group.against == "rest of the force"
        for m in group.measures:
            whole = total.measure(m.measure_id)
            expected = compare(
                m.positive, m.surveys, whole.positive - m.positive, whole.surveys - m.surveys, 10
            )
            assert m.change == expected
    divisions = build(two_years, catalogue, date(2025, 4, 1), date(2026, 3, 31), by_field="division")
    assert [p.period.label for p in divisions.periods] == ["Central", "North", "South"]
    text = divisions.narrative("overall")
    assert "from the rest of the force" in text or "the rest of the force:" in text
    method = build(two_years, catalogue, date(2025, 4, 1), date(2026, 3, 31), by_field="contact_method")
    assert method.periods and all(not p.period.label.isdigit() for p in method.periods)
    within = build(
        two_years, catalogue, date(2025, 4, 1), date(2026, 3, 31), by_field="district", division="North"
    )
    assert [(p.period.label, p.against) for p in within.periods] == [
        ("North 1", "rest of North"),
        ("North 2", "rest of North"),
    ]
    with pytest.raises(
        ReportError, match="unknown field 'colour' for domestic_abuse; use division, district"
    ):
        build(two_years, catalogue, date(2025, 4, 1), date(2026, 3, 31), by_field="colour")


def test_the_page_prints_on_a4_with_every_chart_on_one_scale(
    two_years: sessionmaker[Session], catalogue: Catalogue
) -> None:
    report = build(two_years, catalogue, date(2024, 12, 1), date(2026, 11, 30), by="month")
    assert len(report.periods) == 24
    page = render_html(report)
    assert "@page { size: A4 portrait;" in page and "@media print" in page
    assert "thead { display: table-header-group; }" in page
    assert page.count("<table>") == 4  # 24 months, six to a table: each fits the page's width
    charts = page.split("<svg")[1:]
    assert len(charts) == 5
    for chart in charts:  # the same 0 to 100% axis on every chart
        ticks = re.findall(r'text-anchor="end">(\d+)%</text>', chart)
        assert ticks == ["0", "20", "40", "60", "80", "100"]
    assert "axis starts at" not in page
    assert "1 Nov 26 to date" in page
