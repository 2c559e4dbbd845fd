"""`survey report` and `survey responses import` as an analyst runs them."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest

from tests.cli.conftest import Runner, SignIn

DATA = Path(__file__).parents[1] / "data" / "responses"
RANGE = ("--from", "2019-04-01", "--to", "2019-09-30")


@pytest.fixture
def survey(signed_in: SignIn) -> Runner:
    """Every command here runs as an analyst."""
    return signed_in("analyst")


@pytest.fixture
def imported(survey: Runner) -> Runner:
    result = survey("responses", "import", str(DATA / "historical.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"{DATA / 'historical.csv'}: 5 interviews read; added 5 (domestic_abuse 5); 0 already present"
    )
    return survey


def test_json_contract(imported: Runner) -> None:
    result = imported("report", "domestic_abuse", *RANGE, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["survey"] == "domestic_abuse"
    assert [(p["label"], p["start"], p["end"], p["surveys"]) for p in data["periods"]] == [
        ("Apr to Jun 19", "2019-04-01", "2019-06-30", 3),
        ("Jul to Sep 19", "2019-07-01", "2019-09-30", 2),
    ]
    # Apr to Jun 19: H-001 (1) and H-002 (2) satisfied, H-003 not recorded: 2 of 3 = 66.7%.
    overall = data["periods"][0]["measures"]["overall"]
    assert {k: overall[k] for k in ("positive", "neutral", "negative", "not_recorded", "pct")} == {
        "positive": 2,
        "neutral": 0,
        "negative": 0,
        "not_recorded": 1,
        "pct": 66.7,
    }
    assert overall["small_sample"] is True
    assert overall["ci95"] == [20.8, 93.9]
    assert overall["change"]["direction"] == "unavailable"  # Jan to Mar 19 had no surveys
    # Jul to Sep 19: H-004 (7) and H-005 (3): 1 of 2 = 50.0% against 66.7%: too few surveys to test.
    change = data["periods"][1]["measures"]["overall"]["change"]
    assert (change["direction"], change["against"], change["points"]) == ("too_few", "Apr to Jun 19", None)
    assert set(data["narratives"]) == {
        "first_contact",
        "action_taken",
        "kept_informed",
        "supported_prosecution",
        "overall",
    }


def test_table_for_people(imported: Runner) -> None:
    result = imported("report", "domestic_abuse", *RANGE)
    assert result.returncode == 0, result.stderr
    assert "Apr to Jun 19" in result.stdout and "Jul to Sep 19" in result.stdout
    assert "66.7%*" in result.stdout  # a small cell is marked
    assert "too small to publish" in result.stdout
    assert "Overall satisfaction – 50.0% of victims were satisfied" in result.stdout
    empty = imported("report", "domestic_abuse", "--from", "2020-04-01", "--to", "2020-06-30")
    assert empty.returncode == 0, empty.stderr
    assert "u/a" in empty.stdout and "0.0%" not in empty.stdout


def test_csv_division_and_month(imported: Runner) -> None:
    result = imported(
        "report", "domestic_abuse", *RANGE, "--format", "csv", "--division", "South", "--by", "month"
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 6 * 5  # Apr to Sep, five measures
    june = next(r for r in rows if r["period"] == "Jun 19" and r["measure"] == "overall")
    assert (june["division"], june["surveys"], june["not_recorded"], june["pct"]) == (
        "South",
        "1",
        "1",
        "0.0",
    )
    april = next(r for r in rows if r["period"] == "Apr 19" and r["measure"] == "overall")
    assert april["pct"] == ""  # no surveys: empty, never 0


def test_html_file(imported: Runner, tmp_path: Path) -> None:
    path = tmp_path / "panel.html"
    result = imported("report", "domestic_abuse", *RANGE, "--format", "html", "-o", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote html report to {path}"
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 5
    for external in ("<script", "<link", "src=", "href=", "url("):
        assert external not in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("domestic_abuse", "--from", "2019-13-01", "--to", "2019-12-31"),
            "survey: --from '2019-13-01' is not a date; use YYYY-MM-DD, e.g. 2020-07-01",
        ),
        (
            ("domestic_abuse", "--from", "2019-04-01", "--to", "2019-03-31"),
            "survey: --to 2019-03-31 is before --from 2019-04-01",
        ),
        (
            ("stalking", *RANGE),
            "survey: unknown survey 'stalking' (known: burglary, domestic_abuse, hate_crime, rape)",
        ),
        (
            ("domestic_abuse", *RANGE, "--division", "West"),
            "survey: unknown division 'West' (known: North, South)",
        ),
        (
            ("domestic_abuse", "--from", "0001-01-01", "--to", "2019-12-31"),
            "survey: --from '0001-01-01': the year must be between 1900 and 2100",
        ),
        (
            ("domestic_abuse", *RANGE, "--by-field", "colour"),
            "survey: unknown field 'colour' for domestic_abuse; use division, district, risk_level or one of"
            " its questions: identity, safe_to_talk",
        ),
    ],
)
def test_errors_are_one_line(imported: Runner, args: tuple[str, ...], message: str) -> None:
    result = imported("report", *args)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_import_errors_are_listed_with_lines(survey: Runner) -> None:
    path = DATA / "bad_rows.csv"
    result = survey("responses", "import", str(path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 9
    codes = "1, 2, 3, 4, 5, 6, 7, 99"
    assert lines[0] == f"{path}:2: overall_sat: 8 is not a code of 'overall_sat' (codes {codes})"
    assert all(line.startswith(f"{path}:") for line in lines)
    assert "Traceback" not in result.stderr
    report = survey("report", "domestic_abuse", *RANGE, "--format", "json")
    assert [p["surveys"] for p in json.loads(report.stdout)["periods"]] == [0, 0]  # nothing imported


def seed_two_years(db_path: Path) -> None:
    """A generated data set for 1 April 2023 to 31 March 2025, in the database the command will use."""
    from app.services.catalogue import bundled_dir, load_catalogue, register
    from app.store.db import make_engine, make_session_factory
    from app.store.migrate import upgrade
    from tests.services.generated import generate

    url = f"sqlite:///{db_path}"
    upgrade(url)
    engine = make_engine(url)
    catalogue = load_catalogue(bundled_dir())
    with make_session_factory(engine).begin() as session:
        register(session, catalogue)
        generate(session, catalogue, "domestic_abuse", date(2023, 4, 1), date(2025, 3, 31), per_month=6)
    engine.dispose()


def test_a_table_never_cuts_a_figure(survey: Runner, tmp_path: Path) -> None:
    """24 months and five measures, to a pipe 80 columns wide and to a file: every figure in full."""
    seed_two_years(tmp_path / "cli.db")
    months = ("domestic_abuse", "--from", "2023-04-01", "--to", "2025-03-31", "--by", "month")
    data = json.loads(survey("report", *months, "--format", "json").stdout)
    narrow = survey("report", *months, env={"COLUMNS": "80"})
    assert narrow.returncode == 0, narrow.stderr
    path = tmp_path / "m.txt"
    assert survey("report", *months, "-o", str(path)).returncode == 0
    for text in (narrow.stdout, path.read_text()):
        assert "…" not in text
        tables = text.split("\n\n")[0]
        for period in data["periods"]:
            assert period["label"] in tables
            for m in period["measures"].values():
                for value in (m["pct"], m["pct_excl_neutral"]):
                    assert value is None or f"{value:.1f}%" in tables
                assert m["ci95"] is None or f"{m['ci95'][0]:.1f}–{m['ci95'][1]:.1f}" in tables
    # Periods turned into rows (split in two per measure where even that is too wide), and the notes
    # and narratives wrapped between words: nothing for an 80-column terminal to break mid-word.
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    rolling = survey("report", *months[:5], "--by", "rolling12", env={"COLUMNS": "80"})
    assert rolling.returncode == 0, rolling.stderr
    assert "excluding neutral answers" in rolling.stdout  # long labels: each measure in two tables
    assert max(len(line) for line in rolling.stdout.splitlines()) <= 80
    quarters = survey("report", "domestic_abuse", "--from", "2024-04-01", "--to", "2025-03-31")
    header = quarters.stdout.splitlines()[2]  # periods as columns when they fit
    assert "Apr to Jun 24" in header and "Jan to Mar 25" in header


def test_division_any_case_warning_and_help(imported: Runner) -> None:
    result = imported("report", "domestic_abuse", *RANGE, "--division", "south", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["division"] == "South"
    future = imported("report", "domestic_abuse", "--from", "2019-04-01", "--to", "2100-12-31", "-f", "csv")
    assert future.returncode == 0
    assert re.fullmatch(
        r"survey: warning: --to 2100-12-31 is after today \(\d{4}-\d\d-\d\d\): the figures run to"
        r" today, and a period not over yet is marked 'to date'\n",
        future.stderr,
    )
    helped = imported("report", "--help")
    assert helped.returncode == 0 and "issue" not in helped.stdout.lower()
