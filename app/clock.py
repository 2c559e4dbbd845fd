"""The time of day, from one place, so tests and snapshots can freeze it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: The bureau's local time zone: calling hours and the dates people see are in it.
LOCAL = ZoneInfo("Europe/London")

_frozen: datetime | None = None


def utcnow() -> datetime:
    """Timezone-aware UTC now (or the frozen time)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def local_now() -> datetime:
    return utcnow().astimezone(LOCAL)


def today() -> date:
    """Today's date in the bureau's time zone."""
    return local_now().date()


def freeze(moment: datetime | None) -> None:
    """Fix the clock at `moment` (aware), or unfreeze with None. For tests and demos."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = moment.astimezone(UTC) if moment is not None else None
