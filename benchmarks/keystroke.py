"""Keystroke to next question, including the database write: median and 99th percentile.

Runs the real app headless (Textual's run_test) against a SQLite file (or --db URL), signs in, takes
a case of each survey and answers every question by key presses. The time measured is from the
Enter that confirms an answer to the next question being on screen, so it includes validation,
the committed write (synchronous=FULL on SQLite) and the re-render.

    python benchmarks/keystroke.py [--db URL] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    clock.freeze(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/keystroke.db"
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


if __name__ == "__main__":
    asyncio.run(main())
