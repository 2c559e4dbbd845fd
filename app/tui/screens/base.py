"""What every screen of the app reaches: the signed-in person, the questionnaires, database work."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual.screen import Screen
from textual.worker import Worker

from app.domain.permissions import Actor
from app.services.catalogue import Catalogue

if TYPE_CHECKING:
    from app.tui.app import SurveyApp

ResultType = TypeVar("ResultType")
T = TypeVar("T")


class SurveyScreen(Screen[ResultType]):
    """A screen of the survey app, with typed access to the app's services."""

    @property
    def survey_app(self) -> SurveyApp:
        return cast("SurveyApp", self.app)

    @property
    def actor(self) -> Actor:
        user = self.survey_app.user
        if user is None:
            raise RuntimeError("no one is signed in")
        return user.actor()

    @property
    def catalogue(self) -> Catalogue:
        return self.survey_app.runtime.catalogue

    def db(
        self,
        work: Callable[[Any], T],
        then: Callable[[T], None] | None = None,
        **options: Any,
    ) -> Worker[T]:
        """Run a service call in a worker (see SurveyApp.db)."""
        return self.survey_app.db(work, then, **options)
