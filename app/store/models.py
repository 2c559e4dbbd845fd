"""The database tables, as SQLAlchemy models; migrations/ must create exactly these."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    false,
    literal_column,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STAFF_ROLES = ("caller", "supervisor", "analyst", "admin")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; stored naive in UTC on every backend.

    Naive input is refused: a local time taken for UTC would move an appointment by an hour.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give a timezone-aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every Mapped[datetime] is UTC-aware; a plain DateTime column cannot slip in.
    type_annotation_map = {datetime: UTCDateTime()}


# Lengths: codes 32, identifiers and place names 64. PostgreSQL enforces them and SQLite does not, so
# the domain validates lengths before storing.


class Staff(Base):
    """A person who signs in: caller, supervisor, analyst or administrator."""

    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(f"role IN ({', '.join(repr(r) for r in STAFF_ROLES)})", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    failed_logins: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class StaffSession(Base):
    """A sign-in on the command line: the session file holds a random token, this row its SHA-256.

    A session ends on `survey logout`, or when it was not used for the idle time (setting idle_minutes).
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class QuestionnaireVersion(Base):
    """One loaded version of a survey's questionnaire, kept so old interviews can still be read."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("survey", "version", name="uq_questionnaire_versions_survey_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of content
    content: Mapped[str] = mapped_column(Text)  # canonical JSON of the questionnaire
    loaded_at: Mapped[datetime]


class Case(Base):
    """One victim and crime in one survey, from a sample import.

    victim_name and phone are nullable although an import always fills them: deleting personal data
    after the retention period sets them (and attempts.number_dialled) to NULL and keeps the rows.
    """

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("survey", "crime_ref", "victim_name", name="uq_cases_survey_crime_ref_victim_name"),
        # Allocation: the next open case of a survey whose appointment (or none) is due.
        Index("ix_cases_status_survey_next_call_at", "status", "survey", "next_call_at"),
        # Fieldwork windows: open pending cases, close open ones, by report date (each allocation).
        Index("ix_cases_status_survey_report_date", "status", "survey", "report_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey: Mapped[str] = mapped_column(String(64))
    crime_ref: Mapped[str] = mapped_column(String(64))
    victim_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    alt_phone: Mapped[str | None] = mapped_column(String(32))
    date_of_birth: Mapped[date | None]
    report_date: Mapped[date]
    division: Mapped[str] = mapped_column(String(64))
    district: Mapped[str] = mapped_column(String(64))
    risk_level: Mapped[str | None] = mapped_column(String(16))
    opted_out: Mapped[bool] = mapped_column(default=False, server_default=false())
    vulnerable: Mapped[bool] = mapped_column(default=False, server_default=false())
    nfa_requested: Mapped[bool] = mapped_column(default=False, server_default=false())
    not_cooperating: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    final_disposition: Mapped[str | None] = mapped_column(String(8))  # AAPOR code, e.g. "1.1"
    closed_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    allocated_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    allocated_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime | None]
    # Not before this time: the fieldwork window's first day (pending), the retry gap, or an appointment.
    next_call_at: Mapped[datetime | None]
    # The caller who made the appointment that next_call_at holds; NULL when it is not an appointment.
    appointment_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    held_at: Mapped[datetime | None]  # quick exit mid-interview: waiting for a supervisor's decision
    attempt_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_attempt_at: Mapped[datetime | None]  # start of the latest finished attempt
    # Finished attempts by local time of day (see app.services.cases.time_band): allocation prefers a
    # retry in a band not tried yet, by sorting on the current band's count.
    attempts_morning: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    attempts_afternoon: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    attempts_evening: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    imported_at: Mapped[datetime]
    import_batch: Mapped[str | None] = mapped_column(String(64))
    personal_data_deleted_at: Mapped[datetime | None]

    allocated_to: Mapped["Staff | None"] = relationship(foreign_keys=[allocated_to_id])
    appointment_by: Mapped["Staff | None"] = relationship(foreign_keys=[appointment_by_id])
    attempts: Mapped[list["Attempt"]] = relationship(back_populates="case", order_by="Attempt.id")
    screening_decisions: Mapped[list["ScreeningDecision"]] = relationship(
        back_populates="case", order_by="ScreeningDecision.id"
    )


# Allocation's queue: open cases in the pool, in the order they are offered, one index per kind of
# case, so that finding the next few is a walk down an index, not a sort of every open case. The
# conditions are written as literals (status = 'open', attempt_count = 0): SQLite and PostgreSQL use a
# partial index only for a query that says the same (app.services.cases.allocation builds it from
# these very clauses).
QUEUE_POOL = (Case.status == literal_column("'open'"), Case.allocated_to_id.is_(None))
QUEUE_APPOINTMENTS = (*QUEUE_POOL, Case.appointment_by_id.is_not(None))
QUEUE_UNTRIED = (*QUEUE_POOL, Case.appointment_by_id.is_(None), Case.attempt_count == literal_column("0"))
QUEUE_RETRIES = (*QUEUE_POOL, Case.appointment_by_id.is_(None), Case.attempt_count > literal_column("0"))


def _queue_index(name: str, columns: tuple[Any, ...], where: tuple[Any, ...]) -> Index:
    return Index(name, *columns, sqlite_where=and_(*where), postgresql_where=and_(*where))


_queue_index("ix_cases_queue_appointments", (Case.next_call_at, Case.id), QUEUE_APPOINTMENTS)
_queue_index("ix_cases_queue_untried", (Case.report_date, Case.id), QUEUE_UNTRIED)
for _band in ("morning", "afternoon", "evening"):
    _queue_index(
        f"ix_cases_queue_{_band}",
        (getattr(Case, f"attempts_{_band}"), Case.last_attempt_at, Case.id),
        QUEUE_RETRIES,
    )


class ScreeningDecision(Base):
    """Why a case was or was not excluded before any call, decided by a rule or a member of staff."""

    __tablename__ = "screening_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    excluded: Mapped[bool]
    decided_by: Mapped[str] = mapped_column(String(16))  # "automatic" or "staff"
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="screening_decisions")


class Attempt(Base):
    """One telephone call to a case; outcome is NULL while the call is in progress."""

    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_caller_id_started_at", "caller_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    number_dialled: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))
    message_left: Mapped[bool | None]
    appointment_at: Mapped[datetime | None]
    refusal_by: Mapped[str | None] = mapped_column(String(32))
    ineligible_reason: Mapped[str | None] = mapped_column(String(64))
    # A break-off that had reached the questionnaire's partial point (AAPOR 1.2 rather than 2.12).
    partial: Mapped[bool] = mapped_column(default=False, server_default=false())
    note: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="attempts")


class Interview(Base):
    """One sitting of questions, complete or not; historical imports have no case.

    division and district are copied from the case so that reports never join personal data.
    """

    __tablename__ = "interviews"
    __table_args__ = (
        UniqueConstraint("survey", "external_id", name="uq_interviews_survey_external_id"),
        # Quarterly reports: completed interviews of a survey by end date.
        Index("ix_interviews_survey_status_ended_at", "survey", "status", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))
    survey: Mapped[str] = mapped_column(String(64))
    questionnaire_version: Mapped[int]
    questionnaire_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # in_progress | completed | partial | stopped
    stop_outcome: Mapped[str | None] = mapped_column(String(32))
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    current_question: Mapped[str | None] = mapped_column(String(64))
    division: Mapped[str | None] = mapped_column(String(64), index=True)
    district: Mapped[str | None] = mapped_column(String(64))
    imported: Mapped[bool] = mapped_column(default=False, server_default=false())
    external_id: Mapped[str | None] = mapped_column(String(64))
    flagged_for_follow_up: Mapped[bool] = mapped_column(default=False, server_default=false())
    follow_up_note: Mapped[str | None] = mapped_column(Text)
    draft_notes: Mapped[str | None] = mapped_column(Text)  # JSON: notes on questions not yet answered

    answers: Mapped[list["Answer"]] = relationship(
        back_populates="interview", cascade="all, delete-orphan", passive_deletes=True, order_by="Answer.id"
    )


class Answer(Base):
    """The current answer to one question of one interview, stored the moment it is given.

    code: the option code of a single-coded question, or 98 (don't know) / 99 (refused) on any type.
    value: a number, an ISO date, free text, or a JSON list of codes for a multiple choice.
    """

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("interview_id", "question_id", name="uq_answers_interview_id_question_id"),
        # Reports: count the codes given to one question.
        Index("ix_answers_question_id_code", "question_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime]
    duration_ms: Mapped[int | None]  # time spent on the question
    note: Mapped[str | None] = mapped_column(Text)

    interview: Mapped[Interview] = relationship(back_populates="answers")


class VerbatimRedaction(Base):
    """A supervisor's review of one free-text answer: the text analysts may see, names and places replaced.

    original_hash is the SHA-256 of the answer's value when reviewed: a later correction of the answer
    makes the review stale, and the verbatim waits for review again.
    """

    __tablename__ = "verbatim_redactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), unique=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    redacted: Mapped[str] = mapped_column(Text)
    original_hash: Mapped[str] = mapped_column(String(64))
    spans: Mapped[int]  # how many spans were replaced
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime]


class WithdrawnCase(Base):
    """An erased or purged case's fingerprint: a SHA-256 of its key, so no import brings it back.

    Nothing else about the case is kept (see app.services.retention.case_fingerprint).
    """

    __tablename__ = "withdrawn_cases"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    survey: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))  # 'erased' or 'purged'
    withdrawn_at: Mapped[datetime]


class AnswerChange(Base):
    """History of an answer that was changed, discarded (routing moved on) or corrected afterwards."""

    __tablename__ = "answer_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    old_code: Mapped[int | None]
    old_value: Mapped[str | None] = mapped_column(Text)
    new_code: Mapped[int | None]
    new_value: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # changed | discarded | corrected
    reason: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    changed_at: Mapped[datetime]


class SafeguardingAlert(Base):
    """A disclosure of danger raised during a call, open until a supervisor records the action taken."""

    __tablename__ = "safeguarding_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    interview_id: Mapped[int | None] = mapped_column(ForeignKey("interviews.id"))
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    raised_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
    action_taken: Mapped[str | None] = mapped_column(Text)

    raised_by: Mapped[Staff] = relationship(foreign_keys=[raised_by_id])
    resolved_by: Mapped[Staff | None] = relationship(foreign_keys=[resolved_by_id])


class AuditEvent(Base):
    """Who did what to which record, including every view of personal data and every export.

    detail is JSON and never holds personal data itself.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)


class SurveyDayCount(Base):
    """Completed interviews per survey, Division and local day: the reports sum these, not interviews.

    Kept by app.services.tallies whenever an interview completes, is imported or is corrected.
    division is "" where the interview has none.
    """

    __tablename__ = "survey_day_counts"

    survey: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    division: Mapped[str] = mapped_column(String(64), primary_key=True)
    surveys: Mapped[int]


class CodeDayCount(Base):
    """How often each code was given to each question of completed interviews, per Division and day."""

    __tablename__ = "code_day_counts"

    survey: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    division: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[int] = mapped_column(primary_key=True)
    answers: Mapped[int]


class Setting(Base):
    """Bureau configuration (calling hours, attempt limits...), one value per key."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MaintenanceRun(Base):
    """When a periodic job (e.g. "cases": windows refreshed, stale allocations released) last ran."""

    __tablename__ = "maintenance_runs"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_run_at: Mapped[datetime | None]


__all__ = [
    "NAMING_CONVENTION",
    "STAFF_ROLES",
    "Answer",
    "AnswerChange",
    "Attempt",
    "AuditEvent",
    "Base",
    "Case",
    "CodeDayCount",
    "Interview",
    "MaintenanceRun",
    "QuestionnaireVersion",
    "SafeguardingAlert",
    "ScreeningDecision",
    "Setting",
    "Staff",
    "StaffSession",
    "SurveyDayCount",
    "UTCDateTime",
    "VerbatimRedaction",
]
