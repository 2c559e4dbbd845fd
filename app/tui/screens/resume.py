"""Carrying on after a crash or a closed terminal: resume, or end as a break-off."""

from __future__ import annotations

from app.services import calls
from app.tui.screens.base import SurveyScreen


def resume_interview(origin: SurveyScreen[None], interview_id: int, *, resume: bool) -> None:
    """Open the interrupted interview at its question, or close it keeping every answer."""
    from app.tui.screens.interview import CallContext, InterviewScreen

    app = origin.app
    actor = origin.actor
    catalogue = origin.catalogue
    if resume:

        def opened(found: calls.Resumed) -> None:
            state = found.state
            call = CallContext(
                case_id=state.case_id or 0,
                attempt_id=state.attempt_id,
                survey=state.survey,
                sample=found.sample,
            )
            app.push_screen(InterviewScreen(call, state))

        origin.db(lambda session: calls.resume(session, actor, catalogue, interview_id), opened)
    else:
        origin.db(
            lambda session: calls.end_interview_call(
                session, actor, catalogue, interview_id, broken_off=True
            ),
            lambda ended: origin.notify(
                f"Interview ended as a break-off ({ended.outcome.value}); answers kept."
            ),
        )
