"""Every file of the hostile corpus is refused with one FILE:LINE: message, never an exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.domain.questionnaire import QuestionnaireError, check_questionnaire, read_questionnaire
from app.domain.yamlmarks import MAX_DEPTH, load_marked
from tests.domain.hostile_corpus import EXAMPLE, write_corpus

ONE_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<message>[^\n]{1,200})$")


def test_every_hostile_file_gives_file_line_message(tmp_path: Path) -> None:
    for path, expected in write_corpus(tmp_path).items():
        with pytest.raises(QuestionnaireError) as caught:
            read_questionnaire(path)
        problems = caught.value.problems
        assert len(problems) == 1, (path.name, problems)
        shown = ONE_LINE.match(str(problems[0]))
        assert shown is not None, (path.name, str(problems[0])[:300])
        assert shown["file"] == str(path)
        assert expected in shown["message"], (path.name, shown["message"])


def test_nesting_up_to_the_limit_loads_and_one_more_level_is_refused() -> None:
    inside = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert load_marked(f"q: {inside}").data["q"] is not None
    with pytest.raises(Exception, match="levels deep"):
        load_marked(f"q: [{inside}]")


def test_a_byte_order_mark_is_allowed() -> None:
    checked = check_questionnaire(b"\xef\xbb\xbf" + EXAMPLE.encode(), "bom.yaml")
    assert checked.questionnaire.id == "example"


def test_lines_are_kept_for_keys_and_list_items() -> None:
    doc = load_marked("a:\n  b: [x,\n    y]\n  c:\n    - 1\n    - {d: 2}\n")
    assert doc.data == {"a": {"b": ["x", "y"], "c": [1, {"d": 2}]}}
    assert doc.lines[("a", "b", 1)] == 3
    assert doc.lines[("a", "c", 1, "d")] == 6


def test_a_pipe_named_like_a_questionnaire_is_not_waited_on(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(QuestionnaireError, match="pipe.yaml:1: cannot read: not a regular file"):
        read_questionnaire(fifo)
