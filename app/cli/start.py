"""Starting the app itself (`survey` with no command): the sign-in screen first, the database behind it.

Kept apart from the commands, so that a plain `survey` loads neither Typer nor the commands' modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.runtime import Runtime


def run_app(db: str | None, questionnaires: str | None) -> None:
    """Run the app until it quits; a database or questionnaire folder that cannot be opened is raised."""
    from app.tui.app import make_app

    def opened() -> Runtime:
        from app.services.runtime import open_runtime

        return open_runtime(db, questionnaires)

    app = make_app(opened)
    try:
        app.run()
    finally:
        app.close_runtime()
    if app.startup_error is not None:  # the database or the questionnaires could not be opened
        raise app.startup_error
