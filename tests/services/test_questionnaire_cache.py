"""The cache of validated questionnaires: the same questionnaire as a full load, owner-only, safe to lose."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.domain.questionnaire import QuestionnaireError, load_questionnaire
from app.services.catalogue import bundled_dir, load_catalogue, survey_summaries
from app.services.questionnaire_cache import cache_dir, read_cached

EXAMPLE = Path(__file__).parents[1] / "domain" / "data" / "example.yaml"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "example.yaml"
    shutil.copy(EXAMPLE, path)
    return path


def only_entry() -> Path:
    (entry,) = cache_dir().glob("*.json")
    return entry


def test_a_cached_load_is_the_same_questionnaire_as_a_full_one() -> None:
    for path in sorted(bundled_dir().glob("*.yaml")):
        fresh = load_questionnaire(path)
        assert read_cached(path) == fresh  # fills the cache
        again = read_cached(path)  # from the cache
        assert again == fresh and again.content_hash() == fresh.content_hash()
    assert len(list(cache_dir().glob("*.json"))) == 4
    assert cache_dir().stat().st_mode & 0o777 == 0o700
    assert {entry.stat().st_mode & 0o777 for entry in cache_dir().glob("*.json")} == {0o600}


def test_the_entry_is_what_a_second_load_reads(example: Path) -> None:
    read_cached(example)
    entry = only_entry()
    data = json.loads(entry.read_text())
    data["title"] = "Read from the cache"
    entry.write_text(json.dumps(data))
    assert read_cached(example).title == "Read from the cache"
    assert survey_summaries(example.parent)[0][0].title == "Read from the cache"


def test_a_damaged_or_untrusted_entry_is_ignored(example: Path) -> None:
    read_cached(example)
    entry = only_entry()
    data = json.loads(entry.read_text())
    entry.write_text("{not json")
    assert read_cached(example).title == "Example victim satisfaction survey"
    data["title"] = "Planted"
    entry.write_text(json.dumps(data))
    cache_dir().chmod(0o755)  # a folder others may write into is not trusted
    assert read_cached(example).title == "Example victim satisfaction survey"
    assert survey_summaries(example.parent)[0][0].title == "Example victim satisfaction survey"


def test_a_changed_file_is_validated_again(example: Path) -> None:
    read_cached(example)
    example.write_text(example.read_text().replace("in: [2]}", "in: []}", 1))
    with pytest.raises(QuestionnaireError, match="'in' lists no codes"):
        read_cached(example)


def test_losing_the_cache_costs_nothing_but_time(example: Path, private_cache: Path) -> None:
    first = load_catalogue(example.parent)
    shutil.rmtree(private_cache)
    assert load_catalogue(example.parent).questionnaires == first.questionnaires
    shutil.rmtree(private_cache)
    private_cache.mkdir()
    (private_cache / "survey").write_text("a file where the cache folder would go")  # cannot be written
    assert load_catalogue(example.parent).questionnaires == first.questionnaires


def test_summaries_match_the_catalogue_and_name_broken_files(example: Path) -> None:
    (example.parent / "broken.yaml").write_text("id: [oops\n")
    for _ in range(2):  # validated, then from the cache
        summaries, problems = survey_summaries(example.parent)
        assert [(s.id, s.title, s.version, s.questions) for s in summaries] == [
            ("example", "Example victim satisfaction survey", 1, 7)
        ]
        assert [str(p).split(":", 2)[:2] for p in problems] == [[str(example.parent / "broken.yaml"), "2"]]
