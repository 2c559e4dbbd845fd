"""A quick exit while the database cannot be reached: kept on the caller's computer, said honestly,
recorded as soon as the database is back, and its case offered to no one before that."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import Static

from app.domain.permissions import Actor, Role
from app.services import pending_exits
from app.services.runtime import Runtime, open_runtime
from app.services.staff import add_staff
from app.store.migrate import upgrade
from app.store.models import Attempt, Case, Interview
from app.tui.app import make_app
from app.tui.screens.home import HomeScreen
from app.tui.screens.interview import InterviewScreen
from tests.tui.conftest import PASSWORD, add_case
from tests.tui.helpers import keys_for, settle, sign_in


@pytest.fixture
def runtime(tmp_path: Path, frozen_clock: datetime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A database in a folder of its own, so that the folder can be taken away and put back."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "db").mkdir()
    url = f"sqlite:///{tmp_path / 'db' / 'survey.db'}"
    upgrade(url)
    rt = open_runtime(url)
    with rt.sessions.begin() as session:
        add_staff(session, Actor.system(), username="ccaller", role=Role.CALLER, password=PASSWORD)
    yield rt
    rt.close()


def notices(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(notification.message) for notification in app._notifications]


async def test_a_quick_exit_kept_on_this_computer_is_recorded_when_the_database_is_back(
    runtime: Runtime, tmp_path: Path
) -> None:
    case_id = add_case(runtime, "domestic_abuse", victim_name="Morgan Offline", phone="+442079460778")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(app.screen.view.checks), "enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        for _ in range(6):
            assert isinstance(app.screen, InterviewScreen)
            await pilot.press(*keys_for(app.screen.question))
            await settle(pilot)

        runtime.engine.dispose()
        os.rename(tmp_path / "db", tmp_path / "db-away")  # the database cannot be reached
        await pilot.press("ctrl+x")
        assert isinstance(app.screen, HomeScreen)  # cleared at once, whatever the database does
        await settle(pilot)
        said = " ".join(notices(app))
        assert "kept on this computer" in said and "will be recorded as soon as the database is back" in said
        assert "saved" not in said and "nothing was lost" not in said.lower()
        assert pending_exits.pending_file().stat().st_mode & 0o777 == 0o600
        (kept,) = pending_exits.waiting(app.database, app.user.actor())  # type: ignore[union-attr]

        await pilot.press("n")  # still unreachable: no case
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert "cannot be reached" in str(app.screen.query_one("#message", Static).render())

        os.rename(tmp_path / "db-away", tmp_path / "db")  # back
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)  # the victim's case is not offered again
        assert "No case to call" in str(app.screen.query_one("#message", Static).render())
        assert not pending_exits.pending_file().exists()

    with runtime.sessions() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.case_id == case_id))
        case = session.get(Case, case_id)
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
    assert attempt.id == kept.attempt_id and interview.id == kept.interview_id
    assert attempt.outcome == "unsafe_to_talk" and "recorded later" in (attempt.note or "")
    assert case.status == "held" and case.allocated_to_id is None
    assert interview.status == "in_progress"
