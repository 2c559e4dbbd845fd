"""What an export holds: the survey's questionnaire versions, the columns, and which interviews."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.domain.questionnaire import Questionnaire
from app.services.catalogue import Catalogue, stored_questionnaire
from app.services.export.columns import Variable, export_variables
from app.services.export.formats import ExportError
from app.services.report import Period
from app.store.models import Interview

STATUSES_EXPORTED = ("completed",)
STATUSES_WITH_PARTIAL = ("completed", "partial")


def pseudonymous_id(survey: str, interview_id: int) -> str:
    """'DA-000123' for interview 123 of domestic_abuse: stable, and meaningless outside the database."""
    initials = "".join(part[:1] for part in survey.split("_")).upper()
    return f"{initials}-{interview_id:06d}"


@dataclass(frozen=True)
class ExportPlan:
    """What an export holds: the columns, and which interviews (read by `export_rows`)."""

    survey: str
    start: date
    end: date
    include_partial: bool
    current: Questionnaire
    versions: Mapping[int, Questionnaire]
    variables: tuple[Variable, ...]
    by_question: Mapping[str, list[Variable]] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:
        return f"{self.survey} {self.start.isoformat()} to {self.end.isoformat()}"


def interview_filter(survey: str, start: date, end: date, include_partial: bool) -> list[ColumnElement[bool]]:
    low, high = Period("", start, end).utc_bounds()
    statuses = STATUSES_WITH_PARTIAL if include_partial else STATUSES_EXPORTED
    return [
        Interview.survey == survey,
        Interview.status.in_(statuses),
        Interview.ended_at >= low,
        Interview.ended_at < high,
    ]


def plan_export(
    session: Session,
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    *,
    include_partial: bool = False,
) -> ExportPlan:
    """The columns of an export (no permission check: callers check, see export_interviews)."""
    current = catalogue.get(survey)
    if end < start:
        raise ExportError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    where = interview_filter(survey, start, end, include_partial)
    versions: dict[int, Questionnaire] = {current.version: current}
    used = session.scalars(select(Interview.questionnaire_version).where(*where).distinct())
    for version in sorted(set(used) - {current.version}):
        versions[version] = stored_questionnaire(session, survey, version)
    variables = tuple(export_variables(list(versions.values())))
    by_question: dict[str, list[Variable]] = {}
    for variable in variables:
        if variable.question_id is not None and variable.definition is None:
            by_question.setdefault(variable.question_id, []).append(variable)
    return ExportPlan(survey, start, end, include_partial, current, versions, variables, by_question)


def count_interviews(session: Session, plan: ExportPlan) -> int:
    """How many interviews the export holds (for progress, and the limits of a format)."""
    where = interview_filter(plan.survey, plan.start, plan.end, plan.include_partial)
    return session.scalar(select(func.count()).select_from(Interview).where(*where)) or 0
