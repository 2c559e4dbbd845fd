"""Signing in through the real login screen."""

from __future__ import annotations

from textual.widgets import Static

from app.services.runtime import Runtime
from app.tui.app import make_app
from tests.tui.conftest import PASSWORD
from tests.tui.helpers import settle


async def sign_in(pilot, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.click("#username")
    await pilot.press(*username, "enter", *password, "enter")
    await settle(pilot)  # the try is counted, then the password checked: two tasks one after the other


async def test_wrong_password_is_refused_with_a_message(runtime: Runtime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller", "not the password")
        assert app.user is None
        message = str(app.screen.query_one("#message", Static).render())
        assert "wrong user name or password" in message.lower()
        # an immediate second try is held back
        await pilot.press(*"whatever", "enter")
        await settle(pilot)
        assert "wait" in str(app.screen.query_one("#message", Static).render()).lower()


async def test_right_password_signs_in(runtime: Runtime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller", PASSWORD)
        assert app.user is not None and app.user.username == "ccaller"


async def test_name_and_password_typed_in_one_burst(runtime: Runtime) -> None:
    """Keys typed straight after Enter on the name belong to the password, however busy the app is."""
    from textual import events

    from tests.tui.helpers import settle

    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for key in [*"ccaller", "enter", *PASSWORD.replace(" ", "\0"), "enter"]:
            name, char = ("space", " ") if key == "\0" else (key, key if len(key) == 1 else None)
            app._driver.send_message(events.Key(name, char))  # type: ignore[union-attr]
        await settle(pilot)
        assert app.user is not None and app.user.username == "ccaller"
