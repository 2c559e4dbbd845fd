"""Messages that name the cause: each common authoring mistake gets a line the author can act on."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from app.domain.questionnaire import (
    Questionnaire,
    QuestionnaireError,
    check_document,
    check_questionnaire,
    parse_questionnaire,
)
from app.domain.yamlmarks import MarkedDocument

DATA = Path(__file__).parent / "data"
EXAMPLE = (DATA / "example.yaml").read_text()
LINES = EXAMPLE.splitlines()


def problem_of(text: str) -> str:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(text, "new.yaml")
    (problem,) = info.value.problems
    return str(problem)


def line_of(fragment: str) -> int:
    return next(n for n, line in enumerate(LINES, 1) if fragment in line)


@pytest.mark.parametrize(
    ("replaced", "written", "word", "reads_as"),
    [
        ("label: Speaking to the victim", "label: No", "No", "false"),
        ("text: Is it safe for you to talk for a few minutes now?", "text: Yes", "Yes", "true"),
        ("title: Identity and safety", "title: on", "on", "true"),
        ("label: Wrong number}", "label: off}", "off", "false"),
    ],
)
def test_unquoted_yes_no_on_off_where_text_is_expected(
    replaced: str, written: str, word: str, reads_as: str
) -> None:
    problem = problem_of(EXAMPLE.replace(replaced, written))
    assert problem.startswith(f"new.yaml:{line_of(replaced)}:")
    assert f"YAML reads {word} as {reads_as}; write it in quotes" in problem


@pytest.mark.parametrize(("code", "flag"), [(98, "dont_know: true"), (99, "refused: true")])
def test_code_98_or_99_among_the_options(code: int, flag: str) -> None:
    text = EXAMPLE.replace(
        "{code: 3, label: Wrong number}",
        f"{{code: 3, label: Wrong number}}\n          - {{code: {code}, label: X}}",
    )
    problem = problem_of(text)
    assert f"code {code} is kept for" in problem and flag in problem
    assert "use dont_know: true / refused: true" in problem


def test_options_on_a_scale_are_fixed() -> None:
    text = EXAMPLE.replace(
        "        refused: true\n",
        "        refused: true\n        options:\n          - {code: 1, label: Good}\n",
        1,
    )
    problem = problem_of(text)
    assert "a scale's options are fixed" in problem and "unknown key" not in problem


def test_tab_in_indentation() -> None:
    problem = problem_of(EXAMPLE.replace("        min: 0", "\tmin: 0"))
    assert (
        problem
        == f"new.yaml:{line_of('min: 0')}: "
        + "a tab in the indentation: YAML needs spaces; indent with spaces only"
    )


def test_measure_question_with_ask_if_is_an_error() -> None:
    text = EXAMPLE.replace(
        "        text: Since {sample.report_date}",
        "        ask_if: {question: kept_informed, in: [1]}\n        text: Since {sample.report_date}",
    )
    problem = problem_of(text)
    assert "measure 'overall' reads 'overall'" in problem and "denominator" in problem


def test_measure_question_in_a_routed_section_is_an_error() -> None:
    text = EXAMPLE.replace(
        "    title: The service\n", "    title: The service\n    ask_if: {question: safe_to_talk, in: [1]}\n"
    )
    problem = problem_of(text)
    assert "the ask_if of section 'service'" in problem


def test_a_lone_anchor_is_an_error() -> None:
    problem = problem_of(EXAMPLE.replace("title: Example victim", "title: &t Example victim"))
    assert problem.startswith(f"new.yaml:{line_of('title: Example victim')}: YAML anchors")


def test_an_impossible_date_is_a_message_not_a_crash() -> None:
    text = EXAMPLE.replace("from_days_after_report: 42", "from_days_after_report: 42\n  opens: 2026-13-01")
    assert "'2026-13-01' is not a real date" in problem_of(text)


def test_piping_from_a_question_that_may_not_be_asked_is_a_warning() -> None:
    text = EXAMPLE.replace(
        "text: How many times did an officer contact you?",
        "text: You said {answer.why_not}. How many times did an officer contact you?",
    )
    checked = check_questionnaire(text, "new.yaml")
    piped = [str(w) for w in checked.warnings if "{answer.why_not}" in w.message]
    assert piped == [
        f"new.yaml:{line_of('text: How many times')}: warning: text inserts {{answer.why_not}}, but 'why_not'"
        " is routed (ask_if) and may have been skipped when 'contacts' is asked: it would read [not"
        " answered]; pipe only from a question this one's ask_if makes sure was answered"
    ]
    # Piping from the question in this one's own condition is sure to have an answer.
    sure = EXAMPLE.replace(
        "text: What could we have done to keep you better informed?",
        "text: You said {answer.kept_informed}. What could we have done?",
    )
    assert not [w for w in check_questionnaire(sure).warnings if "inserts" in w.message]


def test_consents_are_declared_and_checked() -> None:
    consent = "      - id: pass_on\n        type: yes_no\n        text: May we pass your comments on?\n"
    base = EXAMPLE.replace("\nmeasures:", "\n" + consent + "measures:", 1)
    declared = parse_questionnaire(base + "consents:\n  feedback: pass_on\n")
    assert declared.consent_question("feedback") == "pass_on" and declared.consent_question("quote") is None
    assert "unknown question 'pass_om'" in problem_of(base + "consents:\n  feedback: pass_om\n")
    assert "must be a yes_no question" in problem_of(base + "consents:\n  feedback: overall\n")
    # Undeclared, a misspelt consent question would silently empty the feedback screen: a warning says so.
    (warning,) = check_questionnaire(base.replace("pass_on", "consent_fedback")).warnings
    assert "'consent_fedback' looks like a consent question, but no consents are declared" in warning.message
    assert check_questionnaire(EXAMPLE).warnings == []


def test_a_document_without_consents_keeps_its_old_meaning_and_hash() -> None:
    old = EXAMPLE.replace(
        "      - id: comments",
        "      - id: consent_feedback\n        type: yes_no\n"
        "        text: May we pass it on?\n      - id: comments",
    )
    before = parse_questionnaire(old)
    assert before.consent_question("feedback") == "consent_feedback"
    stored = Questionnaire.model_validate_json(before.canonical_json())
    assert stored.consent_question("feedback") == "consent_feedback"
    declared = parse_questionnaire(old + "consents:\n  feedback: consent_feedback\n")
    assert declared.content_hash() == before.content_hash()  # same meaning, same content
    moved = parse_questionnaire(old + "consents:\n  quote: consent_feedback\n")
    assert moved.content_hash() != before.content_hash()


def test_authoring_keys_do_not_change_the_content_hash() -> None:
    extra = "target_minutes: 20\nexample_sample:\n  first_name: Jo\n  report_date: 2026-02-03\n"
    with_extra = parse_questionnaire(EXAMPLE + extra)
    assert with_extra.content_hash() == parse_questionnaire(EXAMPLE).content_hash()
    assert with_extra.sample_example()["first_name"] == "Jo"
    assert with_extra.sample_example()["victim_name"] == "Jo Example"


WRONG_VALUES = [True, 12, 1.5, [1, 2], {"a": 1}, None, "x", "2026-01-01", 98, -1]


def _leaves(node: object, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, (*path, key))]
    if isinstance(node, list):
        return [leaf for index, value in enumerate(node) for leaf in _leaves(value, (*path, index))]
    return [path]


def test_no_validator_wording_ever_reaches_the_author() -> None:
    """Every value of the example replaced by every wrong kind of value: only the project's own words."""
    data = yaml.safe_load(EXAMPLE)
    seen = 0
    for path in _leaves(data):
        for wrong in WRONG_VALUES:
            mutated = copy.deepcopy(data)
            node = mutated
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = wrong
            try:
                check_document(MarkedDocument(data=mutated), "m.yaml")
            except QuestionnaireError as exc:
                for problem in exc.problems:
                    seen += 1
                    text = problem.message
                    for raw in ("Input should", "Value error", "valid string", "validation error", "[type="):
                        assert raw not in text, (path, wrong, text)
    assert seen > 200
