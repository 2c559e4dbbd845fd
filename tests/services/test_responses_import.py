"""Historical import on real databases: whole-file checks, no duplicates, and the export round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.domain.permissions import Actor, PermissionDenied, Role
from app.errors import SurveyError
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue, register
from app.services.export import export_interviews
from app.services.report import build_report, report_json
from app.services.responses import CHUNK, ResponsesFileError, ResponsesImport, import_responses
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import Answer, AuditEvent, Interview, SurveyDayCount
from tests.services.test_report import check_worked_example, worked_example

DATA = Path(__file__).parents[1] / "data" / "responses"
SYSTEM = Actor.system()


@pytest.fixture
def catalogue() -> Catalogue:
    """The bundled surveys and the pilot survey of the test data."""
    catalogue = load_catalogue(bundled_dir())
    pilot = load_catalogue(DATA / "questionnaires")
    catalogue.questionnaires.update(pilot.questionnaires)
    catalogue.files.update(pilot.files)
    return catalogue


@pytest.fixture
def sessions(session_factory: sessionmaker[Session], catalogue: Catalogue) -> sessionmaker[Session]:
    with session_factory.begin() as session:
        register(session, catalogue)
    return session_factory


def run_import(
    sessions: sessionmaker[Session], catalogue: Catalogue, path: Path, **kw: bool
) -> ResponsesImport:
    with sessions.begin() as session:
        return import_responses(session, SYSTEM, catalogue, path, **kw)


def count(sessions: sessionmaker[Session], model: type[Interview] | type[Answer]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def problems_of(sessions: sessionmaker[Session], catalogue: Catalogue, path: Path) -> list[str]:
    with pytest.raises(ResponsesFileError) as caught:
        run_import(sessions, catalogue, path)
    assert count(sessions, Interview) == 0  # nothing half-imported
    return caught.value.problems


def test_import_historical_file(sessions: sessionmaker[Session], catalogue: Catalogue) -> None:
    path = DATA / "historical.csv"
    result = run_import(sessions, catalogue, path)
    assert (result.rows, result.added, result.already_present) == (5, 5, 0)
    assert result.by_survey == (("domestic_abuse", 5),)
    with sessions() as session:
        rows = {i.external_id: i for i in session.scalars(select(Interview))}
        assert set(rows) == {"H-001", "H-002", "H-003", "H-004", "H-005"}
        first = rows["H-001"]
        assert first.imported and first.status == "completed" and first.case_id is None
        assert first.questionnaire_version == catalogue.get("domestic_abuse").version
        assert first.questionnaire_hash == catalogue.get("domestic_abuse").content_hash()
        # A date is stored as noon, local time: 12:00 BST is 11:00 UTC.
        assert first.ended_at == datetime(2019, 5, 14, 11, 0, tzinfo=UTC)
        assert (first.ended_at - first.started_at).total_seconds() == 1260
        assert (first.division, first.district) == ("North", "North 1")
        assert rows["H-002"].ended_at == datetime(2019, 5, 20, 9, 15, tzinfo=UTC)  # an offset given
        assert rows["H-002"].started_at == rows["H-002"].ended_at  # no duration given
        assert rows["H-002"].district is None
        assert rows["H-003"].ended_at == datetime(2019, 6, 3, 8, 0, tzinfo=UTC)  # local time, BST
        assert rows["H-005"].ended_at == datetime(2019, 8, 14, 11, 0, tzinfo=UTC)  # a UK date
        answers = {(a.interview_id, a.question_id): a.code for a in session.scalars(select(Answer))}
    h3 = rows["H-003"].id
    assert answers[(h3, "action_sat")] == 98 and answers[(h3, "supported_prosecution")] == 99
    assert (h3, "kept_informed_sat") not in answers  # blank: not recorded, no row
    assert (h3, "overall_sat") not in answers
    assert count(sessions, Answer) == 5 * 5 - 2
    with sessions() as session:
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "responses_imported"))
    assert json.loads(event.detail or "") == {
        "file": "historical.csv",
        "rows": 5,
        "added": 5,
        "already_present": 0,
        "surveys": {"domestic_abuse": 5},
    }


def test_reimport_adds_nothing(sessions: sessionmaker[Session], catalogue: Catalogue) -> None:
    run_import(sessions, catalogue, DATA / "historical.csv")
    again = run_import(sessions, catalogue, DATA / "historical.csv")
    assert (again.added, again.already_present) == (0, 5)
    assert count(sessions, Interview) == 5


def test_dry_run_stores_nothing(sessions: sessionmaker[Session], catalogue: Catalogue) -> None:
    result = run_import(sessions, catalogue, DATA / "historical.csv", dry_run=True)
    assert (result.added, result.dry_run) == (5, True)
    assert count(sessions, Interview) == 0


def test_every_bad_row_is_reported_and_nothing_imported(
    sessions: sessionmaker[Session], catalogue: Catalogue
) -> None:
    path = DATA / "bad_rows.csv"
    name = str(path)
    assert problems_of(sessions, catalogue, path) == [
        f"{name}:2: overall_sat: 8 is not a code of 'overall_sat' (codes 1, 2, 3, 4, 5, 6, 7, 99)",
        f"{name}:3: survey: unknown survey 'stalking' (known: burglary, domestic_abuse, hate_crime, pilot,"
        " rape)",
        f"{name}:4: completed_at: '2019-02-30' is not a date or time (use 2020-08-14 or"
        " 2020-08-14T10:32:05+01:00)",
        f"{name}:5: division: missing",
        f"{name}:6: overall_sat: 'x' is not a code (codes 1, 2, 3, 4, 5, 6, 7, 99)",
        f"{name}:8: interview_id: 'B-6' is also on line 7",
        f"{name}:9: completed_at: '2999-01-01' is in the future",
        f"{name}:10: 7 cells, but the header has 6 columns",
        f"{name}:11: supported_prosecution: 3 is not a code of 'supported_prosecution' (codes 1, 2, 98, 99)",
    ]


def test_bad_header(sessions: sessionmaker[Session], catalogue: Catalogue) -> None:
    name = str(DATA / "bad_header.csv")
    assert problems_of(sessions, catalogue, DATA / "bad_header.csv") == [
        f"{name}:1: overall_sat: the column appears twice",
        f"{name}:1: division: missing required column",
    ]


def test_unknown_column(sessions: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "colour.csv"
    path.write_text(
        "interview_id,survey,completed_at,division,colour\nC-1,domestic_abuse,2019-05-14,North,red\n"
    )
    assert problems_of(sessions, catalogue, path) == [
        f"{path}:1: colour: unknown column: not a question of domestic_abuse"
    ]


def test_every_kind_of_question(
    sessions: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    path = tmp_path / "pilot.csv"
    path.write_text(
        "interview_id,survey,completed_at,division,kept_informed,help_1,help_2,help_3,help_98,contacts,"
        "contact_date,overall,comments\n"
        'P-1,pilot,2020-08-01,North,1,1,0,1,0,3,2020-07-20,2,"Très bien,\nmerci"\n'
        "P-2,pilot,2020-08-02,North,98,0,0,0,1,99,,99,\n"
        "P-3,pilot,2020-08-03,North,,,,,,,,,\n"
    )
    assert run_import(sessions, catalogue, path).added == 3
    with sessions() as session:
        stored = {
            (external_id, question_id): (code, value)
            for external_id, question_id, code, value in session.execute(
                select(Interview.external_id, Answer.question_id, Answer.code, Answer.value).join(
                    Answer, Answer.interview_id == Interview.id
                )
            )
        }
    assert stored == {
        ("P-1", "kept_informed"): (1, None),
        ("P-1", "help"): (None, "[1, 3]"),
        ("P-1", "contacts"): (None, "3"),
        ("P-1", "contact_date"): (None, "2020-07-20"),
        ("P-1", "overall"): (2, None),
        ("P-1", "comments"): (None, "Très bien,\nmerci"),
        ("P-2", "kept_informed"): (98, None),
        ("P-2", "help"): (98, None),
        ("P-2", "contacts"): (99, None),
        ("P-2", "overall"): (99, None),
    }


def test_bad_answers_of_every_kind(
    sessions: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    path = tmp_path / "pilot.csv"
    path.write_text(
        "interview_id,survey,completed_at,division,kept_informed,help_1,help_2,help_98,contacts,contact_date,"
        "comments\n"
        "P-1,pilot,2020-08-01,North,,,,,51,,\n"
        "P-2,pilot,2020-08-01,North,,1,0,1,,,\n"
        "P-3,pilot,2020-08-01,North,,0,0,0,,,\n"
        "P-4,pilot,2020-08-01,North,,2,,,,,\n"
        "P-5,pilot,2020-08-01,North,,,,,,2020-13-01,\n"
        'P-6,pilot,2020-08-01,North,3,,,,,,"two\nlines"\n'
        "P-7,pilot,2020-08-01,North,98,,,,99,,\n"
        "P-8,pilot,2020-08-01,North,,,,,2.5,,\n"
        "P-9,pilot,2020-08-01,North,,,,,,2999-01-01,\n"
    )
    name = str(path)
    assert problems_of(sessions, catalogue, path) == [
        f"{name}:2: contacts: '51': the largest allowed is 50",
        f"{name}:3: help_*: don't know or refused together with other options",
        f"{name}:4: help_*: no option chosen (leave all blank if not recorded)",
        f"{name}:5: help_1: '2' is not 0 or 1",
        f"{name}:6: contact_date: '2020-13-01' is not a date; use DD/MM/YYYY",
        f"{name}:7: kept_informed: 3 is not a code of 'kept_informed' (codes 1, 2, 98)",
        f"{name}:10: contacts: '2.5': enter a whole number",
        f"{name}:11: contact_date: '2999-01-01': the date is in the future",
    ]


def test_not_a_csv_file(sessions: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path) -> None:
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(128, 256)))
    assert problems_of(sessions, catalogue, binary) == [
        f"{binary}:1: neither UTF-8 nor Windows-1252 text (byte 0x81): save it as CSV UTF-8"
    ]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert problems_of(sessions, catalogue, empty) == [f"{empty}:1: the file is empty"]
    header_only = tmp_path / "header.csv"
    header_only.write_text("interview_id,survey,completed_at,division\n")
    assert problems_of(sessions, catalogue, header_only) == [
        f"{header_only}:1: no interviews in the file (only a header)"
    ]
    missing = tmp_path / "missing.csv"
    assert problems_of(sessions, catalogue, missing) == [f"{missing}: file not found"]


def test_permissions_and_registration(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    with session_factory.begin() as session:
        supervisor = Actor(staff_id=None, username="sup", role=Role.SUPERVISOR)
        with pytest.raises(PermissionDenied):
            import_responses(session, supervisor, catalogue, DATA / "historical.csv")
        with pytest.raises(SurveyError, match="is not registered in this database"):
            import_responses(session, SYSTEM, catalogue, DATA / "historical.csv")


def test_round_trip_export_import_same_report(
    sessions: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    """Export the worked example to CSV, import it into an empty database: the same report."""
    with sessions.begin() as session:
        worked_example(session, catalogue)
    start, end = date(2019, 7, 1), date(2020, 9, 30)
    path = tmp_path / "export.csv"
    with sessions.begin() as session:
        exported = export_interviews(session, SYSTEM, catalogue, "domestic_abuse", start, end, "csv", path)
        before = report_json(build_report(session, SYSTEM, catalogue, "domestic_abuse", start, end))
    assert exported.interviews == 13 + 110 + 119

    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other_url)
    engine = make_engine(other_url)
    try:
        other = make_session_factory(engine)
        with other.begin() as session:
            register(session, catalogue)
        assert run_import(other, catalogue, path).added == exported.interviews
        with other() as session:
            after = report_json(build_report(session, SYSTEM, catalogue, "domestic_abuse", start, end))
            by_month = report_json(
                build_report(session, SYSTEM, catalogue, "domestic_abuse", start, end, by="month")
            )
        with sessions() as session:
            assert by_month == report_json(
                build_report(session, SYSTEM, catalogue, "domestic_abuse", start, end, by="month")
            )
        # And exporting the imported interviews gives back the same ids: a second import adds nothing.
        again = tmp_path / "again.csv"
        with other.begin() as session:
            export_interviews(session, SYSTEM, catalogue, "domestic_abuse", start, end, "csv", again)
        assert run_import(other, catalogue, again).added == 0
    finally:
        engine.dispose()
    assert after == before
    check_worked_example({"periods": after["periods"][1:]})  # the range starts a quarter earlier here


def long_file(tmp_path: Path, rows: int, *, encoding: str = "utf-8") -> Path:
    """`rows` interviews over several chunks, in the layout of historical.csv."""
    header = "interview_id,survey,completed_at,division,district,duration_seconds,overall_sat"
    lines = [header] + [
        f"L-{n:05d},domestic_abuse,2019-0{1 + n % 9}-1{n % 10},Nörth,Ashby {n % 3},{600 + n},{1 + n % 7}"
        for n in range(rows)
    ]
    path = tmp_path / "long.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def test_a_long_file_streams_and_a_bad_last_row_imports_nothing(
    sessions: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    rows = 2 * CHUNK + 10
    path = long_file(tmp_path, rows)
    with path.open("a") as handle:
        handle.write("L-00003,domestic_abuse,2019-03-01,North,,,1\r\n")
        handle.write("L-99999,domestic_abuse,2019-03-01,North,,,9\r\n")
    assert problems_of(sessions, catalogue, path) == [
        f"{path}:{rows + 2}: interview_id: 'L-00003' is also on line 5",
        f"{path}:{rows + 3}: overall_sat: 9 is not a code of 'overall_sat' (codes 1, 2, 3, 4, 5, 6, 7, 99)",
    ]

    good = long_file(tmp_path, rows, encoding="cp1252")
    result = run_import(sessions, catalogue, good)
    assert (result.rows, result.added) == (rows, rows)
    assert count(sessions, Interview) == rows and count(sessions, Answer) == rows
    with sessions() as session:
        assert session.scalar(select(Interview.division).limit(1)) == "Nörth"
        tallied = session.scalar(select(func.sum(SurveyDayCount.surveys)))
    assert tallied == rows
    again = run_import(sessions, catalogue, long_file(tmp_path, rows, encoding="utf-16"))
    assert (again.added, again.already_present) == (0, rows)
