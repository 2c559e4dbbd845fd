"""Why a question is asked: the practice screen's trace of conditions, answers and stop rules."""

from __future__ import annotations

from pathlib import Path

from app.domain.engine import Answer
from app.domain.questionnaire import load_questionnaire
from app.domain.trace import AFTER_STOP, OFF_ROUTE, ON_ROUTE, UNDECIDED, why_asked

EXAMPLE = load_questionnaire(Path(__file__).parent / "data" / "example.yaml")
REACHED = {"identity": Answer(code=1), "safe_to_talk": Answer(code=1)}


def test_a_question_without_a_condition_and_its_stop_rules() -> None:
    trace = why_asked(EXAMPLE, {}, "identity")
    assert trace.lines() == [
        "Asked of everyone (no condition): on the route.",
        "Stops the call if identity is 2: not available; identity is 3: wrong number.",
    ]


def test_the_answers_a_condition_reads_decide_the_verdict() -> None:
    assert why_asked(EXAMPLE, REACHED, "why_not").verdict == UNDECIDED
    asked = why_asked(EXAMPLE, {**REACHED, "kept_informed": Answer(code=2)}, "why_not")
    assert asked.lines() == [
        "Asked only if kept_informed is 2 (No).",
        "Answers: kept_informed = No (2), so on the route.",
    ]
    assert asked.verdict == ON_ROUTE
    skipped = why_asked(EXAMPLE, {**REACHED, "kept_informed": Answer(code=1)}, "why_not")
    assert skipped.answers == ("kept_informed = Yes (1)",) and skipped.verdict == OFF_ROUTE


def test_after_a_stop_nothing_more_is_asked() -> None:
    stopped = {"identity": Answer(code=1), "safe_to_talk": Answer(code=2)}
    assert why_asked(EXAMPLE, stopped, "contacts").verdict == AFTER_STOP
