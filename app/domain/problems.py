"""What is wrong with a questionnaire file, line by line (kept apart so that listing one loads no models)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import SurveyError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a questionnaire file."""

    file: str
    line: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {'warning: ' if self.warning else ''}{self.message}"


class QuestionnaireError(SurveyError):
    """A questionnaire file is not valid; `problems` has one entry per problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
