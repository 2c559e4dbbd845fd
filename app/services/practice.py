"""Practice interviews: a questionnaire tried on the interview screen without a case, storing nothing.

`survey questionnaire try` runs the real interview screen on an interview that lives in memory only:
no database is opened, so nothing can be written to one. The answers go through the same engine as a
live interview (validation, routing, answers a change routes away from), and example sample fields
(the file's `example_sample`, or defaults) fill the text as a case's would.
"""

from __future__ import annotations

from dataclasses import replace

from app.domain.engine import Answer, Status
from app.domain.questionnaire import Questionnaire
from app.services.interviews import InterviewState, interview_state

#: The practice interview's id: no stored interview has it (ids start at 1).
PRACTICE_INTERVIEW = 0
PRACTICE_STATUS = "practice"


def start_practice(questionnaire: Questionnaire) -> InterviewState:
    """A new practice interview at its first question."""
    return _state(questionnaire, {}, {})


def practice_answer(state: InterviewState, question_id: str, answer: Answer) -> InterviewState:
    """Give an answer in practice, as `interviews.record_answer` would, in memory only.

    A question reached by jumping that is not on the route with the answers given is answered for
    the practice of it: the answer is checked but not kept (the route never reads it).
    Raises AnswerError for an answer the question does not take.
    """
    engine = state.engine
    question = state.questionnaire.question(question_id)
    status = engine.route(state.answers).statuses.get(question_id)
    if status not in (Status.ANSWERED, Status.PENDING):
        engine.validate(question, answer)
        return _state(state.questionnaire, state.answers, state.notes)
    applied = engine.apply(state.answers, question_id, answer)
    notes = {qid: note for qid, note in state.notes.items() if qid not in applied.discarded}
    return _state(state.questionnaire, applied.answers, notes, applied.discarded)


def on_route(state: InterviewState, question_id: str) -> bool:
    """Whether a question is on the route with the answers given (answered, or still to ask)."""
    return state.engine.route(state.answers).statuses.get(question_id) in (Status.ANSWERED, Status.PENDING)


def _state(
    questionnaire: Questionnaire,
    answers: dict[str, Answer],
    notes: dict[str, str],
    discarded: dict[str, Answer] | None = None,
) -> InterviewState:
    return interview_state(
        questionnaire,
        dict(answers),
        dict(notes),
        interview_id=PRACTICE_INTERVIEW,
        case_id=None,
        attempt_id=None,
        status=PRACTICE_STATUS,
        discarded=discarded,
    )


def with_note(state: InterviewState, question_id: str, note: str) -> InterviewState:
    """The practice interview with a caller's note on a question (kept in memory only)."""
    notes = dict(state.notes)
    if note.strip():
        notes[question_id] = note
    else:
        notes.pop(question_id, None)
    return replace(state, notes=notes)
