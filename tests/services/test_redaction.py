"""Verbatims reach analysts only once a supervisor reviewed them, with names and places replaced."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import utcnow
from app.domain.engine import Answer as EngineAnswer
from app.domain.permissions import Actor, PermissionDenied, Role
from app.domain.text import find_spans
from app.services.catalogue import bundled_dir, load_catalogue, register
from app.services.export import export_interviews
from app.services.redaction import approve, pending_verbatims
from app.store.models import Answer, AuditEvent, Staff
from tests.services.test_report import add_interview, utc

CATALOGUE = load_catalogue(bundled_dir())
SAID = "Jane Doe from Leeds was so kind, and jane doe rang back"


def export(sessions: sessionmaker[Session], path: Path) -> dict[str, str]:
    with sessions.begin() as session:
        export_interviews(
            session, Actor.system(), CATALOGUE, "hate_crime", date(2025, 4, 1), date(2025, 6, 30), "csv", path
        )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    return row


def test_review_redact_and_export(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with session_factory.begin() as session:
        register(session, CATALOGUE)
        sam = Staff(
            username="sam", display_name="Sam", role="supervisor", password_hash="x", created_at=utcnow()
        )
        session.add(sam)
        session.flush()
        add_interview(
            session,
            CATALOGUE.get("hate_crime"),
            utc(2025, 5, 2),
            {"comments": EngineAnswer(value=SAID), "consent_quote": 1},
        )
    supervisor = Actor(sam.id, "sam", Role.SUPERVISOR)
    analyst = Actor(None, "ash", Role.ANALYST)

    unreviewed = export(session_factory, tmp_path / "before.csv")
    with session_factory() as session:
        (pending,) = pending_verbatims(session, supervisor, CATALOGUE)
        with pytest.raises(PermissionDenied):
            pending_verbatims(session, analyst, CATALOGUE)
    assert (unreviewed["comments"], unreviewed["verbatims_pending"], unreviewed["may_quote"]) == (
        "",
        "1",
        "1",
    )
    assert pending.text == SAID and pending.question_id == "comments"

    spans = find_spans(SAID, "jane doe", "name") + find_spans(SAID, "Leeds", "place")
    with session_factory.begin() as session:
        shown = approve(session, supervisor, pending.answer_id, spans)
    reviewed = export(session_factory, tmp_path / "after.csv")
    with session_factory() as session:
        assert pending_verbatims(session, supervisor, CATALOGUE) == []
        original = session.scalar(select(Answer.value).where(Answer.id == pending.answer_id))
        audited = session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "verbatim_redacted"))
    assert shown == "[name] from [place] was so kind, and [name] rang back"
    assert (reviewed["comments"], reviewed["verbatims_pending"]) == (shown, "0")
    assert original == SAID  # supervisors still have the words as said
    assert audited is not None and "Jane" not in audited

    with session_factory.begin() as session:  # a correction of the answer: the review no longer fits
        session.execute(update(Answer).where(Answer.id == pending.answer_id).values(value=SAID + " again"))
    again = export(session_factory, tmp_path / "again.csv")
    assert (again["comments"], again["verbatims_pending"]) == ("", "1")
