"""Erased and purged cases stay out: their fingerprints, and the import's check against them.

A case is (survey, crime_ref, victim_name). Erasure deletes it and purge empties its reference and
name, so without a trace an overlapping extract would import it again, and a victim who asked to be
erased would be called. What is kept is a SHA-256 of the key, spaces and case folded so that a later
extract's spelling of the same key matches; nothing else about the case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.store.models import WithdrawnCase

ERASED = "erased"
PURGED = "purged"
#: Fingerprints looked up per query.
_CHUNK = 500


def case_fingerprint(survey: str, crime_ref: str, victim_name: str) -> str:
    """The SHA-256 (hex) of a case's key, with spaces and letter case made uniform."""
    parts = (" ".join(str(part).split()).casefold() for part in (survey, crime_ref, victim_name))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def withdraw(
    session: Session, keys: Iterable[tuple[str, str, str | None]], reason: str, now: datetime
) -> int:
    """Record the fingerprints of these case keys (one already recorded is left as it is)."""
    fresh: dict[str, str] = {}
    for survey, crime_ref, victim_name in keys:
        if victim_name is None:  # an earlier purge left nothing to fingerprint
            continue
        fresh.setdefault(case_fingerprint(survey, crime_ref, victim_name), survey)
    known = _known(session, fresh)
    for fingerprint, survey in fresh.items():
        if fingerprint not in known:
            session.add(
                WithdrawnCase(fingerprint=fingerprint, survey=survey, reason=reason, withdrawn_at=now)
            )
    session.flush()
    return len(fresh) - len(known)


def withdrawn_keys(session: Session, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Those of these case keys that belong to an erased or purged case."""
    by_fingerprint = {case_fingerprint(*key): key for key in keys}
    return {by_fingerprint[fingerprint] for fingerprint in _known(session, by_fingerprint)}


def _known(session: Session, fingerprints: Iterable[str]) -> set[str]:
    ordered = sorted(fingerprints)
    found: set[str] = set()
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        found.update(
            session.scalars(select(WithdrawnCase.fingerprint).where(WithdrawnCase.fingerprint.in_(chunk)))
        )
    return found
