"""`survey questionnaire check|list|show` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Runner

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "tests" / "domain" / "data" / "example.yaml"
BUNDLED = {"domestic_abuse", "rape", "hate_crime", "burglary"}


def test_check_bundled_is_clean(survey: Runner) -> None:
    result = survey("questionnaire", "check")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.count(": ok (") == 4


def test_check_reports_every_bad_file_with_file_and_line(survey: Runner, tmp_path: Path) -> None:
    cases = {
        "broken.yaml": "id: x\ntitle: [oops\n",
        "empty.yaml": "",
        "list.yaml": "- id: x\n",
        "typo.yaml": EXAMPLE.read_text().replace("        dont_know: true", "        requird: true"),
        "junk.yaml": None,
        "bomb.yaml": "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
    }
    paths = []
    for name, text in cases.items():
        path = tmp_path / name
        if text is None:
            path.write_bytes(bytes(range(256)))
        else:
            path.write_text(text)
        paths.append(str(path))
    result = survey("questionnaire", "check", *paths, str(EXAMPLE))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(cases), lines
    for path, line in zip(sorted(paths), sorted(lines), strict=True):
        assert line.startswith(f"{path}:"), line
        assert line.split(":")[1].isdigit(), line
    assert str(EXAMPLE) in result.stdout  # the good file is still reported as ok


def test_check_missing_file(survey: Runner, tmp_path: Path) -> None:
    result = survey("questionnaire", "check", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"{tmp_path / 'nope.yaml'}:1: cannot read: No such file or directory"


def test_list(survey: Runner) -> None:
    result = survey("questionnaire", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {row["id"] for row in rows} == BUNDLED
    for row in rows:
        assert set(row) == {"id", "title", "version", "questions"}
        assert row["questions"] >= 15
    table = survey("questionnaire", "list")
    assert "domestic_abuse" in table.stdout


def test_show_json_contract(survey: Runner) -> None:
    result = survey("questionnaire", "show", "rape", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["id"] == "rape"
    questions = [q for s in data["sections"] for q in s["questions"]]
    for question in questions:
        assert {"id", "type", "text", "options"} <= set(question)
        for option in question["options"]:
            assert set(option) == {"code", "label"}
    measure_ids = [m["id"] for m in data["measures"]]
    assert measure_ids == [
        "attendance",
        "kept_informed",
        "dignity_respect",
        "supported_prosecution",
        "overall",
    ]
    for measure in data["measures"]:
        assert set(measure) == {"id", "label", "question", "positive", "neutral"}
    assert any("ask_if" in q for q in questions), "routing is part of the JSON"


def test_show_unknown_survey(survey: Runner) -> None:
    result = survey("questionnaire", "show", "stalking", "--format", "json")
    assert result.returncode == 1
    assert result.stderr.startswith("survey: unknown survey 'stalking'")


def test_show_text(survey: Runner) -> None:
    result = survey("questionnaire", "show", "domestic_abuse")
    assert result.returncode == 0
    assert "safe" in result.stdout.lower()


def test_check_prints_warnings_and_strict_fails_on_them(survey: Runner, tmp_path: Path) -> None:
    path = tmp_path / "piped.yaml"
    path.write_text(
        EXAMPLE.read_text().replace(
            "text: How many times did an officer contact you?",
            "text: You said {answer.why_not}. How many times?",
        )
    )
    result = survey("questionnaire", "check", str(path))
    assert result.returncode == 0, result.stderr
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"{path}:") and ": warning: text inserts {answer.why_not}" in warning
    assert survey("questionnaire", "check", "--strict", str(path)).returncode == 1
