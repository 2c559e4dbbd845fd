"""A whole call through the real screens against a real SQLite file, for every bundled survey."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.services.runtime import Runtime
from app.store.models import Answer as AnswerRow
from app.store.models import Attempt, Case, Interview
from app.tui.app import make_app
from app.tui.screens.call_end import ClosingScreen
from app.tui.screens.dial import DialScreen
from app.tui.screens.home import HomeScreen
from app.tui.screens.interview import InterviewScreen
from app.tui.screens.screening import ScreeningScreen
from tests.tui.conftest import add_case
from tests.tui.helpers import answer_all, settle, sign_in

SURVEYS = ["domestic_abuse", "rape", "hate_crime", "burglary"]


@pytest.mark.parametrize("survey", SURVEYS)
async def test_full_interview_by_key_presses(runtime: Runtime, survey: str) -> None:
    case_id = add_case(runtime, survey)
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ScreeningScreen), app.screen
        await pilot.press(*["n"] * len(screen.view.checks), "enter")
        await settle(pilot)
        assert isinstance(app.screen, DialScreen)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")  # speaking to someone
        await settle(pilot)
        assert isinstance(app.screen, InterviewScreen)
        asked = await answer_all(pilot)
        await settle(pilot)
        # the closing words and support lines stay until the caller presses Enter
        closing = app.screen
        assert isinstance(closing, ClosingScreen)
        questionnaire = runtime.catalogue.get(survey)
        assert questionnaire.closing is not None
        assert str(closing.query_one("#closing-words").render()).startswith("Thank you very much")
        for line in questionnaire.closing.support:
            assert line.number in str(closing.query_one("#support").render())
        await pilot.pause(0.2)
        assert app.screen is closing
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)

    with runtime.sessions() as session:
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
        assert interview is not None and interview.status == "completed"
        assert interview.questionnaire_version == questionnaire.version
        assert interview.questionnaire_hash == questionnaire.content_hash()
        rows = {
            r.question_id: r
            for r in session.scalars(select(AnswerRow).where(AnswerRow.interview_id == interview.id))
        }
        attempt = session.scalar(select(Attempt).where(Attempt.case_id == case_id))
        case = session.get(Case, case_id)
    assert list(rows) == asked or set(rows) == set(asked)
    assert rows[asked[0]].code == 1  # identity: speaking to the victim
    for measure in questionnaire.measures:
        assert rows[measure.question].code == 1, measure.id
    assert attempt is not None and attempt.outcome == "completed"
    assert case is not None and case.status == "closed" and case.final_disposition == "1.1"


async def test_not_safe_to_talk_ends_the_call_at_once(runtime: Runtime) -> None:
    from app.tui.screens.call_end import ReadOut

    case_id = add_case(runtime, "domestic_abuse")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(app.screen.view.checks), "enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        await pilot.press("1", "enter")  # identity: speaking to the victim
        await settle(pilot)
        assert app.screen.question.safety_check
        await pilot.press("2", "enter")  # not safe
        await settle(pilot)
        assert isinstance(app.screen, ReadOut)  # the neutral words to end with, nothing about the police
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    with runtime.sessions() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.case_id == case_id))
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
        case = session.get(Case, case_id)
    assert attempt.outcome == "unsafe_to_talk"
    assert interview.status == "stopped" and interview.stop_outcome == "unsafe_to_talk"
    assert case.status == "open" and case.allocated_to_id is None  # tried again later, never a refusal
