"""Loading questionnaires: every kind of bad file gives FILE:LINE: message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.questionnaire import QuestionnaireError, load_questionnaire, parse_questionnaire

DATA = Path(__file__).parent / "data"
EXAMPLE = (DATA / "example.yaml").read_text()


def problems_of(text: str | bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(path)
    lines = [str(p) for p in info.value.problems]
    assert lines, "an error must name at least one problem"
    for line in lines:
        assert line.startswith(f"{path}:"), line
        assert "\n" not in line
    return lines


def line_no(problem: str) -> int:
    return int(problem.split(":")[1])


def test_example_loads() -> None:
    q = load_questionnaire(DATA / "example.yaml")
    assert q.id == "example"
    assert [x.id for x in q.questions()][:2] == ["identity", "safe_to_talk"]
    assert q.measure("overall").positive == [1, 2, 3]


def test_typo_in_key_is_an_error_on_its_line(tmp_path: Path) -> None:
    text = EXAMPLE.replace("        dont_know: true", "        requird: true")
    (problem,) = problems_of(text, tmp_path)
    assert "unknown key 'requird'" in problem
    assert line_no(problem) == EXAMPLE.splitlines().index("        dont_know: true") + 1


def test_broken_yaml(tmp_path: Path) -> None:
    (problem,) = problems_of("id: x\ntitle: [unclosed\nversion: 1\n", tmp_path)
    assert "invalid YAML" in problem


def test_empty_file(tmp_path: Path) -> None:
    (problem,) = problems_of("", tmp_path)
    assert problem.endswith(":1: the file is empty")


def test_comments_only_is_empty(tmp_path: Path) -> None:
    (problem,) = problems_of("# nothing here\n", tmp_path)
    assert "empty" in problem


def test_list_instead_of_mapping(tmp_path: Path) -> None:
    (problem,) = problems_of("- id: x\n- id: y\n", tmp_path)
    assert "must be a mapping" in problem and "a list" in problem


def test_binary_junk(tmp_path: Path) -> None:
    (problem,) = problems_of(bytes(range(256)) * 4, tmp_path)
    assert "not a text file" in problem


def test_not_utf8(tmp_path: Path) -> None:
    (problem,) = problems_of(b"id: caf\xe9\n", tmp_path)
    assert "not UTF-8" in problem


def test_duplicate_question_id(tmp_path: Path) -> None:
    text = EXAMPLE.replace("      - id: contacts", "      - id: kept_informed")
    problems = problems_of(text, tmp_path)
    dup = [p for p in problems if "duplicate question id 'kept_informed'" in p]
    assert dup
    assert line_no(dup[0]) == EXAMPLE.splitlines().index("      - id: contacts") + 1


def test_duplicate_key(tmp_path: Path) -> None:
    (problem,) = problems_of("id: x\nid: y\n", tmp_path)
    assert problem.endswith(":2: duplicate key 'id'")


def test_unknown_type(tmp_path: Path) -> None:
    text = EXAMPLE.replace("        type: number", "        type: slider")
    (problem,) = problems_of(text, tmp_path)
    assert "unknown question type 'slider'" in problem
    assert line_no(problem) == EXAMPLE.splitlines().index("        type: number") + 1


def test_condition_naming_a_later_question(tmp_path: Path) -> None:
    text = EXAMPLE.replace(
        "ask_if: {question: kept_informed, in: [2]}", "ask_if: {question: overall, in: [5]}"
    )
    (problem,) = problems_of(text, tmp_path)
    assert "'overall', which is not asked before this point" in problem
    assert (
        line_no(problem)
        == EXAMPLE.splitlines().index("        ask_if: {question: kept_informed, in: [2]}") + 1
    )


def test_condition_naming_an_unknown_question(tmp_path: Path) -> None:
    text = EXAMPLE.replace(
        "ask_if: {question: kept_informed, in: [2]}", "ask_if: {question: nosuch, in: [2]}"
    )
    (problem,) = problems_of(text, tmp_path)
    assert "'nosuch'" in problem


def test_condition_with_unknown_code(tmp_path: Path) -> None:
    text = EXAMPLE.replace(
        "ask_if: {question: kept_informed, in: [2]}", "ask_if: {question: kept_informed, in: [7]}"
    )
    (problem,) = problems_of(text, tmp_path)
    assert "code 7 is not an option of 'kept_informed'" in problem


def test_condition_needs_one_operator(tmp_path: Path) -> None:
    text = EXAMPLE.replace("ask_if: {question: kept_informed, in: [2]}", "ask_if: {question: kept_informed}")
    (problem,) = problems_of(text, tmp_path)
    assert "exactly one of" in problem


def test_alias_bomb(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20)
    )
    (problem,) = problems_of(bomb, tmp_path)
    assert "aliases" in problem


def test_measure_code_must_exist(tmp_path: Path) -> None:
    text = EXAMPLE.replace("positive: [1, 2, 3]", "positive: [1, 2, 13]")
    (problem,) = problems_of(text, tmp_path)
    assert "code 13 is not an option of 'overall'" in problem


def test_measure_must_read_a_single_coded_question(tmp_path: Path) -> None:
    text = EXAMPLE.replace("    question: overall", "    question: contacts")
    problems = problems_of(text, tmp_path)
    assert any("must read a single_choice, scale or yes_no question" in p for p in problems)


def test_piping_of_unknown_field(tmp_path: Path) -> None:
    text = EXAMPLE.replace("{sample.report_date}", "{sample.home_address}")
    (problem,) = problems_of(text, tmp_path)
    assert "unknown placeholder {sample.home_address}" in problem


def test_piping_of_a_later_answer(tmp_path: Path) -> None:
    text = EXAMPLE.replace("Were you kept informed", "Since {answer.overall}, were you kept informed")
    (problem,) = problems_of(text, tmp_path)
    assert "'overall' is not asked before this point" in problem


def test_safety_check_needs_unsafe_stop(tmp_path: Path) -> None:
    text = EXAMPLE.replace("            outcome: unsafe_to_talk", "            outcome: refusal")
    (problem,) = problems_of(text, tmp_path)
    assert "unsafe_to_talk" in problem


def test_version_must_be_whole_number(tmp_path: Path) -> None:
    (problem,) = problems_of(EXAMPLE.replace("version: 1", "version: 1.5"), tmp_path)
    assert "version: must be a whole number" in problem
    assert line_no(problem) == 4


def test_missing_required_key(tmp_path: Path) -> None:
    text = EXAMPLE.replace("title: Example victim satisfaction survey\n", "")
    (problem,) = problems_of(text, tmp_path)
    assert "missing required key 'title'" in problem


def test_several_problems_reported_together(tmp_path: Path) -> None:
    text = EXAMPLE.replace("        dont_know: true", "        requird: true").replace(
        "type: number", "type: slider"
    )
    assert len(problems_of(text, tmp_path)) == 2


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(tmp_path / "missing.yaml")
    assert "cannot read" in str(info.value)


def test_hash_ignores_formatting_but_not_content() -> None:
    base = parse_questionnaire(EXAMPLE)
    reformatted = parse_questionnaire("# a comment\n" + EXAMPLE.replace("[1, 2, 3]", "[1,2,3]"))
    changed = parse_questionnaire(EXAMPLE.replace("Were you kept informed", "Were you kept up to date"))
    assert base.content_hash() == reformatted.content_hash()
    assert base.content_hash() != changed.content_hash()


def test_public_json_lists_options_with_specials() -> None:
    data = parse_questionnaire(EXAMPLE).to_public_dict()
    kept = data["sections"][1]["questions"][0]
    assert kept["id"] == "kept_informed" and kept["type"] == "yes_no"
    assert kept["options"] == [
        {"code": 1, "label": "Yes"},
        {"code": 2, "label": "No"},
        {"code": 98, "label": "Don't know"},
    ]
    assert data["measures"] == [
        {
            "id": "overall",
            "label": "Overall satisfaction",
            "question": "overall",
            "positive": [1, 2, 3],
            "neutral": [4],
        }
    ]


def test_statement_is_read_out_and_takes_no_answer(tmp_path: Path) -> None:
    from app.domain.engine import Answer, AnswerError, Engine

    text = EXAMPLE.replace(
        "  - id: service\n    title: The service\n    questions:\n",
        "  - id: service\n    title: The service\n    questions:\n"
        "      - id: intro\n        type: statement\n        text: I'm calling from the Research Bureau.\n",
    )
    q = parse_questionnaire(text)
    engine = Engine(q)
    intro = q.question("intro")
    assert engine.parse(intro, "") == Answer()
    with pytest.raises(AnswerError):
        engine.validate(intro, Answer(code=1))
    (problem,) = problems_of(
        text.replace("type: statement\n", "type: statement\n        required: true\n"), tmp_path
    )
    assert "a statement has no answer" in problem


def test_piping_is_checked_in_instructions_and_say(tmp_path: Path) -> None:
    text = EXAMPLE.replace("say: That's fine.", "say: That's fine {sample.address}.")
    (problem,) = problems_of(text, tmp_path)
    assert "unknown placeholder {sample.address}" in problem
