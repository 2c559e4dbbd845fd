"""A name holding terminal controls (stored before imports refused them) is shown, never obeyed."""

from __future__ import annotations

from textual.widgets import Static

from app.services.runtime import Runtime
from app.tui.app import make_app
from app.tui.screens.screening import ScreeningScreen
from tests.domain.test_text import HOSTILE_NAME
from tests.tui.conftest import add_case
from tests.tui.helpers import settle, sign_in


async def test_the_screening_screen_shows_controls_as_escapes(runtime: Runtime) -> None:
    add_case(runtime, "hate_crime", victim_name=HOSTILE_NAME, district="Ash\u202eby")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ScreeningScreen)
        details = str(app.screen.query_one("#case-details", Static).render())
        screenshot = app.export_screenshot()

    assert "Esc\\x1b[2J\\x1b]0;pwned\\x07Name" in details and "Ash\\u202eby" in details
    assert "\x1b" not in details and "\u202e" not in details
    assert "\x1b" not in screenshot and "\x07" not in screenshot
