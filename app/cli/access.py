"""Who may run which command: the sign-in kept between commands, and the table of what each one needs.

Every command that reads or changes the database runs as a signed-in member of staff, and the roles'
permissions (app.domain.permissions, the same table the app uses) decide whether they may. The
decision is taken once, where a command opens the database (`open_runtime_for`), from COMMANDS: a
command missing from the table is refused, so a new command is closed until someone decides who may
run it. A refusal is recorded in the audit log with the member of staff who asked.

The session token lives in `session.json` in the user's state folder (platformdirs, so
XDG_STATE_HOME on Linux), owner-only, one entry per database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import typer

from app.domain.permissions import Actor, Permission, PermissionDenied, can
from app.errors import SurveyError
from app.files import write_private


@dataclass(frozen=True)
class Access:
    """What a command needs. permission None: any signed-in member of staff."""

    permission: Permission | None = None
    public: bool = False  # no sign-in: the command reads no personal data and changes nothing stored
    first_run: bool = False  # also without sign-in while the database has no staff at all


PUBLIC = Access(public=True)
SIGNED_IN = Access()


def needs(permission: Permission, *, first_run: bool = False) -> Access:
    return Access(permission=permission, first_run=first_run)


#: Every command, by its words after `survey`. tests/cli/test_access_matrix.py runs each one as each
#: role and fails for a command that is not here.
COMMANDS: dict[str, Access] = {
    "login": PUBLIC,
    "logout": PUBLIC,
    # Fills only a database without staff (an admin gets "nothing to do" on any other).
    "demo": needs(Permission.MANAGE_STAFF, first_run=True),
    # The app migrates at every start anyway; the schema holds nothing personal.
    "db upgrade": PUBLIC,
    # Each browser tab runs the app, which has its own sign-in screen.
    "serve": PUBLIC,
    # Questionnaire files and the extract's layout: nothing from the database.
    "questionnaire check": PUBLIC,
    "questionnaire list": PUBLIC,
    "questionnaire show": PUBLIC,
    # Practice opens no database at all.
    "questionnaire try": PUBLIC,
    # Writes a questionnaire file, never the database.
    "questionnaire new": PUBLIC,
    "sample template": PUBLIC,
    "sample import": needs(Permission.IMPORT_SAMPLE),
    "responses import": needs(Permission.IMPORT_RESPONSES),
    "case show": needs(Permission.REVIEW_CALLS),
    "case reassign": needs(Permission.MANAGE_CASES),
    "case reopen": needs(Permission.MANAGE_CASES),
    "case close": needs(Permission.MANAGE_CASES),
    "case release-stale": needs(Permission.MANAGE_CASES),
    "rates": needs(Permission.REPORT),
    "report": needs(Permission.REPORT),
    "export": needs(Permission.EXPORT),
    "export-changes": needs(Permission.EXPORT),
    "settings show": SIGNED_IN,
    "settings set": needs(Permission.MANAGE_SETTINGS),
    # The first administrator of a new database is added without signing in (there is nobody to sign in).
    "user add": needs(Permission.MANAGE_STAFF, first_run=True),
    "user list": needs(Permission.MANAGE_STAFF),
    "audit": needs(Permission.VIEW_AUDIT),
    "purge": needs(Permission.DELETE_PERSONAL_DATA),
    "erase": needs(Permission.DELETE_PERSONAL_DATA),
}


class NotSignedIn(SurveyError):
    """No valid sign-in for this database."""


def command_name(ctx: typer.Context) -> str:
    """The command's words after `survey`, e.g. "case show"."""
    words: list[str] = []
    while ctx.parent is not None:
        words.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(words))


def access_of(command: str) -> Access:
    try:
        return COMMANDS[command]
    except KeyError:
        raise PermissionDenied(
            f"`survey {command}` is not in the command permission table: refused"
        ) from None


# ------------------------------------------------------------------ the session file


def session_file() -> Path:
    return Path(platformdirs.user_state_dir("survey", appauthor=False)) / "session.json"


def _sessions() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(session_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def saved_session(database: str) -> dict[str, str] | None:
    """{"token", "username"} kept for this database, or None."""
    entry = _sessions().get(database)
    return entry if isinstance(entry, dict) and isinstance(entry.get("token"), str) else None


def save_session(database: str, token: str, username: str) -> None:
    sessions = _sessions()
    sessions[database] = {"token": token, "username": username}
    write_private(session_file(), json.dumps(sessions, indent=2) + "\n")


def forget_session(database: str) -> None:
    sessions = _sessions()
    if sessions.pop(database, None) is not None:
        write_private(session_file(), json.dumps(sessions, indent=2) + "\n")


def sign_in_hint(username: str | None = None) -> str:
    return f"run `survey login {username or 'NAME'}` first"


def refused(actor: Actor, command: str, permission: Permission) -> PermissionDenied:
    assert actor.role is not None
    return PermissionDenied(
        f"{actor.username} ({actor.role.value}) may not {permission.value.replace('_', ' ')}:"
        f" `survey {command}` refused"
    )


def allowed(actor: Actor, access: Access) -> bool:
    return access.permission is None or can(actor, access.permission)
