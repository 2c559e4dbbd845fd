"""Allocation latency: `next_case` with 10,000 open cases, one caller at a time and 16 at once.

    python benchmarks/allocation.py [--cases 10000] [--allocations 400] [--processes 16] [--seconds 30]

Seeds a fresh database with open cases across the four bundled surveys (most never tried, a quarter of
them retries tried at various times of day, a few appointments), then lets one new caller after another
ask for their next case, each in its own write transaction (BEGIN to COMMIT, as the screen does; the
maintenance of windows and stale allocations is not part of it).
Prints the median and 99th percentile, and the same for a caller who asks again and gets the case they
hold. With SURVEY_BENCH_POSTGRES_URL set (e.g. postgresql://postgres@127.0.0.1:5432/postgres) it does
the same in a scratch PostgreSQL database created beside that one and dropped afterwards.

Then `--processes` callers, each a separate process, take cases and record a call on each (dial, then
an outcome, retry gap 0 so cases come straight back) as fast as they can for `--seconds`, every service
call in its own write transaction as the app runs it. Prints next_case p50/p99/max, errors that reached
a caller ("database is locked" and the like), "nothing due" answers (there are always far more due cases
than callers, so each is a failure), and double allocations (two attempts overlapping on one case).
`--processes 0` skips this part. `--think S` makes each caller take S seconds (0.5 to 1.5 x) between
actions, as people do (a real call takes minutes), instead of asking flat out.

All data is synthetic (Ofcom drama-range numbers, made-up names).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from app.clock import LOCAL, utcnow  # noqa: E402
from app.domain.dispositions import Outcome  # noqa: E402
from app.domain.permissions import Actor, Role  # noqa: E402
from app.services import cases  # noqa: E402
from app.services.cases import next_case  # noqa: E402
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue  # noqa: E402
from app.services.settings import set_setting  # noqa: E402
from app.store.db import make_engine, make_session_factory, run_transaction  # noqa: E402
from app.store.migrate import upgrade  # noqa: E402
from app.store.models import Attempt, Case, Staff  # noqa: E402
from benchmarks.scratch import scratch_postgres  # noqa: E402

POSTGRES_ENV = "SURVEY_BENCH_POSTGRES_URL"
#: A Tuesday morning inside the default calling hours; every case's window is open on it.
NOW = datetime(2025, 7, 1, 10, 30, tzinfo=LOCAL)
SURVEYS = ("domestic_abuse", "rape", "hate_crime", "burglary")


def seed(url: str, count: int, callers: int, now: datetime = NOW) -> list[Actor]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    report_date = now.astimezone(LOCAL).date() - timedelta(days=50)
    rows = []
    for i in range(count):
        row: dict[str, object] = {
            "survey": SURVEYS[i % len(SURVEYS)],
            "crime_ref": f"BENCH/{i:06d}",
            "victim_name": f"Bench Victim {i}",
            "phone": f"+442079460{i % 1000:03d}",
            "report_date": report_date - timedelta(days=i % 7),
            "division": ("North", "South", "East")[i % 3],
            "district": "Central",
            "status": "open",
            "imported_at": now - timedelta(days=20),
        }
        kind = i % 100
        if kind < 25:  # a retry, last tried some hours ago at some time of day
            tries = 1 + i % 3
            row |= {
                "attempt_count": tries,
                "attempts_morning": tries if i % 2 else 0,
                "attempts_evening": 0 if i % 2 else tries,
                "last_attempt_at": now - timedelta(hours=3 + i % 48),
                "next_call_at": now - timedelta(hours=1) if i % 4 else now + timedelta(hours=2),
            }
        elif kind < 28:  # an appointment, due or later today
            row |= {"attempt_count": 1, "next_call_at": now + timedelta(minutes=(i % 7 - 3) * 30)}
        rows.append(row)
    with factory.begin() as session:
        session.execute(insert(Case), rows)
        staff = [
            Staff(
                username=f"bench{i}",
                display_name=f"Bench {i}",
                role="caller",
                password_hash="x",
                created_at=now,
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


OUTCOMES = [Outcome.NO_ANSWER] * 6 + [Outcome.ENGAGED, Outcome.ANSWERPHONE, Outcome.REFUSAL]


def caller(
    url: str, actor: Actor, seconds: float, seed_: int, start: Any, results: Any, think: float = 0.0
) -> None:
    """One caller's terminal, in its own process: next case, dial, outcome, again, until time is up.

    As the app does: each service call in its own transaction through `run_transaction` (which tries
    again on a lock conflict), and the case maintenance on a timer, once a minute, outside allocation.
    """
    catalogue = load_catalogue(bundled_dir())
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(seed_)
    times: list[float] = []
    cpu: list[float] = []
    errors: list[str] = []
    empty: list[str] = []
    with make_session_factory(engine, read_only=True)() as session:  # warm up before the race starts
        cases.case_disposition(session, 1)
    start.wait()
    deadline = time.monotonic() + seconds
    next_maintenance = 0.0
    while time.monotonic() < deadline:
        try:
            if time.monotonic() >= next_maintenance:
                next_maintenance = time.monotonic() + cases.MAINTENANCE_EVERY.total_seconds()
                run_transaction(factory, lambda session: cases.maintain_if_due(session, catalogue))
            started, started_cpu = time.perf_counter(), time.process_time()
            allocation = run_transaction(factory, lambda session: next_case(session, actor, catalogue))
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            if allocation.case is None:
                empty.append(allocation.reason or "")
                continue
            record = allocation.case
            pause(rng, think)
            attempt_id = run_transaction(
                factory,
                lambda session, r=record: cases.start_attempt(session, actor, r.case_id, r.phone or ""),
            )
            pause(rng, think)
            run_transaction(
                factory,
                lambda session, a=attempt_id, o=rng.choice(OUTCOMES): cases.finish_attempt(
                    session, actor, catalogue, a, o
                ),
            )
            pause(rng, think)
        except Exception as exc:  # what would reach the caller's screen
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    engine.dispose()
    # The first call of a process builds and compiles its statements (tens of ms, once per app start):
    # reported on its own, not in the percentiles of the calls a caller makes all day.
    results.put({"first": times[:1], "times": times[1:], "cpu": cpu[1:], "errors": errors, "empty": empty})


def pause(rng: random.Random, think: float) -> None:
    """A caller's time between two actions (reading the screen, dialling, talking): 0.5 to 1.5 x think."""
    if think:
        time.sleep(think * rng.uniform(0.5, 1.5))


def double_allocations(url: str) -> int:
    """Attempts on one case that overlap in time: two callers held it at once."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        rows = session.execute(
            select(Attempt.case_id, Attempt.started_at, Attempt.ended_at).order_by(
                Attempt.case_id, Attempt.started_at, Attempt.id
            )
        ).all()
    engine.dispose()
    return sum(
        1
        for before, after in zip(rows, rows[1:], strict=False)
        if before.case_id == after.case_id and (before.ended_at is None or before.ended_at > after.started_at)
    )


def contended(label: str, url: str, count: int, processes: int, seconds: float, think: float = 0.0) -> None:
    upgrade(url)
    now = utcnow()
    actors = seed(url, count, processes, now)
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        set_setting(session, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
        set_setting(session, Actor.system(), "retry_gap_minutes", "0")
    engine.dispose()
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    workers = [
        context.Process(target=caller, args=(url, actor, seconds, n, start, results, think), daemon=True)
        for n, actor in enumerate(actors)
    ]
    for worker in workers:
        worker.start()
    start.set()
    reports = [results.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    times = sorted(t for r in reports for t in r["times"])
    first = statistics.median(t for r in reports for t in r["first"])
    errors = [e for r in reports for e in r["errors"]]
    empty = [e for r in reports for e in r["empty"]]
    median, p99 = percentiles(times)
    cpu_median, cpu_p99 = percentiles([c for r in reports for c in r["cpu"]])
    pace = f", {think:g} s between actions" if think else ", flat out"
    print(
        f"{label}: {processes} processes{pace} for {seconds:.0f} s, {count:,} cases:"
        f" {len(times)} next_case calls after each process's first (median {first:.0f} ms),"
        f" p50 {median:.1f} ms, p99 {p99:.1f} ms, max {times[-1]:.1f} ms (p99 / 100 ms target:"
        f" {p99 / 100:.2f}; the caller's own CPU p50 {cpu_median:.1f} ms, p99 {cpu_p99:.1f} ms); errors"
        f" reaching a caller {len(errors)}; 'nothing due' {len(empty)}; double allocations"
        f" {double_allocations(url)}"
    )
    for message in sorted(set(errors))[:5]:
        print(f"  error: {message} (x{errors.count(message)})")
    for message in sorted(set(empty))[:3]:
        print(f"  nothing due: {message} (x{empty.count(message)})")


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
    parser.add_argument("--allocations", type=int, default=400, help="0: skip the one-at-a-time part")
    parser.add_argument("--processes", type=int, default=16, help="0: skip the part with callers at once")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds each caller takes between actions (0: as fast as they can; a real call takes minutes)",
    )
    args = parser.parse_args()
    catalogue = load_catalogue(bundled_dir())

    def run(label: str, fresh_url: Callable[[], tuple[str, Callable[[], None]]]) -> None:
        if args.allocations:
            url, drop = fresh_url()
            try:
                bench(label, url, args.cases, args.allocations, catalogue)
            finally:
                drop()
        if args.processes:
            url, drop = fresh_url()
            try:
                contended(label, url, args.cases, args.processes, args.seconds, args.think)
            finally:
                drop()

    with tempfile.TemporaryDirectory() as folder:
        files = iter(range(2))
        run("SQLite", lambda: (f"sqlite:///{Path(folder) / f'bench{next(files)}.db'}", lambda: None))
    admin_url = os.environ.get(POSTGRES_ENV, "").strip()
    if admin_url:
        run("PostgreSQL", lambda: scratch_postgres(admin_url))
    else:
        print(f"PostgreSQL: skipped ({POSTGRES_ENV} is not set)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
