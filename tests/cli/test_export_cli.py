"""`survey export` as an analyst runs it, and the round trip through `survey responses import`."""

from __future__ import annotations

import json
from pathlib import Path

import pyreadstat
import pytest

from tests.cli.conftest import Runner, SignIn

DATA = Path(__file__).parents[1] / "data" / "responses"
RANGE = ("--from", "2019-04-01", "--to", "2019-09-30")


@pytest.fixture
def survey(signed_in: SignIn) -> Runner:
    """Every command here runs as an analyst."""
    return signed_in("analyst")


def test_export_then_import_elsewhere_gives_the_same_report(
    survey: Runner, signed_in: SignIn, tmp_path: Path
) -> None:
    assert survey("responses", "import", str(DATA / "historical.csv")).returncode == 0
    path = tmp_path / "da.csv"
    result = survey("export", "domestic_abuse", *RANGE, "-o", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("exported 5 interviews of domestic_abuse (")
    assert result.stdout.splitlines()[0].endswith(f" to {path}")
    assert result.stdout.splitlines()[1:] == [f"wrote {tmp_path / 'da.codebook.txt'}"]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    elsewhere = signed_in("analyst", db=other)
    imported = elsewhere("responses", "import", str(path), db=other)
    assert imported.returncode == 0, imported.stderr
    before = survey("report", "domestic_abuse", *RANGE, "--format", "json")
    after = elsewhere("report", "domestic_abuse", *RANGE, "--format", "json", db=other)
    assert json.loads(before.stdout) == json.loads(after.stdout)
    again = elsewhere("responses", "import", str(path), db=other)
    assert again.stdout.strip().endswith("added 0; 5 already present")


def test_sav_with_format_from_the_extension(survey: Runner, tmp_path: Path) -> None:
    assert survey("responses", "import", str(DATA / "historical.csv")).returncode == 0
    path = tmp_path / "da.sav"
    result = survey("export", "domestic_abuse", *RANGE, "-o", str(path), "--include-partial")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        f"wrote {tmp_path / 'da.codebook.txt'}",
        f"wrote {tmp_path / 'da.sps'}",
    ]
    frame, meta = pyreadstat.read_sav(str(path))
    assert len(frame) == 5
    assert list(frame["interview_id"]) == ["H-001", "H-002", "H-003", "H-004", "H-005"]
    assert "victim_name" not in frame.columns and "crime_ref" not in frame.columns


def test_export_changes(survey: Runner, tmp_path: Path) -> None:
    assert survey("responses", "import", str(DATA / "historical.csv")).returncode == 0
    path = tmp_path / "changes.csv"
    result = survey("export-changes", "domestic_abuse", *RANGE, "-o", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"exported 0 changes of domestic_abuse to {path}"
    assert path.read_text(encoding="utf-8-sig").splitlines() == [
        "interview_id,survey,question,question_label,kind,old_code,old_value,new_code,new_value,reason,changed_at"
    ]
    wrong = survey("export-changes", "domestic_abuse", *RANGE, "-o", str(tmp_path / "c.parquet"))
    assert wrong.returncode == 1
    assert (
        wrong.stderr.strip()
        == f"survey: {tmp_path / 'c.parquet'}: the change history is written as csv or xlsx"
    )


def test_errors(survey: Runner, tmp_path: Path) -> None:
    result = survey("export", "domestic_abuse", *RANGE, "-o", str(tmp_path / "x.txt"))
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"survey: {tmp_path / 'x.txt'}: give --format (csv, sav, xlsx, parquet)"
        " or a file ending in one of them"
    )
    result = survey(
        "export",
        "domestic_abuse",
        "--from",
        "2019-04-01",
        "--to",
        "2019-03-01",
        "-o",
        str(tmp_path / "x.csv"),
    )
    assert (result.returncode, result.stderr.strip()) == (
        1,
        "survey: --to 2019-03-01 is before --from 2019-04-01",
    )
    result = survey("export", "nope", *RANGE, "-o", str(tmp_path / "x.csv"))
    assert result.returncode == 1 and result.stderr.startswith("survey: unknown survey 'nope'")
    assert not (tmp_path / "x.csv").exists()
