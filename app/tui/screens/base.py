"""What every screen of the app reaches: the signed-in person, the questionnaires, database work.

Screens depend on the small protocol `SurveyHost`, not on the app class, so the TUI's imports point
one way: app.py imports the screens, and no screen imports app.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from textual.screen import Screen
from textual.worker import Worker

from app.domain.permissions import Actor

if TYPE_CHECKING:  # the database layer loads while the sign-in screen is already shown
    from app.services.catalogue import Catalogue
    from app.services.staff import StaffRecord

ResultType = TypeVar("ResultType")
T = TypeVar("T")


class SurveyHost(Protocol):
    """What a screen needs from the app."""

    user: StaffRecord | None

    @property
    def catalogue(self) -> Catalogue: ...

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
        """Run `work(session)` (a service call) in a thread worker; `then(result)` on the UI thread."""
        ...

    def signed_in(self, user: StaffRecord) -> None:
        """Someone has signed in: remember them and start what their role needs."""
        ...

    @property
    def database(self) -> str:
        """The database, as shown to people (no password)."""
        ...

    def first_screen_drawn(self) -> None:
        """The sign-in screen is on the terminal: open the database behind it, if not open yet."""
        ...


class SurveyScreen(Screen[ResultType]):
    """A screen of the survey app, with typed access to the app's services."""

    @property
    def survey_app(self) -> SurveyHost:
        return cast(SurveyHost, self.app)

    @property
    def actor(self) -> Actor:
        user = self.survey_app.user
        if user is None:
            raise RuntimeError("no one is signed in")
        return user.actor()

    @property
    def catalogue(self) -> Catalogue:
        return self.survey_app.catalogue

    def db(
        self,
        work: Callable[[Any], T],
        then: Callable[[T], None] | None = None,
        **options: Any,
    ) -> Worker[T]:
        """Run a service call in a worker (see SurveyHost.db)."""
        return self.survey_app.db(work, then, **options)


class CallScreen(SurveyScreen[None]):
    """A screen of a call in progress (screening, dialling, interview): quick exit ends its call."""

    def call_ids(self) -> tuple[int | None, int | None]:
        """(attempt, interview) of the call in progress."""
        raise NotImplementedError
