"""A plain `survey` draws the sign-in screen first and opens the database and questionnaires behind it."""

from __future__ import annotations

import asyncio

from app.errors import SurveyError
from app.services.runtime import Runtime, open_runtime
from app.tui.app import make_app
from app.tui.screens.home import HomeScreen
from app.tui.screens.login import LoginScreen
from tests.tui.helpers import settle, sign_in


async def test_a_name_and_password_typed_at_once_are_checked_once_the_database_is_open(
    runtime: Runtime,
) -> None:
    seen_at_opening: list[object] = []

    def opened() -> Runtime:
        seen_at_opening.append(type(app.screen))
        return open_runtime(runtime.url)

    app = make_app(opened)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, "ccaller")  # typed at once, whether or not the database is open yet
            for _ in range(100):
                if isinstance(app.screen, HomeScreen):
                    break
                await asyncio.sleep(0.05)
                await settle(pilot)
            assert isinstance(app.screen, HomeScreen)
            assert app.user is not None and app.user.username == "ccaller"
    finally:
        app.close_runtime()
    assert seen_at_opening == [LoginScreen]


async def test_a_database_that_cannot_be_opened_ends_the_app_with_its_message(runtime: Runtime) -> None:
    def opened() -> Runtime:
        raise SurveyError("database sqlite:///nowhere.db cannot be opened")

    app = make_app(opened)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if app.return_code is not None:
                break
            await asyncio.sleep(0.05)
            await pilot.pause()
    app.close_runtime()
    assert app.return_code == 1
    assert str(app.startup_error) == "database sqlite:///nowhere.db cannot be opened"
