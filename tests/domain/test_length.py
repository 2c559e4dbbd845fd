"""Interview length: the route search agrees with listing every route, and the figures behave."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from app.domain.engine import Answer, Engine
from app.domain.length import (
    ANSWER_SECONDS,
    WORDS_PER_MINUTE,
    NoCompleteRoute,
    ObservedTimes,
    _Walk,
    estimate_length,
    estimated_seconds,
    length_warnings,
    read_out_words,
)
from app.domain.questionnaire import Questionnaire, parse_questionnaire

DATA = Path(__file__).parent / "data"
EXAMPLE = (DATA / "example.yaml").read_text()
BUNDLED = sorted((Path(__file__).parents[2] / "questionnaires").glob("*.yaml"))

# Routing of every kind in a few questions: section and question conditions, all/any/not, numbers,
# multiple choice, optional text, don't know, and a stop rule.
TANGLED = """
id: tangled
title: Tangled routing
version: 1
fieldwork: {from_days_after_report: 0, to_days_after_report: 10}
sections:
  - id: a
    title: A
    questions:
      - id: agree
        type: single_choice
        text: Will you take part?
        options: [{code: 1, label: "Yes"}, {code: 2, label: Later}]
        stop_if: [{if: {question: agree, in: [2]}, outcome: appointment}]
      - id: contacts
        type: number
        text: How many times did they contact you?
        min: 0
        max: 20
      - id: helped
        type: multiple_choice
        text: Who helped you?
        dont_know: true
        options: [{code: 1, label: Police}, {code: 2, label: Family}, {code: 3, label: Charity}]
      - id: sat
        type: scale
        text: How satisfied were you?
  - id: b
    title: B
    ask_if: {any: [{question: contacts, ge: 3}, {question: helped, in: [3]}]}
    questions:
      - id: why
        type: text
        required: false
        text: Tell me more about {answer.sat} and the contacts.
      - id: more
        type: yes_no
        text: Anything else?
        ask_if: {all: [{question: why, answered: true}, {not: {question: sat, in: [1, 2, 3]}}]}
  - id: c
    title: C
    questions:
      - id: last
        type: text
        required: false
        text: Any last words?
        ask_if: {not: {question: more, in: [1]}}
"""


def brute_force(questionnaire: Questionnaire) -> tuple[float, float, float]:
    """Every combination of the candidate answers, through the engine: (shortest, typical, longest)."""
    engine = Engine(questionnaire)
    walk = _Walk(questionnaire, {})
    questions = questionnaire.questions()
    choices = [walk._candidates(q) for q in questions]
    results: dict[tuple[str, ...], tuple[float, float]] = {}
    for combination in itertools.product(*choices):
        answers: dict[str, Answer] = {}
        weight = 1.0
        stopped = False
        while True:
            route = engine.route(answers)
            if route.stop is not None:
                stopped = True
                break
            if route.next_question_id is None:
                break
            index = next(i for i, q in enumerate(questions) if q.id == route.next_question_id)
            answer, share = combination[index]
            weight *= share / (sum(w for _, w in choices[index]) or 1.0)
            answers[questions[index].id] = answer
        if stopped:
            continue
        key = tuple(f"{qid}={a}" for qid, a in answers.items())
        seconds = sum(walk._seconds(questionnaire.question(qid), a) for qid, a in answers.items())
        results[key] = (seconds, weight)  # the same route reached by other unused answers counts once
    seconds = [s for s, _ in results.values()]
    total = sum(w for _, w in results.values())
    typical = sum(s * w for s, w in results.values()) / total
    return min(seconds), typical, max(seconds)


@pytest.mark.parametrize("text", [EXAMPLE, TANGLED], ids=["example", "tangled"])
def test_the_route_search_agrees_with_listing_every_route(text: str) -> None:
    questionnaire = parse_questionnaire(text)
    estimate = estimate_length(questionnaire)
    shortest, typical, longest = brute_force(questionnaire)
    assert estimate.shortest.seconds == pytest.approx(shortest)
    assert estimate.longest.seconds == pytest.approx(longest)
    assert estimate.typical.seconds == pytest.approx(typical)
    assert shortest < typical < longest
    assert not estimate.approximate


def test_a_question_is_words_read_out_plus_answering_time() -> None:
    q = parse_questionnaire(EXAMPLE)
    kept = q.question("kept_informed")  # "Were you kept informed about the progress of your case?"
    assert read_out_words(kept) == 10
    assert estimated_seconds(kept) == pytest.approx(10 * 60 / WORDS_PER_MINUTE + ANSWER_SECONDS["yes_no"])
    overall = q.question("overall")  # a scale: the seven labels are read out, the date counts 3 words
    assert read_out_words(overall) == 9 + 3 + 16
    comments = q.question("comments")
    assert estimated_seconds(comments, blank=True) < estimated_seconds(comments)


def test_observed_medians_replace_the_estimate_and_the_basis_says_so() -> None:
    q = parse_questionnaire(EXAMPLE)
    words = estimate_length(q)
    assert words.basis.startswith("estimated from the words") and words.observed_questions == 0
    every = {x.id: 30.0 for x in q.questions()}
    observed = estimate_length(q, ObservedTimes(every, dict.fromkeys(every, 40), interviews=40))
    assert observed.basis == "observed median time per question, from 40 interviews"
    assert observed.longest.seconds == 30.0 * observed.longest.questions
    few = estimate_length(q, ObservedTimes({"overall": 300.0}, {"overall": 4}, interviews=4))
    assert few.observed_questions == 0  # four timings are too few to trust
    some = estimate_length(q, ObservedTimes({"overall": 300.0}, {"overall": 5}, interviews=5))
    assert some.observed_questions == 1 and "for 1 of 7 questions" in some.basis
    assert some.typical.seconds > words.typical.seconds


def test_target_minutes_warns_when_the_typical_route_is_longer() -> None:
    q = parse_questionnaire(EXAMPLE + "target_minutes: 1\n")
    estimate = estimate_length(q)
    (warning,) = length_warnings(q, estimate)
    assert "over target_minutes: 1" in warning
    roomy = parse_questionnaire(EXAMPLE + "target_minutes: 20\n")
    assert length_warnings(roomy, estimate_length(roomy)) == []


def test_no_complete_route() -> None:
    text = EXAMPLE.replace(
        "if: {question: safe_to_talk, in: [2]}", "if: {question: safe_to_talk, in: [1, 2]}"
    )
    with pytest.raises(NoCompleteRoute, match="safe_to_talk"):
        estimate_length(parse_questionnaire(text))


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_surveys_have_plausible_lengths(path: Path) -> None:
    estimate = estimate_length(parse_questionnaire(path.read_text()))
    assert 4 * 60 < estimate.shortest.seconds < estimate.typical.seconds < estimate.longest.seconds < 20 * 60
    assert estimate.longest.questions == len(parse_questionnaire(path.read_text()).questions())
