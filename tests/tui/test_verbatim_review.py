"""A supervisor redacts a verbatim by key presses; analysts' view of it follows."""

from __future__ import annotations

from sqlalchemy import select
from textual.widgets import Static

from app.domain.engine import Answer as EngineAnswer
from app.services.runtime import Runtime
from app.store.models import VerbatimRedaction
from app.tui.app import make_app
from app.tui.screens.verbatims import VerbatimReviewScreen
from tests.services.test_report import add_interview, utc
from tests.tui.helpers import settle, sign_in

SAID = "Jane Doe at the Leeds station was kind"


async def test_mark_a_name_and_a_place_then_approve(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        add_interview(
            session,
            runtime.catalogue.get("hate_crime"),
            utc(2026, 11, 20),
            {"comments": EngineAnswer(value=SAID)},
        )
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ssuper")
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, VerbatimReviewScreen)
        await pilot.press("n", *"jane doe", "enter")
        await settle(pilot)
        await pilot.press("p", *"Leeds", "enter")
        await settle(pilot)
        preview = str(app.screen.query_one("#redacted", Static).render())
        await pilot.press("enter")
        await settle(pilot)
        heading = str(app.screen.query_one("#heading", Static).render())

    assert "[name] at the [place] station was kind" in preview
    assert heading == "No free-text answers await review."
    with runtime.sessions() as session:
        stored = session.scalar(select(VerbatimRedaction.redacted))
    assert stored == "[name] at the [place] station was kind"
