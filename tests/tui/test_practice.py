"""`survey questionnaire try`: the real interview screen in practice, by key presses, storing nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from textual import events
from textual.app import App
from textual.keys import _character_to_key
from textual.pilot import Pilot

from app.domain.engine import Answer, Engine
from app.domain.questionnaire import (
    DONT_KNOW,
    REFUSED,
    ChoiceQuestion,
    MultipleChoice,
    Questionnaire,
    TextQuestion,
    load_questionnaire,
)
from app.services.runtime import Runtime
from app.store.models import Base
from app.tui.practice import make_practice_app
from app.tui.screens.practice import JumpDialog, PracticeEnd, PracticeInterviewScreen
from app.tui.widgets.options import keys_to_pick
from app.tui.widgets.practice_bar import PracticeBar
from tests.tui.helpers import keys_for, settle

BUNDLED = Path(__file__).parents[2] / "questionnaires"


def shortest_route(questionnaire: Questionnaire) -> list[tuple[str, list[str]]]:
    """(question, keys) along a short complete route: each choice the one that leaves fewest questions."""
    engine = Engine(questionnaire)
    answers: dict[str, Answer] = {}
    plan = []
    while (question := engine.next_question(answers)) is not None:
        keys = keys_for(question)
        answer = None
        if isinstance(question, ChoiceQuestion):
            options = question.options()
            best = None
            for position, option in enumerate(options):
                if option.code in (DONT_KNOW, REFUSED):
                    continue
                given = Answer(value=(option.code,)) if isinstance(question, MultipleChoice) else None
                candidate = given or Answer(code=option.code)
                route = engine.apply(answers, question.id, candidate).route
                assert route is not None
                if route.stop is not None:
                    continue
                left = engine.progress({**answers, question.id: candidate})[1]
                if best is None or left < best[0]:
                    best = (left, position, candidate)
            assert best is not None, question.id
            _, position, answer = best
            keys = [*keys_to_pick(options, position), "enter"]
        elif isinstance(question, TextQuestion) and not question.required:
            keys, answer = ["enter"], Answer()
        if answer is None:
            answer = engine.parse(question, "".join(k for k in keys if len(k) == 1))
        answers = engine.apply(answers, question.id, answer).answers
        plan.append((question.id, keys))
    return plan


def burst(app: App[None], keys: list[str]) -> None:
    """Every key sent at once, without waiting for the screen (Pilot.press waits after each key)."""
    assert app._driver is not None
    for key in keys:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def until(pilot: Pilot[None], ready: Callable[[], bool]) -> None:
    """Let the app work until `ready()` (a busy machine may take a while: no time limit is asserted)."""
    for _ in range(2400):
        if ready():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen never became ready")


def table_counts(runtime: Runtime) -> dict[str, int]:
    with runtime.readers() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


@pytest.mark.parametrize("survey", ["domestic_abuse", "rape", "hate_crime", "burglary"])
async def test_try_each_bundled_questionnaire_to_the_end_storing_nothing(
    survey: str, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SURVEY_DATABASE_URL", runtime.url)  # the database a stray write would reach
    before = table_counts(runtime)
    questionnaire = load_questionnaire(BUNDLED / f"{survey}.yaml")
    plan = shortest_route(questionnaire)
    app = make_practice_app(questionnaire)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PracticeInterviewScreen)
        assert str(screen.query_one("#progress").render()).startswith("PRACTICE · ")
        assert screen.query(PracticeBar)
        assert "Hello, may I speak to Sam, please?" in str(screen.query_one("#readout").render())
        assert str(screen.query_one("#why").render()).startswith("Asked of everyone")
        # typed in one burst, as a fast caller would: each answer lands on its own question, in order
        burst(app, [key for _, keys in plan for key in keys])
        await until(pilot, lambda: not isinstance(app.screen, PracticeInterviewScreen))
        await settle(pilot)  # the closing words' screen has been pushed: let it put its widgets in place
        assert app.screen.query(PracticeBar)  # the closing words, marked as practice too
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PracticeEnd))
        ended = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert f"The interview is complete. {len(plan)} questions answered." in ended
        assert "Nothing was stored" in ended
        await pilot.press("enter")  # start again
        await settle(pilot)
        assert isinstance(app.screen, PracticeInterviewScreen) and app.screen.state.answers == {}
    assert table_counts(runtime) == before


async def test_the_trace_and_the_jump_key(runtime: Runtime) -> None:
    questionnaire = load_questionnaire(BUNDLED / "domestic_abuse.yaml")
    app = make_practice_app(questionnaire)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, JumpDialog)
        await pilot.press("end", *["up"] * 5, "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PracticeInterviewScreen) and screen.shown == "overall_why"
        why = str(screen.query_one("#why").render())
        assert "Asked only if overall_sat is 5, 6 or 7 (Fairly dissatisfied" in why
        assert "overall_sat not answered, so not decided yet" in why
        assert "Not on the route with these answers." in str(screen.query_one("#error").render())
        await pilot.press(*"too slow", "enter")  # answered for practice, not kept
        await settle(pilot)
        assert screen.shown == "identity" and "overall_why" not in screen.state.answers
        assert "its answer was not kept" in str(screen.query_one("#error").render())


async def test_a_file_not_installed_with_its_own_example_sample(tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    example = Path(__file__).parents[1] / "domain" / "data" / "example.yaml"
    draft.write_text(example.read_text() + "example_sample:\n  first_name: Jo\n")
    app = make_practice_app(load_questionnaire(draft))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "Hello, may I speak to Jo, please?" in str(app.screen.query_one("#readout").render())
        await pilot.press("ctrl+x")  # the quick exit, practised: the practice ends at once
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running
