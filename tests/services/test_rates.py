"""Rates: counts by final disposition from the database, and the AAPOR formulas on a worked example."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from app.domain.dispositions import FINAL_DISPOSITIONS, counts_from_dispositions
from app.services.catalogue import Catalogue
from app.services.rates import COUNTS_FIELD, RatesError, rates_report, report_json
from app.store.models import Case
from tests.services.test_allocation import NOW, bundled_catalogue

START, END = date(2025, 4, 1), date(2025, 6, 30)

# The worked example: 120 closed hate-crime cases reported in Q1 2025/26, by final code.
EXAMPLE = {
    "1.1": 40,  # I = 40
    "1.2": 5,  # P = 5
    "2.11": 10,  # R = 10 + 5 = 15
    "2.12": 5,
    "2.20": 2,  # NC = 2 + 12 + 6 = 20
    "2.21": 12,
    "2.22": 6,
    "3.11": 3,  # UH = 3 + 2 + 15 + 5 = 25
    "3.12": 2,
    "3.13": 15,
    "3.14": 5,
    "3.90": 5,  # UO = 5
    "4.10": 6,  # NE = 6 + 3 + 1 = 10
    "4.70": 3,
    "4.80": 1,
}
# By hand: O = 0 (no final code of ours is "other"). D = I+P+R+NC+O = 40+5+15+20+0 = 80; U = UH+UO = 30.
# e = D/(D+NE) = 80/90; e*U = 2400/90 = 26.67, so D+eU = 80 + 26.67 = 106.67 = 320/3.
EXPECTED = {
    "RR1": 40 / 110,  # I/(D+U) = 0.3636
    "RR2": 45 / 110,  # (I+P)/(D+U) = 0.4091
    "RR3": 0.375,  # I/(D+eU) = 40/(320/3) = 120/320
    "RR4": 0.421875,  # (I+P)/(D+eU) = 45*3/320 = 135/320
    "RR5": 0.5,  # I/D = 40/80
    "RR6": 0.5625,  # (I+P)/D = 45/80
    "COOP1": 40 / 60,  # I/(I+P+R+O) = 40/60 = 0.6667
    "COOP2": 0.75,  # (I+P)/(I+P+R+O) = 45/60
    "COOP3": 40 / 60,  # I/(I+P+R): the same as COOP1 while O = 0
    "COOP4": 0.75,  # (I+P)/(I+P+R) = 45/60
    "REF1": 15 / 110,  # R/(D+U) = 0.1364
    "REF2": 0.140625,  # R/(D+eU) = 15*3/320 = 45/320
    "REF3": 0.1875,  # R/D = 15/80
    "CON1": 60 / 110,  # (I+P+R+O)/(D+U) = 0.5455
    "CON2": 0.5625,  # (I+P+R+O)/(D+eU) = 60*3/320 = 180/320
    "CON3": 0.75,  # (I+P+R+O)/D = 60/80
}


@pytest.fixture
def catalogue() -> Catalogue:
    return bundled_catalogue()


def seed(factory: sessionmaker[Session]) -> None:
    rows: list[dict[str, object]] = []

    def add(n: int, **values: object) -> None:
        for _ in range(n):
            i = len(rows)
            rows.append(
                {
                    "survey": "hate_crime",
                    "crime_ref": f"CR/{i:05d}/25",
                    "victim_name": f"Victim {i}",
                    "phone": f"+442079460{i % 1000:03d}",
                    "report_date": START + timedelta(days=i % 91),
                    "division": "North",
                    "district": "Riverside",
                    "status": "closed",
                    "imported_at": NOW,
                }
                | values
            )

    for code, n in EXAMPLE.items():
        add(n, final_disposition=code)
    add(4, status="open")  # still in the field: counted apart
    add(2, status="pending")
    add(3, final_disposition=None, closed_reason="out_of_field_period")  # never released: left out
    add(7, final_disposition="1.1", report_date=START - timedelta(days=1))  # another period
    add(7, final_disposition="1.1", report_date=END + timedelta(days=1))
    add(5, final_disposition="2.11", survey="rape")  # another survey
    with factory.begin() as session:
        session.execute(insert(Case), rows)


def test_the_worked_example(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    seed(session_factory)

    with session_factory() as session:
        report = rates_report(session, catalogue, "hate_crime", START, END)

    assert dict((d.code, n) for d, n in report.counts) == EXAMPLE
    assert [d.code for d, _ in report.counts] == sorted(EXAMPLE, key=lambda c: [int(p) for p in c.split(".")])
    data = report_json(report)
    assert data["categories"] == {"I": 40, "P": 5, "R": 15, "NC": 20, "O": 0, "UH": 25, "UO": 5, "NE": 10}
    assert data["open_cases"] == 6
    assert report.closed_cases == 120  # D + U + NE = 80 + 30 + 10
    assert data["e"] == pytest.approx(80 / 90) and data["e_source"] == "estimated"
    assert data["rates"] == pytest.approx(EXPECTED)
    assert list(data) == [
        "survey",
        "from",
        "to",
        "e",
        "e_source",
        "counts",
        "categories",
        "open_cases",
        "rates",
    ]
    assert (data["survey"], data["from"], data["to"]) == ("hate_crime", "2025-04-01", "2025-06-30")


def test_a_given_e(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    seed(session_factory)

    with session_factory() as session:
        data = report_json(rates_report(session, catalogue, "hate_crime", START, END, e=0.5))

    # D + eU = 80 + 0.5 * 30 = 95; the rates without e do not change.
    assert data["e"] == 0.5 and data["e_source"] == "given"
    rates = data["rates"]
    assert isinstance(rates, dict)
    assert rates["RR3"] == pytest.approx(40 / 95)
    assert rates["RR4"] == pytest.approx(45 / 95)
    assert rates["REF2"] == pytest.approx(15 / 95)
    assert rates["CON2"] == pytest.approx(60 / 95)
    assert rates["RR1"] == pytest.approx(40 / 110)


def test_an_empty_period_has_no_rates(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    with session_factory() as session:
        data = report_json(rates_report(session, catalogue, "rape", START, END))

    assert set(data["counts"].values()) == {0}  # type: ignore[union-attr]
    assert data["e"] is None
    assert set(data["rates"].values()) == {None}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("survey", "start", "end", "e", "message"),
    [
        ("stalking", START, END, None, "unknown survey 'stalking'"),
        ("rape", END, START, None, "starts .* after it ends"),
        ("rape", START, END, 1.5, "e must be between 0 and 1"),
    ],
)
def test_refusals(
    session_factory: sessionmaker[Session],
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    e: float | None,
    message: str,
) -> None:
    with session_factory() as session, pytest.raises(Exception, match=message) as raised:
        rates_report(session, catalogue, survey, start, end, e)
    assert "SurveyError" in [c.__name__ for c in type(raised.value).__mro__]


def test_an_unknown_stored_code_is_an_error(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    with session_factory.begin() as session:
        session.execute(
            insert(Case),
            [
                {
                    "survey": "rape",
                    "crime_ref": "CR/1/25",
                    "report_date": START,
                    "division": "North",
                    "district": "Riverside",
                    "status": "closed",
                    "final_disposition": "9.99",
                    "imported_at": NOW,
                }
            ],
        )
    with session_factory() as session, pytest.raises(RatesError, match="unknown final disposition '9.99'"):
        rates_report(session, catalogue, "rape", START, END)


def test_the_category_table_agrees_with_the_domain() -> None:
    for disposition in FINAL_DISPOSITIONS:
        counts = counts_from_dispositions([disposition])
        assert getattr(counts, COUNTS_FIELD[disposition.category]) == 1
