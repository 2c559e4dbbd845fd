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


def test_show_text_has_the_whole_routing_and_the_length(survey: Runner) -> None:
    result = survey("questionnaire", "show", "domestic_abuse")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "STOP if safe_to_talk is 2 (No): unsafe to talk" in text
    assert "section asked only if children_in_household is 1 (Yes) or children_present is 1 (Yes)" in text
    assert "asked only if overall_sat is 5, 6 or 7 (Fairly dissatisfied / Very dissatisfied" in text
    assert "positive: 1 Completely satisfied, 2 Very satisfied, 3 Fairly satisfied" in text
    assert "neutral: 4 Neither satisfied nor dissatisfied" in text
    assert "min typical (" in text and "Times: estimated from the words" in text  # no interviews yet


def test_show_markdown_of_a_file_not_installed(survey: Runner, tmp_path: Path) -> None:
    path = tmp_path / "draft.yaml"
    path.write_text(EXAMPLE.read_text() + "target_minutes: 1\n")
    check = survey("questionnaire", "check", str(path))
    assert "1:34 min typical, 1:03 to 2:22 min" in check.stdout
    assert "warning: a typical interview takes 1:34 min, over target_minutes: 1" in check.stderr
    result = survey("questionnaire", "show", str(path), "--format", "markdown")
    assert result.returncode == 0, result.stderr
    markdown = result.stdout
    assert markdown.startswith("# Example victim satisfaction survey\n")
    assert "### 4. `why_not` · text · optional\n\n**Asked only if** kept_informed is 2 (No)" in markdown
    assert "| 98 | Don't know |" in markdown
    assert "**Stop** if identity is 3 (Wrong number): **wrong number**" in markdown
    assert "| Overall satisfaction (`overall`) | `overall` | 1 Completely satisfied" in markdown
    assert (
        "- Length: 1:03 min shortest (6 questions), 1:34 min typical (6), 2:22 min longest (7)." in markdown
    )
    assert "- Target: 1 minutes (the typical interview is over it)." in markdown
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("label: Wrong number", "label: No"))
    refused = survey("questionnaire", "show", str(bad))
    assert refused.returncode == 1 and "YAML reads No as false" in refused.stderr


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


def test_check_refuses_the_hostile_corpus_file_by_file(survey: Runner, tmp_path: Path) -> None:
    from tests.domain.hostile_corpus import write_corpus

    corpus = write_corpus(tmp_path)
    result = survey("questionnaire", "check", *map(str, corpus))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == len(corpus), lines
    for line, (path, expected) in zip(sorted(lines), sorted(corpus.items()), strict=True):
        head, message = line.split(": ", 1)
        assert head.startswith(f"{path}:") and head.rsplit(":", 1)[1].isdigit(), line
        assert expected in message and len(line) < 400, line


def test_a_broken_file_in_the_folder_leaves_the_other_surveys_working(survey: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    (folder / "example.yaml").write_text(EXAMPLE.read_text())
    (folder / "deep.yaml").write_text("id: deep\nq: " + "[" * 10_000 + "]" * 10_000 + "\n")
    env = {"SURVEY_QUESTIONNAIRES": str(folder)}
    listed = survey("questionnaire", "list", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)] == ["example"]
    assert (
        listed.stderr
        == f"{folder / 'deep.yaml'}:2: nested more than 64 levels deep (this survey is unavailable)\n"
    )
    checked = survey("questionnaire", "check", env=env)
    assert checked.returncode == 1
    assert checked.stderr.startswith(f"{folder / 'deep.yaml'}:2: nested more than 64 levels deep")
    shown = survey("questionnaire", "show", "example", env=env)  # opens the database, as every command does
    assert shown.returncode == 0, shown.stderr
    assert "Example victim satisfaction survey" in shown.stdout
    missing = survey("questionnaire", "show", "deep", env=env)
    assert missing.returncode == 1
    assert "unknown survey 'deep' (known: example; 1 questionnaire file cannot be loaded" in missing.stderr


def test_new_from_a_bundled_questionnaire(survey: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    result = survey(
        "--questionnaires", str(folder), "questionnaire", "new", "stalking", "--from", "domestic_abuse"
    )
    assert result.returncode == 0, result.stderr
    written = folder / "stalking.yaml"
    assert f"{written}: written (stalking version 1, from domestic_abuse version" in result.stdout
    text = written.read_text()
    assert '\nid: stalking\ntitle: "Stalking survey"\nversion: 1\n' in text
    assert "# Five attempts, not six" in text  # the fieldcraft's reasons come along
    check = survey("questionnaire", "check", "--strict", str(written))
    assert check.returncode == 0, check.stderr
    assert "ok (stalking version 1, 40 questions" in check.stdout
    again = survey("--questionnaires", str(folder), "questionnaire", "new", "stalking", "--from", "rape")
    assert again.returncode == 1 and "already exists; nothing written" in again.stderr
    assert written.read_text() == text
    other = tmp_path / "drafts" / "support.yaml"
    other.parent.mkdir()
    titled = survey(
        "questionnaire", "new", "support", "--from", "hate_crime", "--to", str(other), "--title", "A: B"
    )
    assert titled.returncode == 0, titled.stderr
    assert 'title: "A: B"' in other.read_text()
    bad = survey("questionnaire", "new", "Bad-Id", "--from", "rape", "--to", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 1 and "is not a survey id" in bad.stderr
    assert not (tmp_path / "bad.yaml").exists()


def test_try_refuses_a_bad_file_or_an_unknown_survey_in_one_line(survey: Runner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("label: Wrong number", "label: No"))
    refused = survey("questionnaire", "try", str(bad))
    assert refused.returncode == 1 and "YAML reads No as false" in refused.stderr
    unknown = survey("questionnaire", "try", "stalking")
    assert unknown.returncode == 1 and unknown.stderr.startswith("survey: unknown survey 'stalking'")


def test_show_uses_the_observed_times_once_interviews_exist(survey: Runner, tmp_path: Path) -> None:
    from app.services.runtime import open_runtime
    from tests.services.test_lengths import add_interview

    folder = tmp_path / "questionnaires"
    folder.mkdir()
    (folder / "example.yaml").write_text(EXAMPLE.read_text())
    before = survey("--questionnaires", str(folder), "questionnaire", "show", "example")
    assert "Times: estimated from the words" in before.stdout, before.stderr
    runtime = open_runtime(f"sqlite:///{tmp_path / 'cli.db'}", folder)
    with runtime.sessions.begin() as session:
        for k in range(6):
            add_interview(session, k)
    runtime.close()
    after = survey("--questionnaires", str(folder), "questionnaire", "show", "example")
    assert after.returncode == 0, after.stderr
    assert "Times: observed median time per question for 6 of 7 questions (from 6 interviews)" in after.stdout
    assert "Observed: the median completed interview took 3:00 min" in after.stdout
