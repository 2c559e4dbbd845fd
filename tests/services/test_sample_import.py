"""Sample import on real databases: the whole file checked first, bulk load, no duplicates, screening."""

from __future__ import annotations

import codecs
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.domain.permissions import Actor, PermissionDenied, Role
from app.domain.phones import check_uk_phone
from app.domain.questionnaire import EligibilityRule, ExclusionReason, Fieldwork, load_questionnaire
from app.errors import SurveyError
from app.services.catalogue import Catalogue
from app.services.sample import (
    COLUMNS,
    SampleFileError,
    import_sample,
    template_header,
)
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import AuditEvent, Case, ScreeningDecision

ROOT = Path(__file__).parents[2]
SAMPLES = ROOT / "tests" / "data" / "samples"
EXTRACT = SAMPLES / "extract.csv"
BAD_ROWS = SAMPLES / "bad_rows.csv"
EXAMPLE = ROOT / "tests" / "domain" / "data" / "example.yaml"

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SYSTEM = Actor.system()


def make_catalogue() -> Catalogue:
    """Two surveys with known rules and windows, so the tests do not follow edits to the bundled ones."""
    base = load_questionnaire(EXAMPLE)
    domestic_abuse = base.model_copy(
        update={
            "id": "domestic_abuse",
            "fieldwork": Fieldwork(from_days_after_report=28, to_days_after_report=112),
            "eligibility": [
                EligibilityRule(reason=ExclusionReason.OPTED_OUT, automatic=True),
                EligibilityRule(reason=ExclusionReason.UNDER_16, automatic=True),
                EligibilityRule(reason=ExclusionReason.VULNERABLE, automatic=True, confirm="Vulnerable?"),
                EligibilityRule(reason=ExclusionReason.NFA_REQUESTED, automatic=True),
                EligibilityRule(reason=ExclusionReason.NOT_COOPERATING, automatic=True),
            ],
        }
    )
    burglary = base.model_copy(
        update={
            "id": "burglary",
            "fieldwork": Fieldwork(from_days_after_report=42, to_days_after_report=84),
            "eligibility": [
                EligibilityRule(reason=ExclusionReason.OPTED_OUT, automatic=True),
                EligibilityRule(reason=ExclusionReason.UNDER_16, automatic=True),
            ],
        }
    )
    return Catalogue(questionnaires={"domestic_abuse": domestic_abuse, "burglary": burglary})


@pytest.fixture
def catalogue() -> Catalogue:
    return make_catalogue()


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def run_import(
    sessions: sessionmaker[Session], catalogue: Catalogue, path: Path, *, today: date = TODAY
) -> dict[str, Any]:
    """The JSON summary, with the warnings the summary keeps under "warnings"."""
    with sessions.begin() as session:
        summary = import_sample(session, SYSTEM, catalogue, path, today=today)
    return summary.to_dict() | {"warnings": [w.to_dict() for w in summary.first_warnings]}


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def cases_by_ref(sessions: sessionmaker[Session]) -> dict[tuple[str, str], Case]:
    with sessions() as session:
        return {(c.crime_ref, c.victim_name or ""): c for c in session.scalars(select(Case))}


def write(tmp_path: Path, text: str, name: str = "extract.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def row(**values: str) -> str:
    """One extract row in COLUMNS order, from a good default."""
    defaults = {
        "crime_ref": "DA/0900/26",
        "survey": "domestic_abuse",
        "victim_name": "Zed Testwood",
        "phone": "0161 496 0900",
        "alt_phone": "",
        "date_of_birth": "1980-01-01",
        "report_date": "2026-01-15",
        "division": "North",
        "district": "Ashby",
        "risk_level": "",
        "opted_out": "N",
        "vulnerable": "N",
        "nfa_requested": "N",
        "not_cooperating": "N",
    }
    defaults.update(values)
    return ",".join(defaults[c] for c in COLUMNS)


HEADER = template_header()


# ---------------------------------------------------------------- a good extract


def test_import_screens_every_case(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    summary = run_import(session_factory, catalogue, EXTRACT)
    assert summary == {
        "imported": 10,
        "already_present": 0,
        "withdrawn": 0,
        "excluded": {
            "opted_out": 1,
            "under_16": 1,
            "vulnerable": 1,
            "nfa_requested": 0,
            "not_cooperating": 0,
        },
        "not_released": 1,
        "shared_phone_warnings": 1,
        "warnings": [
            {"lines": [2, 9], "crime_refs": ["DA/0001/26", "BU/0008/26"], "in_database": []},
        ],
    }
    cases = cases_by_ref(session_factory)
    assert len(cases) == 10

    def state(ref: str, name: str) -> tuple[object, ...]:
        c = cases[(ref, name)]
        return (c.status, c.final_disposition, c.closed_reason, c.next_call_at)

    assert state("DA/0001/26", "Alma Quenby") == ("open", None, None, None)
    assert state("DA/0001/26", "Jory Quenby") == ("open", None, None, None)  # same crime, second victim
    # Reported today: the window opens 30/03/2026, pending until local midnight that day (BST: 23:00 UTC).
    assert state("DA/0002/26", "Brin Oswick") == (
        "pending",
        None,
        None,
        datetime(2026, 3, 29, 23, tzinfo=UTC),
    )
    assert state("DA/0003/26", "Cass Pellow") == ("closed", "4.10", "under_16", None)
    assert state("DA/0004/26", "Dell Varrow") == ("closed", "4.10", "opted_out", None)
    assert state("DA/0005/26", "Eda Morrin") == ("closed", "4.10", "vulnerable", None)
    assert state("BU/0006/25", "Fenn Carrow") == ("closed", None, "out_of_field_period", None)
    # Window 03/03/2026 - 14/04/2026; 16 on 20/03/2026, so offered from the birthday (GMT then).
    assert state("BU/0007/26", "Gil Sorrell") == ("pending", None, None, datetime(2026, 3, 20, tzinfo=UTC))
    assert state("BU/0008/26", "Hale Dunmere") == ("open", None, None, None)  # date of birth unknown
    assert state("DA/0010/26", "Kit Larchmont") == ("open", None, None, None)  # 16 today: eligible

    brin = cases[("DA/0002/26", "Brin Oswick")]
    assert (brin.phone, brin.alt_phone) == ("+441134960102", "+441144960103")
    assert brin.date_of_birth == date(1979, 7, 14) and brin.report_date == date(2026, 3, 2)
    assert brin.risk_level == "medium" and not brin.opted_out
    assert cases[("DA/0003/26", "Cass Pellow")].risk_level == "high"
    assert cases[("BU/0008/26", "Hale Dunmere")].date_of_birth is None
    assert all(c.closed_at == NOW for c in cases.values() if c.status == "closed")
    assert all(c.imported_at == NOW and c.attempt_count == 0 for c in cases.values())
    assert len({c.import_batch for c in cases.values()}) == 1


def test_exclusions_are_recorded_with_who_and_when(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    run_import(session_factory, catalogue, EXTRACT)
    with session_factory() as session:
        rows = session.execute(
            select(Case.crime_ref, ScreeningDecision).join(ScreeningDecision).order_by(ScreeningDecision.id)
        ).all()
        decisions = [(ref, d.reason, d.excluded, d.decided_by, d.staff_id, d.decided_at) for ref, d in rows]
        notes = [d.note for _, d in rows]
    assert sorted(decisions) == [
        ("DA/0003/26", "under_16", True, "automatic", None, NOW),
        ("DA/0004/26", "opted_out", True, "automatic", None, NOW),
        ("DA/0005/26", "nfa_requested", True, "automatic", None, NOW),
        ("DA/0005/26", "vulnerable", True, "automatic", None, NOW),
    ]
    assert "Under 16 on 02/05/2026, the last day of fieldwork" in notes
    assert not any("2011" in (note or "") for note in notes)  # no date of birth in the record


def test_one_audit_event_with_counts_and_no_personal_data(
    session_factory: sessionmaker[Session], catalogue: Catalogue
) -> None:
    run_import(session_factory, catalogue, EXTRACT)
    with session_factory() as session:
        (event,) = session.scalars(select(AuditEvent)).all()
        batch = session.scalar(select(Case.import_batch).limit(1))
    assert (event.action, event.entity, event.entity_id, event.staff_id, event.at) == (
        "sample_imported",
        "import_batch",
        batch,
        None,
        NOW,
    )
    detail = json.loads(event.detail or "")
    assert detail["imported"] == 10 and detail["rows"] == 10 and detail["shared_phone_warnings"] == 1
    text = EXTRACT.read_text()
    for value in ("Quenby", "7946", "+44", "DA/0001", "1985"):
        assert value in text and value not in (event.detail or "")


def test_reimport_creates_no_duplicates(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    run_import(session_factory, catalogue, EXTRACT)
    again = run_import(session_factory, catalogue, EXTRACT)
    assert again["imported"] == 0 and again["already_present"] == 10
    assert set(again["excluded"].values()) == {0}
    assert again["not_released"] == 0
    assert count(session_factory, Case) == 10
    assert count(session_factory, ScreeningDecision) == 4
    assert count(session_factory, AuditEvent) == 2


def test_erased_and_purged_cases_are_not_imported_again(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    """Weekly extracts overlap: a victim erased on request, or a case purged, must not come back."""
    from datetime import timedelta

    from sqlalchemy import update

    from app.services.retention import erase_case, purge
    from app.store.models import WithdrawnCase

    admin = Actor(staff_id=None, username="admin", role=Role.ADMIN)
    run_import(session_factory, catalogue, EXTRACT)
    with session_factory.begin() as session:
        erased, purged = session.scalars(select(Case).order_by(Case.id).limit(2)).all()
        erase_case(session, admin, erased.id, "the victim asked")
        session.execute(
            update(Case)
            .where(Case.id == purged.id)
            .values(status="closed", closed_at=NOW - timedelta(days=900))
        )
    with session_factory.begin() as session:
        assert purge(session, admin).cases >= 1
    with session_factory() as session:
        kept = session.scalars(select(WithdrawnCase.fingerprint)).all()
    assert erased.crime_ref not in repr(kept) and erased.victim_name not in repr(kept)

    again = run_import(session_factory, catalogue, EXTRACT)
    assert (again["imported"], again["withdrawn"], again["already_present"]) == (0, 2, 8)
    assert count(session_factory, Case) == 9  # the purged case's row stays, emptied; no new one
    # The same key spelled with other spaces and letter case is the same case.
    header, *rows = EXTRACT.read_text(encoding="utf-8").splitlines()
    line = next(r for r in rows if erased.crime_ref in r and erased.victim_name in r)
    respelled = line.replace(erased.victim_name, "  " + erased.victim_name.upper())
    assert (
        run_import(session_factory, catalogue, write(tmp_path, f"{header}\n{respelled}\n"))["withdrawn"] == 1
    )


def test_overlapping_extract_adds_only_new_cases(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    run_import(session_factory, catalogue, EXTRACT)
    lines = EXTRACT.read_text().splitlines()
    overlap = [
        *lines[:4],  # header and three old cases
        row(crime_ref="DA/0201/26", victim_name="Ivo Pendle", phone="0191 498 0201"),
        row(crime_ref="DA/0202/26", victim_name="Lyle Brackwater", phone="028 9649 6202", opted_out="Y"),
    ]
    summary = run_import(session_factory, catalogue, write(tmp_path, "\n".join(overlap) + "\n"))
    assert (summary["imported"], summary["already_present"]) == (2, 3)
    assert summary["excluded"]["opted_out"] == 1
    assert count(session_factory, Case) == 12


def test_identical_repeated_row_is_one_case(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    path = write(tmp_path, "\n".join([HEADER, row(), row(), row(crime_ref="DA/0901/26")]) + "\n")
    summary = run_import(session_factory, catalogue, path)
    assert (summary["imported"], summary["already_present"]) == (2, 1)
    assert summary["warnings"] == [
        {"lines": [2, 4], "crime_refs": ["DA/0900/26", "DA/0901/26"], "in_database": []}
    ]


def test_bom_crlf_any_column_order_and_no_alt_phone_column(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    columns = [c for c in reversed(COLUMNS) if c != "alt_phone"]
    values = {
        "crime_ref": "HC/1",
        "survey": "burglary",
        "victim_name": "  Ria   Coldharbour ",
        "phone": "029 2018 0301",
    }
    values |= {"date_of_birth": "", "report_date": "05/01/2026", "division": "West", "district": "Fairholt"}
    values |= {"risk_level": "High", "opted_out": "", "vulnerable": "TRUE", "nfa_requested": "Yes"}
    values |= {"not_cooperating": "1"}
    text = ",".join(c.upper() for c in columns) + "\r\n" + ",".join(values[c] for c in columns) + "\r\n\r\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    summary = run_import(session_factory, catalogue, path)
    assert summary["imported"] == 1
    (case,) = cases_by_ref(session_factory).values()
    assert (case.victim_name, case.phone, case.alt_phone, case.risk_level) == (
        "Ria Coldharbour",
        "+442920180301",
        None,
        "high",
    )
    # burglary does not screen these flags automatically: stored, but the case stays open
    assert (case.vulnerable, case.nfa_requested, case.not_cooperating, case.opted_out) == (
        True,
        True,
        True,
        False,
    )
    assert case.status == "open"


def test_shared_phone_with_a_case_already_in_the_database(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    run_import(session_factory, catalogue, EXTRACT)
    # 0114 496 0103 is Brin Oswick's alternative number in the first extract.
    path = write(tmp_path, f"{HEADER}\n{row(crime_ref='DA/0300/26', phone='01144960103')}\n")
    summary = run_import(session_factory, catalogue, path)
    assert summary["warnings"] == [
        {"lines": [2], "crime_refs": ["DA/0300/26"], "in_database": ["DA/0002/26"]}
    ]
    assert "Brin" not in json.dumps(summary) and "Oswick" not in json.dumps(summary)


def test_analyst_may_not_import(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    analyst = Actor(staff_id=None, username="ann", role=Role.ANALYST)
    with pytest.raises(PermissionDenied), session_factory.begin() as session:
        import_sample(session, analyst, catalogue, EXTRACT, today=TODAY)
    assert count(session_factory, Case) == 0


# ---------------------------------------------------------------- bad files: every problem, nothing imported


def assert_nothing_imported(sessions: sessionmaker[Session]) -> None:
    assert count(sessions, Case) == 0
    assert count(sessions, ScreeningDecision) == 0
    assert count(sessions, AuditEvent) == 0


def problems_of(sessions: sessionmaker[Session], catalogue: Catalogue, path: Path) -> list[str]:
    with pytest.raises(SampleFileError) as caught, sessions.begin() as session:
        import_sample(session, SYSTEM, catalogue, path, today=TODAY)
    assert isinstance(caught.value, SurveyError)
    assert str(caught.value).splitlines() == caught.value.problems
    assert_nothing_imported(sessions)
    return caught.value.problems


def test_every_bad_row_is_reported_with_file_line_and_column(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    path = tmp_path / "bad_rows.csv"
    shutil.copy(BAD_ROWS, path)
    f = str(path)
    assert problems_of(session_factory, catalogue, path) == [
        f"{f}:2: survey: unknown survey 'stalking' (known: burglary, domestic_abuse)",
        f"{f}:3: date_of_birth: impossible date '31/02/1990'",
        f"{f}:4: phone: '07700 900123': not a valid UK telephone number",
        f"{f}:5: victim_name: a value is required",
        f"{f}:6: date_of_birth: 01/01/2027 is in the future",
        f"{f}:7: date_of_birth: 01/02/2026 is after the report date 20/01/2026",
        f"{f}:8: report_date: 01/04/2026 is in the future",
        f"{f}:9: opted_out: 'maybe' is not Y or N (also yes/no, true/false, 1/0; blank is N)",
        f"{f}:10: risk_level: 'extreme' is not standard, medium, high or blank",
        f"{f}:12: crime_ref: same survey, crime_ref and victim_name as line 11 but a different phone",
        f"{f}:13: 8 values, but the header has 14 columns",
        f"{f}:16: report_date: impossible date '2026-13-01'",  # lines 14-15 are one record
        f"{f}:17: alt_phone: '12345': not a valid UK telephone number",
        f"{f}:18: report_date: '2026/01/10' is not a date: use YYYY-MM-DD or DD/MM/YYYY",
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"phone": "+33 1 23 45 67 89"}, "phone: '+33 1 23 45 67 89': not a UK number (country code +33)"),
        ({"phone": "call me"}, "phone: 'call me': not a telephone number"),
        ({"phone": "01632 960123"}, "phone: '01632 960123': not a valid UK telephone number"),
        ({"crime_ref": "X" * 65}, "crime_ref: longer than 64 characters (65)"),
        ({"division": ""}, "division: a value is required"),
        ({"report_date": "1/13/2026"}, "report_date: impossible date '1/13/2026'"),
        (
            {"date_of_birth": "26-01-10"},
            "date_of_birth: '26-01-10' is not a date: use YYYY-MM-DD or DD/MM/YYYY",
        ),
    ],
)
def test_single_bad_value(
    session_factory: sessionmaker[Session],
    catalogue: Catalogue,
    tmp_path: Path,
    values: dict[str, str],
    expected: str,
) -> None:
    path = write(tmp_path, f"{HEADER}\n{row(crime_ref='DA/1/26')}\n{row(**values)}\n")
    assert problems_of(session_factory, catalogue, path) == [f"{path}:3: {expected}"]


def test_header_problems(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    header = HEADER.replace("opted_out,", "").replace("division", "divison") + ",phone"
    path = write(tmp_path, f"{header}\n")
    assert problems_of(session_factory, catalogue, path) == [
        f"{path}:1: divison: unknown column; the columns are: {', '.join(COLUMNS)}",
        f"{path}:1: phone: column appears twice in the header",
        f"{path}:1: division: required column is missing from the header",
        f"{path}:1: opted_out: required column is missing from the header",
    ]


def test_file_without_a_header(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    path = write(tmp_path, f"{row()}\n")
    assert problems_of(session_factory, catalogue, path) == [
        f"{path}:1: the first line must be the header row: {HEADER}"
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", ":1: empty file: the first line must be the header"),
        (b"\n\r\n  \n", ":1: empty file: the first line must be the header"),
        (b"crime_ref\n\x00\x01\x02\x03", ":2: not a CSV text file (binary content): save it as CSV UTF-8"),
        (b"PK\x03\x04\x14\x00", ":1: this is a spreadsheet (.xlsx), not CSV: save it as CSV UTF-8"),
        (
            HEADER.encode() + "\nDA/1,domestic_abuse,Renée\n".encode() + b"DA/2,domestic_abuse,Ren\xe9e\n",
            ":3: mixed encodings: byte 0xe9 is not UTF-8, but line 2 is UTF-8: save it as CSV UTF-8",
        ),
        (
            HEADER.encode() + b"\nDA/1,domestic_abuse,Ren\xe9e\nDA/2,domestic_abuse,R\x81\n",
            ":3: neither UTF-8 nor Windows-1252 text (byte 0x81): save it as CSV UTF-8",
        ),
        (HEADER.encode("utf-16-le"), ":1: UTF-16 text without a byte order mark: save it as CSV UTF-8"),
        (HEADER.encode("utf-32"), ":1: UTF-32 text (little-endian byte order mark), which is not supported"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1", ":1: this is an Excel 97-2003 workbook (.xls), not CSV"),
        (HEADER.encode() + b'\n"DA/1"x,domestic_abuse\n', ":2: not valid CSV: ',' expected after '\"'"),
    ],
)
def test_unreadable_files_give_one_clear_line(
    session_factory: sessionmaker[Session],
    catalogue: Catalogue,
    tmp_path: Path,
    content: bytes,
    expected: str,
) -> None:
    path = tmp_path / "extract.csv"
    path.write_bytes(content)
    (problem,) = problems_of(session_factory, catalogue, path)
    assert problem.startswith(f"{path}{expected}"), problem


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252"])
def test_each_encoding_a_spreadsheet_saves_imports(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path, encoding: str
) -> None:
    text = "\r\n".join([HEADER, row(victim_name="Renée Ødegård"), row(crime_ref="DA/0901/26")]) + "\r\n"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # with the byte order mark spreadsheets write
        data = (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) + data
    path = tmp_path / "extract.csv"
    path.write_bytes(data)
    with session_factory.begin() as session:
        summary = import_sample(session, SYSTEM, catalogue, path, today=TODAY)
    assert summary.imported == 2
    assert summary.encoding == {"cp1252": "Windows-1252", "utf-8-sig": "UTF-8 with BOM"}.get(
        encoding, "UTF-16" if encoding.startswith("utf-16") else "UTF-8"
    )
    assert set(cases_by_ref(session_factory)) == {
        ("DA/0900/26", "Renée Ødegård"),
        ("DA/0901/26", "Zed Testwood"),
    }


def test_missing_file_and_folder(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    assert problems_of(session_factory, catalogue, tmp_path / "nope.csv") == [
        f"{tmp_path / 'nope.csv'}: file not found"
    ]
    assert problems_of(session_factory, catalogue, tmp_path) == [f"{tmp_path}: is a folder, not a CSV file"]


def test_many_problems_are_all_kept_but_the_message_is_capped(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    rows = [row(crime_ref=f"DA/{n}/26", phone="123") for n in range(250)]
    path = write(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    with pytest.raises(SampleFileError) as caught, session_factory.begin() as session:
        import_sample(session, SYSTEM, catalogue, path, today=TODAY)
    assert len(caught.value.problems) == 250
    lines = str(caught.value).splitlines()
    assert len(lines) == 201
    assert lines[-1] == f"{path}: ... and 50 more problems (nothing was imported)"
    assert_nothing_imported(session_factory)


def test_a_bad_row_after_good_ones_leaves_an_existing_database_unchanged(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    run_import(session_factory, catalogue, EXTRACT)
    good_then_bad = EXTRACT.read_text() + row(crime_ref="DA/0400/26", phone="555") + "\n"
    path = write(tmp_path, good_then_bad)
    with pytest.raises(SampleFileError), session_factory.begin() as session:
        import_sample(session, SYSTEM, catalogue, path, today=TODAY)
    assert count(session_factory, Case) == 10
    assert count(session_factory, AuditEvent) == 1


def test_spreadsheet_leftovers_are_tolerated(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    """Rows of empty cells, blank lines, empty cells after the last column, alt_phone equal to phone."""
    lines = [
        HEADER + ",,",
        row(alt_phone="+44 161 496 0900") + ",,",
        "",
        "," * (len(COLUMNS) + 1),
        row(crime_ref="DA/0901/26", phone="0161 496 0901"),
    ]
    summary = run_import(session_factory, catalogue, write(tmp_path, "\n".join(lines) + "\n"))
    assert summary["imported"] == 2
    assert cases_by_ref(session_factory)[("DA/0900/26", "Zed Testwood")].alt_phone is None


def test_a_bad_header_line(
    session_factory: sessionmaker[Session], catalogue: Catalogue, tmp_path: Path
) -> None:
    path = write(tmp_path, '"crime_ref"x,survey\n')
    assert problems_of(session_factory, catalogue, path) == [
        f"{path}:1: not valid CSV: ',' expected after '\"'"
    ]


# ---------------------------------------------------------------- telephone numbers


@settings(deadline=None)  # phonenumbers loads its metadata on first use
@given(
    prefix=st.sampled_from(["0", "+44", "0044", "+44 (0)", "00 44 "]),
    national=st.from_regex(r"[1-9][0-9]{6,10}", fullmatch=True),
)
def test_phone_numbers_read_as_phonenumbers_reads_them(prefix: str, national: str) -> None:
    """The shortcut for plainly written numbers agrees with phonenumbers.parse on every input."""
    written = prefix + national
    try:
        parsed = phonenumbers.parse(written, "GB")
        valid = parsed.country_code == 44 and (
            phonenumbers.is_valid_number_for_region(parsed, "GB") or phonenumbers.is_valid_number(parsed)
        )
        expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) if valid else None
    except phonenumbers.NumberParseException:
        expected = None
    assert check_uk_phone(written)[0] == expected


def test_drama_numbers_in_every_shape() -> None:
    for written in (
        "020 7946 0123",
        "02079460123",
        "+44 20 7946 0123",
        "0044 20 7946 0123",
        "(020) 7946-0123",
    ):
        assert check_uk_phone(written) == ("+442079460123", "")
    assert check_uk_phone("028 9649 6001") == ("+442896496001", "")
    assert check_uk_phone("07700 900123") == (None, "not a valid UK telephone number")
    assert check_uk_phone("+1 202 555 0143")[1].startswith("not a UK number")


# ---------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_import_and_reimport_on_postgresql(pg_url: str, catalogue: Catalogue, tmp_path: Path) -> None:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        sessions = make_session_factory(engine)
        first = run_import(sessions, catalogue, EXTRACT)
        assert (first["imported"], first["not_released"]) == (10, 1)
        again = run_import(sessions, catalogue, EXTRACT)
        assert (again["imported"], again["already_present"]) == (0, 10)
        assert count(sessions, Case) == 10
        assert count(sessions, ScreeningDecision) == 4
        path = write(tmp_path, f"{HEADER}\n{row(crime_ref='DA/0300/26', phone='01144960103')}\n")
        shared = run_import(sessions, catalogue, path)
        assert shared["warnings"] == [
            {"lines": [2], "crime_refs": ["DA/0300/26"], "in_database": ["DA/0002/26"]}
        ]
        gil = cases_by_ref(sessions)[("BU/0007/26", "Gil Sorrell")]
        assert gil.next_call_at == datetime(2026, 3, 20, tzinfo=UTC)
    finally:
        engine.dispose()
