"""A quick exit mid-interview holds the case; a supervisor retries it from a date or closes it."""

from __future__ import annotations

from sqlalchemy import select

from app.services.runtime import Runtime
from app.store.models import Case, Interview
from app.tui.app import make_app
from app.tui.screens.alerts import AlertsScreen
from tests.tui.conftest import add_case
from tests.tui.helpers import settle, sign_in, wait_until
from tests.tui.test_quick_exit_and_resume import answer_n, start_call


async def quick_exit_after(runtime: Runtime, answers: int) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_call(pilot)
        await answer_n(pilot, answers)
        await pilot.press("ctrl+x")
        await settle(pilot)
        # the home screen is refreshed once the call is recorded: the held case is no longer "yours"
        waiting = app.screen.query_one("#waiting")
        await wait_until(pilot, lambda: "aiting" in str(waiting.render()))
        assert "You hold case" not in str(waiting.render())


async def test_supervisor_closes_one_held_case_and_retries_another(runtime: Runtime) -> None:
    partial = add_case(runtime, "domestic_abuse", n=1)
    await quick_exit_after(runtime, 6)  # reached first_contact_sat: a partial interview
    retried = add_case(runtime, "domestic_abuse", n=2)
    await quick_exit_after(runtime, 4)
    with runtime.sessions() as session:
        assert {c.status for c in session.scalars(select(Case))} == {"held"}
    app = make_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "ssuper")
        await pilot.press("a")
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        await wait_until(pilot, lambda: len(screen.held) == 2)
        assert [h.case_id for h in screen.held] == [partial, retried]
        assert screen.held[0].partial and not screen.held[1].partial
        await pilot.press("c", *"victim asked not to be called again", "enter")
        await settle(pilot)
        await wait_until(pilot, lambda: len(screen.held) == 1)
        await pilot.press("t", "enter", "enter")  # from tomorrow at 10:00, as offered
        await pilot.press(*"spoke to the officer in the case", "enter")
        await settle(pilot)
        await wait_until(pilot, lambda: not screen.held)
    with runtime.sessions() as session:
        closed = session.get(Case, partial)
        again = session.get(Case, retried)
        interview = session.scalar(select(Interview).where(Interview.case_id == partial))
        kept = session.scalar(select(Interview).where(Interview.case_id == retried))
    assert closed.status == "closed" and closed.final_disposition == "1.2"
    assert interview.status == "partial"
    assert again.status == "open" and again.next_call_at is not None and again.held_at is None
    assert kept.status == "in_progress"
