"""Many synthetic interviews, inserted fast and always the same, for the bounded-memory export test and
benchmarks/export.py.

Interviews come from a number series with INSERT ... SELECT (no Python loop per row): mostly completed,
some partial and some stopped (not exported), some imported with an id of their own, some flagged; an
answer to every question of the questionnaire (about 0.5% not recorded, text answered by 30%), and a
supervisor's correction on every 97th. No case is linked: the export never reads cases.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from app.domain.questionnaire import (
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    Statement,
    TextQuestion,
)

SURVEY = "domestic_abuse"
FIRST_DAY = datetime(2024, 4, 1, tzinfo=UTC)
SPAN_SECONDS = 365 * 86400
#: The range that holds every generated interview.
START, END = date(2024, 4, 1), date(2025, 3, 31)


def _series(sqlite: bool) -> tuple[str, str]:
    """(WITH clause, FROM clause) giving i = 1..:n."""
    if sqlite:
        return "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n)", "seq"
    return "", "generate_series(1, :n) AS seq(i)"


def _moment(sqlite: bool, offset: int) -> str:
    epoch = int(FIRST_DAY.timestamp())
    if sqlite:
        return (
            f"strftime('%Y-%m-%d %H:%M:%S', {epoch} + (i * {SPAN_SECONDS} / :n) + {offset}, 'unixepoch')"
            " || '.000000'"
        )
    return f"to_timestamp({epoch} + (i::bigint * {SPAN_SECONDS} / :n) + {offset}) AT TIME ZONE 'UTC'"


def _choice(selector: str, values: list[str]) -> str:
    """SQL picking one of `values` (SQL literals) by `selector` modulo their number."""
    whens = " ".join(f"WHEN {k} THEN {value}" for k, value in enumerate(values))
    return f"CASE ({selector}) % {len(values)} {whens} END"


def _answer_expression(question: QuestionBase) -> tuple[str, str, str] | None:
    """(code, value, condition) of the generated answers to one question, in SQL over r = 0..999."""
    codes = [o.code for o in question.options()]
    if isinstance(question, Statement):
        return None
    if isinstance(question, MultipleChoice):
        plain = [c for c in codes if c < 98] or codes
        combos = [[plain[0]], plain[:2], plain[-1:], plain[1:3] or plain[:1]]
        return "NULL", _choice("r", [f"'{json.dumps(c)}'" for c in combos]), "r < 995"
    if isinstance(question, NumberQuestion):
        low = int(question.min or 0)
        high = int(question.max) if question.max is not None else low + 20
        return "NULL", f"CAST({low} + r % {max(1, high - low + 1)} AS VARCHAR(16))", "r < 995"
    if isinstance(question, DateQuestion):
        days = ["'2024-01-15'", "'2024-06-02'", "'2024-11-30'"]
        return "NULL", _choice("r", days), "r < 995"
    if isinstance(question, TextQuestion):
        return "NULL", "'Synthetic comment number ' || CAST(id AS VARCHAR(16))", "r < 300"
    return _choice("r", [str(c) for c in codes]), "NULL", "r < 995"


def generate_interviews(
    engine: Engine, questionnaire: Questionnaire, n: int, *, answered: Collection[str] | None = None
) -> None:
    """`n` interviews of `questionnaire` (ids 1..n) over a year from April 2024, with answers to the
    questions `answered` (None: every question)."""
    sqlite = engine.dialect.name == "sqlite"
    series, source = _series(sqlite)
    false, true = ("0", "1") if sqlite else ("false", "true")
    ended = _moment(sqlite, 900)
    with engine.begin() as conn:
        indexes: Sequence[Any] = []
        if sqlite:  # building the indexes once at the end is much faster than keeping them up
            indexes = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                " AND tbl_name IN ('interviews', 'answers', 'answer_changes')"
            ).all()
            for name, _ in indexes:
                conn.exec_driver_sql(f"DROP INDEX {name}")
        conn.execute(
            text(
                f"""{series}
                INSERT INTO interviews (id, survey, questionnaire_version, questionnaire_hash, status,
                    started_at, ended_at, division, district, imported, external_id, flagged_for_follow_up)
                SELECT i, :survey, :version, :hash,
                    CASE WHEN i % 25 = 0 THEN 'stopped' WHEN i % 31 = 0 THEN 'partial' ELSE 'completed' END,
                    CASE WHEN i % 100 = 0 THEN {ended} ELSE {_moment(sqlite, 0)} END, {ended},
                    'Division ' || (i % 3), 'District ' || (i % 11),
                    CASE WHEN i % 50 = 0 THEN {true} ELSE {false} END,
                    CASE WHEN i % 50 = 0 THEN 'H-' || CAST(i AS VARCHAR(16)) END,
                    CASE WHEN i % 40 = 0 THEN {true} ELSE {false} END
                FROM {source}"""
            ),
            {
                "n": n,
                "survey": questionnaire.id,
                "version": questionnaire.version,
                "hash": questionnaire.content_hash(),
            },
        )
        for k, question in enumerate(questionnaire.questions()):
            expression = _answer_expression(question)
            if expression is None or (answered is not None and question.id not in answered):
                continue
            code, value, condition = expression
            conn.execute(
                text(
                    f"""INSERT INTO answers (interview_id, question_id, code, value, answered_at)
                    SELECT id, :question, {code}, {value}, ended_at
                    FROM (SELECT id, ended_at, (CAST(id AS BIGINT) * 7919 + {k} * 104729) % 1000 AS r
                          FROM interviews) AS x
                    WHERE {condition}"""
                ),
                {"question": question.id},
            )
        corrected = questionnaire.measures[0].question if questionnaire.measures else None
        if corrected:
            conn.execute(
                text(
                    """INSERT INTO answer_changes
                        (interview_id, question_id, old_code, new_code, kind, reason, changed_at)
                    SELECT id, :question, 1, 2, 'corrected', 'Synthetic correction', ended_at
                    FROM interviews WHERE id % 97 = 0"""
                ),
                {"question": corrected},
            )
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
    if not sqlite:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def resident_kb(field: str) -> int:
    """A figure of this process's memory from the kernel, in KiB: "VmHWM" (its peak) or "VmRSS" (now).

    Read by the process itself: Linux carries the high-water mark of the image a child was forked from
    across exec, so a parent's getrusage of a child would report the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def main(url: str, output: str, figures_to: str) -> None:
    """Export every generated interview to `output` (the child process of the bounded-memory test).

    Writes to `figures_to` as JSON: the interviews exported, the memory in use before the export
    started (every library already loaded) and the peak, in KiB.
    """
    import pandas  # noqa: F401 - loaded before the baseline, as the .sav writer needs it
    import pyarrow.parquet  # noqa: F401
    import pyreadstat  # noqa: F401
    from openpyxl import Workbook  # noqa: F401

    from app.domain.permissions import Actor
    from app.services.catalogue import bundled_dir, load_catalogue
    from app.services.export import export_interviews, parse_format
    from app.store.db import make_engine, make_session_factory

    catalogue = load_catalogue(bundled_dir())
    engine = make_engine(url)
    try:
        before = resident_kb("VmRSS")
        with make_session_factory(engine).begin() as session:
            result = export_interviews(
                session,
                Actor.system(),
                catalogue,
                SURVEY,
                START,
                END,
                parse_format(None, Path(output)),
                output,
            )
    finally:
        engine.dispose()
    figures = {"interviews": result.interviews, "before_kb": before, "peak_kb": resident_kb("VmHWM")}
    Path(figures_to).write_text(json.dumps(figures))


if __name__ == "__main__":
    main(*sys.argv[1:])
