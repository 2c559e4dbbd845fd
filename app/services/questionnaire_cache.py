"""Validated questionnaires kept in the user's cache folder, so a start need not parse and check them.

An entry is the validated questionnaire as JSON (every key, as loaded), named by a hash of the file's
bytes and of the loader's own code (every module of app/domain): a changed file, or a new version of
the checks, misses the cache and is validated in full. The folder is the account's own (0700); one that
is not, or an entry that cannot be read back, is ignored. Losing the folder costs one slower start.

`cached_summary` reads an entry with the json module alone, for `survey questionnaire list`, which then
needs neither the YAML parser nor the questionnaire models.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from app.domain.readfile import read_bounded
from app.files import PRIVATE_DIR, private_dir

if TYPE_CHECKING:
    from app.domain.questionnaire import Questionnaire


@dataclass(frozen=True)
class Summary:
    """What `survey questionnaire list` shows of a survey."""

    id: str
    title: str
    version: int
    questions: int

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> Summary:
        return cls(
            questionnaire.id, questionnaire.title, questionnaire.version, len(questionnaire.questions())
        )


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("survey", appauthor=False)) / "questionnaires"


def read_cached(path: Path) -> Questionnaire:
    """The file's questionnaire, from the cache when this exact file was validated before.

    Raises QuestionnaireError (with FILE:LINE problems) as read_questionnaire does.
    """
    from app.domain.problems import Problem, QuestionnaireError
    from app.domain.questionnaire import Questionnaire, check_questionnaire

    try:
        raw = read_bounded(path)
    except OSError as exc:
        problem = Problem(file=str(path), line=1, message=f"cannot read: {exc.strerror}")
        raise QuestionnaireError([problem]) from None
    entry = _entry(raw)
    text = _read_entry(entry)
    if text is not None:
        with contextlib.suppress(ValueError):  # not a questionnaire any more: validate the file again
            return Questionnaire.model_validate_json(text)
    questionnaire = check_questionnaire(raw, str(path)).questionnaire
    _write_entry(entry, questionnaire.model_dump_json(by_alias=True))
    return questionnaire


def cached_summary(path: Path) -> Summary | None:
    """The survey's summary when this exact file is in the cache; None otherwise (read it in full)."""
    try:
        text = _read_entry(_entry(read_bounded(path)))
        if text is None:
            return None
        data = json.loads(text)
        questions = sum(len(section["questions"]) for section in data["sections"])
        return Summary(str(data["id"]), str(data["title"]), int(data["version"]), questions)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _entry(raw: bytes) -> Path:
    digest = hashlib.sha256(_loader_fingerprint())
    digest.update(raw)
    return cache_dir() / f"{digest.hexdigest()}.json"


@functools.cache
def _loader_fingerprint() -> bytes:
    """A hash of the code that parses and checks questionnaires (all of app/domain)."""
    digest = hashlib.sha256()
    domain = Path(__file__).resolve().parents[1] / "domain"
    for module in sorted(domain.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return digest.digest()


def _read_entry(entry: Path) -> str | None:
    try:
        folder = entry.parent.stat()
        if folder.st_uid != os.getuid() or folder.st_mode & 0o777 != PRIVATE_DIR:
            return None  # not the account's own folder: its content is not trusted
        return entry.read_text(encoding="utf-8")
    except (OSError, ValueError):  # missing, unreadable, not UTF-8
        return None


def _write_entry(entry: Path, text: str) -> None:
    """Replace the entry in one step; a cache that cannot be written is simply not used."""
    with contextlib.suppress(OSError):
        private_dir(entry.parent)
        fd, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".entry.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, entry)
        except OSError:
            os.unlink(temporary)
            raise
