"""Big exports: memory that does not grow with the interviews, the same files as a whole-frame write,
progress as it goes, the same result on PostgreSQL (a server-side cursor) as on SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pyreadstat
import pytest
from sqlalchemy import Engine

from app.domain.permissions import Actor
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue
from app.services.export import (
    ExportError,
    ExportFormat,
    Kind,
    Variable,
    export_interviews,
    export_table,
    parquet_file,
    rows,
    sav_file,
)
from app.services.export import interviews as export_module
from app.services.export.sav_file import WRITTEN_AT, sav_frame, sav_options, write_sav
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from tests.services.big_export import END, START, SURVEY, generate_interviews

ROOT = Path(__file__).parents[2]
#: What the export of 50,000 generated interviews (46,445 of them completed) may add to the memory of
#: the process that runs it, libraries already loaded: SQLite's page cache (64 MiB, filled by a large
#: file), one block of rows as a data frame, and the spool's buffers. Holding every row, as a .sav once
#: needed, took 197 MB here.
GROWTH_MB = 130


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(bundled_dir())


def measures_and_text(catalogue: Catalogue) -> set[str]:
    questionnaire = catalogue.get(SURVEY)
    return {m.question for m in questionnaire.measures} | {"comments", "consent_quote"}


def export(engine: Engine, catalogue: Catalogue, path: Path, **kw: Any) -> Any:
    with make_session_factory(engine).begin() as session:
        return export_interviews(
            session, Actor.system(), catalogue, SURVEY, START, END, path.suffix[1:], path, **kw
        )


def test_50000_interviews_export_to_sav_in_bounded_memory(tmp_path: Path, catalogue: Catalogue) -> None:
    url = f"sqlite:///{tmp_path / 'big.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        generate_interviews(engine, catalogue.get(SURVEY), 50_000, answered=measures_and_text(catalogue))
    finally:
        engine.dispose()
    output, figures = tmp_path / "big.sav", tmp_path / "figures.json"
    child = subprocess.run(
        [sys.executable, "-m", "tests.services.big_export", url, str(output), str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    # The kernel's own account of the child's memory (VmRSS before, VmHWM after), read by the child.
    measured = json.loads(figures.read_text())
    growth_mb = (measured["peak_kb"] - measured["before_kb"]) / 1024
    print(f"export of {measured['interviews']:,} interviews to .sav: memory grew by {growth_mb:.0f} MB")
    assert measured["interviews"] == 46_445  # every 25th stopped, every 31st partial (not exported)
    assert growth_mb < GROWTH_MB

    frame, meta = pyreadstat.read_sav(str(output), usecols=["interview_id", "overall_sat"])
    assert meta.number_rows == len(frame) == 46_445
    assert list(frame["interview_id"][:3]) == ["DA-000001", "DA-000002", "DA-000003"]
    assert frame["interview_id"].iloc[-1] == "DA-049992"  # the last few end on 1 April, local time
    assert set(frame["overall_sat"].dropna()) <= set(range(1, 8)) | {98.0, 99.0, 996.0, 997.0}


def same_but_the_time_written(ours: bytes, theirs: bytes) -> bool:
    a, b = bytearray(ours), bytearray(theirs)
    a[WRITTEN_AT] = b[WRITTEN_AT]
    return a == b


def test_sav_written_in_blocks_is_the_file_pyreadstat_writes_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = [
        Variable("interview_id", "Interview", Kind.STRING),
        Variable("comments", "Comments", Kind.STRING, missing=(996, 997)),
        Variable("overall", "Overall", Kind.INTEGER, ((1, "Good"), (2, "Bad")), (98, 99, 996, 997)),
        Variable("amount", "Amount", Kind.NUMBER, missing=(996,)),
        Variable("completed_at", "Completed", Kind.DATETIME),
        Variable("note", "Always empty", Kind.STRING),
    ]
    texts = ["", "short", "Zoë's café", "x" * 300, "ünïcödé " * 40, None, "996"]
    rows = [
        [
            f"DA-{n:06d}",
            texts[n % len(texts)],
            (1, 2, 98, None)[n % 4],
            None if n % 5 == 0 else n / 4,
            None if n % 6 == 0 else datetime(2025, 3, 30, n % 24, n % 60, tzinfo=UTC),
            None,
        ]
        for n in range(23)
    ]
    whole = tmp_path / "whole.sav"
    pyreadstat.write_sav(sav_frame(variables, rows), str(whole), **sav_options(variables, "title"))
    monkeypatch.setattr(sav_file, "CHUNK", 4)  # blocks of 4 rows: the widest text first seen in the 3rd
    blocks = tmp_path / "blocks.sav"
    write_sav(blocks, variables, iter(rows), "title")
    assert same_but_the_time_written(blocks.read_bytes(), whole.read_bytes())
    monkeypatch.setattr(sav_file, "BLOCK_BYTES", 1)  # long text: pyreadstat given a row at a time
    write_sav(blocks, variables, iter(rows), "title")
    assert same_but_the_time_written(blocks.read_bytes(), whole.read_bytes())
    frame, meta = pyreadstat.read_sav(str(blocks))
    assert meta.number_rows == 23 and frame["comments"][3] == "x" * 300

    empty = tmp_path / "empty.sav"
    write_sav(empty, variables, iter([]), "title")
    frame, meta = pyreadstat.read_sav(str(empty))
    assert len(frame) == 0 and list(frame.columns) == [v.name for v in variables]


class Recorded:
    """Progress as a list of stages: [stage, total, unit, units done]."""

    def __init__(self) -> None:
        self.stages: list[list[Any]] = []

    def start(self, stage: str, total: float | None = None, unit: str = "rows") -> None:
        self.stages.append([stage, total, unit, 0])

    def advance(self, done: float = 1) -> None:
        self.stages[-1][3] += done


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Iterator[Engine]:
    """1,300 generated interviews (1,208 exported): three chunks of rows."""
    path = tmp_path_factory.mktemp("small") / "small.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    generate_interviews(engine, catalogue.get(SURVEY), 1300)
    yield engine
    engine.dispose()


def test_progress_of_a_one_pass_and_a_two_pass_format(
    small: Engine, catalogue: Catalogue, tmp_path: Path
) -> None:
    for fmt in (ExportFormat.CSV, ExportFormat.SAV):  # xlsx and parquet count rows as CSV does
        progress = Recorded()
        result = export(small, catalogue, tmp_path / f"out.{fmt.value}", progress=progress)
        assert result.interviews == 1208
        first = [f"Exporting interviews of {SURVEY}", 1208, "interviews", 1208]
        if fmt is ExportFormat.SAV:
            assert progress.stages == [first, ["Writing the .sav file", 1208, "interviews", 1208]]
        else:
            assert progress.stages == [first]


def test_parquet_row_groups_hold_the_same_table(
    small: Engine, catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = tmp_path / "whole.parquet"
    export(small, catalogue, whole)
    monkeypatch.setattr(parquet_file, "ROW_GROUP", 500)
    groups = tmp_path / "groups.parquet"
    export(small, catalogue, groups)
    assert pq.ParquetFile(whole).num_row_groups == 1
    assert pq.ParquetFile(groups).num_row_groups == 3
    assert pq.read_table(groups).equals(pq.read_table(whole))
    assert pq.read_schema(groups).equals(pq.read_schema(whole), check_metadata=True)


def test_more_interviews_than_an_excel_sheet_holds_is_refused_before_anything_is_written(
    small: Engine, catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "MAX_SHEET_ROWS", 1000)
    path = tmp_path / "big.xlsx"
    with pytest.raises(ExportError, match=r"big.xlsx: 1,208 interviews do not fit in an Excel sheet"):
        export(small, catalogue, path)
    assert list(tmp_path.iterdir()) == []


def test_postgresql_streams_the_same_rows_as_sqlite(
    pg_url: str, small: Engine, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "CHUNK", 100)  # many fetches from the server-side cursor between queries
    upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        generate_interviews(engine, catalogue.get(SURVEY), 1300)
        with make_session_factory(engine).begin() as session:
            on_postgresql = export_table(session, catalogue, SURVEY, START, END, include_partial=True)
    finally:
        engine.dispose()
    with make_session_factory(small).begin() as session:
        on_sqlite = export_table(session, catalogue, SURVEY, START, END, include_partial=True)
    assert len(on_postgresql[1]) == 1248
    assert on_postgresql == on_sqlite
