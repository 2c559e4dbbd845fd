"""`survey case ...`: a case's history, and supervisors' reassign, reopen and close."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer

from app.cli.common import actor, add_safe_row, cli, open_runtime_for, out

case_cli = typer.Typer(
    help="Cases: history, and supervisors' reassign, reopen and close.",
    no_args_is_help=True,
)
cli.add_typer(case_cli, name="case")

CaseId = Annotated[int, typer.Argument(help="Case number.", min=1)]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log; required).")]


class ShowFormat(StrEnum):
    table = "table"
    json = "json"


def _local(moment: datetime | None) -> str:
    from app.clock import LOCAL

    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") if moment else ""


@case_cli.command("reassign")
def case_reassign(
    ctx: typer.Context,
    case_id: CaseId,
    to: Annotated[str, typer.Option("--to", help="User name of the caller who takes the case.")],
    reason: Reason,
) -> None:
    """Give an open case to another caller (a future appointment moves to them)."""
    from app.services.cases import reassign

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            state = reassign(session, actor(ctx), case_id, to, reason)
    finally:
        runtime.close()
    if state.allocated_to:
        print(f"case {case_id} is now held by {state.allocated_to}")
    else:
        print(
            f"case {case_id}: appointment at {_local(state.appointment_at)} now with {state.appointment_by}"
        )


@case_cli.command("reopen")
def case_reopen(ctx: typer.Context, case_id: CaseId, reason: Reason) -> None:
    """Put a closed case back in the field; its final disposition is cleared."""
    from app.services.cases import reopen

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            state = reopen(session, actor(ctx), runtime.catalogue, case_id, reason)
    finally:
        runtime.close()
    print(f"case {case_id} reopened ({state.status})")


@case_cli.command("close")
def case_close(
    ctx: typer.Context,
    case_id: CaseId,
    reason: Reason,
    disposition: Annotated[
        str | None,
        typer.Option(
            "--disposition",
            help="Final AAPOR code, e.g. 4.80 (quota filled). Default: derived from the calls so far.",
        ),
    ] = None,
) -> None:
    """Close an open or pending case."""
    from app.services.cases import close_case

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            state = close_case(session, actor(ctx), runtime.catalogue, case_id, reason, disposition)
    finally:
        runtime.close()
    print(f"case {case_id} closed: {state.disposition}")


@case_cli.command("show")
def case_show(
    ctx: typer.Context,
    case_id: CaseId,
    format: Annotated[ShowFormat, typer.Option("--format", "-f")] = ShowFormat.table,
) -> None:
    """A case's history: attempts, screening, interviews, allocation and changes (shows personal data;
    the view is audited)."""
    from rich.table import Table

    from app.services.cases import case_history

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            history = case_history(session, actor(ctx), case_id)
    finally:
        runtime.close()
    if format is ShowFormat.json:
        data = asdict(history)
        data["state"]["disposition"] = (
            {"code": history.state.disposition.code, "label": history.state.disposition.label}
            if history.state.disposition
            else None
        )
        print(json.dumps(data, indent=2, default=str))  # \u escapes: no raw controls, no bidi
        return
    state = history.state
    summary = Table(title=f"Case {case_id}", show_header=False)
    summary.add_column("field")
    summary.add_column("value")
    for label, value in (
        ("survey", state.survey),
        ("crime ref", history.crime_ref),
        ("victim", "(deleted)" if history.personal_data_deleted else history.victim_name or ""),
        ("phone", " / ".join(p for p in (history.phone, history.alt_phone) if p)),
        ("report date", history.report_date.isoformat()),
        ("division", f"{history.division} / {history.district}"),
        ("status", state.status + (f" ({state.closed_reason})" if state.closed_reason else "")),
        ("disposition", str(state.disposition) if state.disposition else "none (never released)"),
        ("attempts", str(state.attempt_count)),
        (
            "held by",
            f"{state.allocated_to} since {_local(history.allocated_at)}" if state.allocated_to else "",
        ),
        (
            "appointment",
            f"{_local(state.appointment_at)} ({state.appointment_by})" if state.appointment_at else "",
        ),
        ("next call", _local(state.next_call_at)),
        ("last activity", _local(history.last_activity_at)),
        ("closed", _local(history.closed_at)),
    ):
        add_safe_row(summary, label, value)
    out.print(summary)
    if history.attempts:
        attempts = Table(title="Attempts")
        for column in ("#", "caller", "started", "ended", "number", "outcome", "details"):
            attempts.add_column(column)
        for a in history.attempts:
            details = [
                "message left" if a.message_left else "",
                f"appointment {_local(a.appointment_at)}" if a.appointment_at else "",
                f"refused by {a.refusal_by}" if a.refusal_by else "",
                a.ineligible_reason or "",
                "partial" if a.partial else "",
                a.note or "",
            ]
            add_safe_row(
                attempts,
                str(a.attempt_id),
                a.caller,
                _local(a.started_at),
                _local(a.ended_at),
                a.number_dialled or "",
                a.outcome.value if a.outcome else "in progress",
                "; ".join(d for d in details if d),
            )
        out.print(attempts)
    if history.screening:
        screening = Table(title="Screening")
        for column in ("reason", "excluded", "decided by", "at", "note"):
            screening.add_column(column)
        for s in history.screening:
            add_safe_row(
                screening,
                s.reason,
                "yes" if s.excluded else "no",
                s.decided_by,
                _local(s.decided_at),
                s.note or "",
            )
        out.print(screening)
    if history.interviews:
        interviews = Table(title="Interviews")
        for column in ("#", "status", "caller", "started", "ended", "answers"):
            interviews.add_column(column)
        for i in history.interviews:
            add_safe_row(
                interviews,
                str(i.interview_id),
                i.status,
                i.caller or "",
                _local(i.started_at),
                _local(i.ended_at),
                str(i.answers),
            )
        out.print(interviews)
    if history.events:
        events = Table(title="Changes and views")
        for column in ("at", "action", "by", "detail"):
            events.add_column(column)
        for e in history.events:
            detail = ", ".join(f"{k}: {v}" for k, v in e.detail.items() if v is not None)
            add_safe_row(events, _local(e.at), e.action, e.by, detail)
        out.print(events)


@case_cli.command("release-stale")
def case_release_stale(ctx: typer.Context) -> None:
    """Take back every case whose caller has been inactive too long (stale_allocation_hours).

    A case with a call left unfinished is held for a supervisor; the others return to the pool.
    """
    from app.services.cases import release_stale

    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            released = release_stale(session, runtime.catalogue)
    finally:
        runtime.close()
    print(f"released {released} case{'' if released == 1 else 's'}")
