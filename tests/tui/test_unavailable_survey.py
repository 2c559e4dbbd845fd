"""A questionnaire file that does not load makes its survey unavailable; every other survey works."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from textual.widgets import Static

from app.domain.permissions import Actor, Role
from app.services.catalogue import bundled_dir
from app.services.runtime import Runtime, open_runtime
from app.services.staff import add_staff
from app.tui.app import make_app
from app.tui.screens.screening import ScreeningScreen
from tests.domain.hostile_corpus import EXAMPLE
from tests.tui.conftest import PASSWORD, add_case
from tests.tui.helpers import settle, sign_in


@pytest.fixture
def broken_folder(tmp_path: Path) -> Path:
    """The burglary questionnaire, and the example survey with a condition that can never hold."""
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    shutil.copy(bundled_dir() / "burglary.yaml", folder)
    (folder / "example.yaml").write_text(EXAMPLE.replace("in: [2]}", "in: []}", 1))
    return folder


@pytest.fixture
def runtime(db_url: str, broken_folder: Path, frozen_clock: datetime) -> Iterator[Runtime]:
    rt = open_runtime(db_url, broken_folder)
    with rt.sessions.begin() as session:
        for username, role in (("ccaller", Role.CALLER), ("aadmin", Role.ADMIN)):
            add_staff(session, Actor.system(), username=username, role=role, password=PASSWORD)
    yield rt
    rt.close()


async def test_admin_sees_the_problem_and_callers_get_the_other_surveys(runtime: Runtime) -> None:
    assert [q.id for q in runtime.catalogue] == ["burglary"]
    (problem,) = runtime.catalogue.unavailable
    assert problem.file.endswith("example.yaml") and "'in' lists no codes" in problem.message
    add_case(runtime, "example", 1, report_date=date(2026, 9, 20))  # older: would be offered first
    burglary = add_case(runtime, "burglary", 2)

    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "aadmin")
        banner = app.screen.query_one("#unavailable", Static)
        assert banner.display
        assert f"{problem.file}:{problem.line}: condition: 'in' lists no codes" in str(banner.render())

    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        assert not app.screen.query_one("#unavailable", Static).display
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ScreeningScreen)
        assert app.screen.view.case_id == burglary
