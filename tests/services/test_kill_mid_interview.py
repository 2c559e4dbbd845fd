"""Killed (SIGKILL) at random moments during interviews: every answer whose save had returned is there.

A child process (forked from the test, so it starts at once) takes cases and interviews them through
the services, one answer per transaction, writing "saved INTERVIEW QUESTION" to a pipe only after the
transaction has committed; it is killed at a random moment, over and over. Then every answer reported
saved must be in the SQLite file, every outcome reported recorded, and `PRAGMA integrity_check` ok.
"""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import date
from pathlib import Path

from sqlalchemy import insert, select, text

from app.clock import utcnow
from app.domain.engine import Answer
from app.domain.permissions import Actor, Role
from app.services import calls, cases, interviews
from app.services.catalogue import Catalogue, load_catalogue, register
from app.services.runtime import Runtime
from app.services.settings import set_setting
from app.store.db import make_engine, make_session_factory
from app.store.models import Answer as AnswerRow
from app.store.models import Attempt, Case, Staff

EXAMPLES = Path(__file__).parents[1] / "domain" / "data"
KILLS = 20
#: More than the child can take in 20 runs of up to 0.6 s each (a case takes it a few ms a transaction).
CASES = 5000
SCRIPT = [
    ("identity", Answer(code=1)),
    ("safe_to_talk", Answer(code=1)),
    ("kept_informed", Answer(code=2)),
    ("why_not", Answer(value="nobody rang back")),
    ("contacts", Answer(value=3)),
    ("overall", Answer(code=4)),
]


def interview_forever(url: str, catalogue: Catalogue, actor: Actor, out: int) -> None:
    """The child: interview case after case until killed, reporting each committed write."""
    engine = make_engine(url)
    runtime = Runtime(
        url, engine, make_session_factory(engine), make_session_factory(engine, read_only=True), catalogue
    )
    os.write(out, b"ready\n")
    while True:
        allocation = runtime.transaction(lambda s: cases.next_case(s, actor, catalogue))
        assert allocation.case is not None
        case = allocation.case
        attempt = case.open_attempt_id or runtime.transaction(
            lambda s, c=case: cases.start_attempt(s, actor, c.case_id, c.phone or "")
        )
        state = runtime.transaction(
            lambda s, c=case, a=attempt: calls.start_interview_call(s, actor, catalogue, c.case_id, a)
        )
        for question_id, given in SCRIPT:
            if question_id in state.answers:
                continue
            state = runtime.transaction(
                lambda s, i=state.interview_id, q=question_id, g=given: interviews.record_answer(
                    s, actor, catalogue, i, q, g
                )
            )
            os.write(out, f"saved {state.interview_id} {question_id}\n".encode())
        runtime.transaction(
            lambda s, i=state.interview_id: calls.end_interview_call(s, actor, catalogue, i, broken_off=True)
        )
        os.write(out, f"ended {attempt}\n".encode())


def seed(url: str, catalogue: Catalogue) -> Actor:
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        register(session, catalogue)
        set_setting(session, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
        session.execute(
            insert(Case),
            [
                {
                    "survey": "example",
                    "crime_ref": f"CR/{i:05d}/26",
                    "victim_name": f"Victim {i}",
                    "phone": f"+442079460{i % 1000:03d}",
                    "report_date": date.fromordinal(utcnow().date().toordinal() - 60),
                    "division": "North",
                    "district": "Riverside",
                    "status": "open",
                    "imported_at": utcnow(),
                }
                for i in range(CASES)
            ],
        )
        caller = Staff(
            username="ccaller", display_name="C Caller", role="caller", password_hash="x", created_at=utcnow()
        )
        session.add(caller)
        session.flush()
        actor = Actor(caller.id, caller.username, Role.CALLER)
    engine.dispose()  # nothing open is carried into the children
    return actor


def run_and_kill(
    url: str, catalogue: Catalogue, actor: Actor, rng: random.Random, *, after_a_save: bool = False
) -> list[str]:
    """Fork a child, let it work for a random moment after it is ready, SIGKILL it; its report.

    With `after_a_save`, the moment is counted from its first saved answer instead: a new process
    compiles its statements on first use, which on a loaded machine can take longer than the whole
    moment, and then no kill would ever fall after an answer was saved.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        try:
            interview_forever(url, catalogue, actor, write_end)
        except BaseException as exc:
            os.write(write_end, f"error {type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(1)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        first = pipe.readline()
        assert first == b"ready\n", first.decode() + pipe.read().decode()
        early: list[bytes] = []
        while after_a_save and not any(line.startswith(b"saved") for line in early):
            line = pipe.readline()  # the child writes until it is killed, or reports its error
            early.append(line)
            if not line or line.startswith(b"error"):
                break
        time.sleep(rng.uniform(0.0, 0.6))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        lines = [line.decode() for line in [*early, *pipe.read().splitlines(keepends=True)] if line.strip()]
        lines = [line.strip() for line in lines]
        assert os.WIFSIGNALED(status), f"the child stopped before it was killed: {lines[-1:]}"
        return lines


def test_every_answer_saved_before_a_kill_is_kept(db_url: str) -> None:
    catalogue = load_catalogue(EXAMPLES)
    actor = seed(db_url, catalogue)
    rng = random.Random()
    reported: list[str] = []
    for n in range(KILLS):
        reported += run_and_kill(db_url, catalogue, actor, rng, after_a_save=n % 2 == 1)

    saved = {(int(i), q) for kind, i, q in (line.split() for line in reported if line.startswith("saved"))}
    ended = {int(line.split()[1]) for line in reported if line.startswith("ended")}
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    with make_session_factory(engine)() as session:
        stored = {(i, q) for i, q in session.execute(select(AnswerRow.interview_id, AnswerRow.question_id))}
        outcomes = {a: o for a, o in session.execute(select(Attempt.id, Attempt.outcome))}
        assert session.execute(text("PRAGMA foreign_key_check")).all() == []
    engine.dispose()
    print(f"\n{KILLS} kills: {len(saved)} answers and {len(ended)} outcomes reported saved, all found")
    assert saved, "no answer was saved before the kills"
    assert saved <= stored
    assert all(outcomes[attempt] == "break_off" for attempt in ended)
