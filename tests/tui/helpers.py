"""Driving the real screens with key presses, as a caller would."""

from __future__ import annotations

from datetime import date

from textual.pilot import Pilot

from app.domain.questionnaire import (
    ChoiceQuestion,
    DateQuestion,
    NumberQuestion,
    QuestionBase,
    Statement,
    TextQuestion,
)
from app.tui.screens.interview import InterviewScreen
from tests.tui.conftest import PASSWORD


async def settle(pilot: Pilot) -> None:  # type: ignore[type-arg]
    """Wait until no worker is running and the messages they caused are handled (callbacks start workers)."""
    for _ in range(20):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(worker.is_running for worker in pilot.app.workers):
            await pilot.pause()
            if not any(worker.is_running for worker in pilot.app.workers):
                return


async def wait_until(pilot: Pilot, ready, tries: int = 50) -> None:  # type: ignore[type-arg, no-untyped-def]
    """Let workers and messages run until `ready()` holds (screens fill in as their data arrives)."""
    for _ in range(tries):
        if ready():
            return
        await settle(pilot)
    raise AssertionError("the screen never became ready")


async def sign_in(pilot: Pilot, username: str, password: str = PASSWORD) -> None:  # type: ignore[type-arg]
    await pilot.press(*username, "enter", *password, "enter")
    await settle(pilot)


def keys_for(question: QuestionBase) -> list[str]:
    """The keys that give a plausible answer that carries the interview on."""
    if isinstance(question, ChoiceQuestion):
        return ["1", "enter"]
    if isinstance(question, NumberQuestion):
        value = int(question.min) if question.min is not None else 1
        return [*str(max(value, 1) if question.max is None or question.max >= 1 else value), "enter"]
    if isinstance(question, DateQuestion):
        return [*f"{date(2026, 10, 1):%d/%m/%Y}", "enter"]
    if isinstance(question, TextQuestion):
        return [*"Thank you", "enter"]
    if isinstance(question, Statement):
        return ["enter"]
    raise AssertionError(f"no keys for {question}")


async def answer_all(pilot: Pilot, limit: int = 200) -> list[str]:  # type: ignore[type-arg]
    """Answer every question the interview screen shows until it leaves; returns the question ids."""
    asked: list[str] = []
    for _ in range(limit):
        screen = pilot.app.screen
        if not isinstance(screen, InterviewScreen) or screen.question is None:
            return asked
        question = screen.question
        asked.append(question.id)
        await pilot.press(*keys_for(question))
        await settle(pilot)
        if isinstance(pilot.app.screen, InterviewScreen) and pilot.app.screen.question is question:
            error = str(pilot.app.screen.query_one("#error").render())
            raise AssertionError(f"stuck on {question.id}: {error}")
    raise AssertionError("the interview did not end")
