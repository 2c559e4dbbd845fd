"""Full garbage collections happen on the home screen, between calls, not in the middle of a question."""

from __future__ import annotations

import gc

import pytest

from app.services.runtime import Runtime
from app.tui import memory
from app.tui.app import make_app
from app.tui.screens import home
from app.tui.screens.interview import InterviewScreen
from app.tui.widgets.keys_bar import KeysBar
from tests.tui.conftest import add_case
from tests.tui.helpers import settle
from tests.tui.test_quick_exit_and_resume import answer_n, start_call


async def test_the_home_screen_collects_and_freezes_what_is_alive(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_case(runtime, "domestic_abuse", victim_name="Sam Memory", phone="+442079460779")
    settled: list[int] = []

    def settle_memory() -> None:
        memory.settle_memory()
        settled.append(gc.get_freeze_count())

    monkeypatch.setattr(home, "settle_memory", settle_memory)
    thresholds = gc.get_threshold()
    app = make_app(runtime)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_call(pilot)  # signs in (the home screen), takes the case, dials
            assert len(settled) == 1 and settled[0] > 10_000  # the app's long-lived objects, left out
            assert isinstance(app.screen, InterviewScreen)
            await answer_n(pilot, 3)
            assert len(settled) == 1  # nothing during the call
            assert "Ctrl+G ALERT" in str(app.screen.query_one(KeysBar).render())
            await pilot.press("ctrl+x")  # quick exit: back to the home screen, which settles again
            await settle(pilot)
            await pilot.pause(0.2)
            assert len(settled) == 2
        assert gc.get_threshold()[2] == memory.FULL_COLLECTION_EVERY
    finally:
        gc.unfreeze()  # leave the test process as it was
        gc.set_threshold(*thresholds)
