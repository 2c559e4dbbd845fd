"""Questionnaire versions: content recorded once per version; changed content needs a new version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.services.catalogue import QuestionnaireVersionError, load_catalogue, register, stored_questionnaire
from app.services.runtime import open_runtime
from app.store.models import QuestionnaireVersion

EXAMPLE = Path(__file__).parents[1] / "domain" / "data" / "example.yaml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "questionnaires"
    target.mkdir()
    shutil.copy(EXAMPLE, target / "example.yaml")
    return target


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "example.yaml"
    path.write_text(path.read_text().replace(old, new))


def test_first_load_records_the_version_and_hash(db_url: str, folder: Path) -> None:
    runtime = open_runtime(db_url, folder)
    try:
        with runtime.readers() as session:
            row = session.scalar(select(QuestionnaireVersion))
            assert row is not None and (row.survey, row.version) == ("example", 1)
            assert row.content_hash == runtime.catalogue.get("example").content_hash()
            assert stored_questionnaire(session, "example", 1) == runtime.catalogue.get("example")
    finally:
        runtime.close()
    open_runtime(db_url, folder).close()  # loading the same content again is fine


def test_changed_content_without_a_new_version_is_refused(db_url: str, folder: Path) -> None:
    open_runtime(db_url, folder).close()
    edit(folder, "Were you kept informed", "Were you kept up to date")
    with pytest.raises(QuestionnaireVersionError, match="version 1 has changed since it was first used"):
        open_runtime(db_url, folder)
    edit(folder, "version: 1", "version: 2")
    runtime = open_runtime(db_url, folder)
    try:
        with runtime.readers() as session:
            versions = session.scalars(
                select(QuestionnaireVersion.version).order_by(QuestionnaireVersion.version)
            )
            assert list(versions) == [1, 2]
            old = stored_questionnaire(session, "example", 1)
            assert "kept informed" in old.question("kept_informed").text
    finally:
        runtime.close()


def test_formatting_and_comments_are_not_content(db_url: str, folder: Path) -> None:
    open_runtime(db_url, folder).close()
    edit(folder, "id: example\n", "# reviewed by the Research Bureau\nid: example\n")
    open_runtime(db_url, folder).close()


def test_an_older_version_than_one_in_use_is_refused(db_url: str, folder: Path) -> None:
    edit(folder, "version: 1", "version: 3")
    open_runtime(db_url, folder).close()
    edit(folder, "version: 3", "version: 2")
    runtime = open_runtime(db_url, folder, register=False)
    try:
        with (
            runtime.sessions.begin() as session,
            pytest.raises(QuestionnaireVersionError, match="older than"),
        ):
            register(session, load_catalogue(folder))
    finally:
        runtime.close()
