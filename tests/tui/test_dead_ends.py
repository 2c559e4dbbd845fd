"""No dead ends: appointments are checked before the dialog closes, and a refused save leaves a way on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.services import calls
from app.services.interviews import InterviewError
from app.services.runtime import Runtime
from app.store.models import Attempt, Case
from app.tui.app import make_app
from app.tui.screens.call_end import ReadOut
from app.tui.screens.dialogs import AppointmentDialog
from app.tui.screens.home import HomeScreen
from app.tui.screens.interview import InterviewScreen
from tests.tui.conftest import add_case
from tests.tui.helpers import settle, sign_in


async def to_interview(pilot) -> InterviewScreen:  # type: ignore[no-untyped-def]
    await sign_in(pilot, "ccaller")
    await pilot.press("n")
    await settle(pilot)
    await pilot.press(*["n"] * len(pilot.app.screen.view.checks), "enter")
    await settle(pilot)
    await pilot.press("d")
    await settle(pilot)
    await pilot.press("1", "enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, InterviewScreen)
    return pilot.app.screen


async def type_appointment(pilot, day: str, at: str) -> None:  # type: ignore[no-untyped-def]
    dialog = pilot.app.screen
    assert isinstance(dialog, AppointmentDialog)
    dialog.query_one("#date").value = ""
    dialog.query_one("#time").value = ""
    await pilot.press(*day, "enter", *at, "enter")
    await settle(pilot)


async def test_appointment_outside_hours_is_refused_in_the_dialog(runtime: Runtime) -> None:
    case_id = add_case(runtime, "domestic_abuse")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_interview(pilot)
        await pilot.press("1", "enter", "1", "enter", "2", "enter")  # identity, safe, "another (safe) time"
        await settle(pilot)
        assert isinstance(app.screen, ReadOut)
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AppointmentDialog)
        assert "Calling hours: Mon-Fri 09:00-20:00" in str(dialog.query_one("#rules").render())
        await type_appointment(pilot, "28/11/2026", "18:30")  # a Saturday evening
        assert app.screen is dialog
        assert "outside calling hours" in str(dialog.query_one("#error").render())
        # Escape: back on the consent question, with a way on
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.shown == "consent"
        assert "No appointment was made" in str(screen.query_one("#error").render())
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")  # the goodbye
        await settle(pilot)
        await type_appointment(pilot, "30/11/2026", "18:30")  # a Monday evening
        assert isinstance(app.screen, HomeScreen)
    with runtime.sessions() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.case_id == case_id))
        case = session.get(Case, case_id)
        assert attempt is not None and attempt.outcome == "appointment"
        assert case is not None and case.status != "closed" and case.next_call_at is not None


STOPS = [
    (["2"], "not_available"),
    (["3"], "appointment"),
    (["4"], "wrong_number"),
    (["1", "enter", "2"], "unsafe_to_talk"),
    (["1", "enter", "1", "enter", "3"], "refusal"),
    (["1", "enter", "1", "enter", "1", "enter", "2"], "ineligible"),
]


@pytest.mark.parametrize(("keys", "outcome"), STOPS, ids=[o for _, o in STOPS])
async def test_a_refused_end_of_call_goes_back_to_the_question(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, keys: list[str], outcome: str
) -> None:
    real = calls.end_interview_call
    refusals = [InterviewError("the database said no")]

    def refuse_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        if refusals:
            raise refusals.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(calls, "end_interview_call", refuse_once)
    case_id = add_case(runtime, "domestic_abuse")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_interview(pilot)

        async def end_the_call(keys: list[str]) -> None:
            await pilot.press(*keys, "enter")
            await settle(pilot)
            assert isinstance(app.screen, ReadOut)
            await pilot.press("enter")
            await settle(pilot)
            if outcome == "appointment":
                assert isinstance(app.screen, AppointmentDialog)
                await pilot.press("enter", "enter")  # tomorrow at 10:00, as offered
                await settle(pilot)

        await end_the_call(keys)
        assert app.screen is screen  # refused: back on the question that ended the call
        error = str(screen.query_one("#error").render())
        assert "the database said no" in error and "Enter tries again" in error
        await end_the_call([])  # the answer is still chosen: Enter alone tries again
        assert isinstance(app.screen, HomeScreen), app.screen
    with runtime.sessions() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.case_id == case_id))
        assert attempt is not None and attempt.outcome == outcome
