"""Why a question is asked: its condition in words, the answers that decide it, and its stop rules.

`survey questionnaire try` shows this beside every question, so an author trying a new questionnaire
sees the routing at work: which answers put the question on the route (or kept it off), and what would
end the call after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.document import asked_when, describe_condition
from app.domain.engine import Answer, Engine, Status, Stop, describe_answer
from app.domain.questionnaire import Condition, Questionnaire, StopRule, condition_questions

ON_ROUTE = "on the route"
OFF_ROUTE = "not on the route with these answers"
UNDECIDED = "not decided yet (it depends on questions still to come)"
AFTER_STOP = "not asked: the interview has stopped"


@dataclass(frozen=True)
class Trace:
    """The reasons for one question, ready to show."""

    condition: str | None  # None: asked of everyone who gets this far
    answers: tuple[str, ...]  # the answers its condition reads, as given so far
    verdict: str
    stops: tuple[str, ...]

    def lines(self) -> list[str]:
        """Two or three short lines: the condition, the answers it reads and so the verdict, the stops."""
        if self.condition:
            lines = [f"Asked only if {self.condition}."]
            given = "; ".join(self.answers)
            lines.append(f"Answers: {given}, so {self.verdict}." if given else f"Now {self.verdict}.")
        else:
            lines = [f"Asked of everyone (no condition): {self.verdict}."]
        if self.stops:
            lines.append(f"Stops the call if {'; '.join(self.stops)}.")
        return lines


def why_asked(questionnaire: Questionnaire, answers: Mapping[str, Answer], question_id: str) -> Trace:
    """The trace of `question_id` for the answers given so far."""
    section = questionnaire.section_of(question_id)
    question = questionnaire.question(question_id)
    conditions: list[Condition] = [c for c in (section.ask_if, question.ask_if) if c is not None]
    route = Engine(questionnaire).route(answers)
    return Trace(
        condition=asked_when(questionnaire, section, question),
        answers=tuple(_answers_read(questionnaire, answers, route.statuses, conditions)),
        verdict=_verdict(questionnaire, route.statuses.get(question_id), route.stop, question_id),
        stops=tuple(_stop(questionnaire, rule) for rule in question.stop_if),
    )


def _stop(questionnaire: Questionnaire, rule: StopRule) -> str:
    return (
        f"{describe_condition(questionnaire, rule.if_, labels=False)}: {rule.outcome.value.replace('_', ' ')}"
    )


def _answers_read(
    questionnaire: Questionnaire,
    answers: Mapping[str, Answer],
    statuses: Mapping[str, Status],
    conditions: list[Condition],
) -> list[str]:
    seen: list[str] = []
    for condition in conditions:
        for test in condition_questions(condition):
            if test.question not in seen:
                seen.append(test.question)
    shown = []
    for name in seen:
        answer = answers.get(name)
        if answer is None or statuses.get(name) is not Status.ANSWERED:
            shown.append(f"{name} not answered")
            continue
        described = describe_answer(questionnaire.question(name), answer)
        codes = answer.codes()
        shown.append(f"{name} = {described}" + (f" ({', '.join(map(str, codes))})" if codes else ""))
    return shown


def _verdict(questionnaire: Questionnaire, status: Status | None, stop: Stop | None, question_id: str) -> str:
    if status in (Status.ANSWERED, Status.PENDING):
        return ON_ROUTE
    if status is Status.UNDECIDED:
        return UNDECIDED
    order = [q.id for q in questionnaire.questions()]
    if stop is not None and order.index(question_id) > order.index(stop.question_id):
        return AFTER_STOP
    return OFF_ROUTE
