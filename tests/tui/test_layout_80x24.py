"""At 80x24, every question of every bundled questionnaire shows every option on screen, each chosen by a key.

One app per questionnaire: the real call screens up to the first question, then each question is put
on the interview screen in turn (routing aside) and checked, with its keys pressed.
"""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widget import Widget

from app.domain.questionnaire import ChoiceQuestion, MultipleChoice
from app.services.runtime import Runtime
from app.tui.app import make_app
from app.tui.screens.dial import DialScreen
from app.tui.screens.interview import InterviewScreen
from app.tui.widgets.options import OptionsView, keys_to_pick
from tests.tui.conftest import add_case
from tests.tui.helpers import settle, sign_in

SURVEYS = ["domestic_abuse", "rape", "hate_crime", "burglary"]
SCREEN = Region(0, 0, 80, 24)


def shown_region(widget: Widget) -> Region:
    """The part of the widget actually drawn: its region, clipped by its containers and the screen."""
    geometry = widget.screen.find_widget(widget)
    return geometry.region.intersection(geometry.clip).intersection(SCREEN)


def fully_visible(widget: Widget) -> None:
    assert shown_region(widget) == widget.region, (widget, widget.region, shown_region(widget))


def options_visible(view: OptionsView, where: str) -> None:
    shown = shown_region(view)
    origin = view.content_region.offset
    for option, cell in zip(view.options, view.cells, strict=True):
        region = cell.translate(origin)
        assert shown.contains_region(region), (where, option.label, region, shown)


async def choose_each(pilot, view: OptionsView, where: str) -> None:  # type: ignore[no-untyped-def]
    for position, option in enumerate(view.options):
        view.forget_digit()  # as if a second had passed since the last option's digit
        await pilot.press(*keys_to_pick(view.options, position))
        assert option.code in view.codes, (where, option.label, view.codes)
        if view.multiple:
            view.chosen = frozenset()


@pytest.mark.parametrize("survey", SURVEYS)
async def test_every_question_and_outcome_fits_80x24(runtime: Runtime, survey: str) -> None:
    add_case(runtime, survey)
    questionnaire = runtime.catalogue.get(survey)
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(app.screen.view.checks), "enter")
        await settle(pilot)
        dial = app.screen
        assert isinstance(dial, DialScreen)
        await pilot.press("d")
        await settle(pilot)
        outcomes = dial.query_one("#outcomes", OptionsView)
        options_visible(outcomes, "dial")
        await choose_each(pilot, outcomes, "dial")
        outcomes.pick(0)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewScreen)
        for question in questionnaire.questions():
            await screen.show_question(question.id)
            await pilot.pause()
            where = f"{survey}.{question.id}"
            body = screen.query_one("#body")
            cue = screen.query_one("#more")
            for _ in range(25):  # the cue follows the laid-out text: on a busy machine, a frame or two later
                if not (body.max_scroll_y > 0 and not cue.display):
                    break
                await pilot.pause(0.02)
            if body.max_scroll_y > 0:
                assert cue.display, f"{where}: the read-out scrolls without a cue"
                fully_visible(cue)
            fully_visible(body)
            if isinstance(question, ChoiceQuestion):
                view = screen.query_one("#options", OptionsView)
                assert view.multiple == isinstance(question, MultipleChoice)
                options_visible(view, where)
                await choose_each(pilot, view, where)
            else:
                shown = [child for child in screen.query_one("#answer").children if child.display]
                assert len(shown) == 1, f"{where}: {shown} on show for the answer"
                answer = shown[0]
                fully_visible(answer)
                if screen.query_one("#specials").display:
                    fully_visible(screen.query_one("#specials"))
