"""Daily tallies of completed interviews and of the codes they gave, kept as interviews change.

The quarterly report sums these per period instead of visiting every interview and its answers, so a
report over a decade of interviews costs the same as one over a quarter. They are kept here, and only
here: when an interview completes, is imported, or has an answer corrected.

Days are local (Europe/London) dates of the interview's end, the same dates the report's periods use.
Interviews without a Division are tallied under "".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.clock import LOCAL
from app.progress import SILENT, Progress

#: Light table descriptions (not the ORM models), so the migration that creates the tallies can fill
#: them with these same functions whatever later migrations add to the tables.
INTERVIEWS = sa.table(
    "interviews",
    sa.column("id", sa.Integer),
    sa.column("survey", sa.String),
    sa.column("status", sa.String),
    sa.column("division", sa.String),
    sa.column("ended_at", sa.DateTime),
)
ANSWERS = sa.table(
    "answers",
    sa.column("interview_id", sa.Integer),
    sa.column("question_id", sa.String),
    sa.column("code", sa.Integer),
)
SURVEY_DAYS = sa.table(
    "survey_day_counts",
    sa.column("survey", sa.String),
    sa.column("day", sa.Date),
    sa.column("division", sa.String),
    sa.column("surveys", sa.Integer),
)
CODE_DAYS = sa.table(
    "code_day_counts",
    sa.column("survey", sa.String),
    sa.column("question_id", sa.String),
    sa.column("day", sa.Date),
    sa.column("division", sa.String),
    sa.column("code", sa.Integer),
    sa.column("answers", sa.Integer),
)
COMPLETED = "completed"
CHUNK = 5000

SurveyKey = tuple[str, date, str]  # survey, day, division
CodeKey = tuple[str, str, date, str, int]  # survey, question, day, division, code


def local_day(ended_at: datetime | str) -> date:
    """The bureau's calendar day of a stored end time (stored as naive UTC)."""
    if isinstance(ended_at, str):  # SQLite through Core without the model's type
        ended_at = datetime.fromisoformat(ended_at)
    if ended_at.tzinfo is None:
        ended_at = ended_at.replace(tzinfo=UTC)
    return ended_at.astimezone(LOCAL).date()


def tally_interviews(session: Session, interview_ids: Iterable[int], *, sign: int = 1) -> None:
    """Add (sign=1) or take away (sign=-1) completed interviews and all their codes."""
    _tally(session.connection(), list(interview_ids), sign)


def tally_answer_change(
    session: Session, interview_id: int, question_id: str, old_code: int | None, new_code: int | None
) -> None:
    """A completed interview's answer changed (a correction): move its code in the tallies."""
    connection = session.connection()
    row = connection.execute(
        sa.select(
            INTERVIEWS.c.survey, INTERVIEWS.c.division, INTERVIEWS.c.ended_at, INTERVIEWS.c.status
        ).where(INTERVIEWS.c.id == interview_id)
    ).one()
    if row.status != COMPLETED or row.ended_at is None or old_code == new_code:
        return
    day, division = local_day(row.ended_at), row.division or ""
    codes: Counter[CodeKey] = Counter()
    if old_code is not None:
        codes[(row.survey, question_id, day, division, old_code)] -= 1
    if new_code is not None:
        codes[(row.survey, question_id, day, division, new_code)] += 1
    _add(connection, Counter(), codes)


def rebuild_tallies_on(connection: Connection, progress: Progress = SILENT) -> None:
    """Recount everything from the interviews (after a migration, or a bulk load that bypassed tallying)."""
    connection.execute(sa.delete(CODE_DAYS))
    connection.execute(sa.delete(SURVEY_DAYS))
    ids = connection.scalars(
        sa.select(INTERVIEWS.c.id).where(INTERVIEWS.c.status == COMPLETED).order_by(INTERVIEWS.c.id)
    ).all()
    progress.start("Counting completed interviews for the reports", len(ids), "interviews")
    _tally(connection, list(ids), 1, progress)


def rebuild_tallies(session: Session, progress: Progress = SILENT) -> None:
    rebuild_tallies_on(session.connection(), progress)


def _tally(connection: Connection, ids: Sequence[int], sign: int, progress: Progress = SILENT) -> None:
    surveys: Counter[SurveyKey] = Counter()
    codes: Counter[CodeKey] = Counter()
    for first in range(0, len(ids), CHUNK):
        chunk = ids[first : first + CHUNK]
        keys: dict[int, tuple[str, date, str]] = {}
        for interview_id, survey, division, ended_at in connection.execute(
            sa.select(
                INTERVIEWS.c.id, INTERVIEWS.c.survey, INTERVIEWS.c.division, INTERVIEWS.c.ended_at
            ).where(
                INTERVIEWS.c.id.in_(chunk),
                INTERVIEWS.c.status == COMPLETED,
                INTERVIEWS.c.ended_at.is_not(None),
            )
        ):
            key = (survey, local_day(ended_at), division or "")
            keys[interview_id] = key
            surveys[key] += sign
        if not keys:
            continue
        for interview_id, question_id, code in connection.execute(
            sa.select(ANSWERS.c.interview_id, ANSWERS.c.question_id, ANSWERS.c.code).where(
                ANSWERS.c.interview_id.in_(list(keys)), ANSWERS.c.code.is_not(None)
            )
        ):
            survey, day, division = keys[interview_id]
            codes[(survey, question_id, day, division, code)] += sign
        progress.advance(len(chunk))
    _add(connection, surveys, codes)


def _add(connection: Connection, surveys: Counter[SurveyKey], codes: Counter[CodeKey]) -> None:
    """Add the counts to the tables: one INSERT ... ON CONFLICT DO UPDATE per table (SQLite, PostgreSQL)."""
    dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
    survey_rows = [
        {"survey": s, "day": d, "division": v, "surveys": n} for (s, d, v), n in surveys.items() if n
    ]
    code_rows = [
        {"survey": s, "question_id": q, "day": d, "division": v, "code": c, "answers": n}
        for (s, q, d, v, c), n in codes.items()
        if n
    ]
    if survey_rows:
        statement = dialect.insert(SURVEY_DAYS)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["survey", "day", "division"],
                set_={"surveys": SURVEY_DAYS.c.surveys + statement.excluded.surveys},
            ),
            survey_rows,
        )
    if code_rows:
        statement = dialect.insert(CODE_DAYS)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["survey", "question_id", "day", "division", "code"],
                set_={"answers": CODE_DAYS.c.answers + statement.excluded.answers},
            ),
            code_rows,
        )
