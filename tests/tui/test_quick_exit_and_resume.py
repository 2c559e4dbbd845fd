"""Quick exit mid-interview, and a killed process resumed with nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from app.services.runtime import Runtime
from app.store.models import Answer as AnswerRow
from app.store.models import Attempt, Case, Interview
from app.tui.app import make_app
from app.tui.screens.dial import DialScreen
from app.tui.screens.home import HomeScreen
from app.tui.screens.interview import InterviewScreen
from app.tui.screens.resume import ResumeOffer, TypedConfirm
from tests.tui.conftest import add_case
from tests.tui.helpers import keys_for, settle, sign_in

DRIVER = Path(__file__).parent / "interview_driver.py"


async def start_call(pilot) -> None:  # type: ignore[no-untyped-def]
    await sign_in(pilot, "ccaller")
    await pilot.press("n")
    await settle(pilot)
    checks = len(pilot.app.screen.view.checks)
    await pilot.press(*["n"] * checks, "enter")
    await settle(pilot)
    await pilot.press("d")
    await settle(pilot)
    await pilot.press("1", "enter")
    await settle(pilot)


async def answer_n(pilot, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    asked = []
    for _ in range(n):
        question = pilot.app.screen.question
        asked.append(question.id)
        await pilot.press(*keys_for(question))
        await settle(pilot)
    return asked


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    return (
        "\n".join(str(widget.render()) for widget in app.screen.query("Static") if widget.display)
        + str(app.screen.title)
        + str(app.sub_title)
    )


async def test_quick_exit_clears_the_screen_and_keeps_every_answer(runtime: Runtime) -> None:
    case_id = add_case(runtime, "domestic_abuse", victim_name="Morgan Quickexit", phone="+442079460777")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_call(pilot)
        asked = await answer_n(pilot, 6)
        assert isinstance(app.screen, InterviewScreen)
        assert "Domestic abuse" in screen_text(app)
        await pilot.press("ctrl+x")
        # the screen is cleared at once, before any database work
        assert isinstance(app.screen, HomeScreen)
        text = screen_text(app)
        for identifying in ("Morgan", "Quickexit", "7946 0777", "domestic", "Domestic", "CR/"):
            assert identifying not in text
        await settle(pilot)
    with runtime.sessions() as session:
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
        answers = session.scalars(
            select(AnswerRow.question_id).where(AnswerRow.interview_id == interview.id)
        ).all()
        attempt = session.scalar(select(Attempt).where(Attempt.case_id == case_id))
        case = session.get(Case, case_id)
    # a safety event, not a refusal: the case is held for a supervisor, the interview and answers kept
    assert interview.status == "in_progress"
    assert set(answers) == set(asked)
    assert attempt.outcome == "unsafe_to_talk"
    assert case.status == "held" and case.held_at is not None and case.final_disposition is None


async def test_quick_exit_while_dialling_records_unsafe_to_talk(runtime: Runtime) -> None:
    case_id = add_case(runtime, "rape")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(app.screen.view.checks), "enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("ctrl+x")
        assert isinstance(app.screen, HomeScreen)
        await settle(pilot)
    with runtime.sessions() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.case_id == case_id))
    assert attempt.outcome == "unsafe_to_talk"


def test_killed_interview_resumes_with_nothing_lost(runtime: Runtime, tmp_path: Path) -> None:
    case_id = add_case(runtime, "hate_crime")
    env = {**os.environ, "SURVEY_DATABASE_URL": runtime.url, "SURVEY_LOG_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, str(DRIVER), "7"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ANSWERED "), line + (process.stderr.read() if process.stderr else "")
        asked = line.split()[1].split(",")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    with runtime.sessions() as session:
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
        stored = set(
            session.scalars(select(AnswerRow.question_id).where(AnswerRow.interview_id == interview.id))
        )
    assert interview.status == "in_progress"
    assert stored == set(asked)

    import asyncio

    async def resume() -> tuple[str | None, dict[str, object]]:
        app = make_app(runtime)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, "ccaller")
            offer = app.screen
            assert isinstance(offer, ResumeOffer), app.screen
            said = str(offer.query_one("#resume-what").render())
            assert "Hate crime" in said and f"case #{case_id}" in said and "question 8 of about" in said
            await pilot.press("n", "y")  # keys of other screens do nothing here
            assert app.screen is offer
            await pilot.press("enter")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, InterviewScreen)
            return screen.shown, dict(screen.state.answers)

    shown, answers = asyncio.run(resume())
    assert set(answers) == set(asked)
    engine_next = runtime.catalogue.get("hate_crime")
    from app.domain.engine import Engine

    assert shown == Engine(engine_next).next_question(answers).id  # type: ignore[arg-type, union-attr]


async def test_resume_with_a_safety_check_dials_again_and_checks_first(runtime: Runtime) -> None:
    """Closed mid-interview (the app quits with the call open); signing in again offers to carry on."""
    case_id = add_case(runtime, "domestic_abuse")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_call(pilot)
        asked = await answer_n(pilot, 6)
        reached = app.screen.shown
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        assert isinstance(app.screen, ResumeOffer)
        await pilot.press("f8")
        assert isinstance(app.screen, TypedConfirm)
        await pilot.press("escape")  # keeps it
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DialScreen) and app.screen.attempt_id is None
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewScreen)
        assert screen.shown == "identity" and screen.query_one("#options").codes == ()
        await pilot.press("1", "enter")
        await settle(pilot)
        assert screen.shown == "safe_to_talk" and screen.query_one("#options").codes == ()
        await pilot.press("1", "enter")
        await settle(pilot)
        assert screen.shown == reached
    with runtime.sessions() as session:
        attempts = session.scalars(
            select(Attempt).where(Attempt.case_id == case_id).order_by(Attempt.id)
        ).all()
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
        stored = set(
            session.scalars(select(AnswerRow.question_id).where(AnswerRow.interview_id == interview.id))
        )
    assert [a.outcome for a in attempts] == ["not_available", None]
    assert interview.attempt_id == attempts[1].id and stored == set(asked)


async def test_a_check_asked_again_can_end_the_call_and_keep_the_interview(runtime: Runtime) -> None:
    case_id = add_case(runtime, "domestic_abuse")
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_call(pilot)
        asked = await answer_n(pilot, 6)
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        await pilot.press("1", "enter", "2", "enter")  # identity again; now NOT safe to talk
        await settle(pilot)
        await pilot.press("enter")  # the goodbye
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    with runtime.sessions() as session:
        attempts = session.scalars(
            select(Attempt).where(Attempt.case_id == case_id).order_by(Attempt.id)
        ).all()
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
        stored = {
            r.question_id: r.code
            for r in session.scalars(select(AnswerRow).where(AnswerRow.interview_id == interview.id))
        }
    assert [a.outcome for a in attempts] == ["not_available", "unsafe_to_talk"]
    assert interview.status == "in_progress" and set(stored) == set(asked) and stored["safe_to_talk"] == 1
