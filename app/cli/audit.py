"""`survey audit`: the audit log for administrators."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from app.cli.common import actor, add_safe_row, cli, open_runtime_for, out
from app.cli.report import FromOption, ToOption, parse_range


class AuditFormat(StrEnum):
    table = "table"
    json = "json"


@cli.command("audit")
def audit_command(
    ctx: typer.Context,
    start: FromOption,
    end: ToOption,
    user: Annotated[str | None, typer.Option("--user", help="Only this member of staff.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, e.g. case_reassigned.")
    ] = None,
    format: Annotated[AuditFormat, typer.Option("--format", "-f")] = AuditFormat.table,
) -> None:
    """Who did what and when, oldest first (administrators; this reading is itself recorded).

    --format json prints a list of {"id", "at" (UTC, ISO 8601), "user" ("system" for set-up), "action",
    "entity", "entity_id", "detail" (an object of ids and counts, never personal data)}.
    """
    from rich.table import Table

    from app.clock import LOCAL
    from app.services.audit import audit_trail

    first, last = parse_range(start, end)
    runtime = open_runtime_for(ctx)
    try:
        with runtime.sessions.begin() as session:
            rows = audit_trail(session, actor(ctx), first, last, user=user, action=action)
    finally:
        runtime.close()
    if format is AuditFormat.json:
        print(json.dumps([row.to_dict() for row in rows], indent=2))
        return
    table = Table(title=f"Audit log {first} to {last}")
    for column in ("at", "user", "action", "entity", "id", "detail"):
        table.add_column(column)
    for row in rows:
        detail = ", ".join(f"{k}: {v}" for k, v in row.detail.items() if v is not None)
        add_safe_row(
            table,
            row.at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S"),
            row.user,
            row.action,
            row.entity,
            row.entity_id or "",
            detail,
        )
    out.print(table)
    out.print(f"{len(rows)} event{'' if len(rows) == 1 else 's'}")
