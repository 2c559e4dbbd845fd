"""Supervisors' review: the call log, callers' work, reading and correcting interviews, feedback.

Counting is done in SQL. Days are the attempt's UTC date: calls are only made within calling hours
(daytime in the UK), which never cross midnight UTC, so the UTC date is the local date.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.clock import LOCAL, utcnow
from app.domain.dispositions import CONTACT_OUTCOMES, Outcome
from app.domain.engine import Answer, AnswerError, Engine, describe_answer
from app.domain.permissions import Actor, Permission, require
from app.domain.questionnaire import (
    ChoiceQuestion,
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    TextQuestion,
)
from app.domain.text import clean_note
from app.errors import SurveyError
from app.services.catalogue import Catalogue, stored_questionnaire
from app.services.interviews import COMPLETED, PARTIAL, questionnaire_for, record_change, record_discarded
from app.services.tallies import tally_answer_change
from app.store.models import Answer as AnswerRow
from app.store.models import AnswerChange, Attempt, AuditEvent, Case, Interview, Staff

#: A consent question's "yes" (the questionnaire declares which question records the feedback consent).
YES = 1


class ReviewError(SurveyError):
    """A review action that cannot be done (no reason given, unknown interview...)."""


def _day_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    low = datetime.combine(start, time(0), tzinfo=LOCAL) if start else None
    high = datetime.combine(end + timedelta(days=1), time(0), tzinfo=LOCAL) if end else None
    return low, high


# ------------------------------------------------------------------ call log


@dataclass(frozen=True)
class CallLogRow:
    attempt_id: int
    case_id: int
    started_at: datetime
    ended_at: datetime | None
    caller: str
    survey: str
    division: str
    outcome: str | None
    seconds: int | None


SORTS = {"started_at", "caller", "survey", "division", "outcome"}


def call_log(
    session: Session,
    actor: Actor,
    *,
    start: date | None = None,
    end: date | None = None,
    caller: str | None = None,
    survey: str | None = None,
    outcome: str | None = None,
    division: str | None = None,
    sort: str = "started_at",
    descending: bool = True,
    limit: int = 1000,
) -> list[CallLogRow]:
    """Every call attempt matching the filters, newest first by default."""
    require(actor, Permission.REVIEW_CALLS)
    if sort not in SORTS:
        raise ReviewError(f"cannot sort by '{sort}'; use one of {', '.join(sorted(SORTS))}")
    low, high = _day_bounds(start, end)
    query: Select[tuple[int, int, datetime, datetime | None, str, str, str, str | None]] = (
        select(
            Attempt.id,
            Attempt.case_id,
            Attempt.started_at,
            Attempt.ended_at,
            Staff.username,
            Case.survey,
            Case.division,
            Attempt.outcome,
        )
        .join(Case, Case.id == Attempt.case_id)
        .join(Staff, Staff.id == Attempt.caller_id)
    )
    conditions = []
    if low is not None:
        conditions.append(Attempt.started_at >= low)
    if high is not None:
        conditions.append(Attempt.started_at < high)
    if caller:
        conditions.append(Staff.username == caller)
    if survey:
        conditions.append(Case.survey == survey)
    if outcome:
        conditions.append(Attempt.outcome == outcome)
    if division:
        conditions.append(Case.division == division)
    if conditions:
        query = query.where(and_(*conditions))
    column = {
        "started_at": Attempt.started_at,
        "caller": Staff.username,
        "survey": Case.survey,
        "division": Case.division,
        "outcome": Attempt.outcome,
    }[sort]
    query = query.order_by(column.desc() if descending else column.asc(), Attempt.id.desc()).limit(limit)
    rows = []
    for attempt_id, case_id, started, ended, username, survey_id, division_name, result in session.execute(
        query
    ):
        seconds = int((ended - started).total_seconds()) if ended else None
        rows.append(
            CallLogRow(
                attempt_id, case_id, started, ended, username, survey_id, division_name, result, seconds
            )
        )
    return rows


# ------------------------------------------------------------------ callers' work


@dataclass(frozen=True)
class CallerWork:
    caller: str
    period_start: date  # the day, or the Monday of the week
    attempts: int
    contacts: int
    completes: int
    refusals: int
    interviews: int
    average_interview_minutes: float | None


def callers_work(
    session: Session, actor: Actor, *, start: date, end: date, by: str = "day"
) -> list[CallerWork]:
    """Per caller and day (or week): attempts, contacts, completes, refusals, average interview length."""
    require(actor, Permission.REVIEW_CALLS)
    if by not in ("day", "week"):
        raise ReviewError("group by day or week")
    low, high = _day_bounds(start, end)
    day = func.date(Attempt.started_at)
    counts = session.execute(
        select(
            Staff.username,
            day,
            func.count(),
            func.count().filter(Attempt.outcome.in_([o.value for o in CONTACT_OUTCOMES])),
            func.count().filter(Attempt.outcome == Outcome.COMPLETED.value),
            func.count().filter(Attempt.outcome == Outcome.REFUSAL.value),
        )
        .join(Staff, Staff.id == Attempt.caller_id)
        .where(Attempt.started_at >= low, Attempt.started_at < high)
        .group_by(Staff.username, day)
    ).all()
    # Interview lengths: few rows (one per interview), timed in Python to stay portable.
    lengths = session.execute(
        select(Staff.username, Interview.started_at, Interview.ended_at)
        .join(Staff, Staff.id == Interview.caller_id)
        .where(
            Interview.status.in_([COMPLETED, PARTIAL]),
            Interview.imported.is_(False),
            Interview.started_at >= low,
            Interview.started_at < high,
            Interview.ended_at.is_not(None),
        )
    ).all()

    def bucket(d: date) -> date:
        return d - timedelta(days=d.weekday()) if by == "week" else d

    totals: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for username, raw_day, attempts, contacts, completes, refusals in counts:
        d = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
        row = totals[(username, bucket(d))]
        for i, n in enumerate((attempts, contacts, completes, refusals)):
            row[i] += n
    minutes: dict[tuple[str, date], list[float]] = defaultdict(list)
    for username, started, ended in lengths:
        key = (username, bucket(started.astimezone(LOCAL).date()))
        minutes[key].append((ended - started).total_seconds() / 60)
        totals.setdefault(key, [0, 0, 0, 0])
    result = []
    for (username, period), (attempts, contacts, completes, refusals) in sorted(totals.items()):
        lengths_here = minutes.get((username, period), [])
        average = round(sum(lengths_here) / len(lengths_here), 1) if lengths_here else None
        result.append(
            CallerWork(username, period, attempts, contacts, completes, refusals, len(lengths_here), average)
        )
    return result


@dataclass(frozen=True)
class QuestionTiming:
    question_id: str
    answers: int
    average_seconds: float


def question_timings(
    session: Session, actor: Actor, survey: str, *, start: date, end: date
) -> list[QuestionTiming]:
    """Average time callers spend on each question (where long surveys lose people)."""
    require(actor, Permission.REVIEW_CALLS)
    low, high = _day_bounds(start, end)
    rows = session.execute(
        select(AnswerRow.question_id, func.count(), func.avg(AnswerRow.duration_ms))
        .join(Interview, Interview.id == AnswerRow.interview_id)
        .where(
            Interview.survey == survey,
            AnswerRow.duration_ms.is_not(None),
            AnswerRow.answered_at >= low,
            AnswerRow.answered_at < high,
        )
        .group_by(AnswerRow.question_id)
        .order_by(func.avg(AnswerRow.duration_ms).desc())
    ).all()
    return [QuestionTiming(qid, n, round(float(avg) / 1000, 1)) for qid, n, avg in rows]


# ------------------------------------------------------------------ interviews


@dataclass(frozen=True)
class InterviewListRow:
    interview_id: int
    survey: str
    status: str
    caller: str | None
    ended_at: datetime | None
    division: str | None
    flagged: bool
    imported: bool


def interviews_for_review(
    session: Session,
    actor: Actor,
    *,
    survey: str | None = None,
    flagged_only: bool = False,
    limit: int = 500,
) -> list[InterviewListRow]:
    require(actor, Permission.REVIEW_CALLS)
    caller = aliased(Staff)
    query = (
        select(
            Interview.id,
            Interview.survey,
            Interview.status,
            caller.username,
            Interview.ended_at,
            Interview.division,
            Interview.flagged_for_follow_up,
            Interview.imported,
        )
        .outerjoin(caller, caller.id == Interview.caller_id)
        .where(Interview.status.in_([COMPLETED, PARTIAL]))
        .order_by(Interview.ended_at.desc(), Interview.id.desc())
        .limit(limit)
    )
    if survey:
        query = query.where(Interview.survey == survey)
    if flagged_only:
        query = query.where(Interview.flagged_for_follow_up.is_(True))
    return [InterviewListRow(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class ReviewedAnswer:
    question_id: str
    section: str
    text: str
    answer: str
    code: int | None
    seconds: float | None
    note: str | None
    verbatim: bool
    accepts: str = ""  # what a correction may type, for the correction dialog


def accepted_answers(question: QuestionBase) -> str:
    """What a correction of this question accepts, in the words of the correction dialog."""
    if isinstance(question, ChoiceQuestion):
        options = "; ".join(f"{o.code} {o.label}" for o in question.options())
        if isinstance(question, MultipleChoice):
            return f"option numbers, separated by spaces ({options})"
        return f"one option number ({options})"
    if isinstance(question, NumberQuestion):
        low = "" if question.min is None else f" from {question.min:g}"
        high = "" if question.max is None else f" to {question.max:g}"
        return f"a {'whole ' if question.integer else ''}number{low}{high}"
    if isinstance(question, DateQuestion):
        return "a date, dd/mm/yyyy"
    if isinstance(question, TextQuestion):
        return "text"
    return "nothing (it is read out, not answered)"


@dataclass(frozen=True)
class ChangeRecord:
    question_id: str
    kind: str
    old: str | None
    new: str | None
    reason: str | None
    by: str | None
    at: datetime


@dataclass(frozen=True)
class InterviewDetail:
    interview_id: int
    case_id: int | None
    survey: str
    title: str
    version: int
    status: str
    caller: str | None
    started_at: datetime
    ended_at: datetime | None
    division: str | None
    flagged: bool
    follow_up_note: str | None
    feedback_consent: bool
    answers: tuple[ReviewedAnswer, ...]
    changes: tuple[ChangeRecord, ...]


def interview_detail(
    session: Session, actor: Actor, catalogue: Catalogue, interview_id: int
) -> InterviewDetail:
    """A whole interview as the victim answered it, with notes, timings and the history of changes."""
    require(actor, Permission.REVIEW_CALLS)
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise ReviewError(f"interview {interview_id} does not exist")
    questionnaire = questionnaire_for(session, catalogue, interview)
    rows = {
        r.question_id: r
        for r in session.scalars(select(AnswerRow).where(AnswerRow.interview_id == interview.id))
    }
    answers = []
    for section in questionnaire.sections:
        for question in section.questions:
            row = rows.get(question.id)
            if row is None:
                continue
            given = Answer.from_stored(question, row.code, row.value)
            answers.append(
                ReviewedAnswer(
                    question_id=question.id,
                    section=section.title,
                    text=question.text,
                    answer=describe_answer(question, given),
                    code=row.code,
                    seconds=round(row.duration_ms / 1000, 1) if row.duration_ms is not None else None,
                    note=row.note,
                    verbatim=isinstance(question, TextQuestion) and question.verbatim,
                    accepts=accepted_answers(question),
                )
            )
    names = {staff_id: name for staff_id, name in session.execute(select(Staff.id, Staff.username))}
    changes = tuple(
        ChangeRecord(
            c.question_id,
            c.kind,
            c.old_value if c.old_code is None else str(c.old_code),
            c.new_value if c.new_code is None else str(c.new_code),
            c.reason,
            names.get(c.staff_id) if c.staff_id else None,
            c.changed_at,
        )
        for c in session.scalars(
            select(AnswerChange).where(AnswerChange.interview_id == interview.id).order_by(AnswerChange.id)
        )
    )
    consent_id = questionnaire.consent_question("feedback")
    consent = rows.get(consent_id) if consent_id is not None else None
    return InterviewDetail(
        interview_id=interview.id,
        case_id=interview.case_id,
        survey=interview.survey,
        title=questionnaire.title,
        version=interview.questionnaire_version,
        status=interview.status,
        caller=names.get(interview.caller_id) if interview.caller_id else None,
        started_at=interview.started_at,
        ended_at=interview.ended_at,
        division=interview.division,
        flagged=interview.flagged_for_follow_up,
        follow_up_note=interview.follow_up_note,
        feedback_consent=consent is not None and consent.code == YES,
        answers=tuple(answers),
        changes=changes,
    )


@dataclass(frozen=True)
class Correction:
    removed: tuple[str, ...]  # answers the correction routed away from
    now_unanswered: tuple[str, ...]  # questions the correction brings onto the route


def correct_answer(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    interview_id: int,
    question_id: str,
    text: str,
    reason: str,
) -> Correction:
    """Correct a mistyped answer of a finished interview; the original stays in the history."""
    require(actor, Permission.CORRECT_ANSWERS)
    reason = " ".join(reason.split())
    if not reason:
        raise ReviewError("a correction needs a reason")
    interview = session.scalar(select(Interview).where(Interview.id == interview_id).with_for_update())
    if interview is None:
        raise ReviewError(f"interview {interview_id} does not exist")
    questionnaire = questionnaire_for(session, catalogue, interview)
    engine = Engine(questionnaire)
    try:
        question = questionnaire.question(question_id)
    except KeyError:
        raise ReviewError(f"'{question_id}' is not a question of this interview") from None
    rows = {
        r.question_id: r
        for r in session.scalars(select(AnswerRow).where(AnswerRow.interview_id == interview.id))
    }
    answers = {
        qid: Answer.from_stored(questionnaire.question(qid), r.code, r.value)
        for qid, r in rows.items()
        if qid in {q.id for q in questionnaire.questions()}
    }
    try:
        given = engine.parse(question, text)
        applied = engine.apply(answers, question_id, given)
    except AnswerError as exc:
        raise ReviewError(str(exc)) from None
    now = utcnow()
    row = rows.get(question_id)
    if row is None:
        raise ReviewError(f"'{question_id}' was not answered in this interview")
    record_change(session, row, given, "corrected", reason, actor.staff_id, now)
    tally_answer_change(session, interview.id, question_id, row.code, given.code)
    for qid, discarded in applied.discarded.items():
        tally_answer_change(session, interview.id, qid, discarded.code, None)
    row.code, row.value = given.code, given.stored_value()
    record_discarded(
        session,
        interview.id,
        applied.discarded,
        f"routed away by the correction of {question_id}: {reason}",
        actor.staff_id,
        now,
    )
    for qid in applied.discarded:
        session.delete(rows[qid])
    route = engine.route(applied.answers)
    pending = tuple(qid for qid, status in route.statuses.items() if status.value == "pending")
    session.add(
        AuditEvent(
            at=now,
            staff_id=actor.staff_id,
            action="answer_corrected",
            entity="interview",
            entity_id=str(interview.id),
            detail=json.dumps({"question": question_id}),
        )
    )
    return Correction(removed=tuple(applied.discarded), now_unanswered=pending)


def flag_interview(session: Session, actor: Actor, interview_id: int, note: str | None) -> None:
    """Flag for follow-up with a note, or clear the flag with note=None."""
    require(actor, Permission.REVIEW_CALLS)
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise ReviewError(f"interview {interview_id} does not exist")
    interview.flagged_for_follow_up = note is not None
    interview.follow_up_note = clean_note(note)
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action="interview_flagged" if note is not None else "interview_unflagged",
            entity="interview",
            entity_id=str(interview_id),
        )
    )


@dataclass(frozen=True)
class FeedbackItem:
    """Comments a victim agreed to have passed, with their name, to the officers involved."""

    interview_id: int
    case_id: int
    survey: str
    crime_ref: str
    victim_name: str | None
    division: str
    district: str
    completed_at: datetime | None
    comments: tuple[tuple[str, str], ...]  # (question text, what the victim said)


def _questionnaire_version(
    session: Session, catalogue: Catalogue, survey: str, version: int
) -> Questionnaire:
    if survey in catalogue and catalogue.get(survey).version == version:
        return catalogue.get(survey)
    return stored_questionnaire(session, survey, version)


def feedback_to_pass_on(
    session: Session, actor: Actor, catalogue: Catalogue, *, survey: str | None = None, limit: int = 200
) -> list[FeedbackItem]:
    """Only interviews whose victim said yes to passing feedback on; never any other comment."""
    require(actor, Permission.REVIEW_CALLS)
    consent = aliased(AnswerRow)
    versions = select(Interview.survey, Interview.questionnaire_version).where(Interview.status == COMPLETED)
    if survey:
        versions = versions.where(Interview.survey == survey)
    # Each questionnaire version declares its own feedback consent question.
    consent_of = []
    for name, version in session.execute(versions.distinct()):
        question_id = _questionnaire_version(session, catalogue, name, version).consent_question("feedback")
        if question_id is not None:
            consent_of.append(
                and_(
                    Interview.survey == name,
                    Interview.questionnaire_version == version,
                    consent.question_id == question_id,
                )
            )
    if not consent_of:
        return []
    query = (
        select(Interview, Case)
        .join(Case, Case.id == Interview.case_id)
        .join(consent, and_(consent.interview_id == Interview.id, or_(*consent_of)))
        .where(consent.code == YES, Interview.status == COMPLETED)
        .order_by(Interview.ended_at.desc())
        .limit(limit)
    )
    if survey:
        query = query.where(Interview.survey == survey)
    items = []
    for interview, case in session.execute(query):
        questionnaire = questionnaire_for(session, catalogue, interview)
        verbatims = {q.id: q for q in questionnaire.questions() if isinstance(q, TextQuestion) and q.verbatim}
        comments = tuple(
            (verbatims[row.question_id].text, row.value)
            for row in session.scalars(
                select(AnswerRow).where(
                    AnswerRow.interview_id == interview.id, AnswerRow.question_id.in_(list(verbatims))
                )
            )
            if row.value
        )
        if comments:
            items.append(
                FeedbackItem(
                    interview.id,
                    case.id,
                    interview.survey,
                    case.crime_ref,
                    case.victim_name,
                    case.division,
                    case.district,
                    interview.ended_at,
                    comments,
                )
            )
    if items:
        session.add(
            AuditEvent(
                at=utcnow(),
                staff_id=actor.staff_id,
                action="personal_data_viewed",
                entity="feedback",
                detail=json.dumps({"interviews": [i.interview_id for i in items]}),
            )
        )
    return items
