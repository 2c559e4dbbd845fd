"""A failed statement is logged by type, SQLSTATE, names of schema objects and the statement: never
the values it carried, which PostgreSQL quotes in its DETAIL line."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.logs import log_incident
from app.store.db import make_engine

NAME = "Jane Doe"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'x.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_a_failed_statement_is_logged_without_its_values(url: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE people (name VARCHAR(64) CHECK (length(name) < 5))"))
        with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
            conn.execute(text("INSERT INTO people (name) VALUES (:name)"), {"name": NAME})
    finally:
        engine.dispose()
    assert NAME not in str(caught.value).split("[SQL:")[1]  # the engine hides parameters
    with caplog.at_level(logging.ERROR, logger="app.test"):
        incident = log_incident(logging.getLogger("app.test"), caught.value, "insert")

    logged = caplog.text
    assert f"incident {incident.number}: insert failed: IntegrityError" in logged
    assert "statement: INSERT INTO people (name) VALUES" in logged
    assert NAME not in logged and NAME not in str(incident)
    if engine.dialect.name == "postgresql":
        assert "SQLSTATE 23514" in logged and "table people" in logged
        assert NAME in str(caught.value.orig)  # what would have leaked: the DETAIL quotes the row
