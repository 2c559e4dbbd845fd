"""Big extracts: memory that does not grow with the file, the same result as before, all or nothing."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.domain.permissions import Actor
from app.domain.text import unsafe_character
from app.errors import SurveyError
from app.services import sample
from app.services.sample import (
    CHUNK,
    COLUMNS,
    FIRST_WARNINGS,
    WARNING_COLUMNS,
    SampleFileError,
    import_sample,
    read_sample_file,
)
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import AuditEvent, Case
from tests.services.big_extract import NOW, TODAY, extract_rows, fixed_catalogue, stored_digest, write_extract

ROOT = Path(__file__).parents[2]

#: What the import of these generated extracts gave when it held the whole file in memory (measured
#: with that implementation, which needed about 600 MB for the 200,000 rows): the same must come out.
EARLIER = {
    "imported": 1998,
    "already_present": 2,
    "withdrawn": 0,
    "excluded": {"opted_out": 18, "under_16": 53, "vulnerable": 10, "nfa_requested": 3, "not_cooperating": 4},
    "not_released": 962,
    "shared_phone_warnings": 133,
}
BIG = {
    "imported": 199_800,
    "already_present": 200,
    "withdrawn": 0,
    "excluded": {
        "opted_out": 1959,
        "under_16": 5170,
        "vulnerable": 1065,
        "nfa_requested": 609,
        "not_cooperating": 262,
    },
    "not_released": 96_466,
    "shared_phone_warnings": 6993,
}
BIG_WARNINGS = "087637954f0f1b09afdf66b41d7914416fda4db18514b77e7afd8d56ece2950a"
STORED = "28cb32b31bf9b9be0daea2b0ab710ef7f5cbff8e12b22d9371a2ba3a2d133936"
#: Peak memory allowed for the child process importing 200,000 rows: Python with the app's libraries
#: (about 100 MB), SQLite's page cache (64 MiB), and what the import keeps per row (a few integers).
PEAK_MB = 320


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def warnings_digest(path: Path) -> str:
    """The warnings file in the shape the summary's JSON once listed them, digested."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    listed = [
        {
            "lines": [int(line) for line in row["lines"].split()],
            "crime_refs": row["crime_refs"].split("; ") if row["crime_refs"] else [],
            "in_database": row["in_database"].split("; ") if row["in_database"] else [],
        }
        for row in rows
    ]
    return hashlib.sha256(json.dumps(listed).encode()).hexdigest()


def test_200000_rows_import_in_bounded_memory_with_the_same_result(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'big.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        earlier = write_extract(tmp_path / "earlier.csv", 2000, TODAY, first_ref=900_000)
        with sessions.begin() as session:
            summary = import_sample(session, Actor.system(), fixed_catalogue(), earlier, today=TODAY)
        assert summary.to_dict() == EARLIER

        big = write_extract(tmp_path / "big.csv", 200_000, TODAY)
        warnings = tmp_path / "warnings.csv"
        peak = tmp_path / "peak.txt"
        child = subprocess.run(
            [sys.executable, "-m", "tests.services.big_extract", url, str(big), str(warnings), str(peak)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert child.returncode == 0, child.stderr
        (tmp_path / "out.json").write_text(child.stdout)
        # The kernel's own account of the child's peak (VmHWM), read by the child as it ends.
        peak_mb = int(peak.read_text()) / 1024
        print(f"peak memory of the import of 200,000 rows: {peak_mb:.0f} MB")
        assert peak_mb < PEAK_MB

        assert json.loads((tmp_path / "out.json").read_text()) == BIG
        assert warnings_digest(warnings) == BIG_WARNINGS
        assert stored_digest(sessions) == STORED
    finally:
        engine.dispose()


@pytest.fixture
def sessions(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    return session_factory


def run(sessions: sessionmaker[Session], path: Path, **kw: Any) -> Any:
    with sessions.begin() as session:
        return import_sample(session, Actor.system(), fixed_catalogue(), path, today=TODAY, **kw)


def cases(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def test_one_bad_row_at_the_end_of_a_long_extract_imports_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run(sessions, write_extract(tmp_path / "first.csv", 100, TODAY, first_ref=500_000))
    before = cases(sessions)
    path = write_extract(tmp_path / "extract.csv", 3 * CHUNK, TODAY)
    bad = extract_rows(1, TODAY, first_ref=700_000)[0].split(",")
    bad[3] = "0800"
    with path.open("a", newline="") as handle:
        handle.write(",".join(bad) + "\r\n")
    with pytest.raises(SampleFileError) as caught:
        run(sessions, path)
    last = 3 * CHUNK + 2
    assert caught.value.problems == [f"{path}:{last}: phone: '0800': not a valid UK telephone number"]
    assert cases(sessions) == before
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_a_key_repeated_with_other_data_chunks_apart_is_reported(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    rows = extract_rows(2 * CHUNK, TODAY)
    changed = rows[5].split(",")
    changed[8] = "Carrow" if changed[8] != "Carrow" else "Ashby"  # the district
    rows.append(",".join(changed))  # identical but for the district
    rows.append(rows[6])  # identical: one case
    path = tmp_path / "extract.csv"
    path.write_text("\n".join([",".join(COLUMNS), *rows]) + "\n")
    with pytest.raises(SampleFileError) as caught:
        run(sessions, path)
    assert caught.value.problems == [
        f"{path}:{2 * CHUNK + 2}: crime_ref: same survey, crime_ref and victim_name as line 7 but a"
        " different district"
    ]
    assert cases(sessions) == 0


def shared_phone_extract(tmp_path: Path, pairs: int) -> Path:
    """`pairs` pairs of cases, each pair at one number (a crime ref that a spreadsheet would run)."""
    rows = extract_rows(2 * pairs, TODAY)
    lines = []
    for index, row in enumerate(rows):
        cells = row.split(",")
        cells[3] = f"020 7946 0{index // 2:03d}"
        cells[4] = ""
        lines.append(",".join(cells))
    first = lines[0].split(",")
    first[0] = "=HYPERLINK(1)"
    lines[0] = ",".join(first)
    path = tmp_path / "extract.csv"
    path.write_text("\n".join([",".join(COLUMNS), *lines]) + "\n")
    return path


def test_warnings_are_counted_the_first_few_kept_and_all_written(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = shared_phone_extract(tmp_path, 40)
    warnings = tmp_path / "warnings.csv"
    summary = run(sessions, path, warnings_to=warnings)
    assert summary.shared_phone_warnings == 40
    assert summary.to_dict()["shared_phone_warnings"] == 40
    assert [w.lines for w in summary.first_warnings] == [
        (2 * n + 2, 2 * n + 3) for n in range(FIRST_WARNINGS)
    ]
    with warnings.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    assert tuple(written[0]) == WARNING_COLUMNS
    assert len(written) == 41
    first = dict(zip(WARNING_COLUMNS, written[1], strict=True))
    assert first["file"] == str(path) and first["line"] == "2" and first["warning"] == "shared_phone"
    assert first["lines"] == "2 3"
    assert first["crime_refs"].startswith("'=HYPERLINK(1); ")  # text, never a formula
    assert "Alma" not in warnings.read_text()  # never names
    assert warnings.stat().st_mode & 0o777 == 0o600  # crime refs: for this account only

    # Without a warnings file, only the first few are kept.
    again = run(sessions, path)
    assert again.shared_phone_warnings == 40 and len(again.first_warnings) == FIRST_WARNINGS


def test_a_warnings_file_in_a_missing_folder_is_refused_before_anything(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = shared_phone_extract(tmp_path, 2)
    with pytest.raises(SurveyError, match="folder not found"):
        run(sessions, path, warnings_to=tmp_path / "nope" / "w.csv")
    assert cases(sessions) == 0


def test_check_only_a_small_file(tmp_path: Path) -> None:
    path = write_extract(tmp_path / "extract.csv", 10, TODAY)
    rows = read_sample_file(path, fixed_catalogue(), today=TODAY)
    assert [row.line for row in rows] == list(range(2, 12))
    assert isinstance(rows[0].report_date, date)


def test_the_fast_check_for_unsafe_characters_agrees_with_the_named_one() -> None:
    for code in range(0x10000):
        char = chr(code)
        assert (sample._unsafe(f"a{char}b") is None) is (unsafe_character(char, keep="\t\n\r") is None), code
    assert sample._unsafe("Zed \u202eTestwood") == unsafe_character("\u202e")
