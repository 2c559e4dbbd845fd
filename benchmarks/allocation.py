"""Allocation latency: `next_case` with 10,000 open cases, as a caller's screen calls it.

    python benchmarks/allocation.py [--cases 10000] [--allocations 400]

Seeds a fresh database with open cases across the four bundled surveys (most never tried, a quarter of
them retries tried at various times of day, a few appointments), then lets one new caller after another
ask for their next case, each in its own write transaction (BEGIN to COMMIT, as the screen does, with
the refresh of fieldwork windows and the release of stale allocations that every allocation runs).
Prints the median and 99th percentile, and the same for a caller who asks again and gets the case they
hold. With SURVEY_BENCH_POSTGRES_URL set (e.g. postgresql://postgres@127.0.0.1:5432/postgres) it does
the same in a scratch PostgreSQL database created beside that one and dropped afterwards.

All data is synthetic (Ofcom drama-range numbers, made-up names).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from app.clock import LOCAL  # noqa: E402
from app.domain.permissions import Actor, Role  # noqa: E402
from app.services.cases import next_case  # noqa: E402
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue  # noqa: E402
from app.store.db import make_engine, make_session_factory  # noqa: E402
from app.store.migrate import upgrade  # noqa: E402
from app.store.models import Case, Staff  # noqa: E402
from benchmarks.scratch import scratch_postgres  # noqa: E402

POSTGRES_ENV = "SURVEY_BENCH_POSTGRES_URL"
#: A Tuesday morning inside the default calling hours; every case's window is open on it.
NOW = datetime(2025, 7, 1, 10, 30, tzinfo=LOCAL)
SURVEYS = ("domestic_abuse", "rape", "hate_crime", "burglary")


def seed(url: str, cases: int, callers: int) -> list[Actor]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    report_date = NOW.date() - timedelta(days=50)
    rows = []
    for i in range(cases):
        row: dict[str, object] = {
            "survey": SURVEYS[i % len(SURVEYS)],
            "crime_ref": f"BENCH/{i:06d}",
            "victim_name": f"Bench Victim {i}",
            "phone": f"+442079460{i % 1000:03d}",
            "report_date": report_date - timedelta(days=i % 7),
            "division": ("North", "South", "East")[i % 3],
            "district": "Central",
            "status": "open",
            "imported_at": NOW - timedelta(days=20),
        }
        kind = i % 100
        if kind < 25:  # a retry, last tried some hours ago at some time of day
            tries = 1 + i % 3
            row |= {
                "attempt_count": tries,
                "attempts_morning": tries if i % 2 else 0,
                "attempts_evening": 0 if i % 2 else tries,
                "last_attempt_at": NOW - timedelta(hours=3 + i % 48),
                "next_call_at": NOW - timedelta(hours=1) if i % 4 else NOW + timedelta(hours=2),
            }
        elif kind < 28:  # an appointment, due or later today
            row |= {"attempt_count": 1, "next_call_at": NOW + timedelta(minutes=(i % 7 - 3) * 30)}
        rows.append(row)
    with factory.begin() as session:
        session.execute(insert(Case), rows)
        staff = [
            Staff(
                username=f"bench{i}",
                display_name=f"Bench {i}",
                role="caller",
                password_hash="x",
                created_at=NOW,
            )
            for i in range(callers)
        ]
        session.add_all(staff)
        session.flush()
        actors = [Actor(s.id, s.username, Role.CALLER) for s in staff]
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load; without statistics the planner guesses badly.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE cases")
    engine.dispose()
    return actors


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def bench(label: str, url: str, cases: int, allocations: int, catalogue: Catalogue) -> None:
    upgrade(url)
    actors = seed(url, cases, allocations)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    fresh: list[float] = []
    again: list[float] = []
    empty = 0
    for n, actor in enumerate(actors):
        at = NOW + timedelta(seconds=n)
        for samples in (fresh, again):
            started = time.perf_counter()
            with factory.begin() as session:
                allocation = next_case(session, actor, catalogue, now=at)
            samples.append((time.perf_counter() - started) * 1000)
            empty += allocation.case is None
    engine.dispose()
    median, p99 = percentiles(fresh)
    held_median, held_p99 = percentiles(again)
    print(
        f"{label}: {cases:,} open cases, {allocations} allocations: median {median:.1f} ms, p99 {p99:.1f} ms"
        f" (a case already held: median {held_median:.1f} ms, p99 {held_p99:.1f} ms)"
        + (f"; {empty} found nothing" if empty else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--allocations", type=int, default=400)
    args = parser.parse_args()
    catalogue = load_catalogue(bundled_dir())
    with tempfile.TemporaryDirectory() as folder:
        bench("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", args.cases, args.allocations, catalogue)
    admin_url = os.environ.get(POSTGRES_ENV, "").strip()
    if admin_url:
        url, drop = scratch_postgres(admin_url)
        try:
            bench("PostgreSQL", url, args.cases, args.allocations, catalogue)
        finally:
            drop()
    else:
        print(f"PostgreSQL: skipped ({POSTGRES_ENV} is not set)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
