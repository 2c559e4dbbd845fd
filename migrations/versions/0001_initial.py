"""Initial schema: staff, questionnaires, cases, screening, attempts, interviews, answers, alerts, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Hand-written from an autogenerate draft. Every name is given in full with op.f() so that this file
keeps creating the same schema whatever app.store.models' naming convention becomes. Timestamps are
naive UTC (app.store.models.UTCDateTime); booleans and counters have server defaults so that later
migrations can add rows with plain SQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('caller', 'supervisor', 'analyst', 'admin')", name=op.f("ck_staff_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )

    op.create_table(
        "questionnaire_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_versions")),
        sa.UniqueConstraint("survey", "version", name=op.f("uq_questionnaire_versions_survey_version")),
    )

    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey", sa.String(length=64), nullable=False),
        sa.Column("crime_ref", sa.String(length=64), nullable=False),
        # Personal data, nullable so that retention can delete it and keep the row.
        sa.Column("victim_name", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("alt_phone", sa.String(length=32), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("division", sa.String(length=64), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=True),
        sa.Column("opted_out", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("vulnerable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("nfa_requested", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("not_cooperating", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("final_disposition", sa.String(length=8), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("allocated_to_id", sa.Integer(), nullable=True),
        sa.Column("allocated_at", sa.DateTime(), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(), nullable=True),
        sa.Column("next_call_at", sa.DateTime(), nullable=True),
        sa.Column("attempt_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("import_batch", sa.String(length=64), nullable=True),
        sa.Column("personal_data_deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["allocated_to_id"], ["staff.id"], name=op.f("fk_cases_allocated_to_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint(
            "survey", "crime_ref", "victim_name", name=op.f("uq_cases_survey_crime_ref_victim_name")
        ),
    )
    op.create_index(
        op.f("ix_cases_status_survey_next_call_at"), "cases", ["status", "survey", "next_call_at"]
    )
    op.create_index(op.f("ix_cases_allocated_to_id"), "cases", ["allocated_to_id"])
    op.create_index(op.f("ix_cases_phone"), "cases", ["phone"])

    op.create_table(
        "screening_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_screening_decisions_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_screening_decisions_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_decisions")),
    )
    op.create_index(op.f("ix_screening_decisions_case_id"), "screening_decisions", ["case_id"])

    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("caller_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("number_dialled", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("message_left", sa.Boolean(), nullable=True),
        sa.Column("appointment_at", sa.DateTime(), nullable=True),
        sa.Column("refusal_by", sa.String(length=32), nullable=True),
        sa.Column("ineligible_reason", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_attempts_case_id_cases")),
        sa.ForeignKeyConstraint(["caller_id"], ["staff.id"], name=op.f("fk_attempts_caller_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
    )
    op.create_index(op.f("ix_attempts_case_id"), "attempts", ["case_id"])
    op.create_index(op.f("ix_attempts_caller_id_started_at"), "attempts", ["caller_id", "started_at"])
    op.create_index(op.f("ix_attempts_started_at"), "attempts", ["started_at"])

    op.create_table(
        "interviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("survey", sa.String(length=64), nullable=False),
        sa.Column("questionnaire_version", sa.Integer(), nullable=False),
        sa.Column("questionnaire_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stop_outcome", sa.String(length=32), nullable=True),
        sa.Column("caller_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("current_question", sa.String(length=64), nullable=True),
        sa.Column("division", sa.String(length=64), nullable=True),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("imported", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("flagged_for_follow_up", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("follow_up_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_interviews_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_interviews_attempt_id_attempts")
        ),
        sa.ForeignKeyConstraint(["caller_id"], ["staff.id"], name=op.f("fk_interviews_caller_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interviews")),
        sa.UniqueConstraint("survey", "external_id", name=op.f("uq_interviews_survey_external_id")),
    )
    op.create_index(
        op.f("ix_interviews_survey_status_ended_at"), "interviews", ["survey", "status", "ended_at"]
    )
    op.create_index(op.f("ix_interviews_division"), "interviews", ["division"])
    op.create_index(op.f("ix_interviews_case_id"), "interviews", ["case_id"])

    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_answers_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("interview_id", "question_id", name=op.f("uq_answers_interview_id_question_id")),
    )
    op.create_index(op.f("ix_answers_question_id_code"), "answers", ["question_id", "code"])

    op.create_table(
        "answer_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("old_code", sa.Integer(), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_code", sa.Integer(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_answer_changes_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_answer_changes_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_changes")),
    )
    op.create_index(op.f("ix_answer_changes_interview_id"), "answer_changes", ["interview_id"])

    op.create_table(
        "safeguarding_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("interview_id", sa.Integer(), nullable=True),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_safeguarding_alerts_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["interview_id"], ["interviews.id"], name=op.f("fk_safeguarding_alerts_interview_id_interviews")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["staff.id"], name=op.f("fk_safeguarding_alerts_raised_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["staff.id"], name=op.f("fk_safeguarding_alerts_resolved_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safeguarding_alerts")),
    )
    op.create_index(op.f("ix_safeguarding_alerts_resolved_at"), "safeguarding_alerts", ["resolved_at"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_audit_events_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_staff_id"), "audit_events", ["staff_id"])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "audit_events",
        "safeguarding_alerts",
        "answer_changes",
        "answers",
        "interviews",
        "attempts",
        "screening_decisions",
        "cases",
        "settings",
        "questionnaire_versions",
        "staff",
    ):
        op.drop_table(table)
