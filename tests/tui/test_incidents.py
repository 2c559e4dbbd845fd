"""A statement that fails while a note naming someone is written: the screen shows an incident number,
the log the statement, and neither the note."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from textual.widgets import Static

from app.logs import PrivateRotatingFileHandler
from app.services.runtime import Runtime
from app.tui.app import make_app
from app.tui.screens.interview import InterviewScreen
from tests.tui.conftest import add_case
from tests.tui.helpers import settle, sign_in

NOTE = "partner Jane Doe lives at 1 High St"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "log" / "survey.log"
    path.parent.mkdir()
    handler = PrivateRotatingFileHandler(path, encoding="utf-8")
    logger = logging.getLogger("app")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield path
    logger.removeHandler(handler)
    logger.setLevel(level)
    handler.close()


async def test_a_failed_note_leaves_no_trace_of_it(runtime: Runtime, log_file: Path) -> None:
    with runtime.engine.begin() as conn:  # the database refuses any answer that carries a note
        conn.execute(
            text(
                "CREATE TRIGGER refuse_notes BEFORE INSERT ON answers WHEN NEW.note IS NOT NULL"
                " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        )
    add_case(runtime, "hate_crime")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(app.screen.view.checks), "enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")  # speaking to someone
        await settle(pilot)
        assert isinstance(app.screen, InterviewScreen)
        await pilot.press("ctrl+o", *NOTE, "enter")
        await settle(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        error = str(app.screen.query_one("#error", Static).render())
        notices = " ".join(str(n.message) for n in app._notifications)

    assert error.startswith("Not saved: something went wrong (incident ") and "Jane" not in error
    assert "Jane" not in notices and "SELECT" not in error + notices
    number = error.split("(incident ")[1][:6]
    log = log_file.read_text()
    failure = "database task failed: IntegrityError, IntegrityError, refused by the test"
    assert f"incident {number}: {failure}" in log
    assert "statement: INSERT INTO answers" in log
    assert "Jane" not in log and "High St" not in log
