"""Smaller things a caller relies on: text kept as typed, notes saved at once, asking before closing."""

from __future__ import annotations

from sqlalchemy import select
from textual import events

from app.services.runtime import Runtime
from app.store.models import Answer as AnswerRow
from app.store.models import Case, Interview
from app.tui.app import make_app
from app.tui.screens.dialogs import Confirm, TextPrompt
from app.tui.screens.interview import InterviewScreen
from app.tui.screens.screening import ScreeningScreen
from tests.tui.conftest import add_case
from tests.tui.helpers import settle, sign_in
from tests.tui.test_quick_exit_and_resume import start_call


async def test_paste_notes_drafts_progress_and_piping(runtime: Runtime) -> None:
    case_id = add_case(runtime, "domestic_abuse")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_call(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewScreen)
        # identity, safe, consent, recall, contact method; then first_contact_sat 6 routes to a verbatim
        await pilot.press("1", "enter", "1", "enter", "1", "enter", "1", "enter", "1", "enter")
        # a note on a question not yet answered is saved at once
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"hesitant", "enter")
        await settle(pilot)
        with runtime.sessions() as session:
            drafts = session.scalar(select(Interview.draft_notes).where(Interview.case_id == case_id))
        assert drafts is not None and "hesitant" in drafts
        await pilot.press("6", "enter")
        await settle(pilot)
        assert screen.shown == "first_contact_why"
        # the piped answer reads naturally mid-sentence
        assert "You said you were very dissatisfied." in str(screen.query_one("#readout").render())
        # a pasted answer keeps every line, and its newlines do not save it
        app.post_message(events.Paste("Nobody came.\nThen they were rude."))
        await settle(pilot)
        assert screen.shown == "first_contact_why"
        # typed but not saved: kept when going back and coming forward again
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert screen.shown == "first_contact_sat"
        # the progress line is right after going back
        assert "Question 6 of about" in str(screen.query_one("#progress").render())
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert screen.shown == "first_contact_why"
        assert screen.query_one("#text").text == "Nobody came.\nThen they were rude."
        await pilot.press("enter")
        await settle(pilot)
        assert screen.shown == "taken_seriously"
    with runtime.sessions() as session:
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
        rows = {
            r.question_id: r
            for r in session.scalars(select(AnswerRow).where(AnswerRow.interview_id == interview.id))
        }
    assert rows["first_contact_why"].value == "Nobody came.\nThen they were rude."
    assert rows["first_contact_sat"].note == "hesitant" and interview.draft_notes is None


async def test_quitting_during_a_call_and_closing_a_case_in_screening_ask_first(runtime: Runtime) -> None:
    case_id = add_case(runtime, "rape")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        screening = app.screen
        assert isinstance(screening, ScreeningScreen)
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, Confirm)  # a call is in progress: quitting asks first
        await pilot.press("n")
        assert app.screen is screening and app.is_running
        # "y" answers a check that excludes the case: Enter asks before the case is closed
        await pilot.press(*["y"] * len(screening.view.checks), "enter")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screening
        with runtime.sessions() as session:
            assert session.get(Case, case_id).status == "open"
        await pilot.press("enter")
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(app.screen, ScreeningScreen)
    with runtime.sessions() as session:
        assert session.get(Case, case_id).status == "closed"
