"""A new questionnaire started from a bundled one, so that it starts with the fieldcraft the bundled
files carry (the identity check, the safety check, the recall question, comments before consents, the
fieldwork window and attempt limits, and the comments that give their reasons).

The source file is copied as text, not re-serialised, so its comments survive: only the top-level
`id`, `title` and `version` lines change (version 1: nothing has been asked with the new survey yet).
The copy must load as a questionnaire before it is written, and an existing file is never overwritten.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from app.domain.questionnaire import IDENT, Questionnaire, QuestionnaireError, parse_questionnaire
from app.errors import SurveyError


class NewQuestionnaireError(SurveyError):
    """The new questionnaire cannot be written (bad id, the file exists, the source is not usable)."""


@dataclass(frozen=True)
class NewQuestionnaire:
    path: Path
    questionnaire: Questionnaire
    source: Questionnaire


def derived_text(source_text: str, source: Questionnaire, survey_id: str, title: str, file_name: str) -> str:
    """The source file's text with a new id, title and version 1, and a first comment saying so."""
    text = source_text
    for key, value in (("id", survey_id), ("title", json.dumps(title, ensure_ascii=False)), ("version", "1")):
        text, found = re.subn(rf"(?m)^{key}:[^\n]*$", f"{key}: {value}", text, count=1)
        if not found:
            raise NewQuestionnaireError(f"the {source.id} file has no top-level `{key}:` line to replace")
    header = (
        f"# {survey_id}: a new survey started from {source.id} version {source.version} by\n"
        f"# `survey questionnaire new {survey_id} --from {source.id}`. Rewrite the description, the\n"
        "# questions and the measures for this survey; keep the fieldcraft (identity check, safety check,\n"
        "# recall question, comments before consents, fieldwork window, attempt limits) unless you have a\n"
        f"# reason. Try it: survey questionnaire try {file_name}\n"
        "#\n"
    )
    return header + text


def new_questionnaire(
    source_path: Path, survey_id: str, target: Path, *, title: str | None = None
) -> NewQuestionnaire:
    """Write `target` from the questionnaire in `source_path`, with the id `survey_id`, version 1."""
    if not re.fullmatch(IDENT, survey_id):
        raise NewQuestionnaireError(
            f"'{survey_id}' is not a survey id: lower-case letters, digits and _, starting with a letter"
        )
    source_text = source_path.read_text(encoding="utf-8")
    try:
        source = parse_questionnaire(source_text, str(source_path))
    except QuestionnaireError as exc:
        raise NewQuestionnaireError(f"{source_path}: does not load ({exc.problems[0]})") from None
    if survey_id == source.id:
        raise NewQuestionnaireError(f"the new survey needs its own id, not {source.id}")
    title = title or f"{survey_id.replace('_', ' ').capitalize()} survey"
    text = derived_text(source_text, source, survey_id, title, target.name)
    try:
        questionnaire = parse_questionnaire(text, str(target))
    except QuestionnaireError as exc:
        raise NewQuestionnaireError(f"{target}: the copy would not load ({exc.problems[0]})") from None
    try:
        with target.open("x", encoding="utf-8") as out:  # never overwrite
            out.write(text)
    except FileExistsError:
        raise NewQuestionnaireError(
            f"{target}: already exists; nothing written (choose another id or --to)"
        ) from None
    except OSError as exc:
        raise NewQuestionnaireError(f"{target}: cannot write ({exc.strerror})") from None
    return NewQuestionnaire(path=target, questionnaire=questionnaire, source=source)
