"""Upgrading keeps every row: a database filled at each earlier revision, then brought to head.

One database walks up the revisions. At each one, a batch of representative rows (staff, a
questionnaire version, a case with an attempt, an interview with answers and a changed answer,
screening, an alert, audit events, settings, tallies, and whatever tables that revision has) is
written with the columns the table has at that revision; after every upgrade every batch written so
far is read back, column by column. A table with a required column the batch does not know fails
the test, so a new migration gets representative rows too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, and_, insert, inspect, select

from app.store import migrate
from app.store.db import make_engine
from tests.store.test_migrations import revisions_oldest_first

AT = datetime(2025, 7, 1, 9, 30)  # naive UTC, as the columns store it


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        f"sqlite:///{tmp_path / 'old.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    )
    engine = make_engine(url)
    yield engine
    engine.dispose()


def batch(k: int) -> dict[str, list[dict[str, Any]]]:
    """Rows for every table any revision has, in an order that satisfies the foreign keys."""
    n = 100 * k
    staff, case, attempt, interview, answer = n + 1, n + 1, n + 1, n + 1, n + 1
    return {
        "staff": [
            {
                "id": staff,
                "username": f"caller{k}",
                "display_name": f"Caller {k}",
                "role": "caller",
                "password_hash": "x",
                "created_at": AT,
                "active": True,
                "failed_logins": 0,
            },
        ],
        "questionnaire_versions": [
            {
                "id": n + 1,
                "survey": "example",
                "version": k,
                "content_hash": f"h{k}",
                "content": "{}",
                "loaded_at": AT,
            },
        ],
        "cases": [
            {
                "id": case,
                "survey": "example",
                "crime_ref": f"CR/{k:04d}/25",
                "victim_name": f"Victim {k}",
                "phone": f"+44207946{k:04d}",
                "report_date": date(2025, 5, 1),
                "division": "North",
                "district": "Riverside",
                "status": "open",
                "imported_at": AT,
                "attempt_count": 1,
                "allocated_to_id": staff,
                "allocated_at": AT,
                "last_activity_at": AT,
                "last_attempt_at": AT,
                "attempts_morning": 1,
                "attempts_afternoon": 0,
                "attempts_evening": 0,
            },
        ],
        "screening_decisions": [
            {
                "id": n + 1,
                "case_id": case,
                "reason": "vulnerable",
                "excluded": False,
                "decided_by": "caller",
                "decided_at": AT,
                "decided_by_id": staff,
                "note": "checked",
            },
        ],
        "attempts": [
            {
                "id": attempt,
                "case_id": case,
                "caller_id": staff,
                "started_at": AT,
                "ended_at": AT,
                "number_dialled": f"+44207946{k:04d}",
                "outcome": "no_answer",
                "partial": False,
            },
        ],
        "interviews": [
            {
                "id": interview,
                "case_id": case,
                "attempt_id": attempt,
                "survey": "example",
                "questionnaire_version": 1,
                "questionnaire_hash": "h",
                "status": "in_progress",
                "caller_id": staff,
                "started_at": AT,
                "division": "North",
                "district": "Riverside",
                "current_question": "overall",
                "draft_notes": '{"overall": "asked twice"}',
            },
        ],
        "answers": [
            {
                "id": answer,
                "interview_id": interview,
                "question_id": "identity",
                "code": 1,
                "answered_at": AT,
                "duration_ms": 900,
            },
            {
                "id": answer + 1,
                "interview_id": interview,
                "question_id": "comments",
                "value": f"text {k}",
                "answered_at": AT,
                "note": "verbatim",
            },
        ],
        "answer_changes": [
            {
                "id": n + 1,
                "interview_id": interview,
                "question_id": "identity",
                "old_code": 2,
                "new_code": 1,
                "kind": "changed",
                "changed_at": AT,
                "staff_id": staff,
            },
        ],
        "verbatim_redactions": [
            {
                "id": n + 1,
                "answer_id": answer + 1,
                "interview_id": interview,
                "question_id": "comments",
                "redacted": "text [name]",
                "original_hash": "h",
                "spans": 1,
                "reviewed_by_id": staff,
                "reviewed_at": AT,
            },
        ],
        "safeguarding_alerts": [
            {
                "id": n + 1,
                "case_id": case,
                "interview_id": interview,
                "raised_by_id": staff,
                "raised_at": AT,
                "note": "risk",
            },
        ],
        "audit_events": [
            {
                "id": n + 1,
                "at": AT,
                "staff_id": staff,
                "action": "case_allocated",
                "entity": "case",
                "entity_id": str(case),
                "detail": '{"resumed": false}',
            },
        ],
        "settings": [{"key": f"test_{k}", "value": str(k)}],
        "survey_day_counts": [{"survey": f"s{k}", "day": date(2025, 6, 1), "division": "", "surveys": 3}],
        "code_day_counts": [
            {
                "survey": f"s{k}",
                "question_id": "overall",
                "day": date(2025, 6, 1),
                "division": "",
                "code": 1,
                "answers": 2,
            },
        ],
        "staff_sessions": [
            {"id": n + 1, "staff_id": staff, "token_hash": f"t{k}", "started_at": AT, "last_seen_at": AT},
        ],
        "withdrawn_cases": [
            {"fingerprint": f"f{k}", "survey": "example", "reason": "erased", "withdrawn_at": AT},
        ],
        "maintenance_runs": [{"job": f"test_{k}", "last_run_at": AT}],
    }


def fill(engine: Engine, k: int) -> dict[str, list[dict[str, Any]]]:
    """Write batch k with the columns each table has now; returns what was written."""
    tables = MetaData()
    tables.reflect(engine)
    written: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:
        for name, rows in batch(k).items():
            if name not in tables.tables:
                continue
            table = tables.tables[name]
            required = {c.name for c in table.columns if not c.nullable and c.server_default is None}
            kept = [{key: value for key, value in row.items() if key in table.columns} for row in rows]
            for row in kept:
                assert required <= set(row), f"{name}: no representative value for {required - set(row)}"
            for row in kept:
                conn.execute(insert(table).values(row))
            written[name] = kept
    unknown = set(inspect(engine).get_table_names()) - set(batch(k)) - {"alembic_version"}
    assert not unknown, f"tables without representative rows: {sorted(unknown)}"
    return written


def assert_kept(engine: Engine, written: dict[str, list[dict[str, Any]]], revision: str) -> None:
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        for name, rows in written.items():
            table: Table = tables.tables[name]
            key = [c.name for c in table.primary_key.columns]
            for row in rows:
                found = conn.execute(
                    select(*(table.c[column] for column in row)).where(
                        and_(*(table.c[column] == row[column] for column in key))
                    )
                ).one_or_none()
                assert found is not None, f"{name} row {[row[c] for c in key]} lost at {revision}"
                assert dict(found._mapping) == row, f"{name} row changed at {revision}"


def test_rows_written_at_every_revision_survive_every_upgrade(engine: Engine) -> None:
    written: list[dict[str, list[dict[str, Any]]]] = []
    revisions = revisions_oldest_first()
    for k, revision in enumerate(revisions, start=1):
        migrate.upgrade(engine, revision)
        for earlier in written:
            assert_kept(engine, earlier, revision)
        if revision != revisions[-1]:
            written.append(fill(engine, k))
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert len(written) == len(revisions) - 1
