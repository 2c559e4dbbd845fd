"""The rows of an export: one per interview, read from the database a chunk of interviews at a time.

The interviews are streamed (a server-side cursor on PostgreSQL, SQLite's own stepping), and their
answers, redactions and corrections read per chunk, so memory does not grow with the number exported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import LOCAL
from app.domain.engine import Answer as EngineAnswer
from app.domain.engine import Engine, Status
from app.domain.questionnaire import Measure, QuestionBase, Questionnaire, TextQuestion, condition_questions
from app.services.catalogue import Catalogue
from app.services.export.columns import NEUTRAL_LEFT_OUT, NOT_ASKED, NOT_RECORDED, Kind, Variable
from app.services.export.plan import ExportPlan, interview_filter, plan_export, pseudonymous_id
from app.store.models import Answer, AnswerChange, Interview

#: Interviews read, with their answers, in one statement.
CHUNK = 500
#: Routes kept for interviews alike in what decides their route.
ROUTES_KEPT = 2048


@dataclass(frozen=True)
class _Version:
    """One questionnaire version as the rows need it, prepared once per export."""

    engine: Engine
    questions: Mapping[str, QuestionBase]
    texts: frozenset[str]  # the free-text questions
    quote: str | None  # the question recording consent to be quoted
    deciding: tuple[str, ...]  # the questions whose answers routing reads (ask_if and stop_if)
    routes: dict[tuple[frozenset[str], tuple[EngineAnswer | None, ...]], Mapping[str, Status]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> _Version:
        questions = {q.id: q for q in questionnaire.questions()}
        conditions = [c for s in questionnaire.sections for c in (s.ask_if,) if c is not None]
        for question in questions.values():
            conditions += [question.ask_if] if question.ask_if is not None else []
            conditions += [rule.if_ for rule in question.stop_if]
        deciding = {test.question for c in conditions for test in condition_questions(c)}
        return cls(
            Engine(questionnaire),
            questions,
            frozenset(i for i, q in questions.items() if isinstance(q, TextQuestion)),
            questionnaire.consent_question("quote"),
            tuple(sorted(deciding)),
        )

    def statuses(self, answers: Mapping[str, EngineAnswer]) -> Mapping[str, Status]:
        """Each question's place on the route. The route reads only which questions have an answer and
        the answers of the deciding questions, so interviews alike in those share one (at most
        ROUTES_KEPT kept: the store starts again when full)."""
        key = (frozenset(answers), tuple(answers.get(q) for q in self.deciding))
        found = self.routes.get(key)
        if found is None:
            if len(self.routes) >= ROUTES_KEPT:
                self.routes.clear()
            found = self.routes[key] = self.engine.route(answers).statuses
        return found


def export_rows(session: Session, plan: ExportPlan) -> Iterator[dict[str, Any]]:
    """One dict per interview (variable name -> value), in order of completion, a chunk read at a time."""
    where = interview_filter(plan.survey, plan.start, plan.end, plan.include_partial)
    query = (
        select(
            Interview.id,
            Interview.external_id,
            Interview.imported,
            Interview.questionnaire_version,
            Interview.status,
            Interview.started_at,
            Interview.ended_at,
            Interview.division,
            Interview.district,
            Interview.flagged_for_follow_up,
        )
        .where(*where)
        .order_by(Interview.ended_at, Interview.id)
        .execution_options(stream_results=True, yield_per=CHUNK)
    )
    versions = {number: _Version.of(q) for number, q in plan.versions.items()}
    measures = [(m, plan.current.question(m.question)) for m in plan.current.measures]
    # Core statements on the session's connection: the same transaction, without the ORM's work per row.
    for chunk in session.connection().execute(query).partitions():
        yield from _chunk_rows(session, plan, versions, measures, chunk)


def _chunk_rows(
    session: Session,
    plan: ExportPlan,
    versions: Mapping[int, _Version],
    measures: Sequence[tuple[Measure, QuestionBase]],
    chunk: Sequence[Any],
) -> Iterator[dict[str, Any]]:
    ids = [row.id for row in chunk]
    connection = session.connection()
    stored: dict[int, dict[str, tuple[int | None, str | None]]] = {}
    answer_ids: dict[tuple[int, str], int] = {}  # of answers with a value (free text among them)
    for answer_id, interview_id, question_id, code, value in connection.execute(
        select(Answer.id, Answer.interview_id, Answer.question_id, Answer.code, Answer.value).where(
            Answer.interview_id.in_(ids)
        )
    ).all():
        stored.setdefault(interview_id, {})[question_id] = (code, value)
        if value is not None:
            answer_ids[(interview_id, question_id)] = answer_id
    pending = _redact_verbatims(session, versions, chunk, stored, answer_ids)
    corrected = set(
        connection.scalars(
            select(AnswerChange.interview_id)
            .where(AnswerChange.interview_id.in_(ids), AnswerChange.kind == "corrected")
            .distinct()
        )
    )
    for row in chunk:
        cells: dict[str, Any] = {
            "interview_id": row.external_id
            if row.imported and row.external_id
            else pseudonymous_id(plan.survey, row.id),
            "survey": plan.survey,
            "questionnaire_version": row.questionnaire_version,
            "status": row.status,
            "completed_at": row.ended_at.astimezone(LOCAL).replace(microsecond=0) if row.ended_at else None,
            "division": row.division,
            "district": row.district,
            "duration_seconds": _duration(row.started_at, row.ended_at, row.imported),
            "imported": int(row.imported),
            "corrected": int(row.id in corrected),
            "flagged_for_follow_up": int(bool(row.flagged_for_follow_up)),
            "verbatims_pending": pending.get(row.id, 0),
        }
        version = versions[row.questionnaire_version]
        cells["may_quote"] = _may_quote(version, stored.get(row.id, {}))
        answers = _answers(version, stored.get(row.id, {}))
        cells.update(_question_cells(plan, version, answers, row.status))
        cells.update(_measure_cells(measures, answers))
        yield cells


def _redact_verbatims(
    session: Session,
    versions: Mapping[int, _Version],
    chunk: Sequence[Any],
    stored: dict[int, dict[str, tuple[int | None, str | None]]],
    answer_ids: Mapping[tuple[int, str], int],
) -> dict[int, int]:
    """Free text as analysts may see it: the supervisor's redaction, or empty until there is one.
    Changes `stored` in place; returns how many verbatims of each interview await review."""
    from app.services.redaction import redacted_texts

    text_ids = {version: known.texts for version, known in versions.items()}
    verbatims = [
        (row.id, question_id, code, value)
        for row in chunk
        for question_id, (code, value) in stored.get(row.id, {}).items()
        if value and question_id in text_ids[row.questionnaire_version]
    ]
    if not verbatims:
        return {}
    redacted = redacted_texts(
        session, [(answer_ids[(i, q)], i, q, value) for i, q, _, value in verbatims if (i, q) in answer_ids]
    )
    pending: dict[int, int] = {}
    for interview_id, question_id, code, _ in verbatims:
        text = redacted.get((interview_id, question_id))
        if text is None:
            pending[interview_id] = pending.get(interview_id, 0) + 1
        stored[interview_id][question_id] = (code, text or "")
    return pending


def _may_quote(version: _Version, stored: Mapping[str, tuple[int | None, str | None]]) -> int:
    """1 where the victim agreed to be quoted (the questionnaire's quote consent answered yes), else 0."""
    question = version.quote
    return int(question is not None and stored.get(question, (None, None))[0] == 1)


def _answers(
    version: _Version, stored: Mapping[str, tuple[int | None, str | None]]
) -> dict[str, EngineAnswer]:
    answers = {}
    questions = version.questions
    for question_id, (code, value) in stored.items():
        question = questions.get(question_id)
        if question is not None:
            answers[question_id] = EngineAnswer.from_stored(question, code, value)
    return answers


def _question_cells(
    plan: ExportPlan, version: _Version, answers: Mapping[str, EngineAnswer], status: str
) -> dict[str, Any]:
    """Every question column of one interview: the answer, or why there is none."""
    statuses = version.statuses(answers)
    cells: dict[str, Any] = {}
    for question_id, columns in plan.by_question.items():
        answer = answers.get(question_id)
        if answer is not None and not answer.blank:
            cells.update(_answer_cells(columns, answer))
            continue
        on_route = statuses.get(question_id)
        if on_route is None or on_route is Status.OFF:
            why = NOT_ASKED  # another version's question, routed away, or after a stop
        elif on_route is Status.ANSWERED or status == "completed":
            why = NOT_RECORDED  # a blank answer row, or a gap in an imported interview
        else:
            why = NOT_ASKED  # a partial interview ended before it
        for column in columns:
            if why in column.missing:
                cells[column.name] = str(why) if column.kind is Kind.STRING else why
    return cells


def _measure_cells(
    measures: Sequence[tuple[Measure, QuestionBase]], answers: Mapping[str, EngineAnswer]
) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for measure, _question in measures:
        answer = answers.get(measure.question)
        code = answer.code if answer is not None else None
        positive = int(code is not None and code in measure.positive)
        cells[f"{measure.id}_positive"] = positive
        cells[f"{measure.id}_excl_neutral"] = (
            NEUTRAL_LEFT_OUT if code is not None and code in measure.neutral else positive
        )
    return cells


def _duration(started: datetime, ended: datetime | None, imported: bool) -> int | None:
    if ended is None:
        return None
    seconds = int((ended - started).total_seconds())
    # An import without a duration records started_at = ended_at: unknown, not zero.
    return None if imported and seconds == 0 else seconds


def _answer_cells(columns: list[Variable], answer: EngineAnswer) -> dict[str, Any]:
    first = columns[0]
    if first.option_code is not None:  # multiple choice: 0/1 per option
        chosen = set(answer.codes())
        return {c.name: int(c.option_code in chosen) for c in columns}
    if answer.code is not None:
        if first.kind is Kind.STRING:
            return {first.name: str(answer.code)}
        return {first.name: answer.code}
    value = answer.value
    if isinstance(value, date):
        return {first.name: value.isoformat()}
    if first.kind is Kind.STRING:
        return {first.name: str(value)}
    return {first.name: value}


def export_table(
    session: Session,
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    *,
    include_partial: bool = False,
) -> tuple[list[Variable], list[list[Any]]]:
    """The columns and every row as lists, for small exports and tests."""
    plan = plan_export(session, catalogue, survey, start, end, include_partial=include_partial)
    names = [v.name for v in plan.variables]
    return list(plan.variables), [[row.get(name) for name in names] for row in export_rows(session, plan)]
