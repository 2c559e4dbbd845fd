"""Cases in the field: allocation to callers, call attempts, stale allocations, supervisors' changes.

A case's life, by `cases.status`:

- ``pending``: imported before its fieldwork window opens (next_call_at is the day it does).
- ``open``: callable. At most one caller holds it (``allocated_to_id``); a caller holds at most one case.
  Between attempts it is in the pool (``allocated_to_id`` NULL), offered again from ``next_call_at``:
  the retry gap after a non-final outcome, or an appointment (``appointment_by_id`` says whose).
- ``closed``: ``final_disposition`` holds its AAPOR code (app.domain.dispositions), and
  ``closed_reason`` says what closed it: ``final_outcome`` (a completed interview, refusal, break-off or
  ineligible), ``max_attempts``, ``no_usable_number`` (every number of the case was a wrong or dead
  number), ``fieldwork_ended`` (its window closed while still open), ``supervisor``, an exclusion
  reason such as ``under_16`` (screening at import or by the caller: 4.10), or ``out_of_field_period``
  (never released, final_disposition NULL: not in the rates).

How a case closes after an attempt: when the outcome is final, or the attempt limit of its questionnaire
is reached (except that an appointment made on the last attempt is kept), or no usable number is left;
its code is then `final_disposition` over all its finished attempts. While open, the temporary code of
its latest attempt is shown (`case_disposition`).

Concurrency: every function runs in the caller's write transaction (``with sessions.begin()``, or
``Runtime.transaction``, which tries again when the database reports a lock conflict). SQLite
serialises writers (BEGIN IMMEDIATE); on PostgreSQL allocation picks its candidate with
``FOR UPDATE SKIP LOCKED`` and the other changes lock the case row. A claim is a conditional UPDATE
(``WHERE allocated_to_id IS NULL``) whose row count is checked, so two callers can never hold one case.
Allocation transactions stay short: fieldwork windows and stale allocations are maintained apart, at
most once a minute (`maintain_if_due`, which each running app calls on a timer).

The package splits these by use case: `allocation` (next_case and the held case), `attempts`,
`maintenance` (windows and stale allocations), `supervision` (reassign, reopen, close), `history`;
`common` holds the records and helpers they share.
"""

from app.services.cases.allocation import (
    exclude_held_case,
    next_case,
    return_case,
    touch_case,
)
from app.services.cases.attempts import (
    appointment_problem,
    finish_attempt,
    start_attempt,
)
from app.services.cases.common import (
    CLOSED,
    CLOSED_BY_SUPERVISOR,
    CLOSED_FINAL_OUTCOME,
    CLOSED_MAX_ATTEMPTS,
    CLOSED_NO_USABLE_NUMBER,
    OPEN,
    OUT_OF_FIELD_PERIOD,
    PENDING,
    STALE_NOTE,
    AllocatedCase,
    Allocation,
    AttemptSummary,
    Band,
    CaseError,
    CaseHistory,
    CaseState,
    EventSummary,
    InterviewSummary,
    OutsideCallingHours,
    RefreshResult,
    ScreeningSummary,
    VoicemailForbidden,
    audit_case,
    case_disposition,
    fieldwork_window,
    held_case,
    open_attempt_id,
    time_band,
)
from app.services.cases.history import (
    case_history,
)
from app.services.cases.holds import HELD, HeldCase, close_held, hold_case, list_held, retry_held
from app.services.cases.maintenance import (
    MAINTENANCE_EVERY,
    maintain_if_due,
    refresh_cases,
    release_stale,
)
from app.services.cases.supervision import (
    close_case,
    reassign,
    reopen,
)

__all__ = [
    "MAINTENANCE_EVERY",
    "HELD",
    "HeldCase",
    "close_held",
    "hold_case",
    "list_held",
    "retry_held",
    "appointment_problem",
    "AllocatedCase",
    "Allocation",
    "AttemptSummary",
    "Band",
    "CLOSED",
    "CLOSED_BY_SUPERVISOR",
    "CLOSED_FINAL_OUTCOME",
    "CLOSED_MAX_ATTEMPTS",
    "CLOSED_NO_USABLE_NUMBER",
    "CaseError",
    "CaseHistory",
    "CaseState",
    "EventSummary",
    "InterviewSummary",
    "OPEN",
    "OUT_OF_FIELD_PERIOD",
    "OutsideCallingHours",
    "PENDING",
    "RefreshResult",
    "STALE_NOTE",
    "ScreeningSummary",
    "VoicemailForbidden",
    "audit_case",
    "case_disposition",
    "case_history",
    "close_case",
    "exclude_held_case",
    "fieldwork_window",
    "finish_attempt",
    "held_case",
    "next_case",
    "open_attempt_id",
    "reassign",
    "maintain_if_due",
    "refresh_cases",
    "release_stale",
    "reopen",
    "return_case",
    "start_attempt",
    "time_band",
    "touch_case",
]
