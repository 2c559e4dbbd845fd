"""The idle lock covers the screen, keeps the call as it was, and lets quick exit through."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from textual.widgets import Static

from app.services.runtime import Runtime
from app.store.models import Attempt, AuditEvent
from app.tui.app import make_app
from app.tui.screens.dial import DialScreen
from app.tui.screens.home import HomeScreen
from app.tui.screens.lock import IdleLock, LockScreen
from tests.tui.conftest import PASSWORD, add_case
from tests.tui.helpers import settle, sign_in, wait_until


async def test_the_app_locks_when_idle_and_unlocks_with_the_password(runtime: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(IdleLock, "CHECK_SECONDS", 0.05)
    case_id = add_case(runtime, "hate_crime")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(app.screen.view.checks), "enter")
        await settle(pilot)
        await pilot.press("d")  # dialling: a call in progress
        await settle(pilot)
        assert isinstance(app.screen, DialScreen)
        dial = app.screen
        app.idle.timeout = 0.2
        await asyncio.sleep(0.4)
        await wait_until(pilot, lambda: isinstance(app.screen, LockScreen))
        app.idle.timeout = 3600  # no second lock while the test types
        screenshot = app.export_screenshot()
        assert "Jordan" not in screenshot and "7946" not in screenshot  # nothing of the case shows

        await pilot.press(*"wrong password", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert "wrong user name or password" in str(app.screen.query_one("#lock-message", Static).render())
        await pilot.press(*PASSWORD, "enter")
        await settle(pilot)
        assert app.screen is dial  # the call as it was

        app.idle.lock()
        await settle(pilot)
        await pilot.press("ctrl+x")  # quick exit from the lock screen
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert isinstance(app.screen_stack[-2], HomeScreen)
    with runtime.sessions() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.case_id == case_id))
        failed = session.scalar(select(AuditEvent.id).where(AuditEvent.action == "sign_in_failed"))
    assert attempt is not None and attempt.outcome is not None  # the call was ended and saved
    assert failed is not None


async def test_in_a_browser_a_tab_left_alone_ends_its_app(runtime: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A served tab left on the sign-in screen, or locked for as long again, gives its place back."""
    import time

    from app.tui.app import SurveyApp

    monkeypatch.setattr(IdleLock, "CHECK_SECONDS", 3600)  # the test looks at the clock itself

    def idle_for(app, seconds: float) -> None:  # type: ignore[no-untyped-def]
        app.idle.timeout = 60.0
        app.idle.last_input = time.monotonic() - seconds
        app.idle.check()

    monkeypatch.setattr(SurveyApp, "is_web", property(lambda self: True))
    for signed_in in (False, True):
        app = make_app(runtime)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            if signed_in:
                await sign_in(pilot, "ccaller")
            await wait_until(pilot, lambda app=app: app.idle.timeout is not None)  # type: ignore[misc]
            idle_for(app, 50)
            await settle(pilot)
            assert app.is_running
            if signed_in:
                idle_for(app, 61)
                await settle(pilot)
                assert isinstance(app.screen, LockScreen) and app.is_running  # locked, still its place
                idle_for(app, 110)
                await settle(pilot)
                assert app.is_running
            idle_for(app, 121)
            await settle(pilot)
            assert not app.is_running
        assert app.return_code == 0
    monkeypatch.setattr(SurveyApp, "is_web", property(lambda self: False))
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:  # in a terminal, the sign-in screen just waits
        await settle(pilot)
        idle_for(app, 1000)
        await settle(pilot)
        assert app.is_running
