"""Bureau settings (calling hours, retry gaps, stale allocations), stored in the `settings` table.

A key that was never set has its default; `get_settings` returns every value parsed and typed. Values are
checked when set, so a stored value is always valid unless someone edits the table by hand.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import LOCAL, utcnow
from app.domain.permissions import Actor, Permission, require
from app.errors import SurveyError
from app.store.models import AuditEvent, Setting

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_INDEX = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_WINDOW = re.compile(
    r"^(?P<days>[A-Za-z]+(?:\s*-\s*[A-Za-z]+)?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)
MINUTES_PER_DAY = 24 * 60


class SettingsError(SurveyError):
    """A setting name or value that is not valid."""


@dataclass(frozen=True)
class CallingHours:
    """When callers may telephone, in the bureau's local time: at most one window per weekday.

    `windows` maps a weekday (0 = Monday) to (start, end) in minutes after midnight, end excluded;
    an end of 1440 means midnight at the end of the day ("24:00").
    """

    windows: tuple[tuple[int, int, int], ...]  # (weekday, start minute, end minute), sorted by weekday

    @classmethod
    def parse(cls, text: str) -> CallingHours:
        """Read "Mon-Fri 09:00-20:00, Sat 10:00-16:00" (entries separated by "," or ";")."""
        windows: dict[int, tuple[int, int]] = {}
        entries = [part.strip() for part in re.split(r"[,;]", text) if part.strip()]
        if not entries:
            raise SettingsError("nothing given; write e.g. 'Mon-Fri 09:00-20:00, Sat 10:00-16:00'")
        for entry in entries:
            match = _WINDOW.match(entry)
            if match is None:
                raise SettingsError(
                    f"cannot read '{entry}'; write DAYS HH:MM-HH:MM (e.g. Mon-Fri 09:00-20:00)"
                )
            days = _days(match.group("days"))
            start, end = _minutes(match.group("start")), _minutes(match.group("end"))
            if start >= end:
                raise SettingsError(f"'{entry}' ends before it starts")
            for day in days:
                if day in windows:
                    raise SettingsError(f"{DAY_NAMES[day]} is given twice")
                windows[day] = (start, end)
        return cls(tuple((day, *windows[day]) for day in sorted(windows)))

    def contains(self, moment: datetime) -> bool:
        """True when `moment` (aware) falls inside the calling hours, read in local time."""
        local = moment.astimezone(LOCAL)
        minute = local.hour * 60 + local.minute
        return any(day == local.weekday() and start <= minute < end for day, start, end in self.windows)

    def describe(self) -> str:
        """The canonical text, consecutive days with the same hours grouped: "Mon-Fri 09:00-20:00, ..."."""
        groups: list[list[tuple[int, int, int]]] = []
        for window in self.windows:
            last = groups[-1][-1] if groups else None
            if last is not None and last[0] == window[0] - 1 and last[1:] == window[1:]:
                groups[-1].append(window)
            else:
                groups.append([window])
        parts = []
        for group in groups:
            first, final = group[0], group[-1]
            days = DAY_NAMES[first[0]] if first is final else f"{DAY_NAMES[first[0]]}-{DAY_NAMES[final[0]]}"
            parts.append(f"{days} {_clock(first[1])}-{_clock(first[2])}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.describe()


def _days(text: str) -> list[int]:
    names = [part.strip().lower() for part in text.split("-")]
    try:
        indexes = [_DAY_INDEX[name] for name in names]
    except KeyError as exc:
        raise SettingsError(f"unknown day '{exc.args[0]}'; use {', '.join(DAY_NAMES)}") from None
    if len(indexes) == 1:
        return indexes
    first, last = indexes
    if last < first:
        raise SettingsError(f"the days '{text}' run backwards")
    return list(range(first, last + 1))


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise SettingsError(f"'{text}' is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class BureauSettings:
    """Every setting, typed. Build it with `get_settings`."""

    calling_hours: CallingHours
    #: A case held by a caller with no activity for this long returns to the pool.
    stale_allocation_hours: int
    #: The least time between two attempts on a case after no answer, engaged, answerphone and the like.
    retry_gap_minutes: int
    #: The least time before calling again after "not safe to talk" (domestic abuse safety check).
    unsafe_retry_gap_hours: int
    #: How long a due appointment waits for the caller who made it before any caller may take it.
    appointment_grace_minutes: int
    #: Minutes without a key press before the app locks its screen, and without a command before a
    #: command-line sign-in ends.
    idle_minutes: int
    #: Days after a case closes before `survey purge` deletes its personal data.
    retention_days: int


@dataclass(frozen=True)
class _Spec:
    default: str
    description: str
    parse: Callable[[str], Any]


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise SettingsError(f"'{text}' is not a whole number") from None
        if not low <= value <= high:
            raise SettingsError(f"{value} is out of range ({low} to {high})")
        return value

    return parse


#: Every setting; the keys are the field names of BureauSettings.
SPECS: dict[str, _Spec] = {
    "calling_hours": _Spec(
        "Mon-Fri 09:00-20:00, Sat 10:00-16:00",
        "when cases are offered and calls may be made (local time)",
        CallingHours.parse,
    ),
    "stale_allocation_hours": _Spec(
        "24", "hours without activity before a held case returns to the pool", _whole(1, 24 * 14)
    ),
    "retry_gap_minutes": _Spec(
        "120",
        "minutes before a case is offered again after no answer, engaged and the like",
        _whole(0, 10080),
    ),
    "unsafe_retry_gap_hours": _Spec(
        "24", "hours before a case is offered again after 'not safe to talk'", _whole(0, 24 * 14)
    ),
    "appointment_grace_minutes": _Spec(
        "15", "minutes a due appointment waits for the caller who made it", _whole(0, 24 * 60)
    ),
    "idle_minutes": _Spec(
        "15",
        "minutes without use before the app locks its screen and a command-line sign-in ends",
        _whole(1, 24 * 60),
    ),
    "retention_days": _Spec(
        "90", "days after a case closes before `survey purge` deletes its personal data", _whole(1, 3650)
    ),
}


@dataclass(frozen=True)
class SettingRow:
    """One setting as `survey settings show` lists it."""

    key: str
    value: str
    default: str
    is_default: bool
    description: str


def _stored(session: Session) -> dict[str, str]:
    return {row.key: row.value for row in session.execute(select(Setting.key, Setting.value))}


def _parse(key: str, text: str) -> Any:
    try:
        return SPECS[key].parse(text)
    except SettingsError as exc:
        raise SettingsError(f"setting {key}: {exc}") from None


def get_settings(session: Session) -> BureauSettings:
    """Every setting, from the table or its default (read in the caller's transaction, every time)."""
    return _settings_from(frozenset(_stored(session).items()))


@functools.lru_cache(maxsize=8)
def _settings_from(stored: frozenset[tuple[str, str]]) -> BureauSettings:
    # Parsing is the dear part (calling hours), and the stored text rarely changes: the same text
    # gives the same (frozen) settings.
    given = dict(stored)
    return BureauSettings(**{key: _parse(key, given.get(key, spec.default)) for key, spec in SPECS.items()})


def list_settings(session: Session) -> list[SettingRow]:
    stored = _stored(session)
    rows = []
    for key, spec in SPECS.items():
        value = stored.get(key, spec.default)
        rows.append(SettingRow(key, _format(key, value), spec.default, key not in stored, spec.description))
    return rows


def _format(key: str, text: str) -> str:
    value = _parse(key, text)
    return value.describe() if isinstance(value, CallingHours) else str(value)


def set_setting(session: Session, actor: Actor, key: str, value: str | int | CallingHours) -> str:
    """Check and store one setting; returns the value as stored (canonical text). Needs MANAGE_SETTINGS."""
    require(actor, Permission.MANAGE_SETTINGS)
    if key not in SPECS:
        raise SettingsError(f"unknown setting '{key}'; known: {', '.join(SPECS)}")
    text = value.describe() if isinstance(value, CallingHours) else str(value)
    canonical = _format(key, text)
    row = session.get(Setting, key)
    old = row.value if row is not None else None
    if row is None:
        session.add(Setting(key=key, value=canonical))
    else:
        row.value = canonical
    session.add(
        AuditEvent(
            at=utcnow(),
            staff_id=actor.staff_id,
            action="setting_changed",
            entity="setting",
            entity_id=key,
            detail=json.dumps({"old": old, "new": canonical}),
        )
    )
    return canonical
