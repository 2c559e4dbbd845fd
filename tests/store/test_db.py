"""Engines, sessions and constraints against real SQLite files and, when available, PostgreSQL."""

import os
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Date, Engine, bindparam, delete, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import SurveyError
from app.store import migrate
from app.store.db import (
    DATABASE_URL_ENV,
    DatabaseError,
    check_connection,
    default_database_url,
    make_engine,
    make_session_factory,
    normalise_url,
    redact_url,
    run_transaction,
)
from app.store.models import Answer, Case, Interview, Setting, Staff, UTCDateTime
from app.store.turns import writer_turn

NOW = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database of each kind (PostgreSQL only when SURVEY_TEST_POSTGRES_URL is set)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("engine")
        return
    engine = make_engine(request.getfixturevalue("pg_url"))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def staff(username: str = "ccaller", role: str = "caller") -> Staff:
    return Staff(username=username, display_name="C. Caller", role=role, password_hash="x", created_at=NOW)


def interview(**kw: object) -> Interview:
    values: dict[str, object] = {
        "survey": "domestic_abuse",
        "questionnaire_version": 1,
        "questionnaire_hash": "0" * 64,
        "status": "in_progress",
        "started_at": NOW,
    }
    return Interview(**(values | kw))


def case(**kw: object) -> Case:
    values: dict[str, object] = {
        "survey": "domestic_abuse",
        "crime_ref": "CR/0001/25",
        "victim_name": "Alex Example",
        "phone": "07700900001",
        "report_date": date(2025, 5, 2),
        "division": "North",
        "district": "Riverside",
        "imported_at": NOW,
    }
    return Case(**(values | kw))


# --- URLs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db.example:5432/survey", "postgresql+psycopg://u:p@db.example:5432/survey"),
        ("postgres://u@db.example/survey", "postgresql+psycopg://u@db.example/survey"),
        ("postgresql+psycopg://u@db.example/survey", "postgresql+psycopg://u@db.example/survey"),
        ("  POSTGRESQL://u@h/d  ", "postgresql+psycopg://u@h/d"),
        ("sqlite:////var/lib/survey/survey.db", "sqlite:////var/lib/survey/survey.db"),
        ("sqlite:///relative.db", "sqlite:///relative.db"),
        ("/var/lib/survey/survey.db", "sqlite:////var/lib/survey/survey.db"),
    ],
)
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_normalise_url_makes_a_relative_path_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert normalise_url("survey.db") == f"sqlite:///{tmp_path / 'survey.db'}"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("mysql://u@h/d", "unsupported database URL scheme 'mysql'"),
        ("postgresql+psycopg2://u@h/d", "unsupported database URL scheme"),
        ("postgresql://u:secret@h:port/d", "malformed database URL"),
        ("postgresql:/h/d", "malformed database URL"),
        ("   ", "no database URL"),
    ],
)
def test_normalise_url_refuses_in_one_line(given: str, message: str) -> None:
    with pytest.raises(DatabaseError, match=message) as raised:
        normalise_url(given)

    assert isinstance(raised.value, SurveyError)
    assert "\n" not in str(raised.value)
    assert "secret" not in str(raised.value)


def test_redact_url_drops_the_password() -> None:
    assert redact_url("postgresql+psycopg://u:secret@h/d") == "postgresql+psycopg://u@h/d"


def test_default_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://u@h/d")

    assert default_database_url() == "postgresql://u@h/d"


def test_default_database_url_is_a_file_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **kw: str(tmp_path / "data" / "survey"))

    url = default_database_url()

    assert url == f"sqlite:///{tmp_path / 'data' / 'survey' / 'survey.db'}"
    assert (tmp_path / "data" / "survey").is_dir()


# --- engines and connections ------------------------------------------------------------------------


def test_sqlite_connections_are_set_up_for_safety(engine: Engine) -> None:
    with engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }

    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000, "synchronous": 2}


def test_postgresql_engines_ping_before_use() -> None:
    engine = make_engine("postgresql://u@127.0.0.1:1/d")

    assert engine.dialect.driver == "psycopg"
    assert engine.pool._pre_ping  # type: ignore[attr-defined]


def test_unreachable_postgresql_is_one_line_without_the_password() -> None:
    engine = make_engine("postgresql://survey:secret@127.0.0.1:1/survey")

    with pytest.raises(DatabaseError) as raised:
        check_connection(engine)

    message = str(raised.value)
    assert message.startswith("cannot open database postgresql+psycopg://survey@127.0.0.1:1/survey: ")
    assert "\n" not in message
    assert "secret" not in message


def test_sqlite_file_in_a_place_that_cannot_exist_is_one_line(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "plain-file"
    not_a_directory.write_text("")  # even root cannot create a file inside a file
    engine = make_engine(str(not_a_directory / "nowhere" / "survey.db"))

    with pytest.raises(DatabaseError, match=r"^cannot open database sqlite:///.*: unable to open") as raised:
        check_connection(engine)

    assert "\n" not in str(raised.value)


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"these are not the tables you are looking for" * 100)

    with pytest.raises(DatabaseError, match="file is not a database"):
        check_connection(make_engine(str(bogus)))


# --- transactions on SQLite -------------------------------------------------------------------------


def test_concurrent_read_then_write_transactions_queue_instead_of_failing(
    session_factory: sessionmaker[Session],
) -> None:
    # Each transaction reads a counter and writes it back plus one. With SQLite's default DEFERRED
    # transactions the second writer fails with "database is locked" (or an update is lost); with
    # BEGIN IMMEDIATE it waits on the busy timeout and then sees the first one's commit.
    with session_factory.begin() as session:
        session.add(Setting(key="counter", value="0"))
    first_holds_the_lock = threading.Event()
    errors: list[BaseException] = []

    def increment(hold: bool) -> None:
        try:
            with session_factory.begin() as session:
                setting = session.get_one(Setting, "counter")
                if hold:
                    first_holds_the_lock.set()
                    time.sleep(0.5)
                setting.value = str(int(setting.value) + 1)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    first = threading.Thread(target=increment, args=(True,))
    first.start()
    assert first_holds_the_lock.wait(5)
    second = threading.Thread(target=increment, args=(False,))
    second.start()
    first.join()
    second.join()

    assert errors == []
    with session_factory() as session:
        assert session.get_one(Setting, "counter").value == "2"


def test_read_only_sessions_do_not_wait_for_a_writer(engine: Engine) -> None:
    writer = make_session_factory(engine)
    reader = make_session_factory(engine, read_only=True)
    with writer.begin() as session:
        session.add(Setting(key="calling_hours", value="09:00-20:00"))

    with writer.begin() as writing:
        writing.get_one(Setting, "calling_hours").value = "10:00-20:00"
        writing.flush()
        started = time.monotonic()
        with reader() as reading:
            seen = reading.get_one(Setting, "calling_hours").value
        waited = time.monotonic() - started

    assert seen == "09:00-20:00"  # the committed value; WAL readers never block
    assert waited < 1


def test_sessions_keep_values_after_commit(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        person = staff()
        session.add(person)

    assert person.username == "ccaller"  # no refresh, no DetachedInstanceError
    assert person.active is True
    assert person.failed_logins == 0


# --- types and constraints, on both backends --------------------------------------------------------


def test_utc_datetime_round_trip(any_engine: Engine) -> None:
    factory = make_session_factory(any_engine)
    british_summer_time = timezone(timedelta(hours=1))
    with factory.begin() as session:
        person = staff()
        person.created_at = datetime(2025, 7, 1, 10, 30, 15, 123456, tzinfo=british_summer_time)
        session.add(person)

    with factory() as session:
        stored = session.scalars(select(Staff.created_at)).one()
        later = session.scalars(
            select(Staff).where(Staff.created_at > datetime(2025, 7, 1, 9, tzinfo=UTC))
        ).all()

    assert stored == datetime(2025, 7, 1, 9, 30, 15, 123456, tzinfo=UTC)
    assert stored.tzinfo is UTC
    assert len(later) == 1


def test_utc_datetime_refuses_naive_datetimes(any_engine: Engine) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2025, 7, 1, 9, 30), any_engine.dialect)

    factory = make_session_factory(any_engine)
    with pytest.raises(StatementError) as raised, factory.begin() as session:
        person = staff()
        person.created_at = datetime(2025, 7, 1, 9, 30)
        session.add(person)
    assert isinstance(raised.value.orig, ValueError)


def test_an_answer_needs_its_interview(any_engine: Engine) -> None:
    factory = make_session_factory(any_engine)

    with pytest.raises(IntegrityError), factory.begin() as session:
        session.add(Answer(interview_id=4242, question_id="q1", code=1, answered_at=NOW))


def test_deleting_an_interview_deletes_its_answers(any_engine: Engine) -> None:
    factory = make_session_factory(any_engine)
    with factory.begin() as session:
        record = interview()
        record.answers.append(Answer(question_id="q1", code=1, answered_at=NOW))
        session.add(record)

    with factory.begin() as session:
        session.execute(delete(Interview))  # in SQL, so the database's ON DELETE CASCADE does it

    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Answer)) == 0


@pytest.mark.parametrize(
    "duplicates",
    [
        pytest.param(lambda: [staff("same"), staff("same")], id="staff.username"),
        pytest.param(lambda: [case(), case(phone="07700900002")], id="cases.survey+crime_ref+victim_name"),
        pytest.param(
            lambda: [
                interview(imported=True, external_id="2019-17"),
                interview(imported=True, external_id="2019-17"),
            ],
            id="interviews.survey+external_id",
        ),
    ],
)
def test_unique_constraints(any_engine: Engine, duplicates: object) -> None:
    factory = make_session_factory(any_engine)

    with pytest.raises(IntegrityError), factory.begin() as session:
        session.add_all(duplicates())  # type: ignore[operator]


def test_one_answer_per_question_per_interview(any_engine: Engine) -> None:
    factory = make_session_factory(any_engine)
    with factory.begin() as session:
        session.add(interview())
    with factory() as session:
        interview_id = session.scalars(select(Interview.id)).one()

    with pytest.raises(IntegrityError), factory.begin() as session:
        session.add_all(
            [
                Answer(interview_id=interview_id, question_id="q1", code=code, answered_at=NOW)
                for code in (1, 2)
            ]
        )


def test_several_cases_may_have_their_personal_data_deleted(any_engine: Engine) -> None:
    # Retention sets victim_name to NULL; NULLs never collide in the unique key.
    factory = make_session_factory(any_engine)
    with factory.begin() as session:
        session.add_all([case(victim_name=None, phone=None), case(victim_name=None, phone=None)])

    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 2


def test_role_must_be_known(any_engine: Engine) -> None:
    factory = make_session_factory(any_engine)

    with pytest.raises(IntegrityError), factory.begin() as session:
        session.add(staff(role="superuser"))


def test_server_defaults_fill_rows_inserted_in_plain_sql(any_engine: Engine) -> None:
    # A later data migration writes SQL, not ORM objects: the defaults must live in the database.
    insert = text(
        "INSERT INTO cases (survey, crime_ref, victim_name, report_date, division, district, imported_at) "
        "VALUES ('rape', 'CR/9/25', 'Sam Example', :report_date, 'South', 'Harbour', :imported_at)"
    ).bindparams(bindparam("report_date", type_=Date()), bindparam("imported_at", type_=UTCDateTime()))
    with any_engine.begin() as conn:
        conn.execute(insert, {"report_date": date(2025, 5, 2), "imported_at": NOW})
        row = conn.execute(select(Case.status, Case.opted_out, Case.vulnerable, Case.attempt_count)).one()

    assert tuple(row) == ("pending", False, False, 0)


def test_sqlite_writers_take_turns_through_a_lock_file_beside_the_database(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    lock_path = make_url(db_url).database + "-writer"  # type: ignore[operator]
    run_transaction(session_factory, lambda session: session.execute(text("SELECT 1")))
    assert stat.S_IMODE(os.stat(lock_path).st_mode) == 0o600
    wrote = threading.Event()

    def write() -> None:
        run_transaction(
            session_factory,
            lambda session: session.execute(text("INSERT INTO settings (key, value) VALUES ('turn', 'x')")),
        )
        wrote.set()

    with writer_turn(lock_path, patience=10):  # another writer's turn
        writer = threading.Thread(target=write)
        writer.start()
        assert not wrote.wait(0.3)  # waits for its turn...
    assert wrote.wait(10)  # ...and takes it when it comes
    writer.join()
    with session_factory() as session:
        assert session.scalar(text("SELECT value FROM settings WHERE key = 'turn'")) == "x"
