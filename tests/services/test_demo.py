"""The demo bureau: realistic, synthetic, consistent with the questionnaires, loaded once."""

from __future__ import annotations

from collections.abc import Iterator

import phonenumbers
import pytest
from sqlalchemy import func, select

from app.domain.engine import Answer, Engine
from app.services.demo import load_demo
from app.services.runtime import Runtime, open_runtime
from app.store.models import Answer as AnswerRow
from app.store.models import Case, Interview


@pytest.fixture
def runtime(db_url: str) -> Iterator[Runtime]:
    rt = open_runtime(db_url)
    yield rt
    rt.close()


def test_demo_is_synthetic_routed_and_loaded_once(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        summary = load_demo(session, runtime.catalogue, cases_per_survey=40)
    assert summary.created and summary.cases == 160 and summary.interviews > 20
    with runtime.sessions.begin() as session:
        again = load_demo(session, runtime.catalogue, cases_per_survey=40)
    assert not again.created and "already loaded" in again.message
    with runtime.readers() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 160
        surveys = set(session.scalars(select(Case.survey).distinct()))
        divisions = set(session.scalars(select(Case.division).distinct()))
        statuses = set(session.scalars(select(Case.status).distinct()))
        phones = session.scalars(select(Case.phone)).all()
        interviews = session.scalars(select(Interview).where(Interview.status == "completed")).all()
        for interview in interviews:
            questionnaire = runtime.catalogue.get(interview.survey)
            engine = Engine(questionnaire)
            rows = session.scalars(select(AnswerRow).where(AnswerRow.interview_id == interview.id)).all()
            answers: dict[str, Answer] = {
                r.question_id: Answer.from_stored(questionnaire.question(r.question_id), r.code, r.value)
                for r in rows
            }
            assert engine.route(answers).complete, f"interview {interview.id} does not follow the routing"
    assert surveys == {"domestic_abuse", "rape", "hate_crime", "burglary"}
    assert len(divisions) == 3 and {"open", "closed", "pending"} <= statuses
    for phone in phones:
        parsed = phonenumbers.parse(phone, "GB")
        assert phonenumbers.is_valid_number(parsed)
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL).replace(
            " ", ""
        )
        assert national[:7] in {"0207946", "0113496", "0114496", "0116496", "0117496"}, phone


def test_demo_appointments_are_inside_calling_hours(runtime: Runtime) -> None:
    from app.services.settings import get_settings
    from app.store.models import Attempt

    with runtime.sessions.begin() as session:
        load_demo(session, runtime.catalogue, cases_per_survey=60)
    with runtime.readers() as session:
        hours = get_settings(session).calling_hours
        booked = session.scalars(
            select(Attempt.appointment_at).where(Attempt.appointment_at.is_not(None))
        ).all()
    assert booked
    assert all(hours.contains(at) for at in booked), [at for at in booked if not hours.contains(at)]


def test_staff_names_share_no_word_with_victims_names() -> None:
    """A staff name on screen never reads as a victim's (and a test for a victim's name never finds one)."""
    from app.services.demo import FIRST, LAST, STAFF

    assert not {word for _, _, name in STAFF for word in name.split()} & {*FIRST, *LAST}
