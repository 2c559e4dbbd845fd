"""The app of `survey questionnaire try`: one questionnaire on the real interview screen, no database.

It opens no database at all (it is given none), so a practice cannot write to one: there is no case,
no call and no stored answer, and `db` refuses any work a screen might hand it. The caller's name and
the sample fields piped into the text are made up (the file's `example_sample`, or defaults).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual import events
from textual.app import App
from textual.worker import Worker

from app.domain.permissions import Role
from app.domain.questionnaire import Questionnaire
from app.errors import SurveyError
from app.services.catalogue import Catalogue
from app.services.practice import start_practice
from app.services.staff import StaffRecord
from app.tui import keys
from app.tui.screens.interview import CallContext
from app.tui.screens.practice import PracticeInterviewScreen
from app.tui.typeahead import InputEvent, held_for_screen

T = TypeVar("T")

PRACTICE_CALLER = StaffRecord(
    id=0, username="practice", display_name="Pat Practice", role=Role.CALLER, active=True
)


class PracticeStoresNothing(SurveyError):
    """A practice screen asked for database work: there is no database in practice."""


class PracticeApp(App[None]):
    """One questionnaire tried on the interview screen; Ctrl+X or Ctrl+Q ends it."""

    TITLE = "Survey: practice"
    CSS_PATH = "app.tcss"
    BINDINGS = keys.bindings("app")

    def __init__(self, questionnaire: Questionnaire) -> None:
        super().__init__()
        self.questionnaire = questionnaire
        self.user: StaffRecord | None = PRACTICE_CALLER
        self._catalogue = Catalogue(questionnaires={questionnaire.id: questionnaire})

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    def on_mount(self) -> None:
        questionnaire = self.questionnaire
        call = CallContext(
            case_id=0, attempt_id=None, survey=questionnaire.id, sample=questionnaire.sample_example()
        )
        self.push_screen(PracticeInterviewScreen(call, start_practice(questionnaire)))

    def db(
        self,
        work: Callable[[Any], T],
        then: Callable[[T], None] | None = None,
        *,
        write: bool = True,
        failed: Callable[[BaseException], None] | None = None,
        group: str = "db",
        exclusive: bool = False,
    ) -> Worker[T]:
        raise PracticeStoresNothing("practice stores nothing: there is no database")

    def signed_in(self, user: StaffRecord) -> None:
        raise PracticeStoresNothing("practice has no sign-in")

    async def on_event(self, event: events.Event) -> None:
        if held_for_screen(self, event, self._deliver):
            return
        await super().on_event(event)

    async def _deliver(self, event: InputEvent) -> None:
        await App.on_event(self, event)

    def action_quick_exit(self) -> None:
        """The quick exit, practised: the screen clears and the practice ends at once."""
        self.exit()

    async def action_quit(self) -> None:
        self.exit()


def make_practice_app(questionnaire: Questionnaire) -> PracticeApp:
    return PracticeApp(questionnaire)
