"""Exports on a real database: every format, labels, versions, pseudonymisation, atomic writes, audit."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pyreadstat
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import utcnow
from app.domain.engine import Answer as EngineAnswer
from app.domain.permissions import Actor, PermissionDenied, Role
from app.services import export as export_service
from app.services import redaction, review
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue, register
from app.services.export import (
    META_COLUMNS,
    ExportError,
    ExportFormat,
    export_changes,
    export_interviews,
    export_table,
    export_variables,
    parse_format,
    pseudonymous_id,
    routing_condition,
)
from app.store.models import Answer as AnswerRow
from app.store.models import AuditEvent, Case, Staff
from tests.services.test_report import add_interview, utc

DATA = Path(__file__).parents[1] / "data" / "responses"
SYSTEM = Actor.system()
START, END = date(2020, 7, 1), date(2020, 9, 30)
PERSONAL = ("Jane Doe", "07700 900123", "CR/12345/20", "1980-02-03")

QUESTION_COLUMNS = [
    "kept_informed",
    "help_1",
    "help_2",
    "help_3",
    "help_98",
    "help_4",  # only version 1 offered "A phone call": after the current version's options
    "contacts",
    "contact_date",
    "overall",
    "comments",
    "first_contact",  # only version 1 asked it: after every question of the current version
]
MEASURE_COLUMNS = [
    "overall_positive",
    "overall_excl_neutral",
    "kept_informed_positive",
    "kept_informed_excl_neutral",
]
COLUMNS = [*META_COLUMNS, *QUESTION_COLUMNS, *MEASURE_COLUMNS]


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue(DATA / "questionnaires")


@pytest.fixture
def pilot(session_factory: sessionmaker[Session], catalogue: Catalogue) -> sessionmaker[Session]:
    """Pilot interviews under versions 1 and 2, one of them linked to a case full of personal data."""
    old = load_catalogue(DATA / "questionnaires_v1")
    with session_factory.begin() as session:
        register(session, old)
        case = Case(
            survey="pilot",
            crime_ref="CR/12345/20",
            victim_name="Jane Doe",
            phone="07700 900123",
            date_of_birth=date(1980, 2, 3),
            report_date=date(2020, 6, 1),
            division="North",
            district="North 1",
            imported_at=utc(2020, 6, 10),
        )
        session.add(case)
        session.flush()
        v1 = old.get("pilot")
        add_interview(
            session,
            v1,
            utc(2020, 7, 2, 10),
            {"first_contact": 2, "kept_informed": 1, "help": EngineAnswer(value=(1, 4)), "overall": 2},
            case_id=case.id,
        )
    with session_factory.begin() as session:
        register(session, catalogue)
        v2 = catalogue.get("pilot")
        add_interview(
            session,
            v2,
            utc(2020, 8, 3, 14, 5),
            {
                "kept_informed": 98,
                "help": EngineAnswer(value=(1, 3)),
                "contacts": EngineAnswer(value=3),
                "contact_date": EngineAnswer(value=date(2020, 7, 20)),
                "overall": 1,
                "comments": EngineAnswer(value='Très bien, merci; "kind"\nofficer'),
            },
            division="South",
            district="South 2",
        )
        review_every_verbatim(session)
        add_interview(
            session,
            v2,
            utc(2020, 9, 30, 22, 59),  # 23:59 BST on 30 September: still in the range
            {"kept_informed": None, "help": 98, "contacts": 99, "overall": 99},
        )
        add_interview(session, v2, utc(2020, 8, 5), {"overall": 3}, status="partial")
        add_interview(session, v2, utc(2020, 8, 6), {"overall": 3}, status="stopped")
        add_interview(session, v2, utc(2020, 9, 30, 23, 0), {"overall": 3})  # 1 October local: outside
        add_interview(
            session, v2, utc(2020, 8, 7), {"overall": 5}, imported=True, external_id="OLD-77", division="West"
        )
    return session_factory


def review_every_verbatim(session: Session) -> None:
    """A supervisor approves each free-text answer as it is, so that analysts' exports carry it."""
    reviewer = session.scalar(select(Staff).where(Staff.username == "sam"))
    if reviewer is None:
        reviewer = Staff(
            username="sam", display_name="Sam", role="supervisor", password_hash="x", created_at=utcnow()
        )
        session.add(reviewer)
        session.flush()
    supervisor = Actor(reviewer.id, "sam", Role.SUPERVISOR)
    verbatims = select(AnswerRow.id).where(AnswerRow.question_id == "comments", AnswerRow.value != "")
    for answer_id in session.scalars(verbatims):
        redaction.approve(session, supervisor, answer_id, [])


def export(sessions: sessionmaker[Session], catalogue: Catalogue, path: Path, **kw: Any) -> Any:
    with sessions.begin() as session:
        return export_interviews(
            session, SYSTEM, catalogue, "pilot", START, END, kw.pop("fmt", path.suffix[1:]), path, **kw
        )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv(pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "pilot.csv"
    result = export(pilot, catalogue, path)
    assert (result.interviews, result.variables) == (4, len(COLUMNS))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM, so Excel reads UTF-8
    header = raw[3:].decode().splitlines()[0].split(",")
    assert header == COLUMNS
    rows = read_csv(path)
    assert [r["interview_id"] for r in rows] == ["P-000001", "P-000002", "OLD-77", "P-000003"]
    v1, full, imported, specials = rows
    assert v1["questionnaire_version"] == "1" and full["questionnaire_version"] == "2"
    assert v1["completed_at"] == "2020-07-02T11:00:00+01:00"  # local time, with its offset
    assert v1["duration_seconds"] == "900" and v1["imported"] == "0"
    assert (v1["first_contact"], v1["kept_informed"], v1["overall"]) == ("2", "1", "2")
    assert [v1[f"help_{c}"] for c in (1, 2, 3, 98, 4)] == ["1", "0", "0", "0", "1"]
    assert v1["contacts"] == "996" and v1["comments"] == "996"  # version 1 did not ask them
    assert full["kept_informed"] == "98"
    assert [full[f"help_{c}"] for c in (1, 2, 3, 98, 4)] == ["1", "0", "1", "0", "0"]
    assert (full["contacts"], full["contact_date"]) == ("3", "2020-07-20")
    assert full["comments"] == 'Très bien, merci; "kind"\nofficer'
    assert (full["division"], full["district"]) == ("South", "South 2")
    assert full["first_contact"] == "996"  # only version 1 asked it
    assert specials["kept_informed"] == "997"  # a blank answer row: not recorded
    assert (specials["contact_date"], specials["comments"]) == ("997", "997")
    assert [specials[f"help_{c}"] for c in (1, 2, 3, 98, 4)] == ["0", "0", "0", "1", "0"]
    assert (specials["contacts"], specials["overall"]) == ("99", "99")
    assert specials["completed_at"] == "2020-09-30T23:59:00+01:00"
    assert imported["imported"] == "1" and imported["duration_seconds"] == "900"
    # An imported interview with gaps: every question on its route without an answer is not recorded.
    assert [imported[c] for c in ("kept_informed", "help_1", "contacts", "first_contact")] == [
        "997",
        "997",
        "997",
        "996",
    ]
    # The measures as published: overall 2, 1, 5, 99 -> positive 1, 1, 0, 0; kept informed 1, 98, -, -.
    assert [r["overall_positive"] for r in rows] == ["1", "1", "0", "0"]
    assert [r["kept_informed_positive"] for r in rows] == ["1", "0", "0", "0"]
    assert {(r["corrected"], r["flagged_for_follow_up"]) for r in rows} == {("0", "0")}
    assert {r["verbatims_pending"] for r in rows} == {"0"}
    assert {r["status"] for r in rows} == {"completed"}
    for secret in PERSONAL:
        assert secret.encode() not in raw


def test_partial_only_when_asked(pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "with-partial.csv"
    assert export(pilot, catalogue, path, include_partial=True).interviews == 5
    assert [r["status"] for r in read_csv(path)].count("partial") == 1


def test_sav_labels_and_missing_values(
    pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    path = tmp_path / "pilot.sav"
    export(pilot, catalogue, path)
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert list(frame.columns) == COLUMNS
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["overall"] == "Overall satisfaction"
    assert labels["help_3"] == "Help received: A referral"
    assert labels["interview_id"] == "Interview (pseudonymous id)"
    assert meta.variable_value_labels["overall"][1.0] == "Completely satisfied"
    assert meta.variable_value_labels["overall"][98.0] == "Don't know"
    assert meta.variable_value_labels["help_2"] == {
        0.0: "Not chosen",
        1.0: "Chosen",
        996.0: "Not asked (routed away)",
        997.0: "Not recorded",
    }
    assert meta.variable_value_labels["overall"][996.0] == "Not asked (routed away)"
    assert meta.variable_value_labels["overall"][997.0] == "Not recorded"
    # SPSS holds three missing values or a range: 98, 99, 996 and 997 are the range 98 to 997.
    assert meta.missing_ranges["overall"] == [{"lo": 98.0, "hi": 997.0}]
    assert meta.missing_ranges["kept_informed"] == [
        {"lo": 98.0, "hi": 98.0},
        {"lo": 996.0, "hi": 996.0},
        {"lo": 997.0, "hi": 997.0},
    ]
    assert meta.missing_ranges["comments"] == [{"lo": "996", "hi": "996"}, {"lo": "997", "hi": "997"}]
    assert meta.original_variable_types["overall"] == "F3.0"
    assert meta.original_variable_types["help_1"] == "F3.0"
    assert meta.variable_measure["overall"] == "ordinal"
    assert meta.variable_measure["kept_informed"] == "nominal"
    assert meta.variable_measure["contacts"] == "scale"
    assert meta.original_variable_types["completed_at"].startswith("DATETIME")
    assert list(frame["overall"]) == [2.0, 1.0, 5.0, 99.0]
    assert list(frame["contacts"]) == [996.0, 3.0, 997.0, 99.0]
    assert frame["completed_at"][0] == datetime(2020, 7, 2, 11, 0)  # local time
    assert frame["comments"][1] == 'Très bien, merci; "kind"\nofficer'


def test_xlsx_data_and_codebook(pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "pilot.xlsx"
    export(pilot, catalogue, path)
    book = load_workbook(path)
    assert book.sheetnames == ["data", "codebook", "changes"]
    data = list(book["data"].values)
    assert list(data[0]) == COLUMNS
    assert len(data) == 5
    assert data[1][4] == datetime(2020, 7, 2, 11, 0)  # completed_at, local time
    rows = list(book["codebook"].values)
    assert rows[0] == (
        "variable",
        "label",
        "type",
        "values",
        "missing",
        "level",
        "format",
        "question",
        "asked if",
        "definition",
    )
    codebook = {row[0]: row for row in rows[1 : len(COLUMNS) + 1]}
    assert set(codebook) == set(COLUMNS)
    assert codebook["overall"][1:] == (
        "Overall satisfaction",
        "integer",
        "1 = Completely satisfied; 2 = Very satisfied; 3 = Fairly satisfied; 4 = Neither satisfied nor"
        " dissatisfied; 5 = Fairly dissatisfied; 6 = Very dissatisfied; 7 = Completely dissatisfied;"
        " 98 = Don't know; 99 = Refused; 996 = Not asked (routed away); 997 = Not recorded",
        "98, 99, 996, 997",
        "ordinal",
        "F3.0",
        "How satisfied are you with the service overall?",
        "always",
        None,
    )
    assert codebook["overall_positive"][9].startswith("1 when overall is 1 (Completely satisfied), 2 (Very")
    assert codebook["overall_excl_neutral"][3] == (
        "0 = Any other answer, or not recorded; 1 = Positive; 995 = Neutral: left out"
    )
    assert list(book["changes"].values)[0][:5] == (
        "interview_id",
        "survey",
        "question",
        "question_label",
        "kind",
    )
    with zipfile.ZipFile(path) as archive:
        text = b"".join(archive.read(name) for name in archive.namelist())
    for secret in PERSONAL:
        assert secret.encode() not in text


def test_parquet_types(pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "pilot.parquet"
    export(pilot, catalogue, path)
    table = pq.read_table(path)
    assert table.column_names == COLUMNS
    schema = table.schema
    assert str(schema.field("overall").type) == "int64"
    assert str(schema.field("help_1").type) == "int16"
    assert str(schema.field("completed_at").type) == "timestamp[ms, tz=Europe/London]"
    assert schema.field("overall").metadata[b"label"] == b"Overall satisfaction"
    assert json.loads(schema.field("overall").metadata[b"missing"]) == [98, 99, 996, 997]
    assert table.column("overall").to_pylist() == [2, 1, 5, 99]
    assert table.column("kept_informed").to_pylist() == [1, 98, 997, 997]
    assert table.column("completed_at").to_pylist()[0] == datetime(2020, 7, 2, 10, 0, tzinfo=UTC)


def test_a_failed_export_leaves_the_old_file(
    pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "pilot.csv"
    path.write_text("the previous export\n")

    def broken(temporary: Path, *args: Any) -> None:
        temporary.write_text("half a fi")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(export_service.WRITERS, ExportFormat.CSV, broken)
    with pytest.raises(OSError, match="No space"):
        export(pilot, catalogue, path)
    assert path.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".csv") == ["pilot.csv"]
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]
    with pilot() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all() == []


def test_export_is_audited_without_personal_data(
    pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    export(pilot, catalogue, tmp_path / "pilot.parquet")
    with pilot() as session:
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert event.entity == "survey" and event.entity_id == "pilot"
    assert json.loads(event.detail or "") == {
        "format": "parquet",
        "file": "pilot.parquet",
        "from": "2020-07-01",
        "to": "2020-09-30",
        "include_partial": False,
        "interviews": 4,
        "variables": len(COLUMNS),
    }


def test_permissions_and_errors(pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path) -> None:
    with pilot.begin() as session:
        supervisor = Actor(staff_id=None, username="sup", role=Role.SUPERVISOR)
        with pytest.raises(PermissionDenied):
            export_interviews(session, supervisor, catalogue, "pilot", START, END, "csv", tmp_path / "x.csv")
        analyst = Actor(staff_id=None, username="ana", role=Role.ANALYST)
        export_interviews(session, analyst, catalogue, "pilot", START, END, "csv", tmp_path / "x.csv")
        with pytest.raises(ExportError, match="folder not found"):
            export_interviews(
                session, SYSTEM, catalogue, "pilot", START, END, "csv", tmp_path / "no" / "x.csv"
            )
        with pytest.raises(ExportError, match="before"):
            export_table(session, catalogue, "pilot", END, START)
    assert parse_format(None, Path("a.SAV")) is ExportFormat.SAV
    with pytest.raises(ExportError, match="give --format"):
        parse_format(None, Path("a.txt"))
    with pytest.raises(ExportError, match="unknown export format 'dta'"):
        parse_format("dta", Path("a.csv"))


def test_empty_range_writes_the_header(
    pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    with pilot.begin() as session:
        result = export_interviews(
            session, SYSTEM, catalogue, "pilot", date(2021, 1, 1), date(2021, 3, 31), "csv", path
        )
    assert result.interviews == 0
    assert path.read_text(encoding="utf-8-sig").splitlines()[0].startswith("interview_id,survey,")


def test_pseudonymous_id() -> None:
    assert pseudonymous_id("domestic_abuse", 123) == "DA-000123"
    assert pseudonymous_id("hate_crime", 1234567) == "HC-1234567"


def test_corrections_and_flags_travel(
    pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    supervisor = Actor(staff_id=None, username="sup", role=Role.SUPERVISOR)
    with pilot.begin() as session:
        review.correct_answer(session, supervisor, catalogue, 2, "overall", "2", "caller typed 1 for 2")
        review.flag_interview(session, supervisor, 3, "call back about the refusal")
    path = tmp_path / "pilot.csv"
    export(pilot, catalogue, path)
    rows = {r["interview_id"]: r for r in read_csv(path)}
    assert (rows["P-000002"]["overall"], rows["P-000002"]["corrected"]) == ("2", "1")
    assert rows["P-000003"]["flagged_for_follow_up"] == "1"
    assert [(r["corrected"], r["flagged_for_follow_up"]) for r in (rows["P-000001"], rows["OLD-77"])] == [
        ("0", "0"),
        ("0", "0"),
    ]
    changes = tmp_path / "changes.csv"
    with pilot.begin() as session:
        result = export_changes(session, SYSTEM, catalogue, "pilot", START, END, "csv", changes)
    assert result.interviews == 1
    (change,) = read_csv(changes)
    assert change == {
        "interview_id": "P-000002",
        "survey": "pilot",
        "question": "overall",
        "question_label": "Overall satisfaction",
        "kind": "corrected",
        "old_code": "1",
        "old_value": "",
        "new_code": "2",
        "new_value": "",
        "reason": "caller typed 1 for 2",
        "changed_at": change["changed_at"],
    }
    assert "sup" not in changes.read_text()  # no staff names
    book = tmp_path / "pilot.xlsx"
    export(pilot, catalogue, book)
    sheet = list(load_workbook(book)["changes"].values)
    assert [row[:6] for row in sheet[1:]] == [
        ("P-000002", "pilot", "overall", "Overall satisfaction", "corrected", 1)
    ]
    with pilot.begin() as session:
        with pytest.raises(ExportError, match="csv or xlsx"):
            export_changes(session, SYSTEM, catalogue, "pilot", START, END, "sav", tmp_path / "c.sav")
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("export%"))).all()
    assert sorted(events) == ["export", "export", "export_changes"]


def test_codebook_and_syntax_beside_the_sav(
    pilot: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    result = export(pilot, catalogue, tmp_path / "pilot.sav")
    assert [p.name for p in result.beside] == ["pilot.codebook.txt", "pilot.sps"]
    syntax = (tmp_path / "pilot.sps").read_text()
    assert (
        "MRSETS\n  /MDGROUP NAME=$help LABEL='Help received' CATEGORYLABELS=VARLABELS\n"
        "   VARIABLES=help_1 help_2 help_3 help_98 help_4 VALUE=1\n."
    ) in syntax
    assert "VARIABLE LEVEL overall (ORDINAL)." in syntax
    assert "FREQUENCIES VARIABLES=overall_positive overall_excl_neutral kept_informed_positive" in syntax
    codebook = (tmp_path / "pilot.codebook.txt").read_text()
    assert "   996  Not asked: the questionnaire routed away from it" in codebook
    assert (
        "overall  Overall satisfaction\n  type: integer; level: ordinal; SPSS format: F3.0\n"
        "  question: How satisfied are you with the service overall?\n  asked if: always\n"
    ) in codebook
    assert "  overall_excl_neutral: 1 when overall is 1 (Completely satisfied)" in codebook
    for name in ("pilot.csv", "pilot.parquet"):
        assert [p.name for p in export(pilot, catalogue, tmp_path / name).beside] == ["pilot.codebook.txt"]
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_routing_conditions_in_words(catalogue: Catalogue) -> None:
    rape = load_catalogue(bundled_dir()).get("rape")
    assert routing_condition(rape, "solo_sat") == "solo_assigned = 1"
    assert routing_condition(rape, "attendance_why") == "attendance_sat in (5, 6, 7)"
    assert (
        routing_condition(rape, "kept_informed_why")
        == "kept_informed_yn in (2, 3) or kept_informed_sat in (5, 6, 7)"
    )
    assert routing_condition(rape, "overall_sat") is None
    (variable,) = [v for v in export_variables([rape]) if v.name == "solo_sat"]
    assert (variable.routing, variable.level, variable.spss_format) == (
        "solo_assigned = 1",
        "ordinal",
        "F3.0",
    )
