"""A generated data set of completed interviews: every kind of answer a measure can get, in every month.

Seeded, small (a few a month), and spread over Divisions and districts, so report and export tests can
exercise every measure and period without a large database.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from app.domain.statistics import months_between
from app.services.catalogue import Catalogue
from tests.services.test_report import AnswerSpec, add_interview

DIVISIONS = {"North": ("North 1", "North 2"), "South": ("South 1",), "Central": ("Central 1",)}
ABSENT = "absent"  # no answer row at all, as a gap in imported history leaves


def generate(
    session: Session,
    catalogue: Catalogue,
    survey: str,
    start: date,
    end: date,
    *,
    per_month: int = 6,
    seed: int = 11,
) -> int:
    """Completed interviews from start to end (local dates); returns how many were added."""
    rng = random.Random(seed)
    questionnaire = catalogue.get(survey)
    added = 0
    for month in months_between(start, end):
        for _ in range(rng.randint(per_month // 2, per_month * 3 // 2)):
            day = month.start + timedelta(days=rng.randrange((month.end - month.start).days + 1))
            if not start <= day <= end:
                continue
            answers: dict[str, AnswerSpec] = {}
            for measure in questionnaire.measures:
                question = questionnaire.question(measure.question)
                codes: list[object] = [o.code for o in question.options()]
                codes += [*measure.positive] * 3  # mostly satisfied, as victims usually are
                if rng.random() < 0.05:
                    codes = [None, ABSENT]  # not recorded: a blank row or none
                pick = rng.choice(codes)
                if pick != ABSENT:
                    answers[measure.question] = pick  # type: ignore[assignment]
            if "contact_method" in {q.id for q in questionnaire.questions()}:
                method = questionnaire.question("contact_method")
                answers["contact_method"] = rng.choice([o.code for o in method.options()])
            division = rng.choice(sorted(DIVISIONS))
            add_interview(
                session,
                questionnaire,
                datetime(day.year, day.month, day.day, 12, rng.randrange(60), tzinfo=UTC),
                answers,
                division=division,
                district=rng.choice(DIVISIONS[division]),
            )
            added += 1
    return added
