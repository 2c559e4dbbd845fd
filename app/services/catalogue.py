"""The questionnaires the app runs: loaded from a folder, checked, and registered by version.

A questionnaire's version and content hash are recorded the first time the app loads it. Loading
changed content under a version already recorded is refused, so answers stored against a version
are never reinterpreted by a different text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from app.domain.problems import Problem, QuestionnaireError
from app.errors import SurveyError

if TYPE_CHECKING:  # the models, the database and the length estimates are imported where they are used
    from sqlalchemy.orm import Session

    from app.domain.length import LengthEstimate
    from app.domain.questionnaire import Questionnaire
    from app.services.questionnaire_cache import Summary


class _Named(Protocol):
    @property
    def id(self) -> str: ...


_Read = TypeVar("_Read", bound=_Named)

ENV_DIR = "SURVEY_QUESTIONNAIRES"


def bundled_dir() -> Path:
    """The questionnaires shipped with the app: the source checkout's folder, or the wheel's copy."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package.parent / "questionnaires", package / "_bundled" / "questionnaires"):
        if candidate.is_dir():
            return candidate
    raise SurveyError(f"the bundled questionnaires folder is missing (looked beside {package})")


def questionnaire_dir(override: str | Path | None = None) -> Path:
    """--questionnaires, else $SURVEY_QUESTIONNAIRES, else the bundled folder."""
    chosen = override or os.environ.get(ENV_DIR)
    if chosen:
        path = Path(chosen)
        if not path.is_dir():
            raise SurveyError(f"{path}: questionnaire folder not found")
        return path
    return bundled_dir()


@dataclass
class Catalogue:
    """Every survey the app offers, by id, with the file each came from.

    `unavailable` holds the problems of the folder's files that could not be loaded: their surveys are
    not offered (no case of theirs is allocated) until the file is put right, while the others work.
    """

    questionnaires: dict[str, Questionnaire] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    unavailable: list[Problem] = field(default_factory=list)

    def get(self, survey: str) -> Questionnaire:
        try:
            return self.questionnaires[survey]
        except KeyError:
            known = ", ".join(sorted(self.questionnaires)) or "none"
            broken = len({problem.file for problem in self.unavailable})
            hint = (
                f"; {broken} questionnaire file{'s' if broken > 1 else ''} cannot be loaded: run"
                " `survey questionnaire check`"
                if broken
                else ""
            )
            raise SurveyError(f"unknown survey '{survey}' (known: {known}{hint})") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.questionnaires[k] for k in sorted(self.questionnaires))

    def __len__(self) -> int:
        return len(self.questionnaires)

    def __contains__(self, survey: object) -> bool:
        return survey in self.questionnaires


def check_files(paths: Iterable[Path]) -> tuple[list[tuple[Path, Questionnaire]], list[Problem]]:
    """Load every file, collecting all problems (including the same survey id in two files)."""
    checked = review_files(paths)
    return checked.loaded, checked.problems


@dataclass
class FileReview:
    """What `survey questionnaire check` reports: the valid files, the problems, and the warnings."""

    loaded: list[tuple[Path, Questionnaire]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    lengths: dict[Path, LengthEstimate] = field(default_factory=dict)  # estimated from the words


def review_files(paths: Iterable[Path]) -> FileReview:
    """Check every file: problems (the file cannot be used) and warnings (it can, but look again)."""
    from app.domain.length import NoCompleteRoute, estimate_length, length_warnings
    from app.domain.questionnaire import read_questionnaire

    review = FileReview()
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            checked = read_questionnaire(path)
        except QuestionnaireError as exc:
            review.problems.extend(exc.problems)
            continue
        questionnaire = checked.questionnaire
        if questionnaire.id in seen:
            message = f"survey id '{questionnaire.id}' is also used by {seen[questionnaire.id]}"
            review.problems.append(Problem(file=str(path), line=1, message=message))
            continue
        seen[questionnaire.id] = path
        review.loaded.append((path, questionnaire))
        review.warnings.extend(checked.warnings)
        try:
            length = estimate_length(questionnaire)
        except NoCompleteRoute as exc:
            review.warnings.append(Problem(file=str(path), line=1, message=str(exc), warning=True))
            continue
        review.lengths[path] = length
        line = checked.document.line_of(("target_minutes",))
        review.warnings.extend(
            Problem(file=str(path), line=line, message=message, warning=True)
            for message in length_warnings(questionnaire, length)
        )
    return review


def folder_files(folder: Path) -> list[Path]:
    """The questionnaire files of a folder, in the order they are loaded."""
    return sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))


def _read_files(
    paths: Iterable[Path], read: Callable[[Path], _Read]
) -> tuple[list[tuple[Path, _Read]], list[Problem]]:
    """Each file as `read` gives it, or its problems (including a survey id already taken)."""
    loaded: list[tuple[Path, _Read]] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            found = read(path)
        except QuestionnaireError as exc:
            problems.extend(exc.problems)
            continue
        if found.id in seen:
            message = f"survey id '{found.id}' is also used by {seen[found.id]}"
            problems.append(Problem(file=str(path), line=1, message=message))
            continue
        seen[found.id] = path
        loaded.append((path, found))
    return loaded, problems


def survey_summaries(folder: Path) -> tuple[list[Summary], list[Problem]]:
    """What `survey questionnaire list` shows, and the problems of the files that do not load.

    A file validated before is summarised from the cache without parsing it or building its models.
    """
    from app.services.questionnaire_cache import Summary, cached_summary, read_cached

    def summary(path: Path) -> Summary:
        return cached_summary(path) or Summary.of(read_cached(path))

    loaded, problems = _read_files(folder_files(folder), summary)
    return sorted((found for _, found in loaded), key=lambda s: s.id), problems


def load_catalogue(folder: Path) -> Catalogue:
    """Load all *.yaml files of a folder; a file that does not load leaves its survey unavailable."""
    from app.services.questionnaire_cache import read_cached

    loaded, problems = _read_files(folder_files(folder), read_cached)
    catalogue = Catalogue(unavailable=problems)
    for path, questionnaire in loaded:
        catalogue.questionnaires[questionnaire.id] = questionnaire
        catalogue.files[questionnaire.id] = path
    return catalogue


class QuestionnaireVersionError(SurveyError):
    """Content changed without a new version, or an older version than one in use."""


def register(session: Session, catalogue: Catalogue) -> list[str]:
    """Record each questionnaire's version and hash; refuse changed content under an old version.

    Returns the surveys whose version was recorded for the first time.
    """
    from sqlalchemy import select

    from app.clock import utcnow
    from app.store.models import QuestionnaireVersion

    new: list[str] = []
    problems: list[str] = []
    for questionnaire in catalogue:
        digest = questionnaire.content_hash()
        rows = session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.survey == questionnaire.id)
        ).all()
        by_version = {row.version: row for row in rows}
        where = catalogue.files.get(questionnaire.id, questionnaire.id)
        existing = by_version.get(questionnaire.version)
        if existing is not None:
            if existing.content_hash != digest:
                problems.append(
                    f"{where}: questionnaire '{questionnaire.id}' version {questionnaire.version} has changed"
                    " since it was first used; raise its version to record the new content"
                )
            continue
        newest = max(by_version, default=0)
        if questionnaire.version < newest:
            problems.append(
                f"{where}: questionnaire '{questionnaire.id}' is version {questionnaire.version}, older than"
                f" version {newest} already in use"
            )
            continue
        session.add(
            QuestionnaireVersion(
                survey=questionnaire.id,
                version=questionnaire.version,
                content_hash=digest,
                content=questionnaire.canonical_json(),
                loaded_at=utcnow(),
            )
        )
        new.append(questionnaire.id)
    if problems:
        raise QuestionnaireVersionError("\n".join(problems))
    return new


def stored_questionnaire(session: Session, survey: str, version: int) -> Questionnaire:
    """The questionnaire exactly as it was when `version` was first used (for old interviews)."""
    from sqlalchemy import select

    from app.domain.questionnaire import Questionnaire
    from app.store.models import QuestionnaireVersion

    row = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.survey == survey, QuestionnaireVersion.version == version
        )
    )
    if row is None:
        raise SurveyError(f"questionnaire '{survey}' version {version} is not recorded in this database")
    return Questionnaire.model_validate_json(row.content)
