"""The case is released as stale while its interview is on the screen: the next answer is refused in
words on the screen (no traceback), and every answer given before is kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.services import cases
from app.services.runtime import Runtime
from app.store.models import Answer as AnswerRow
from app.store.models import Case, Interview
from app.tui.app import make_app
from app.tui.screens.home import HomeScreen
from app.tui.screens.interview import InterviewScreen
from tests.tui.conftest import NOW, add_case
from tests.tui.helpers import keys_for, settle
from tests.tui.test_quick_exit_and_resume import answer_n, screen_text, start_call


async def test_an_answer_after_a_stale_release_is_refused_on_the_screen(runtime: Runtime) -> None:
    case_id = add_case(runtime, "domestic_abuse", victim_name="Robin Stale", phone="+442079460778")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_call(pilot)
        asked = await answer_n(pilot, 3)
        runtime.transaction(
            lambda session: cases.release_stale(session, runtime.catalogue, NOW + timedelta(hours=25))
        )
        await pilot.press(*keys_for(app.screen.question))  # type: ignore[attr-defined]
        await settle(pilot)
        assert isinstance(app.screen, InterviewScreen)
        text = " ".join(screen_text(app).split())
        assert f"Not saved: case {case_id} is no longer allocated to you" in text
        assert "Press Ctrl+X to leave the call" in text and "try again" not in text
        assert "Traceback" not in text
        await pilot.press("ctrl+x")  # leaving the call takes the caller home, nothing more recorded
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen), screen_text(app)
    with runtime.readers() as session:
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
        answered = session.scalars(
            select(AnswerRow.question_id).where(AnswerRow.interview_id == interview.id)
        )
        assert (interview.status, set(answered)) == ("in_progress", set(asked))
        assert session.get_one(Case, case_id).status == "held"  # for a supervisor to decide
