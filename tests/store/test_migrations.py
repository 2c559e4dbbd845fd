"""Migrations: from empty to head, down and up again, in step with the models, on SQLite and PostgreSQL."""

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, inspect, select, text
from sqlalchemy.exc import IntegrityError

from app.store import migrate
from app.store.db import DatabaseError, make_engine, schema_change
from app.store.models import Answer, Base, Interview

NOW = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind (PostgreSQL only when SURVEY_TEST_POSTGRES_URL is set)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def empty_engine(empty_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_url)
    yield engine
    engine.dispose()


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def constraint_names(engine: Engine) -> set[str]:
    inspector = inspect(engine)
    names: set[str | None] = set()
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        names.add(inspector.get_pk_constraint(table)["name"])
        names.update(fk["name"] for fk in inspector.get_foreign_keys(table))
        names.update(uq["name"] for uq in inspector.get_unique_constraints(table))
        names.update(ix["name"] for ix in inspector.get_indexes(table))
        names.update(ck["name"] for ck in inspector.get_check_constraints(table))
    return {name for name in names if name is not None}


def model_constraint_names() -> set[str]:
    names = set()
    for table in Base.metadata.sorted_tables:
        names.update(str(c.name) for c in table.constraints)
        names.update(str(ix.name) for ix in table.indexes)
    return names


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_upgrade_from_empty_matches_the_models(empty_url: str, empty_engine: Engine) -> None:
    migrate.upgrade(empty_url)

    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert migrate.is_up_to_date(empty_engine)
    assert schema_differences(empty_engine) == []


def test_constraint_names_follow_the_naming_convention(empty_url: str, empty_engine: Engine) -> None:
    migrate.upgrade(empty_url)

    expected = model_constraint_names()
    assert all(name[:3] in {"pk_", "fk_", "uq_", "ix_", "ck_"} for name in expected)
    assert constraint_names(empty_engine) == expected


def test_upgrade_twice_is_a_no_op(empty_url: str, empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    migrate.ensure_schema(empty_engine)

    assert migrate.is_up_to_date(empty_engine)


def test_downgrade_to_base_and_upgrade_again(empty_url: str, empty_engine: Engine) -> None:
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")

    assert migrate.current_revision(empty_engine) is None
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(empty_url)
    assert schema_differences(empty_engine) == []


def test_each_revision_goes_up_down_and_up_again(empty_url: str, empty_engine: Engine) -> None:
    # The "stairway": every future migration gets its downgrade exercised too.
    previous = "base"
    for revision in revisions_oldest_first():
        migrate.upgrade(empty_engine, revision)
        migrate.downgrade(empty_engine, previous)
        migrate.upgrade(empty_engine, revision)
        assert migrate.current_revision(empty_engine) == revision
        previous = revision


def test_ensure_schema_creates_the_schema_on_first_start(empty_engine: Engine) -> None:
    assert not migrate.is_up_to_date(empty_engine)

    migrate.ensure_schema(empty_engine)

    assert migrate.is_up_to_date(empty_engine)


def test_programs_starting_together_migrate_one_after_the_other(empty_url: str) -> None:
    # Several callers open the app at 9am on a new release: SQLite's BEGIN IMMEDIATE and PostgreSQL's
    # advisory lock make the first one migrate and the others find the work done.
    errors: list[BaseException] = []

    def start() -> None:
        engine = make_engine(empty_url)
        try:
            migrate.ensure_schema(engine)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []


def test_ensure_schema_refuses_a_database_from_a_newer_version(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(DatabaseError, match="revision 9999"):
        migrate.ensure_schema(engine)


def test_upgrade_of_an_unreachable_database_is_one_line() -> None:
    with pytest.raises(DatabaseError) as raised:
        migrate.upgrade("postgresql://postgres@127.0.0.1:1/nothing")

    assert "\n" not in str(raised.value)


def test_migrations_dir_is_found_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert (migrate.migrations_dir() / "env.py").is_file()
    assert (migrate.migrations_dir() / "versions" / "0001_initial.py").is_file()
    migrate.upgrade(f"sqlite:///{tmp_path / 'elsewhere.db'}")


def test_alembic_command_line_works_from_a_checkout(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    database = tmp_path / "cli.db"
    env = {**os.environ, "SURVEY_DATABASE_URL": f"sqlite:///{database}"}

    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    engine = make_engine(str(database))
    try:
        assert migrate.is_up_to_date(engine)
    finally:
        engine.dispose()


def test_an_installed_wheel_uses_its_bundled_migrations(tmp_path: Path) -> None:
    # Lay the package out as the wheel does (pyproject's force-include) and run from elsewhere.
    repo = Path(__file__).resolve().parents[2]
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(repo / "app", site / "app", ignore=ignore)
    shutil.copytree(repo / "migrations", site / "app" / "_bundled" / "migrations", ignore=ignore)
    script = (
        "from app.store import migrate\n"
        "print(migrate.migrations_dir())\n"
        f"migrate.upgrade({str(tmp_path / 'wheel.db')!r})\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(site / "app" / "_bundled" / "migrations")
    engine = make_engine(str(tmp_path / "wheel.db"))
    try:
        assert migrate.is_up_to_date(engine)
    finally:
        engine.dispose()


def add_interview_with_answer(engine: Engine) -> int:
    with engine.begin() as conn:
        interview_id = conn.execute(
            Interview.__table__.insert()
            .values(
                survey="hate_crime",
                questionnaire_version=1,
                questionnaire_hash="0" * 64,
                status="in_progress",
                started_at=NOW,
            )
            .returning(Interview.__table__.c.id)
        ).scalar_one()
        conn.execute(
            Answer.__table__.insert().values(
                interview_id=interview_id, question_id="q1", code=1, answered_at=NOW
            )
        )
    return int(interview_id)


def test_rebuilding_a_table_on_sqlite_keeps_the_rows_that_point_at_it(engine: Engine) -> None:
    # Batch mode copies "interviews" and drops the original; with foreign keys on, that DROP would
    # cascade-delete every answer. schema_change turns them off for the migration and checks them after.
    add_interview_with_answer(engine)

    with schema_change(engine) as conn:
        operations = Operations(MigrationContext.configure(conn))
        with operations.batch_alter_table("interviews", recreate="always") as batch:
            batch.add_column(Column("scratch", Integer()))

    with engine.connect() as conn:
        assert conn.scalar(select(Answer.__table__.c.question_id)) == "q1"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_schema_change_refuses_to_commit_broken_foreign_keys_on_sqlite(engine: Engine) -> None:
    with pytest.raises(DatabaseError, match="answers -> interviews"), schema_change(engine) as conn:
        conn.execute(Answer.__table__.insert().values(interview_id=12345, question_id="q1", answered_at=NOW))

    with engine.connect() as conn:
        assert conn.scalar(select(Answer.__table__.c.id)) is None
        with pytest.raises(IntegrityError):
            conn.execute(
                Answer.__table__.insert().values(interview_id=12345, question_id="q1", answered_at=NOW)
            )
