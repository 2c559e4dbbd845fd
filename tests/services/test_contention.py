"""Sixteen caller processes on one database, for a few seconds: nothing shared, lost or refused.

Each process signs in as its own caller and loops until time is up: next case, dial, then either an
outcome (retry gap 0, so cases come straight back and change hands) or an interview of a few answers
broken off; every service call in its own transaction through `Runtime.transaction`, as the app runs
it, and once a second the case maintenance that every app runs on a timer. A process notes each holding
as (case, caller, claimed, released), with wall-clock times taken *inside* the holding (after the claim
committed, before the outcome's transaction began): two such intervals overlapping on one case would
prove a double allocation. It also notes every write whose transaction returned (outcomes, answers),
every error that reached it, and every "nothing due" answer (there are always far more due cases than
callers, so any is a failure). The parent then checks all of that against the database.

The processes are forked from the test (already imported), so 16 of them start in a moment.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from app.clock import utcnow
from app.domain.dispositions import Outcome
from app.domain.engine import Answer
from app.domain.permissions import Actor, Role
from app.services import calls, cases, interviews
from app.services.catalogue import Catalogue, load_catalogue, register
from app.services.runtime import Runtime
from app.services.settings import set_setting
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import Answer as AnswerRow
from app.store.models import Attempt, Case, Interview, Staff

EXAMPLES = Path(__file__).parents[1] / "domain" / "data"
PROCESSES = 16
SECONDS = 4.0  # each process's loop; the whole test takes a few seconds more
CASES = 400  # far more than the callers can use up in that time
OUTCOMES = [Outcome.NO_ANSWER] * 6 + [Outcome.ENGAGED, Outcome.ANSWERPHONE, Outcome.REFUSAL]
SCRIPT = [
    ("identity", Answer(code=1)),
    ("safe_to_talk", Answer(code=1)),
    ("kept_informed", Answer(code=1)),
    ("contacts", Answer(value=2)),
    ("overall", Answer(code=2)),
]


def caller_process(url: str, catalogue: Catalogue, actor: Actor, seed: int, start: Any, results: Any) -> None:
    """One caller's terminal, in its own process."""
    engine = make_engine(url)
    runtime = Runtime(
        url=url,
        engine=engine,
        sessions=make_session_factory(engine),
        readers=make_session_factory(engine, read_only=True),
        catalogue=catalogue,
    )
    rng = random.Random(seed)
    report: dict[str, Any] = {
        "holdings": [],
        "outcomes": {},
        "answers": {},
        "errors": [],
        "empty": [],
        "resumed": 0,
        "maintained": 0,
    }
    runtime.transaction(lambda session: cases.case_disposition(session, 1), write=False)  # warm up
    start.wait()
    deadline = time.monotonic() + SECONDS
    next_maintenance = 0.0
    try:
        while time.monotonic() < deadline:
            if time.monotonic() >= next_maintenance:
                next_maintenance = time.monotonic() + 1.0
                report["maintained"] += runtime.transaction(
                    lambda session: cases.maintain_if_due(session, catalogue, every=timedelta(seconds=1))
                )
            one_case(runtime, catalogue, actor, rng, report)
    except Exception as exc:  # what would reach the caller's screen
        report["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        engine.dispose()
    results.put(report)


def one_case(
    runtime: Runtime, catalogue: Catalogue, actor: Actor, rng: random.Random, report: dict[str, Any]
) -> None:
    allocation = runtime.transaction(lambda session: cases.next_case(session, actor, catalogue))
    if allocation.case is None:
        report["empty"].append(allocation.reason)
        return
    claimed = time.time()
    report["resumed"] += allocation.resumed
    case_id, phone = allocation.case.case_id, allocation.case.phone or ""
    attempt_id = runtime.transaction(lambda session: cases.start_attempt(session, actor, case_id, phone))
    if rng.random() < 0.4:
        state = runtime.transaction(
            lambda session: calls.start_interview_call(session, actor, catalogue, case_id, attempt_id)
        )
        for question_id, given in SCRIPT[: rng.randint(1, len(SCRIPT))]:
            runtime.transaction(
                lambda session, q=question_id, a=given: interviews.record_answer(
                    session, actor, catalogue, state.interview_id, q, a
                )
            )
            report["answers"][(state.interview_id, question_id)] = (given.code, given.stored_value())
        ended = runtime.transaction(
            lambda session: calls.end_interview_call(
                session, actor, catalogue, state.interview_id, broken_off=True
            )
        )
        outcome = ended.outcome
    else:
        outcome = rng.choice(OUTCOMES)
        runtime.transaction(
            lambda session: cases.finish_attempt(session, actor, catalogue, attempt_id, outcome)
        )
    report["holdings"].append((case_id, actor.staff_id, claimed, time.time()))
    report["outcomes"][attempt_id] = outcome.value


def seed(url: str, catalogue: Catalogue) -> list[Actor]:
    engine = make_engine(url)
    today = utcnow().date()
    with make_session_factory(engine).begin() as session:
        register(session, catalogue)
        set_setting(session, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
        set_setting(session, Actor.system(), "retry_gap_minutes", "0")
        session.execute(
            insert(Case),
            [
                {
                    "survey": "example",
                    "crime_ref": f"CR/{i:05d}/25",
                    "victim_name": f"Victim {i}",
                    "phone": f"+442079460{i % 1000:03d}",
                    "report_date": date.fromordinal(today.toordinal() - 60),  # inside the window
                    "division": "North",
                    "district": "Riverside",
                    "status": "open",
                    "imported_at": utcnow(),
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
                created_at=utcnow(),
            )
            for i in range(PROCESSES)
        ]
        session.add_all(callers)
        session.flush()
        actors = [Actor(c.id, c.username, Role.CALLER) for c in callers]
    engine.dispose()  # no connection is carried into the forked processes
    return actors


def run_callers(url: str, capsys: pytest.CaptureFixture[str], label: str) -> None:
    catalogue = load_catalogue(EXAMPLES)
    actors = seed(url, catalogue)
    context = multiprocessing.get_context("fork")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=caller_process, args=(url, catalogue, actor, n, start, results), daemon=True)
        for n, actor in enumerate(actors)
    ]
    for process in processes:
        process.start()
    start.set()
    reports = [results.get(timeout=SECONDS + 60) for _ in processes]
    for process in processes:
        process.join(timeout=30)

    errors = [e for r in reports for e in r["errors"]]
    assert errors == []  # no lock error (nor anything else) reached a caller
    assert [e for r in reports for e in r["empty"]] == []  # "nothing due" while due cases were free
    assert sum(r["resumed"] for r in reports) == 0
    holdings = [h for r in reports for h in r["holdings"]]
    assert_no_double_allocation(holdings)
    assert_no_lost_write(url, reports)
    with capsys.disabled():
        print(
            f"\n{label}: {len(holdings)} cases taken and called by {PROCESSES} processes in {SECONDS:.0f} s,"
            f" {sum(len(r['answers']) for r in reports)} answers, maintenance run"
            f" {sum(r['maintained'] for r in reports)} times; no double allocation, no lost write, no error"
        )
    assert len(holdings) >= PROCESSES  # every caller got on with it


def assert_no_double_allocation(holdings: list[tuple[int, int, float, float]]) -> None:
    by_case: dict[int, list[tuple[int, int, float, float]]] = defaultdict(list)
    for holding in holdings:
        by_case[holding[0]].append(holding)
    for case_id, held in by_case.items():
        held.sort(key=lambda h: h[2])
        for before, after in zip(held, held[1:], strict=False):
            assert before[3] <= after[2], f"case {case_id} held by callers {before[1]} and {after[1]} at once"


def assert_no_lost_write(url: str, reports: list[dict[str, Any]]) -> None:
    outcomes = {a: o for r in reports for a, o in r["outcomes"].items()}
    answers = {k: v for r in reports for k, v in r["answers"].items()}
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        attempts = session.execute(
            select(
                Attempt.id, Attempt.case_id, Attempt.outcome, Attempt.started_at, Attempt.ended_at
            ).order_by(Attempt.case_id, Attempt.started_at, Attempt.id)
        ).all()
        stored = {
            (row.interview_id, row.question_id): (row.code, row.value)
            for row in session.execute(
                select(AnswerRow.interview_id, AnswerRow.question_id, AnswerRow.code, AnswerRow.value)
            )
        }
        counted = dict(
            session.execute(select(Case.id, Case.attempt_count).where(Case.attempt_count > 0)).all()
        )
        unfinished = session.scalar(
            select(func.count()).select_from(Interview).where(Interview.status == interviews.IN_PROGRESS)
        )
        still_held = session.scalars(select(Case.id).where(Case.allocated_to_id.is_not(None))).all()
    engine.dispose()
    assert {a.id: a.outcome for a in attempts} == outcomes
    assert stored == answers
    per_case: dict[int, int] = defaultdict(int)
    for a in attempts:
        per_case[a.case_id] += 1
    assert counted == per_case  # every attempt counted on its case: no update lost
    assert (unfinished, still_held) == (0, [])
    for before, after in zip(attempts, attempts[1:], strict=False):
        if before.case_id == after.case_id:
            assert before.ended_at <= after.started_at, f"overlapping attempts on case {after.case_id}"


def test_sixteen_callers_on_sqlite(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    run_callers(db_url, capsys, "SQLite")


@pytest.mark.postgres
def test_sixteen_callers_on_postgresql(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(pg_url)
    run_callers(pg_url, capsys, "PostgreSQL")
