"""Interviews: start, answer (durably, one row per answer), go back, resume, finish, quick exit.

Every answer is committed by the caller's transaction before the screen moves on; the engine is
rebuilt from the stored answers each time, so a crash loses nothing and resuming is just loading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.domain.dispositions import Outcome
from app.domain.engine import Answer, Engine, describe_answer, render_text
from app.domain.permissions import Actor, Permission, require
from app.domain.questionnaire import PLACEHOLDER, Questionnaire, StopOutcome
from app.domain.text import clean_note
from app.errors import SurveyError
from app.services.audit import case_viewed
from app.services.catalogue import Catalogue, stored_questionnaire
from app.services.tallies import tally_interviews
from app.store.models import Answer as AnswerRow
from app.store.models import AnswerChange, AuditEvent, Case, Interview, SafeguardingAlert, Staff


class InterviewError(SurveyError):
    """An interview action that is not allowed now (not yours, already finished...)."""


IN_PROGRESS = "in_progress"
COMPLETED = "completed"
PARTIAL = "partial"  # broken off part way (quick exit, hang-up): the answers so far are kept
STOPPED = "stopped"  # ended by a stop rule (refusal, not available, unsafe to talk...)

#: The call outcome recorded for each way a stop rule ends the call.
STOP_OUTCOMES: dict[StopOutcome, Outcome] = {
    StopOutcome.REFUSAL: Outcome.REFUSAL,
    StopOutcome.NOT_AVAILABLE: Outcome.NOT_AVAILABLE,
    StopOutcome.WRONG_NUMBER: Outcome.WRONG_NUMBER,
    StopOutcome.APPOINTMENT: Outcome.APPOINTMENT,
    StopOutcome.INELIGIBLE: Outcome.INELIGIBLE,
    StopOutcome.UNSAFE_TO_TALK: Outcome.UNSAFE_TO_TALK,
}


@dataclass(frozen=True)
class InterviewState:
    """Everything a screen needs to show an interview at one moment; no ORM objects."""

    interview_id: int
    case_id: int | None
    attempt_id: int | None
    survey: str
    questionnaire: Questionnaire
    status: str
    answers: dict[str, Answer]
    notes: dict[str, str]
    current_question: str | None  # the next question to ask; None when finished
    stop_outcome: StopOutcome | None = None
    stop_say: str | None = None
    discarded: dict[str, Answer] = field(default_factory=dict)  # by the last change

    @property
    def engine(self) -> Engine:
        return Engine(self.questionnaire)

    @property
    def finished(self) -> bool:
        return self.current_question is None

    @property
    def complete(self) -> bool:
        return self.current_question is None and self.stop_outcome is None


def questionnaire_for(session: Session, catalogue: Catalogue, interview: Interview) -> Questionnaire:
    current = catalogue.get(interview.survey)
    if current.version == interview.questionnaire_version:
        return current
    return stored_questionnaire(session, interview.survey, interview.questionnaire_version)


def _state(
    session: Session, catalogue: Catalogue, interview: Interview, discarded: dict[str, Answer] | None = None
) -> InterviewState:
    questionnaire = questionnaire_for(session, catalogue, interview)
    rows = session.scalars(select(AnswerRow).where(AnswerRow.interview_id == interview.id)).all()
    answers, notes = _answers_of(questionnaire, rows)
    notes = {**_draft_notes(interview), **notes}
    return _state_of(interview, questionnaire, answers, notes, discarded)


def load_answers(
    session: Session, catalogue: Catalogue, interview: Interview
) -> tuple[Questionnaire, dict[str, Answer]]:
    """An interview's questionnaire and answers (for services that decide about it)."""
    questionnaire = questionnaire_for(session, catalogue, interview)
    rows = session.scalars(select(AnswerRow).where(AnswerRow.interview_id == interview.id)).all()
    return questionnaire, _answers_of(questionnaire, rows)[0]


def _draft_notes(interview: Interview) -> dict[str, str]:
    """Notes written on questions not yet answered (saved at once; they join the answer when given)."""
    if not interview.draft_notes:
        return {}
    loaded = json.loads(interview.draft_notes)
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _answers_of(
    questionnaire: Questionnaire, rows: Iterable[AnswerRow]
) -> tuple[dict[str, Answer], dict[str, str]]:
    """The engine's answers and the caller's notes, from the stored rows."""
    answers: dict[str, Answer] = {}
    notes: dict[str, str] = {}
    known = {q.id for q in questionnaire.questions()}
    for row in rows:
        if row.question_id in known:
            answers[row.question_id] = Answer.from_stored(
                questionnaire.question(row.question_id), row.code, row.value
            )
            if row.note:
                notes[row.question_id] = row.note
    return answers, notes


def _state_of(
    interview: Interview,
    questionnaire: Questionnaire,
    answers: dict[str, Answer],
    notes: dict[str, str],
    discarded: dict[str, Answer] | None = None,
) -> InterviewState:
    return interview_state(
        questionnaire,
        answers,
        notes,
        interview_id=interview.id,
        case_id=interview.case_id,
        attempt_id=interview.attempt_id,
        status=interview.status,
        discarded=discarded,
    )


def interview_state(
    questionnaire: Questionnaire,
    answers: dict[str, Answer],
    notes: dict[str, str],
    *,
    interview_id: int,
    case_id: int | None,
    attempt_id: int | None,
    status: str,
    discarded: dict[str, Answer] | None = None,
) -> InterviewState:
    """Where an interview with these answers stands: its next question, or the stop rule that ended it."""
    route = Engine(questionnaire).route(answers)
    stop = route.stop
    return InterviewState(
        interview_id=interview_id,
        case_id=case_id,
        attempt_id=attempt_id,
        survey=questionnaire.id,
        questionnaire=questionnaire,
        status=status,
        answers=answers,
        notes=notes,
        current_question=route.next_question_id,
        stop_outcome=stop.rule.outcome if stop else None,
        stop_say=stop.rule.say if stop else None,
        discarded=discarded or {},
    )


def _own_interview(
    session: Session, actor: Actor, interview_id: int, *, for_update: bool = False
) -> Interview:
    require(actor, Permission.CALL_CASES)
    query = select(Interview).where(Interview.id == interview_id)
    if for_update:
        query = query.with_for_update()
    interview = session.scalar(query)
    if interview is None:
        raise InterviewError(f"interview {interview_id} does not exist")
    if interview.caller_id != actor.staff_id:
        raise InterviewError(f"interview {interview_id} belongs to another caller")
    return interview


def _case_still_yours(session: Session, actor: Actor, interview: Interview) -> Case | None:
    """Refuse to write to an interview whose case the caller no longer holds: closed, released as stale
    (its call recorded as a break-off), held after a quick exit, or given to another caller.

    Returns the case, read afresh (None for an interview without one, such as practice)."""
    if interview.case_id is None:
        return None
    case = session.get(Case, interview.case_id, populate_existing=True)
    if case is None:
        raise InterviewError(f"case {interview.case_id} no longer exists: nothing more can be saved")
    if case.status == "closed":
        raise InterviewError(
            f"case {case.id} has been closed, so this interview has ended; every answer already saved is kept"
        )
    if case.allocated_to_id != actor.staff_id:
        raise InterviewError(
            f"case {case.id} is no longer allocated to you (released after a long pause, held or given to"
            " another caller): nothing more can be saved here; every answer already saved is kept"
        )
    return case


def start_interview(
    session: Session, actor: Actor, catalogue: Catalogue, *, case_id: int, attempt_id: int | None
) -> InterviewState:
    """Begin the interview of a case the caller holds, or return the one already in progress."""
    require(actor, Permission.CALL_CASES)
    case = session.get(Case, case_id)
    if case is None:
        raise InterviewError(f"case {case_id} does not exist")
    if case.allocated_to_id != actor.staff_id:
        raise InterviewError(f"case {case_id} is not allocated to you")
    existing = session.scalar(
        select(Interview)
        .where(Interview.case_id == case_id, Interview.status == IN_PROGRESS)
        .order_by(Interview.id.desc())
    )
    if existing is not None:
        existing.caller_id = actor.staff_id
        if attempt_id is not None:
            existing.attempt_id = attempt_id
        return _state(session, catalogue, existing)
    questionnaire = catalogue.get(case.survey)
    now = utcnow()
    interview = Interview(
        case_id=case.id,
        attempt_id=attempt_id,
        survey=case.survey,
        questionnaire_version=questionnaire.version,
        questionnaire_hash=questionnaire.content_hash(),
        status=IN_PROGRESS,
        caller_id=actor.staff_id,
        started_at=now,
        division=case.division,
        district=case.district,
        current_question=Engine(questionnaire).next_question({}).id,  # type: ignore[union-attr]
    )
    session.add(interview)
    case.last_activity_at = now
    session.flush()
    return _state(session, catalogue, interview)


def load_interview(session: Session, actor: Actor, catalogue: Catalogue, interview_id: int) -> InterviewState:
    return _state(session, catalogue, _own_interview(session, actor, interview_id))


def record_answer(
    session: Session,
    actor: Actor,
    catalogue: Catalogue,
    interview_id: int,
    question_id: str,
    answer: Answer,
    *,
    duration_ms: int | None = None,
    note: str | None = None,
) -> InterviewState:
    """Store one answer (validated by the engine); discard what the change routes away from.

    The row is written in the caller's transaction; the screen moves on only after it commits.
    """
    interview = _own_interview(session, actor, interview_id, for_update=True)
    case = _case_still_yours(session, actor, interview)
    if interview.status != IN_PROGRESS:
        raise InterviewError("this interview has finished; answers can no longer be changed here")
    questionnaire = questionnaire_for(session, catalogue, interview)
    rows = {
        r.question_id: r
        for r in session.scalars(select(AnswerRow).where(AnswerRow.interview_id == interview.id))
    }
    answers, notes = _answers_of(questionnaire, rows.values())
    drafts = _draft_notes(interview)
    if question_id in drafts:
        drafted = drafts.pop(question_id)
        note = note if note is not None else drafted
        interview.draft_notes = json.dumps(drafts) if drafts else None
    engine = Engine(questionnaire)
    applied = engine.apply(answers, question_id, answer)
    given = applied.answers[question_id]
    now = utcnow()
    row = rows.get(question_id)
    if row is None:
        session.add(
            AnswerRow(
                interview_id=interview.id,
                question_id=question_id,
                code=given.code,
                value=given.stored_value(),
                answered_at=now,
                duration_ms=duration_ms,
                note=clean_note(note),
            )
        )
    else:
        if (row.code, row.value) != (given.code, given.stored_value()):
            record_change(session, row, given, "changed", None, actor.staff_id, now)
        row.code = given.code
        row.value = given.stored_value()
        row.answered_at = now
        if duration_ms is not None:
            row.duration_ms = (row.duration_ms or 0) + duration_ms
        if note is not None:
            row.note = clean_note(note)
    record_discarded(
        session,
        interview.id,
        applied.discarded,
        f"routed away by the answer to {question_id}",
        actor.staff_id,
        now,
    )
    if applied.discarded:
        session.execute(
            delete(AnswerRow).where(
                AnswerRow.interview_id == interview.id, AnswerRow.question_id.in_(list(applied.discarded))
            )
        )
    route = applied.route or engine.route(applied.answers)
    interview.current_question = route.next_question_id
    if case is not None:
        case.last_activity_at = now
    session.flush()
    if note is not None:
        notes[question_id] = note
    for discarded_id in applied.discarded:
        notes.pop(discarded_id, None)
    notes = {**drafts, **notes}
    return _state_of(interview, questionnaire, applied.answers, notes, applied.discarded)


def record_change(
    session: Session,
    row: AnswerRow,
    given: Answer,
    kind: str,
    reason: str | None,
    staff_id: int | None,
    now: datetime,
) -> None:
    """Keep the old answer in the history before `row` takes the new one (changed or corrected)."""
    session.add(
        AnswerChange(
            interview_id=row.interview_id,
            question_id=row.question_id,
            old_code=row.code,
            old_value=row.value,
            new_code=given.code,
            new_value=given.stored_value(),
            kind=kind,
            reason=reason,
            staff_id=staff_id,
            changed_at=now,
        )
    )


def record_discarded(
    session: Session,
    interview_id: int,
    discarded: Mapping[str, Answer],
    reason: str,
    staff_id: int | None,
    now: datetime,
) -> None:
    """Keep in the history each answer that routing removed after a change or a correction."""
    for question_id, old in discarded.items():
        session.add(
            AnswerChange(
                interview_id=interview_id,
                question_id=question_id,
                old_code=old.code,
                old_value=old.stored_value(),
                kind="discarded",
                reason=reason,
                staff_id=staff_id,
                changed_at=now,
            )
        )


def add_note(session: Session, actor: Actor, interview_id: int, question_id: str, note: str) -> None:
    """Keep the caller's note on a question at once, answered or not (a crash loses nothing).

    On an answered question it is the answer's note; on one not yet answered it waits in the
    interview's draft notes and joins the answer when it is given.
    """
    interview = _own_interview(session, actor, interview_id, for_update=True)
    _case_still_yours(session, actor, interview)
    if interview.status != IN_PROGRESS:
        raise InterviewError("this interview has finished; notes can no longer be added here")
    row = session.scalar(
        select(AnswerRow).where(AnswerRow.interview_id == interview.id, AnswerRow.question_id == question_id)
    )
    text = clean_note(note)
    if row is not None:
        row.note = text
        return
    drafts = _draft_notes(interview)
    if text is None:
        drafts.pop(question_id, None)
    else:
        drafts[question_id] = text
    interview.draft_notes = json.dumps(drafts) if drafts else None


def _touch_case(session: Session, interview: Interview, now: datetime) -> None:
    if interview.case_id is not None:
        case = session.get(Case, interview.case_id)
        if case is not None:
            case.last_activity_at = now


def finish_interview(
    session: Session, actor: Actor, catalogue: Catalogue, interview_id: int, *, broken_off: bool = False
) -> tuple[InterviewState, Outcome, bool]:
    """Close the interview and say which call outcome it means.

    Returns (state, outcome, partial): completed; the stop rule's outcome; or, when `broken_off`
    (quick exit, hang-up), break_off with `partial` true once the questionnaire's partial point was
    reached. The caller's screen then records that outcome on the attempt.
    """
    interview = _own_interview(session, actor, interview_id, for_update=True)
    state = _state(session, catalogue, interview)
    if interview.status != IN_PROGRESS:
        raise InterviewError("this interview has already finished")
    now = utcnow()
    partial = False
    if state.complete and not broken_off:
        interview.status = COMPLETED
        outcome = Outcome.COMPLETED
    elif state.stop_outcome is not None and not broken_off:
        interview.status = STOPPED
        interview.stop_outcome = state.stop_outcome.value
        outcome = STOP_OUTCOMES[state.stop_outcome]
    elif not state.finished and not broken_off:
        raise InterviewError("the interview is not finished: questions remain")
    else:
        interview.status = PARTIAL
        outcome = Outcome.BREAK_OFF
        partial_from = state.questionnaire.calls.partial_from
        partial = partial_from is not None and state.engine.reached(state.answers, partial_from)
        if state.complete:
            interview.status = COMPLETED
            outcome = Outcome.COMPLETED
            partial = False
    interview.ended_at = now
    interview.current_question = None if interview.status != PARTIAL else state.current_question
    _touch_case(session, interview, now)
    session.flush()
    if interview.status == COMPLETED:
        tally_interviews(session, [interview.id])
    return _state(session, catalogue, interview), outcome, partial


def resumable_interview(session: Session, actor: Actor) -> int | None:
    """The caller's interview left in progress (closed terminal, crash), if any."""
    require(actor, Permission.CALL_CASES)
    return session.scalar(
        select(Interview.id)
        .join(Case, Case.id == Interview.case_id)
        .where(
            Interview.caller_id == actor.staff_id,
            Interview.status == IN_PROGRESS,
            Case.allocated_to_id == actor.staff_id,  # not a case held for a supervisor or given back
            Case.status == "open",
        )
        .order_by(Interview.started_at.desc())
        .limit(1)
    )


def read_out(state: InterviewState, text: str, sample: Mapping[str, object], caller_name: str) -> str:
    """Text with sample fields, the caller's name and earlier answers inserted.

    An answer inserted mid-sentence reads as said aloud: "You said you were very dissatisfied", not
    "...you were Very dissatisfied" (a label that starts with a capitalised abbreviation keeps it).
    """
    first = caller_name.split()[0] if caller_name else ""
    labels: list[str] = []

    def answer_label(match: re.Match[str]) -> str:
        space, _, name = match.group(1).partition(".")
        answer = state.answers.get(name)
        if space != "answer" or answer is None or answer.blank:
            return match.group(0)
        label = describe_answer(state.questionnaire.question(name), answer)
        before = text[: match.start()].rstrip()
        if before and before[-1] not in ".!?:" and label[:1].isupper() and not label[1:2].isupper():
            label = label[0].lower() + label[1:]
        labels.append(label)
        return f"\x00{len(labels) - 1}\x00"

    marked = PLACEHOLDER.sub(answer_label, text)
    rendered = render_text(
        state.questionnaire,
        marked,
        sample=sample,
        caller={"name": caller_name, "first_name": first},
        answers=state.answers,
    )
    return re.sub("\x00(\\d+)\x00", lambda m: labels[int(m.group(1))], rendered)


# ------------------------------------------------------------------ safeguarding


@dataclass(frozen=True)
class AlertRecord:
    id: int
    case_id: int | None
    interview_id: int | None
    survey: str | None
    raised_by: str
    raised_at: datetime
    note: str
    resolved_at: datetime | None
    resolved_by: str | None
    action_taken: str | None


def raise_alert(
    session: Session, actor: Actor, *, case_id: int | None, interview_id: int | None, note: str
) -> int:
    """A disclosure of danger now: recorded at once for supervisors to act on."""
    require(actor, Permission.RAISE_SAFEGUARDING)
    if actor.staff_id is None:
        raise InterviewError("a safeguarding alert must be raised by a signed-in member of staff")
    now = utcnow()
    alert = SafeguardingAlert(
        case_id=case_id,
        interview_id=interview_id,
        raised_by_id=actor.staff_id,
        raised_at=now,
        note=clean_note(note) or "(no note)",
    )
    session.add(alert)
    session.flush()
    session.add(
        AuditEvent(
            at=now,
            staff_id=actor.staff_id,
            action="safeguarding_alert_raised",
            entity="safeguarding_alert",
            entity_id=str(alert.id),
            detail=json.dumps({"case_id": case_id, "interview_id": interview_id}),
        )
    )
    return alert.id


def list_alerts(session: Session, actor: Actor, *, open_only: bool = True) -> list[AlertRecord]:
    require(actor, Permission.HANDLE_SAFEGUARDING)
    query = select(SafeguardingAlert).order_by(SafeguardingAlert.raised_at.desc())
    if open_only:
        query = query.where(SafeguardingAlert.resolved_at.is_(None))
    records = []
    for alert in session.scalars(query):
        survey = None
        if alert.case_id is not None:
            survey = session.scalar(select(Case.survey).where(Case.id == alert.case_id))
        resolved_by = alert.resolved_by.display_name if alert.resolved_by else None
        records.append(
            AlertRecord(
                id=alert.id,
                case_id=alert.case_id,
                interview_id=alert.interview_id,
                survey=survey,
                raised_by=alert.raised_by.display_name,
                raised_at=alert.raised_at,
                note=alert.note,
                resolved_at=alert.resolved_at,
                resolved_by=resolved_by,
                action_taken=alert.action_taken,
            )
        )
    return records


@dataclass(frozen=True)
class CaseContact:
    """How to reach a victim, for a supervisor acting on an alert or a held case (the view is audited)."""

    case_id: int
    survey: str
    victim_name: str
    phone: str | None
    alt_phone: str | None
    division: str
    district: str


def case_contact(session: Session, actor: Actor, case_id: int) -> CaseContact:
    require(actor, Permission.HANDLE_SAFEGUARDING)
    case = session.get(Case, case_id)
    if case is None:
        raise InterviewError(f"case {case_id} does not exist")
    case_viewed(session, actor, case_id, "alerts")
    return CaseContact(
        case_id=case.id,
        survey=case.survey,
        victim_name=case.victim_name or "",
        phone=case.phone,
        alt_phone=case.alt_phone,
        division=case.division,
        district=case.district,
    )


def resolve_alert(session: Session, actor: Actor, alert_id: int, action_taken: str) -> None:
    require(actor, Permission.HANDLE_SAFEGUARDING)
    if not action_taken.strip():
        raise InterviewError("record what was done before closing the alert")
    alert = session.get(SafeguardingAlert, alert_id)
    if alert is None:
        raise InterviewError(f"alert {alert_id} does not exist")
    if alert.resolved_at is not None:
        raise InterviewError(f"alert {alert_id} was already closed")
    now = utcnow()
    alert.resolved_at = now
    alert.resolved_by_id = actor.staff_id
    alert.action_taken = action_taken.strip()
    session.add(
        AuditEvent(
            at=now,
            staff_id=actor.staff_id,
            action="safeguarding_alert_resolved",
            entity="safeguarding_alert",
            entity_id=str(alert_id),
        )
    )


def staff_name(session: Session, staff_id: int) -> str:
    return session.scalar(select(Staff.display_name).where(Staff.id == staff_id)) or ""
