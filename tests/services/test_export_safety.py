"""Exports that a spreadsheet opens as text: no cell starts a formula in CSV, no formula cell in XLSX,
and characters XLSX cannot hold are replaced instead of failing the export."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from app.domain.engine import Answer as EngineAnswer
from app.domain.permissions import Actor
from app.domain.text import FORMULA_START, csv_cell
from app.services.catalogue import load_catalogue, register
from app.services.export import export_interviews
from tests.domain.test_text import hostile_text
from tests.services.test_export import review_every_verbatim
from tests.services.test_report import add_interview, utc

DATA = Path(__file__).parents[1] / "data" / "responses"
HOSTILE = [
    '=HYPERLINK("http://x.example","click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "bell\x07in the middle",
]


def seed(sessions: sessionmaker[Session], comments: list[str], district: str = "North 1") -> None:
    catalogue = load_catalogue(DATA / "questionnaires")
    with sessions.begin() as session:
        register(session, catalogue)
        for day, comment in enumerate(comments, start=1):
            add_interview(
                session,
                catalogue.get("pilot"),
                utc(2020, 8, day, 10),
                {"overall": 1, "comments": EngineAnswer(value=comment)},
                district=district,
            )
        review_every_verbatim(session)


def export(sessions: sessionmaker[Session], path: Path) -> None:
    with sessions.begin() as session:
        export_interviews(
            session,
            Actor.system(),
            load_catalogue(DATA / "questionnaires"),
            "pilot",
            date(2020, 7, 1),
            date(2020, 9, 30),
            path.suffix[1:],
            path,
        )


def test_hostile_cells_stay_text(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    seed(session_factory, HOSTILE, district="Ash\x07by")
    export(session_factory, tmp_path / "out.csv")
    export(session_factory, tmp_path / "out.xlsx")

    with (tmp_path / "out.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["comments"] for row in rows) == sorted(csv_cell(value) for value in HOSTILE)
    for row in rows:
        assert not any(str(cell).startswith(FORMULA_START) for cell in row.values())

    book = load_workbook(tmp_path / "out.xlsx")
    cells = [cell for sheet in book.worksheets for line in sheet.iter_rows() for cell in line]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    sheet = book["data"]
    header = [cell.value for cell in sheet[1]]
    comments = sorted(line[header.index("comments")].value for line in sheet.iter_rows(min_row=2))
    expected = sorted(
        value.replace("\x07", "\ufffd").replace("\r", "\n") for value in HOSTILE
    )  # XML: CR is LF
    assert comments == expected  # the text itself, shown as text: nothing lost but an unusable BEL
    assert {line[header.index("district")].value for line in sheet.iter_rows(min_row=2)} == {"Ash\ufffdby"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(hostile_text, min_size=1, max_size=3))
def test_any_verbatim_exports_safely(
    session_factory: sessionmaker[Session],
    tmp_path_factory,
    comments: list[str],  # type: ignore[no-untyped-def]
) -> None:
    folder = tmp_path_factory.mktemp("export")
    seed(session_factory, comments)
    export(session_factory, folder / "out.csv")
    export(session_factory, folder / "out.xlsx")
    with (folder / "out.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            assert not any(str(cell).startswith(FORMULA_START) for cell in row.values())
    book = load_workbook(folder / "out.xlsx")
    assert not [c for s in book.worksheets for line in s.iter_rows() for c in line if c.data_type == "f"]
