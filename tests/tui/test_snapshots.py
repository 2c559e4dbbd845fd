"""Snapshots of the key caller screens at 80x24 (review the report before --snapshot-update)."""

from __future__ import annotations

from app.services.runtime import Runtime
from app.tui.app import make_app
from tests.tui.conftest import add_case
from tests.tui.helpers import settle, sign_in, wait_until

SIZE = (80, 24)


def test_login(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(runtime), terminal_size=SIZE)


def test_home(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    add_case(runtime, "domestic_abuse")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await sign_in(pilot, "ccaller")
        await wait_until(pilot, lambda: "Waiting" in str(pilot.app.screen.query_one("#waiting").render()))
        # every worker the sign-in started (counts, alert watch, case upkeep) done and its result drawn,
        # and the appointments table's rows measured, which it does when idle
        await settle(pilot)
        await wait_until(pilot, lambda: pilot.app.screen.query_one("#appointments").row_count == 1)
        await pilot.pause(0.2)

    assert snap_compare(make_app(runtime), terminal_size=SIZE, run_before=run_before)


def test_screening(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    add_case(runtime, "rape", risk_level="high")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)

    assert snap_compare(make_app(runtime), terminal_size=SIZE, run_before=run_before)


def test_question(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    add_case(runtime, "domestic_abuse")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(pilot.app.screen.view.checks), "enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        for _ in range(2):  # identity, safety check
            await pilot.press("1", "enter")
            await settle(pilot)
        await pilot.press("1", "enter")  # consent
        await settle(pilot)
        await pilot.press("3")  # pick an option, not yet confirmed
        await pilot.pause()

    assert snap_compare(make_app(runtime), terminal_size=SIZE, run_before=run_before)
