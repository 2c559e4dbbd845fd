"""Roles and what each may do: the one place where a permission is decided.

Every service that touches personal data or changes a case calls `require(actor, permission)`;
screens and commands never test roles themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.errors import SurveyError


class Role(StrEnum):
    CALLER = "caller"
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    ADMIN = "admin"


class Permission(StrEnum):
    CALL_CASES = "call_cases"  # take a case, see its personal data, record attempts and answers
    REVIEW_CALLS = "review_calls"  # read every caller's work, call logs and interviews
    MANAGE_CASES = "manage_cases"  # reassign, reopen, close
    CORRECT_ANSWERS = "correct_answers"
    HANDLE_SAFEGUARDING = "handle_safeguarding"
    RAISE_SAFEGUARDING = "raise_safeguarding"
    EXPORT = "export"  # pseudonymised exports
    REPORT = "report"  # aggregate figures
    IMPORT_SAMPLE = "import_sample"
    IMPORT_RESPONSES = "import_responses"
    MANAGE_STAFF = "manage_staff"
    MANAGE_QUESTIONNAIRES = "manage_questionnaires"
    MANAGE_SETTINGS = "manage_settings"  # calling hours, retry gaps, stale-allocation time
    VIEW_AUDIT = "view_audit"  # read the audit log
    DELETE_PERSONAL_DATA = "delete_personal_data"  # retention purge, erasure on request
    REDACT_VERBATIMS = "redact_verbatims"  # review free-text answers before analysts see them


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.CALLER: frozenset({Permission.CALL_CASES, Permission.RAISE_SAFEGUARDING}),
    Role.SUPERVISOR: frozenset(
        {
            Permission.CALL_CASES,
            Permission.RAISE_SAFEGUARDING,
            Permission.REVIEW_CALLS,
            Permission.MANAGE_CASES,
            Permission.CORRECT_ANSWERS,
            Permission.HANDLE_SAFEGUARDING,
            Permission.REPORT,
            Permission.MANAGE_SETTINGS,
            Permission.REDACT_VERBATIMS,
        }
    ),
    Role.ANALYST: frozenset({Permission.EXPORT, Permission.REPORT, Permission.IMPORT_RESPONSES}),
    Role.ADMIN: frozenset(
        {
            Permission.IMPORT_SAMPLE,
            Permission.IMPORT_RESPONSES,
            Permission.MANAGE_STAFF,
            Permission.MANAGE_QUESTIONNAIRES,
            Permission.MANAGE_SETTINGS,
            Permission.REPORT,
            Permission.VIEW_AUDIT,
            Permission.DELETE_PERSONAL_DATA,
        }
    ),
}


@dataclass(frozen=True)
class Actor:
    """Who is doing something: a signed-in member of staff, or the system itself (set-up, imports)."""

    staff_id: int | None
    username: str
    role: Role | None  # None: the operator at the command line acting as the system

    @classmethod
    def system(cls) -> Actor:
        return cls(staff_id=None, username="system", role=None)


class PermissionDenied(SurveyError):
    """The actor's role does not allow this."""


def can(actor: Actor, permission: Permission) -> bool:
    if actor.role is None:
        return True
    return permission in GRANTS[actor.role]


def require(actor: Actor, permission: Permission) -> None:
    if not can(actor, permission):
        role = actor.role.value if actor.role else "system"
        raise PermissionDenied(f"{actor.username} ({role}) may not {permission.value.replace('_', ' ')}")
