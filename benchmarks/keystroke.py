"""Keystroke to next question, including the database write: median and 99th percentile.

Runs the real app headless (Textual's run_test) against a SQLite file (or --db URL), signs in, takes
a case of each survey and answers every question by key presses. The time measured is from the
Enter that confirms an answer to the next question being on screen, so it includes validation,
the committed write (synchronous=FULL on SQLite) and the re-render.

It prints where the time goes, per answer (median and 99th percentile of each step): validation (the
answer read from the widgets and checked), the wait for the worker thread, the service's statements,
the commit and the hand back to the screen's thread, putting the next question's widgets in place, and
the paint that draws it (Textual's paint of the screen, wrapped: the first by which the read-out and
the answer widget have both been drawn); and, measured in the same run, the floor: a bare SQLite
insert and commit of one row (WAL, synchronous=FULL, as the app's SQLite files) in a file beside the
database.

    python benchmarks/keystroke.py [--db URL] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.widget import Widget  # noqa: E402

from app import clock  # noqa: E402
from app.domain.permissions import Actor, Role  # noqa: E402
from app.services.runtime import open_runtime  # noqa: E402
from app.services.staff import add_staff  # noqa: E402
from app.store.models import Case  # noqa: E402
from app.tui.app import make_app  # noqa: E402
from app.tui.screens.interview import InterviewScreen  # noqa: E402
from tests.tui.helpers import keys_for, settle, sign_in  # noqa: E402

SURVEYS = ["domestic_abuse", "rape", "hate_crime", "burglary"]


async def one_interview(runtime, survey: str, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    with runtime.sessions.begin() as session:
        session.add(
            Case(
                survey=survey,
                crime_ref=f"BM/{n:05d}",
                victim_name=f"Bench Person{n}",
                phone="+442079460500",
                date_of_birth=date(1980, 1, 1),
                report_date=date(2026, 10, 1),
                division="North",
                district="Northtown",
                status="open",
                imported_at=clock.utcnow(),
            )
        )
    app = make_app(runtime)
    latencies: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "bench", "benchmark password")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(app.screen.view.checks), "enter")  # type: ignore[attr-defined]
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewScreen), (
            survey,
            screen,
            [str(n.message) for n in app._notifications],
        )
        while isinstance(app.screen, InterviewScreen) and app.screen.question is not None:
            await pilot.press(*keys_for(app.screen.question))
            await settle(pilot)
        latencies = screen.latencies
        painted(screen.steps)
        STEPS.extend(screen.steps)
    return latencies


#: Every timed answer's steps (see InterviewScreen.steps), with "painted" added (see `painted`).
STEPS: list[dict[str, float]] = []
#: The widgets that show a question: what is read out, and the answer (one of the last four).
QUESTION_WIDGETS = ("readout", "options", "input", "text", "statement")
#: Each paint of the interview screen: when it was on the terminal, and the widgets it drew.
PAINTS: list[tuple[float, set[str]]] = []
_DRAWING: set[str] = set()


def watch_paints() -> None:
    """Note each paint of the interview screen and what it drew (Textual's own methods, wrapped)."""
    render_lines = Widget.render_lines
    compositor_refresh = InterviewScreen._compositor_refresh

    def noted_render_lines(self: Widget, crop):  # type: ignore[no-untyped-def]
        if self.id in QUESTION_WIDGETS:
            _DRAWING.add(self.id)
        return render_lines(self, crop)

    def noted_refresh(self: InterviewScreen) -> None:
        _DRAWING.clear()
        compositor_refresh(self)
        PAINTS.append((time.monotonic(), set(_DRAWING)))

    Widget.render_lines = noted_render_lines  # type: ignore[method-assign]
    InterviewScreen._compositor_refresh = noted_refresh  # type: ignore[method-assign]


def painted(steps: list[dict[str, float]]) -> None:
    """Add to each answer's steps when its next question was painted: the end of the first paint
    after the widgets were in place by which what is read out and the answer had both been drawn."""
    for s in steps:
        if "shown" not in s:
            continue
        drawn: set[str] = set()
        for at, ids in PAINTS:
            if at < s["shown"]:
                continue
            drawn |= ids
            if "readout" in drawn and len(drawn) > 1:
                s["painted"] = at
                break


#: (label, from step, to step) of the breakdown.
BREAKDOWN = [
    ("validation", "pressed", "validated"),
    ("to the worker + the service's statements", "validated", "stored"),
    ("commit + back to the screen", "stored", "saved"),
    ("next question's widgets", "saved", "shown"),
    ("refresh that paints it", "shown", "painted"),
    ("Enter to the next question painted", "pressed", "painted"),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def sqlite_floor(folder: str, rows: int = 300) -> list[float]:
    """Seconds for each bare insert-and-commit of one row (WAL, synchronous=FULL), as the app's files."""
    connection = sqlite3.connect(f"{folder}/floor.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, question TEXT, code INTEGER, at TEXT)")
    times = []
    for n in range(rows):
        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.execute("INSERT INTO answers (question, code, at) VALUES (?, ?, ?)", (f"q{n}", 1, "now"))
        connection.execute("COMMIT")
        times.append(time.perf_counter() - started)
    connection.close()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    clock.freeze(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    watch_paints()
    folder = tempfile.mkdtemp()
    url = args.db or f"sqlite:///{folder}/keystroke.db"
    runtime = open_runtime(url)
    with runtime.sessions.begin() as session:
        add_staff(session, Actor.system(), username="bench", role=Role.CALLER, password="benchmark password")
    all_latencies: list[float] = []
    n = 0
    for _ in range(args.rounds):
        for survey in SURVEYS:
            n += 1
            all_latencies += await one_interview(runtime, survey, n)
    runtime.close()
    ms = sorted(x * 1000 for x in all_latencies)
    p99 = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
    print(f"database: {url.split('://')[0]}")
    print(f"answers timed: {len(ms)} over {n} full interviews")
    print(
        f"keystroke to next question (incl. committed write): median {statistics.median(ms):.1f} ms,"
        f" p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"
    )
    print(f"target 100 ms: median ratio {statistics.median(ms) / 100:.2f}, p99 ratio {p99 / 100:.2f}")
    floor = [x * 1000 for x in sqlite_floor(folder)]
    floor_median, floor_p99 = statistics.median(floor), percentile(floor, 0.99)
    print(f"floor, bare SQLite insert + commit: median {floor_median:.2f} ms, p99 {floor_p99:.2f} ms")
    print(f"where the time goes ({len(STEPS)} answers with every step):")
    for label, start, end in BREAKDOWN:
        spans = [(s[end] - s[start]) * 1000 for s in STEPS if start in s and end in s]
        if spans:
            print(
                f"  {label:42} median {statistics.median(spans):6.2f} ms"
                f"   p99 {percentile(spans, 0.99):6.2f} ms"
            )
    whole = [(s["painted"] - s["pressed"]) * 1000 for s in STEPS if "painted" in s]
    if whole:
        print(
            f"ratio to the floor: median {statistics.median(whole) / floor_median:.0f}x,"
            f" p99 {percentile(whole, 0.99) / floor_p99:.0f}x; target p99 under 25 ms:"
            f" {percentile(whole, 0.99):.1f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
