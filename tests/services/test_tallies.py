"""The daily tallies give exactly the counts that counting the interviews and answers gives."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.domain.permissions import Actor, Role
from app.services import review
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue
from app.services.report import Grouping, count_periods, count_periods_from_answers, report_periods
from app.services.staff import add_staff
from app.services.tallies import local_day, rebuild_tallies
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import SurveyDayCount
from tests.services.test_report import SURVEY, add_interview

START, END = date(2019, 4, 1), date(2021, 3, 31)


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue(bundled_dir())


def scatter(session: Session, catalogue: Catalogue, seed: int, n: int = 300) -> list[int]:
    """Interviews over two years (across clock changes), with random codes, gaps and statuses."""
    rng = random.Random(seed)
    questionnaire = catalogue.get(SURVEY)
    measure_questions = sorted({m.question for m in questionnaire.measures})
    ids = []
    for _ in range(n):
        ended = datetime(2019, 4, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
        answers: dict[str, int | None] = {}
        for question_id in measure_questions:
            roll = rng.random()
            if roll < 0.05:
                continue  # no answer row: not recorded
            answers[question_id] = None if roll < 0.08 else rng.choice([1, 2, 3, 4, 5, 6, 7, 98, 99])
        status = rng.choices(["completed", "partial", "stopped"], weights=[8, 1, 1])[0]
        division = rng.choice(["North", "South", None])
        ids.append(add_interview(session, questionnaire, ended, answers, status=status, division=division))
    return ids


def same_counts(session: Session, catalogue: Catalogue) -> None:
    questionnaire = catalogue.get(SURVEY)
    for by in (Grouping.QUARTER, Grouping.MONTH, Grouping.PERIOD):
        periods, previous = report_periods(START, END, by)
        for division in (None, "North", "South"):
            every = [previous, *periods]
            assert count_periods(
                session, questionnaire, every, division=division
            ) == count_periods_from_answers(session, questionnaire, every, division=division), (by, division)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tallies_equal_counting_the_answers(
    session_factory: sessionmaker[Session], catalogue: Catalogue, seed: int
) -> None:
    with session_factory.begin() as session:
        scatter(session, catalogue, seed)
    with session_factory() as session:
        same_counts(session, catalogue)
        before = session.scalars(select(SurveyDayCount.surveys)).all()
    with session_factory.begin() as session:
        rebuild_tallies(session)
    with session_factory() as session:
        assert sorted(session.scalars(select(SurveyDayCount.surveys)).all()) == sorted(before)
        same_counts(session, catalogue)


def test_corrections_move_the_tallies(session_factory: sessionmaker[Session], catalogue: Catalogue) -> None:
    with session_factory.begin() as session:
        ids = scatter(session, catalogue, 7, n=60)
        supervisor = add_staff(
            session, Actor.system(), username="sue", role=Role.SUPERVISOR, password="long password"
        )
    questionnaire = catalogue.get(SURVEY)
    rng = random.Random(7)
    corrected = 0
    for interview_id in ids:
        with session_factory() as session:
            detail = review.interview_detail(session, supervisor.actor(), catalogue, interview_id)
        if detail.status != "completed":
            continue
        coded = [
            a
            for a in detail.answers
            if a.code is not None and a.question_id in {m.question for m in questionnaire.measures}
        ]
        if not coded:
            continue
        target = rng.choice(coded)
        with session_factory.begin() as session:
            review.correct_answer(
                session,
                supervisor.actor(),
                catalogue,
                interview_id,
                target.question_id,
                str(rng.choice([o.code for o in questionnaire.question(target.question_id).options()])),
                "keyed wrongly",
            )
        corrected += 1
    assert corrected > 10
    with session_factory() as session:
        same_counts(session, catalogue)


def test_local_day_follows_the_clock_change() -> None:
    assert local_day(datetime(2020, 6, 30, 23, 30)) == date(2020, 7, 1)  # 00:30 BST
    assert local_day(datetime(2020, 12, 31, 23, 30)) == date(2020, 12, 31)  # GMT
    assert local_day("2020-06-30 22:59:59.000000") == date(2020, 6, 30)


def test_migration_fills_the_tallies_from_existing_interviews(tmp_path, catalogue: Catalogue) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            from app.store.models import Answer, Interview

            for k in range(30):
                ended = datetime(2020, 1 + k % 12, 1 + k % 28, 12, tzinfo=UTC)
                interview_id = conn.execute(
                    insert(Interview.__table__)
                    .values(
                        survey=SURVEY,
                        questionnaire_version=1,
                        questionnaire_hash="x" * 64,
                        status="completed" if k % 5 else "partial",
                        started_at=ended,
                        ended_at=ended,
                        division="North",
                        imported=False,
                        flagged_for_follow_up=False,
                    )
                    .returning(Interview.__table__.c.id)
                ).scalar_one()
                conn.execute(
                    insert(Answer.__table__).values(
                        interview_id=interview_id,
                        question_id="overall_sat",
                        code=1 + k % 7,
                        answered_at=ended,
                    )
                )
        upgrade(url)
        with make_session_factory(engine)() as session:
            same_counts(session, catalogue)
            assert sum(session.scalars(select(SurveyDayCount.surveys))) == 24
    finally:
        engine.dispose()
