"""Carrying on after a crash or a closed terminal: the offer names the survey, the case and the question
reached; ending needs an explicit, typed confirmation (no single key shared with another screen ends
anything). A survey with a safety check starts a new call: the number to dial, then the identity and
safe-to-talk questions again, before the question reached.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from app.domain.text import display
from app.services import calls
from app.tui.screens.base import SurveyScreen

#: What the caller types to end an interrupted interview.
END_WORD = "END"


class ResumeOffer(ModalScreen[str]):
    """Enter resumes; Escape decides later; F8 ends it, after a typed confirmation."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("enter", "choose('resume')", "Resume", priority=True),
        Binding("escape", "choose('later')", "Later"),
        Binding("f8", "end", "End it…"),
    ]

    def __init__(self, offer: calls.ResumeOffer) -> None:
        super().__init__()
        self.offer = offer

    def compose(self) -> ComposeResult:
        offer = self.offer
        how = (
            "Carrying on starts a new call: dial the number, then ask the identity and safe-to-talk"
            " questions again before the question reached."
            if offer.redial
            else "Carrying on opens the interview at the question reached."
        )
        with Vertical(classes="dialog", id="resume-offer"):
            yield Static(Text("An interview you started was interrupted", style="bold"), classes="title")
            yield Static(
                Text(
                    f"{display(offer.survey_title)}, case #{offer.case_id}: stopped at question"
                    f" {offer.position} of about {offer.possible}, '{display(offer.question)}'.\n{how}"
                ),
                id="resume-what",
            )
            yield Static(
                "Enter: resume · Escape: decide later · F8: end it as a break-off (asks you to confirm)",
                classes="muted",
            )

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    def action_end(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.dismiss("end")

        self.app.push_screen(
            TypedConfirm(
                f"End the interview of case #{self.offer.case_id} as a break-off? Every answer is kept, and"
                f" the case closes. Type {END_WORD} and press Enter to end it; Escape keeps it.",
                END_WORD,
            ),
            confirmed,
        )


class TypedConfirm(ModalScreen[bool]):
    """A confirmation that needs a word typed, so no stray key can confirm it."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Keep it")]

    def __init__(self, question: str, word: str) -> None:
        super().__init__()
        self.question = question
        self.word = word

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog alert"):
            yield Static(Text(self.question), classes="title")
            yield Input(id="word", placeholder=self.word)
            yield Static("", id="error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#word", Input).focus()

    @on(Input.Submitted, "#word")
    def _typed(self) -> None:
        if self.query_one("#word", Input).value.strip().upper() == self.word:
            self.dismiss(True)
        else:
            self.query_one("#error", Static).update(f"Type {self.word} to end it, or Escape to keep it.")

    def action_cancel(self) -> None:
        self.dismiss(False)


def offer_resume(origin: SurveyScreen[None], interview_id: int) -> None:
    """Say what was interrupted, then resume, leave it, or end it."""
    actor = origin.actor
    catalogue = origin.catalogue

    def chosen(offer: calls.ResumeOffer, choice: str | None) -> None:
        if choice == "resume":
            resume_interview(origin, offer)
        elif choice == "end":
            end_interrupted(origin, interview_id)

    origin.db(
        lambda session: calls.resume_offer(session, actor, catalogue, interview_id),
        lambda offer: origin.app.push_screen(ResumeOffer(offer), lambda choice: chosen(offer, choice)),
        write=False,
    )


def resume_interview(origin: SurveyScreen[None], offer: calls.ResumeOffer) -> None:
    """Open the interrupted interview at its question, or dial again first where the survey says so."""
    from app.tui.screens.dial import DialScreen
    from app.tui.screens.interview import CallContext, InterviewScreen

    app = origin.app
    actor = origin.actor
    catalogue = origin.catalogue
    interview_id = offer.interview_id
    if offer.redial:
        origin.db(
            lambda session: calls.redial_for_resume(session, actor, catalogue, interview_id),
            lambda view: app.push_screen(DialScreen(view)),
        )
        return

    def opened(found: calls.Resumed) -> None:
        state = found.state
        call = CallContext(
            case_id=state.case_id or 0, attempt_id=state.attempt_id, survey=state.survey, sample=found.sample
        )
        app.push_screen(InterviewScreen(call, state))

    origin.db(lambda session: calls.resume(session, actor, catalogue, interview_id), opened)


def end_interrupted(origin: SurveyScreen[None], interview_id: int) -> None:
    actor = origin.actor
    catalogue = origin.catalogue
    origin.db(
        lambda session: calls.end_interview_call(session, actor, catalogue, interview_id, broken_off=True),
        lambda ended: origin.notify(
            f"Interview ended as a {'partial' if ended.partial else 'break-off'}; every answer kept."
        ),
    )
