"""Quarterly report speed: the report service against a hand-written SQL GROUP BY, on generated interviews.

    python benchmarks/report.py [--interviews 1000000] [--keep DIR] [--skip-sqlite]

Generates N completed-or-not domestic abuse interviews spread evenly over ten financial years (Apr 2015 to
Mar 2025), with answers to the five measure questions (about 1% not recorded, some don't know / refused),
into a fresh SQLite file, bulk-loaded with INSERT ... SELECT from a recursive CTE, then builds the daily
tallies the reports sum (as interviews completing one by one would have). Then, in one run, for three
reports: the report service (`build_report`, as `survey report` calls it) and a hand-written SQL
GROUP BY over the same tables (the tallies), best of three each, with the ratio against the targets
(report < 1 s, ratio <= 1.5); and, for comparison, a hand-written GROUP BY that counts the interviews and
their answers directly, as the report did before the tallies. All three are checked to give the same
counts.

With SURVEY_BENCH_POSTGRES_URL set (e.g. postgresql://postgres@127.0.0.1:5432/postgres) it does the same
in a scratch PostgreSQL database created beside that one and dropped afterwards.

All data is synthetic.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from app.domain.permissions import Actor  # noqa: E402
from app.domain.questionnaire import DONT_KNOW, REFUSED, Questionnaire  # noqa: E402
from app.services.catalogue import bundled_dir, load_catalogue, register  # noqa: E402
from app.services.report import (  # noqa: E402
    Grouping,
    Period,
    build_report,
    report_periods,
)
from app.services.tallies import rebuild_tallies  # noqa: E402
from app.store.db import make_engine, make_session_factory  # noqa: E402
from app.store.migrate import upgrade  # noqa: E402
from benchmarks.scratch import scratch_postgres  # noqa: E402

SURVEY = "domestic_abuse"
TARGET_SECONDS = 1.0
TARGET_RATIO = 1.5
POSTGRES_ENV = "SURVEY_BENCH_POSTGRES_URL"
FIRST_DAY = datetime(2015, 4, 1, tzinfo=UTC)
SPAN_SECONDS = 10 * 365 * 86400  # ten years


# ------------------------------------------------------------------ generating


def generate(engine: Engine, questionnaire: Questionnaire, n: int) -> None:
    """INSERT ... SELECT: interviews from a number series, then one answer per measure question each."""
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        series = "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n)"
        source = "seq"
        moment = (
            "strftime('%Y-%m-%d %H:%M:%S', {epoch} + (i * {span} / :n) + {offset}, 'unixepoch') || '.000000'"
        )
    else:
        series = ""
        source = "generate_series(1, :n) AS seq(i)"
        moment = "to_timestamp({epoch} + (i::bigint * {span} / :n) + {offset}) AT TIME ZONE 'UTC'"
    epoch = int(FIRST_DAY.timestamp())
    started = moment.format(epoch=epoch, span=SPAN_SECONDS, offset=0)
    ended = moment.format(epoch=epoch, span=SPAN_SECONDS, offset=900)
    questions = [m.question for m in questionnaire.measures]
    with engine.begin() as conn:
        if sqlite:
            indexes = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                " AND tbl_name IN ('interviews', 'answers')"
            ).all()
            for name, _ in indexes:
                conn.exec_driver_sql(f"DROP INDEX {name}")
        conn.execute(
            text(
                f"""{series}
                INSERT INTO interviews (id, survey, questionnaire_version, questionnaire_hash, status,
                    started_at, ended_at, division, district, imported, flagged_for_follow_up)
                SELECT i, :survey, :version, :hash,
                    CASE WHEN i % 25 = 0 THEN 'stopped' WHEN i % 31 = 0 THEN 'partial' ELSE 'completed' END,
                    {started}, {ended},
                    'Division ' || (i % 3), 'District ' || (i % 11), {"0" if sqlite else "false"},
                    {"0" if sqlite else "false"}
                FROM {source}"""
            ),
            {
                "n": n,
                "survey": SURVEY,
                "version": questionnaire.version,
                "hash": questionnaire.content_hash(),
            },
        )
        for k, question_id in enumerate(questions):
            codes = {o.code for o in questionnaire.question(question_id).options()}
            special = DONT_KNOW if DONT_KNOW in codes else (REFUSED if REFUSED in codes else 1)
            # r in 0..999 from a multiplicative hash of the id: about 1% not recorded, 1% don't know or
            # refused where the question allows it, 80% codes 1-3, 8% code 4 (neutral), 10% 5-7.
            conn.execute(
                text(
                    f"""INSERT INTO answers (interview_id, question_id, code, answered_at)
                    SELECT id, :question,
                        CASE WHEN r < 10 THEN :special WHEN r < 810 THEN 1 + r % 3 WHEN r < 890 THEN 4
                             ELSE 5 + r % 3 END,
                        ended_at
                    FROM (SELECT id, ended_at, (CAST(id AS BIGINT) * 7919 + {k} * 104729) % 1000 AS r
                          FROM interviews) AS x
                    WHERE r < 990 OR r % 2 = 0"""
                ),
                {"question": question_id, "special": special if question_id != "overall_sat" else 2},
            )
        if sqlite:
            for _, sql in indexes:
                conn.exec_driver_sql(sql)
    if not sqlite:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


# ------------------------------------------------------------------ the hand-written query


def hand_written(
    engine: Engine, questionnaire: Questionnaire, periods: Sequence[Period], division: str | None
) -> Any:
    """Counting interviews and answers: a GROUP BY over a VALUES list of periods, one join per measure."""
    sqlite = engine.dialect.name == "sqlite"

    def instant(d: datetime) -> str:
        naive = d.astimezone(UTC).replace(tzinfo=None)
        return f"'{naive:%Y-%m-%d %H:%M:%S}.000000'" if sqlite else f"TIMESTAMP '{naive:%Y-%m-%d %H:%M:%S}'"

    values = ", ".join(
        f"({i}, {instant(p.utc_bounds()[0])}, {instant(p.utc_bounds()[1])})" for i, p in enumerate(periods)
    )
    questions = list(dict.fromkeys(m.question for m in questionnaire.measures))
    joins = "\n".join(
        f"LEFT JOIN answers a{k} ON a{k}.interview_id = i.id AND a{k}.question_id = '{q}'"
        for k, q in enumerate(questions)
    )
    sums = []
    for measure in questionnaire.measures:
        a = f"a{questions.index(measure.question)}"
        positive = ", ".join(map(str, measure.positive))
        neutral = ", ".join(map(str, measure.neutral)) or "NULL"
        sums += [
            f"SUM(CASE WHEN {a}.code IN ({positive}) THEN 1 ELSE 0 END)",
            f"SUM(CASE WHEN {a}.code IN ({neutral}) THEN 1 ELSE 0 END)",
            f"SUM(CASE WHEN {a}.code IN (98, 99) THEN 1 ELSE 0 END)",
            f"COUNT({a}.code)",
        ]
    where_division = f"AND i.division = '{division}'" if division else ""
    sql = f"""
        WITH periods(idx, lo, hi) AS (VALUES {values})
        SELECT p.idx, COUNT(i.id), {", ".join(sums)}
        FROM periods p
        JOIN interviews i ON i.survey = '{SURVEY}' AND i.status = 'completed'
            AND i.ended_at >= p.lo AND i.ended_at < p.hi {where_division}
        {joins}
        GROUP BY p.idx ORDER BY p.idx"""
    with engine.connect() as conn:
        return [tuple(int(v or 0) for v in row) for row in conn.exec_driver_sql(sql)]


def hand_written_tallies(
    engine: Engine, questionnaire: Questionnaire, periods: Sequence[Period], division: str | None
) -> Any:
    """What an analyst would write over the tallies: two GROUP BYs over a VALUES list of periods."""
    values = ", ".join(f"({i}, DATE '{p.start}', DATE '{p.end}')" for i, p in enumerate(periods))
    if engine.dialect.name == "sqlite":
        values = ", ".join(f"({i}, '{p.start}', '{p.end}')" for i, p in enumerate(periods))
    where_division = f"AND t.division = '{division}'" if division else ""
    questions = ", ".join(f"'{q}'" for q in dict.fromkeys(m.question for m in questionnaire.measures))
    surveys_sql = f"""
        WITH periods(idx, lo, hi) AS (VALUES {values})
        SELECT p.idx, SUM(t.surveys) FROM periods p
        JOIN survey_day_counts t ON t.survey = '{SURVEY}' AND t.day >= p.lo AND t.day <= p.hi {where_division}
        GROUP BY p.idx ORDER BY p.idx"""
    codes_sql = f"""
        WITH periods(idx, lo, hi) AS (VALUES {values})
        SELECT p.idx, t.question_id, t.code, SUM(t.answers) FROM periods p
        JOIN code_day_counts t ON t.survey = '{SURVEY}' AND t.question_id IN ({questions})
            AND t.day >= p.lo AND t.day <= p.hi {where_division}
        GROUP BY p.idx, t.question_id, t.code"""
    with engine.connect() as conn:
        surveys = {int(i): int(n) for i, n in conn.exec_driver_sql(surveys_sql)}
        codes: dict[tuple[int, str], dict[int, int]] = {}
        for i, question, code, n in conn.exec_driver_sql(codes_sql):
            codes.setdefault((int(i), question), {})[int(code)] = int(n)
    rows = []
    for i in sorted(surveys):
        row = [i, surveys[i]]
        for m in questionnaire.measures:
            given = codes.get((i, m.question), {})
            taken = set(m.positive) | set(m.neutral)
            row += [
                sum(given.get(c, 0) for c in m.positive),
                sum(given.get(c, 0) for c in m.neutral),
                sum(given.get(c, 0) for c in (DONT_KNOW, REFUSED) if c not in taken),
                sum(given.values()),
            ]
        rows.append(tuple(row))
    return rows


def service_counts(report: Any) -> list[tuple[int, ...]]:
    """The service's counts in the shape of the hand-written query's rows (periods with surveys)."""
    rows = []
    for i, figures in enumerate([report.previous, *report.periods]):
        if not figures.surveys:
            continue
        row = [i, figures.surveys]
        for m in figures.measures:
            row += [m.positive, m.neutral, m.dont_know_refused, m.surveys - m.not_recorded]
        rows.append(tuple(row))
    return rows


# ------------------------------------------------------------------ timing


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def bench(url: str, n: int) -> bool:
    catalogue = load_catalogue(bundled_dir())
    questionnaire = catalogue.get(SURVEY)
    upgrade(url)
    engine = make_engine(url, poolclass=NullPool) if "postgresql" in url else make_engine(url)
    try:
        started = time.perf_counter()
        generate(engine, questionnaire, n)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            register(session, catalogue)
        elapsed = time.perf_counter() - started
        print(f"generated {n:,} interviews with their measure answers in {elapsed:.1f} s")
        started = time.perf_counter()
        with sessions.begin() as session:
            rebuild_tallies(session)
        if engine.dialect.name == "postgresql":  # as autovacuum would, before anyone reports
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        print(f"built the daily tallies in {time.perf_counter() - started:.1f} s")
        readers = make_session_factory(engine, read_only=True)
        cases: list[tuple[str, date, date, str | None]] = [
            ("last five quarters (a Panel paper)", date(2023, 10, 1), date(2024, 12, 31), None),
            ("last five quarters, one Division", date(2023, 10, 1), date(2024, 12, 31), "Division 1"),
            ("all ten years by quarter (every interview)", date(2015, 4, 1), date(2025, 3, 31), None),
        ]
        ok = True
        print(f"{'report':44} {'service':>9} {'hand SQL':>9} {'ratio':>6}  {'answers':>9}  interviews")
        for name, start, end, division in cases:

            def service(start: date = start, end: date = end, division: str | None = division) -> Any:
                with readers() as session:
                    return build_report(
                        session, Actor.system(), catalogue, SURVEY, start, end, division=division
                    )

            periods, before = report_periods(start, end, Grouping.QUARTER)
            bounds = (before, *periods)

            def by_hand(bounds: tuple[Period, ...] = bounds, division: str | None = division) -> Any:
                return hand_written_tallies(engine, questionnaire, bounds, division)

            def from_answers(bounds: tuple[Period, ...] = bounds, division: str | None = division) -> Any:
                return hand_written(engine, questionnaire, bounds, division)

            service(), by_hand()  # warm the cache
            service_time, report = best_of(3, service)
            hand_time, rows = best_of(3, by_hand)
            answers_time, counted_rows = best_of(1, from_answers)
            assert service_counts(report) == rows == counted_rows, "the reports disagree"
            counted = sum(p.surveys for p in report.periods) + report.previous.surveys
            ratio = service_time / hand_time
            meets = service_time < TARGET_SECONDS and ratio <= TARGET_RATIO
            ok &= meets
            print(
                f"{name:44} {service_time:8.3f}s {hand_time:8.3f}s {ratio:6.2f}  {answers_time:8.3f}s"
                f"  {counted:>10,}  {'ok' if meets else 'MISSED'}"
            )
        print(f"targets: report < {TARGET_SECONDS:.0f} s and at most {TARGET_RATIO}x the hand-written SQL;")
        print(
            "'answers' is the same counts taken from the interviews and answers (no tallies), for comparison"
        )
        return ok
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--interviews", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Keep the SQLite database in this folder.")
    parser.add_argument("--skip-sqlite", action="store_true", help="Only PostgreSQL (needs its variable).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "report-bench.db"
        path.unlink(missing_ok=True)
        if not args.skip_sqlite:
            print(f"SQLite ({path})")
            bench(f"sqlite:///{path}", args.interviews)
    admin_url = os.environ.get(POSTGRES_ENV)
    if admin_url:
        url, drop = scratch_postgres(admin_url)
        try:
            print(f"\nPostgreSQL ({url.rsplit('/', 1)[-1]})")
            bench(url, args.interviews)
        finally:
            drop()


if __name__ == "__main__":
    main()
