"""Carrying on after a crash or a closed terminal: resume, or end as a break-off."""

from __future__ import annotations

from textual.screen import Screen

from app.services import calls


def resume_interview(origin: Screen[object], interview_id: int, *, resume: bool) -> None:
    """Open the interrupted interview at its question, or close it keeping every answer."""
    from app.tui.screens.interview import CallContext, InterviewScreen

    app = origin.app
    actor = app.user.actor()  # type: ignore[attr-defined]
    catalogue = app.runtime.catalogue  # type: ignore[attr-defined]
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

        app.db(lambda session: calls.resume(session, actor, catalogue, interview_id), opened)  # type: ignore[attr-defined]
    else:
        app.db(  # type: ignore[attr-defined]
            lambda session: calls.end_interview_call(
                session, actor, catalogue, interview_id, broken_off=True
            ),
            lambda ended: origin.notify(
                f"Interview ended as a break-off ({ended.outcome.value}); answers kept."
            ),
        )
