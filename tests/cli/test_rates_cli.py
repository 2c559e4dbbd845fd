"""`survey rates` as an analyst or supervisor runs it: table, stable JSON, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.runtime import Runtime, open_runtime
from tests.cli.conftest import Runner, SignIn
from tests.services.test_rates import END, EXPECTED, START, seed


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Runtime]:
    runtime = open_runtime(f"sqlite:///{tmp_path / 'cli.db'}")
    seed(runtime.sessions)
    yield runtime
    runtime.close()


@pytest.fixture
def survey(signed_in: SignIn) -> Runner:
    """Every command here runs as an analyst."""
    return signed_in("analyst")


def rates(survey: Runner, *extra: str) -> object:
    return survey("rates", "hate_crime", "--from", START.isoformat(), "--to", END.isoformat(), *extra)


def test_table(survey: Runner, seeded: Runtime) -> None:
    result = rates(survey)

    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    text = result.stdout  # type: ignore[attr-defined]
    assert "120 closed, 6 still open (not in the rates); e = 0.889 (estimated)" in text
    assert "│ 3.13 │ No answer" in text and "│    15 │" in text
    for name, percent in (
        ("RR1", "36.4%"),
        ("RR3", "37.5%"),
        ("COOP1", "66.7%"),
        ("REF2", "14.1%"),
        ("CON3", "75.0%"),
    ):
        assert any(
            [cell.strip() for cell in line.split("│")[1:3]] == [name, percent] for line in text.splitlines()
        ), name


def test_json_is_stable(survey: Runner, seeded: Runtime) -> None:
    result = rates(survey, "--format", "json", "--e", "0.5")

    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
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
    assert (data["e"], data["e_source"], data["open_cases"]) == (0.5, "given", 6)
    assert list(data["rates"]) == list(EXPECTED)
    assert data["rates"]["RR1"] == pytest.approx(EXPECTED["RR1"])
    assert data["rates"]["RR3"] == pytest.approx(40 / 95)
    assert data["counts"]["1.1"] == 40 and data["categories"]["NE"] == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("hate_crime", "--from", "2025-04-01", "--to", "2025-06-30", "--e", "1.5"),
            "--e must be between 0 and 1, not 1.5",
        ),
        (
            ("hate_crime", "--from", "2025-04-01", "--to", "2025-06-30", "--e", "-0.1"),
            "--e must be between 0 and 1, not -0.1",
        ),
        (
            ("hate_crime", "--from", "1/4/2025", "--to", "2025-06-30"),
            "--from '1/4/2025' is not a date; use YYYY-MM-DD, e.g. 2020-07-01",
        ),
        (
            ("hate_crime", "--from", "2025-06-30", "--to", "2025-04-01"),
            "--to 2025-04-01 is before --from 2025-06-30",
        ),
        (
            ("hate_crime", "--from", "0001-01-01", "--to", "2025-06-30"),
            "--from '0001-01-01': the year must be between 1900 and 2100",
        ),
        (
            ("stalking", "--from", "2025-04-01", "--to", "2025-06-30"),
            "unknown survey 'stalking' (known: burglary, domestic_abuse, hate_crime, rape)",
        ),
    ],
)
def test_errors_are_one_line(survey: Runner, args: tuple[str, ...], message: str) -> None:
    result = survey("rates", *args)

    assert result.returncode == 1, result.stdout
    assert result.stderr.strip() == f"survey: {message}"
