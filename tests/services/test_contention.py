"""Several caller processes on one database: no case is ever held by two callers at once.

Each process (started with "spawn", as on Windows and macOS) signs in as its own caller and loops:
next case, dial, record an outcome (retry gap 0, so cases come straight back and change hands).
It notes each holding as (case, caller, claimed, released) with wall-clock times taken *inside* the
holding: after the claim committed and before the outcome's transaction began. Any true holding
contains that interval, so two noted intervals that overlap on one case would prove a double
allocation. The attempts table is checked the same way, with the times the service recorded.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.domain.dispositions import Outcome
from app.domain.permissions import Actor, Role
from app.services.settings import set_setting
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import Attempt, Case, Staff
from tests.services.test_allocation import NOW

PROCESSES = 4
ROUNDS = 45  # allocations per process: 180 in all, more than the 140 cases, so cases change hands
CASES = 140
WAIT_MS = 5.0  # a transaction that waited longer than this to begin counts as a lock wait
OUTCOMES = [Outcome.NO_ANSWER] * 6 + [Outcome.ENGAGED, Outcome.COMPLETED, Outcome.REFUSAL]


def caller_process(url: str, staff_id: int, username: str, seed: int, start: Any, results: Any) -> None:
    """One caller's terminal, in its own process."""
    from app.services import cases
    from app.services.catalogue import bundled_dir, load_catalogue

    engine = make_engine(url)
    factory = make_session_factory(engine)
    catalogue = load_catalogue(bundled_dir())
    actor = Actor(staff_id, username, Role.CALLER)
    rng = random.Random(seed)
    holdings: list[tuple[int, int, float, float]] = []
    lost = empty = 0
    waits: list[float] = []
    with factory() as session:  # warm up (mappers, first connection) before the race starts
        cases.case_disposition(session, 1)
    start.wait()

    def begin(session: Session) -> None:
        before = time.perf_counter()
        session.connection()  # BEGIN (IMMEDIATE on SQLite): where a writer queues for the lock
        waits.append((time.perf_counter() - before) * 1000)

    try:
        for _ in range(ROUNDS):
            with factory.begin() as session:
                begin(session)
                allocation = cases.next_case(session, actor, catalogue)
            claimed = time.time()
            lost += allocation.contended
            if allocation.case is None:
                empty += 1
                continue
            record = allocation.case
            with factory.begin() as session:
                begin(session)
                attempt_id = cases.start_attempt(session, actor, record.case_id, record.phone or "")
            outcome = rng.choice(OUTCOMES)
            released = time.time()
            with factory.begin() as session:
                begin(session)
                cases.finish_attempt(session, actor, catalogue, attempt_id, outcome)
            holdings.append((record.case_id, staff_id, claimed, released))
    except BaseException as exc:  # reported by the parent
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        engine.dispose()
    results.put({"holdings": holdings, "lost": lost, "waits": waits, "empty": empty})


def seed(factory: sessionmaker[Session]) -> list[tuple[int, str]]:
    with factory.begin() as session:
        set_setting(session, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
        set_setting(session, Actor.system(), "retry_gap_minutes", "0")
        session.execute(
            insert(Case),
            [
                {
                    "survey": "hate_crime",
                    "crime_ref": f"CR/{i:05d}/25",
                    "victim_name": f"Victim {i}",
                    "phone": f"+442079460{i % 1000:03d}",
                    # Inside the window whatever today's date: refresh_cases must not close them.
                    "report_date": datetime.now().date().fromordinal(datetime.now().date().toordinal() - 60),
                    "division": "North",
                    "district": "Riverside",
                    "status": "open",
                    "imported_at": NOW,
                }
                for i in range(CASES)
            ],
        )
        callers = [
            Staff(
                username=f"caller{i}",
                display_name=f"Caller {i}",
                role="caller",
                password_hash="x",
                created_at=NOW,
            )
            for i in range(PROCESSES)
        ]
        session.add_all(callers)
        session.flush()
        return [(c.id, c.username) for c in callers]


def run_callers(url: str, capsys: pytest.CaptureFixture[str], label: str) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    callers = seed(factory)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=caller_process, args=(url, staff_id, name, n, start, results), daemon=True)
        for n, (staff_id, name) in enumerate(callers)
    ]
    for process in processes:
        process.start()
    began = time.monotonic()
    start.set()
    reports = [results.get(timeout=120) for _ in processes]
    elapsed = time.monotonic() - began
    for process in processes:
        process.join(timeout=30)
    errors = [r["error"] for r in reports if "error" in r]
    assert errors == []

    holdings = [h for r in reports for h in r["holdings"]]
    by_case: dict[int, list[tuple[int, int, float, float]]] = defaultdict(list)
    for holding in holdings:
        by_case[holding[0]].append(holding)
    for case_id, held in by_case.items():
        held.sort(key=lambda h: h[2])
        for before, after in zip(held, held[1:], strict=False):
            assert before[3] <= after[2], f"case {case_id} held by callers {before[1]} and {after[1]} at once"

    with factory() as session:
        attempts = session.execute(
            select(Attempt.case_id, Attempt.caller_id, Attempt.started_at, Attempt.ended_at).order_by(
                Attempt.case_id, Attempt.started_at, Attempt.id
            )
        ).all()
        still_held = session.scalars(select(Case.id).where(Case.allocated_to_id.is_not(None))).all()
    engine.dispose()
    assert len(attempts) == len(holdings)
    assert all(a.ended_at is not None for a in attempts)
    for before, after in zip(attempts, attempts[1:], strict=False):
        if before.case_id == after.case_id:
            assert before.ended_at <= after.started_at, f"overlapping attempts on case {after.case_id}"
    assert still_held == []
    changed_hands = sum(1 for held in by_case.values() if len({h[1] for h in held}) > 1)
    lost = sum(r["lost"] for r in reports)
    waits = sorted(w for r in reports for w in r["waits"])
    waited = sum(1 for w in waits if w > WAIT_MS)
    median, p99 = statistics.median(waits), waits[int(0.99 * (len(waits) - 1))]
    with capsys.disabled():
        print(
            f"\n{label}: {len(holdings)} allocations by {PROCESSES} processes in {elapsed:.1f} s over"
            f" {len(by_case)} cases ({changed_hands} held by more than one caller in turn); no double"
            f" allocation; {lost} candidates lost to another caller (taken or locked); {waited} of"
            f" {len(waits)} transactions waited >{WAIT_MS:.0f} ms to begin (median {median:.1f} ms,"
            f" p99 {p99:.0f} ms, longest {waits[-1]:.0f} ms)"
        )
    assert len(holdings) == PROCESSES * ROUNDS  # nobody ran dry: every round got a case


def test_no_double_allocation_on_sqlite(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    run_callers(db_url, capsys, "SQLite")


@pytest.mark.postgres
def test_no_double_allocation_on_postgresql(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(pg_url)
    run_callers(pg_url, capsys, "PostgreSQL")
