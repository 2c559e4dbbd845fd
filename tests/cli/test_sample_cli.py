"""`survey sample import|template` as a records clerk runs them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.clock import today
from app.services.catalogue import bundled_dir, load_catalogue
from app.services.sample import COLUMNS
from app.store.db import make_engine
from app.store.models import AuditEvent, Case
from tests.cli.conftest import Runner, SignIn

SUMMARY_KEYS = [
    "imported",
    "already_present",
    "withdrawn",
    "excluded",
    "not_released",
    "shared_phone_warnings",
]


@pytest.fixture
def survey(signed_in: SignIn) -> Runner:
    """Every command here runs as an administrator."""
    return signed_in("admin")


def extract(tmp_path: Path, *rows: dict[str, str], name: str = "extract.csv") -> Path:
    """A domestic abuse extract whose fieldwork window opens today, with the given changes per row."""
    window_opens = load_catalogue(bundled_dir()).get("domestic_abuse").fieldwork.from_days_after_report
    reported = (today() - timedelta(days=window_opens)).isoformat()
    lines = [",".join(COLUMNS)]
    for number, changes in enumerate(rows, start=1):
        values = {
            "crime_ref": f"DA/{number:04d}/26",
            "survey": "domestic_abuse",
            "victim_name": f"Victim Testname{number}",
            "phone": f"0113 496 0{number:03d}",
            "alt_phone": "",
            "date_of_birth": "1984-06-01",
            "report_date": reported,
            "division": "North",
            "district": "Ashby",
            "risk_level": "standard",
            "opted_out": "N",
            "vulnerable": "N",
            "nfa_requested": "N",
            "not_cooperating": "N",
        } | changes
        lines.append(",".join(values[c] for c in COLUMNS))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def case_count(tmp_path: Path) -> tuple[int, int]:
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        with engine.connect() as conn:
            cases = conn.scalar(select(func.count()).select_from(Case))
            events = conn.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "sample_imported")
            )
            return cases or 0, events or 0
    finally:
        engine.dispose()


def test_import_prints_the_json_summary_and_reimport_adds_nothing(survey: Runner, tmp_path: Path) -> None:
    path = extract(tmp_path, {}, {"opted_out": "Y"}, {"phone": "+44 113 496 0001"})
    result = survey("sample", "import", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert list(summary) == SUMMARY_KEYS
    assert summary["imported"] == 3 and summary["already_present"] == 0
    assert summary["excluded"]["opted_out"] == 1 and sum(summary["excluded"].values()) == 1
    assert summary["not_released"] == 0
    assert summary["shared_phone_warnings"] == 1

    again = survey("sample", "import", str(path), "--format", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["imported"] == 0
    assert json.loads(again.stdout)["already_present"] == 3
    assert case_count(tmp_path) == (3, 2)


def test_import_table_shows_counts_and_warnings(survey: Runner, tmp_path: Path) -> None:
    path = extract(tmp_path, {}, {"phone": "0113 496 0001", "crime_ref": "DA/0009/26"})
    result = survey("sample", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout and "2" in result.stdout
    warning = f"{path}:2: warning: lines 2, 3: one telephone number for crime refs DA/0001/26, DA/0009/26"
    assert warning in result.stdout
    assert "Testname" not in result.stdout  # never names


def test_many_warnings_are_summarised_and_all_written_with_warnings_file(
    survey: Runner, tmp_path: Path
) -> None:
    # Twelve pairs of victims, each pair at one number.
    path = extract(tmp_path, *({"phone": f"0113 496 0{n // 2:03d}"} for n in range(24)))
    written = tmp_path / "warnings.csv"
    result = survey("sample", "import", str(path), "--warnings", str(written))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index(
        "warning: 12 telephone numbers each reach more than one case: take care not to mention one"
        " victim's crime to another. The first 5:"
    )
    assert [line.split(": warning: ")[0] for line in lines[start + 1 : start + 6]] == [
        f"{path}:{line}" for line in (2, 4, 6, 8, 10)
    ]
    assert lines[start + 6 :] == [f"12 warnings written to {written}"]
    assert written.read_text(encoding="utf-8-sig").count("shared_phone") == 12

    again = survey("sample", "import", str(path), "--format", "json")
    assert json.loads(again.stdout)["shared_phone_warnings"] == 12  # counts, not lines
    plain = survey("sample", "import", str(path))
    assert plain.stdout.splitlines()[-1] == "(all 12 with --warnings FILE)"


def test_bad_file_exits_1_with_located_problems_and_imports_nothing(survey: Runner, tmp_path: Path) -> None:
    path = extract(tmp_path, {}, {"survey": "stalking"}, {"date_of_birth": "30/02/1990", "phone": "0800"})
    result = survey("sample", "import", str(path), "--format", "json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:3: survey: unknown survey 'stalking' (known: burglary, domestic_abuse, hate_crime, rape)",
        f"{path}:4: phone: '0800': not a valid UK telephone number",
        f"{path}:4: date_of_birth: impossible date '30/02/1990'",
    ]
    assert case_count(tmp_path) == (0, 0)


def test_missing_and_empty_files(survey: Runner, tmp_path: Path) -> None:
    missing = survey("sample", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"{tmp_path / 'nope.csv'}: file not found"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = survey("sample", "import", str(empty))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{empty}:1: empty file")
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    result = survey("sample", "import", str(binary))
    assert result.returncode == 1
    assert result.stderr.strip() == f"{binary}:1: not a CSV text file (binary content): save it as CSV UTF-8"


def test_template_shows_each_column_with_its_format_and_an_example(survey: Runner, tmp_path: Path) -> None:
    table = survey("sample", "template", "--format", "json")
    assert table.returncode == 0, table.stderr
    columns = json.loads(table.stdout)
    assert [c["column"] for c in columns] == list(COLUMNS)
    by_name = {c["column"]: c for c in columns}
    assert "DD/MM/YYYY" in by_name["report_date"]["format"] and by_name["report_date"]["example"]
    assert "Y or N" in by_name["opted_out"]["format"] and by_name["opted_out"]["example"] == "N"
    assert "standard, medium or high" in by_name["risk_level"]["format"]
    assert by_name["alt_phone"]["required"] == "optional column"
    # The CSV form is the header and an example row: a valid extract.
    csv_text = survey("sample", "template", "--format", "csv").stdout
    assert csv_text.splitlines()[0] == ",".join(COLUMNS)
    path = tmp_path / "template.csv"
    path.write_text(csv_text)
    imported = survey("sample", "import", str(path), "--format", "json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["imported"] == 1
