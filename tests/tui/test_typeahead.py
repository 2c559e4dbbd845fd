"""Keys typed ahead in a burst are applied, in order, to the question on screen when they arrive."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import Input, TextArea

from app.domain.permissions import Actor, Role
from app.services import interviews
from app.services.runtime import Runtime, open_runtime
from app.services.staff import add_staff
from app.store.models import Answer as AnswerRow
from app.store.models import AnswerChange, Attempt, Interview
from app.tui.app import make_app
from app.tui.screens.interview import InterviewScreen
from app.tui.widgets.options import OptionsView
from tests.tui.conftest import PASSWORD, add_case
from tests.tui.helpers import settle, sign_in

#: Every kind of question a burst can cross: a stop rule, a routed question, a statement, typed answers.
BURST = """
id: burst
title: Burst test survey
version: 1
fieldwork: {from_days_after_report: 0, to_days_after_report: 400}
sections:
  - id: opening
    title: Opening
    questions:
      - id: identity
        type: single_choice
        text: May I speak to {sample.first_name}?
        options:
          - {code: 1, label: "Speaking"}
          - {code: 2, label: "Not available"}
        stop_if:
          - if: {question: identity, in: [2]}
            outcome: not_available
            say: Goodbye.
  - id: main
    title: Main
    questions:
      - id: intro
        type: statement
        text: I will now ask about the service you received.
      - id: sat
        type: scale
        text: How satisfied were you?
        dont_know: true
        refused: true
      - id: why
        type: text
        required: false
        ask_if: {question: sat, in: [5, 6, 7]}
        text: You said you were {answer.sat}. Why was that?
      - id: visits
        type: number
        min: 0
        max: 20
        dont_know: true
        text: How many times did an officer visit?
      - id: advice
        type: yes_no
        text: Were you given advice?
      - id: advice_useful
        type: single_choice
        ask_if: {question: advice, in: [1]}
        text: How useful was it?
        options:
          - {code: 1, label: "Very"}
          - {code: 2, label: "Fairly"}
          - {code: 3, label: "Not"}
      - id: overall
        type: scale
        text: Overall, how satisfied are you?
"""


@pytest.fixture
def burst_runtime(db_url: str, tmp_path: Path, frozen_clock: object) -> Iterator[Runtime]:
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    (folder / "burst.yaml").write_text(BURST)
    rt = open_runtime(db_url, folder)
    with rt.sessions.begin() as session:
        add_staff(session, Actor.system(), username="ccaller", role=Role.CALLER, password=PASSWORD)
    yield rt
    rt.close()


async def open_interview(pilot) -> InterviewScreen:  # type: ignore[no-untyped-def]
    await sign_in(pilot, "ccaller")
    await pilot.press("n")
    await settle(pilot)
    await pilot.press(*["n"] * len(pilot.app.screen.view.checks), "enter")
    await settle(pilot)
    await pilot.press("d")
    await settle(pilot)
    await pilot.press("1", "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, InterviewScreen)
    return screen


def stored(runtime: Runtime, case_id: int) -> tuple[dict[str, tuple[int | None, str | None]], int]:
    with runtime.sessions() as session:
        interview = session.scalar(select(Interview).where(Interview.case_id == case_id))
        assert interview is not None
        rows = session.scalars(
            select(AnswerRow).where(AnswerRow.interview_id == interview.id).order_by(AnswerRow.id)
        ).all()
        changes = session.scalars(select(AnswerChange).where(AnswerChange.interview_id == interview.id)).all()
        return {r.question_id: (r.code, r.value) for r in rows}, len(changes)


@pytest.fixture
def slow_saves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer takes a while to store, as on a busy machine (the worker waits, then writes)."""
    real = interviews.record_answer

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.15)
        return real(*args, **kwargs)

    monkeypatch.setattr(interviews, "record_answer", slow)


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "slow-save"])
async def test_a_burst_of_keys_lands_on_the_right_questions(
    burst_runtime: Runtime, slow: bool, request: pytest.FixtureRequest
) -> None:
    if slow:
        request.getfixturevalue("slow_saves")
    case_id = add_case(burst_runtime, "burst")
    app = make_app(burst_runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_interview(pilot)
        # identity 1; the statement; sat 6 (routes to why); why typed; visits 3; advice 1 (routes to
        # advice_useful); advice_useful 2; then the last question: 7 chosen but not confirmed.
        burst = ["1", "enter", "enter", "6", "enter", *"Slow", "enter", "3", "enter", "1", "enter"]
        await pilot.press(*burst, "2", "enter", "7")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewScreen)
        assert screen.shown == "overall"
        assert screen.query_one("#options").codes == (7,)
    answers, changes = stored(burst_runtime, case_id)
    assert answers == {
        "identity": (1, None),
        "intro": (None, None),
        "sat": (6, None),
        "why": (None, "Slow"),
        "visits": (None, "3"),
        "advice": (1, None),
        "advice_useful": (2, None),
    }
    assert changes == 0


async def test_a_burst_through_a_stop_rule_ends_the_call(burst_runtime: Runtime, slow_saves: None) -> None:
    case_id = add_case(burst_runtime, "burst")
    app = make_app(burst_runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_interview(pilot)
        # 2 (not available) stops the call: the keys after it must not answer anything.
        await pilot.press("2", "enter", "1", "enter", "1", "enter")
        await settle(pilot)
    answers, changes = stored(burst_runtime, case_id)
    assert answers == {"identity": (2, None)}
    assert changes == 0


async def test_change_typed_fast_after_going_back(burst_runtime: Runtime, slow_saves: None) -> None:
    """1 Enter, back, 7 Enter: the first answer is changed to 7 with a change row, nothing else moves."""
    case_id = add_case(burst_runtime, "burst")
    app = make_app(burst_runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_interview(pilot)
        await pilot.press("1", "enter", "enter", "1", "enter", "ctrl+b", "4", "enter", "ctrl+k", "enter")
        await settle(pilot)
        assert screen.shown == "advice"
    answers, changes = stored(burst_runtime, case_id)
    assert answers == {"identity": (1, None), "intro": (None, None), "sat": (4, None), "visits": (98, None)}
    assert changes == 1


async def test_quick_exit_is_never_held(burst_runtime: Runtime, slow_saves: None) -> None:
    case_id = add_case(burst_runtime, "burst")
    app = make_app(burst_runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_interview(pilot)
        await pilot.press("1", "enter", "enter", "ctrl+x")
        assert not isinstance(app.screen, InterviewScreen)
        await settle(pilot)
    with burst_runtime.sessions() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.case_id == case_id))
        assert attempt is not None and attempt.outcome is not None
    # The answer on screen when Enter was pressed is kept although its save was still running; the
    # Enter typed ahead for the next question (never shown) is dropped with the call.
    answers, _ = stored(burst_runtime, case_id)
    assert answers == {"identity": (1, None)}


async def test_dial_then_outcome_in_one_burst_starts_the_interview(
    burst_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """d, 1 and Enter typed together: the outcome waits for the attempt to be stored, then applies."""
    from app.services import cases

    real = cases.start_attempt

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.15)
        return real(*args, **kwargs)

    monkeypatch.setattr(cases, "start_attempt", slow)
    case_id = add_case(burst_runtime, "burst")
    app = make_app(burst_runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(pilot.app.screen.view.checks), "enter")
        await settle(pilot)
        await pilot.press("d", "1", "enter")
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, InterviewScreen)
    with burst_runtime.sessions() as session:
        attempts = session.scalars(select(Attempt).where(Attempt.case_id == case_id)).all()
    assert [a.outcome for a in attempts] == [None]


async def test_going_back_and_on_shows_each_answer_as_given(burst_runtime: Runtime) -> None:
    """The answer widgets are set to each question in turn (not mounted afresh): going back shows each
    stored answer in the right widget, alone on show, and keeping them changes nothing."""
    case_id = add_case(burst_runtime, "burst")
    app = make_app(burst_runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_interview(pilot)
        await pilot.press("1", "enter", "enter", "6", "enter", *"Slow", "enter", "3", "enter")
        await settle(pilot)
        assert screen.shown == "advice"

        def on_show() -> list[str | None]:
            return [child.id for child in screen.query_one("#answer").children if child.display]

        def typed() -> tuple[str | None, list[str | None], str, int | None]:
            return screen.shown, on_show(), screen.query_one("#input", Input).value, screen.special

        await pilot.press("ctrl+b")
        await settle(pilot)
        assert typed() == ("visits", ["input"], "3", None)
        await pilot.press("ctrl+k", "enter")  # changed to don't know
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        # The 3 on show is replaced by the stored answer, and that is not taken for typing.
        assert typed() == ("visits", ["input"], "", 98)
        await pilot.press("ctrl+b")
        await settle(pilot)
        text = screen.query_one("#text", TextArea).text
        assert (screen.shown, on_show(), text) == ("why", ["text"], "Slow")
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert (screen.shown, on_show(), screen.query_one("#options", OptionsView).codes) == (
            "sat",
            ["options"],
            (6,),
        )
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert (screen.shown, on_show()) == ("intro", ["statement"])
        for _ in range(4):
            await pilot.press("enter")
            await settle(pilot)
        assert screen.shown == "advice" and on_show() == ["options"]
        assert screen.query_one("#options", OptionsView).codes == ()
    answers, changes = stored(burst_runtime, case_id)
    assert answers == {
        "identity": (1, None),
        "intro": (None, None),
        "sat": (6, None),
        "why": (None, "Slow"),
        "visits": (98, None),
    }
    assert changes == 1  # visits, 3 to don't know
