"""Supervisors' and analysts' screens, driven by the keyboard against a real SQLite file."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Input, Label, Static

from app.clock import today
from app.services.runtime import Runtime, open_runtime
from app.store.models import AnswerChange, AuditEvent, SafeguardingAlert
from app.tui.app import make_app
from app.tui.screens.alerts import AlertsScreen
from app.tui.screens.call_log import CallLogScreen, CaseHistoryScreen
from app.tui.screens.dashboard import DashboardScreen
from app.tui.screens.home import HomeScreen
from app.tui.screens.interview import InterviewScreen
from app.tui.screens.review import CallersWorkScreen, InterviewDetailScreen, InterviewsScreen
from tests.tui.conftest import NOW, add_case, add_staff_accounts
from tests.tui.helpers import answer_all, settle, sign_in, wait_until


async def complete_one_interview(
    runtime: Runtime, survey: str = "burglary", alert: str | None = None
) -> None:
    add_case(runtime, survey)
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(app.screen.view.checks), "enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        assert isinstance(app.screen, InterviewScreen)
        if alert:
            await pilot.press("ctrl+g")
            await pilot.press(*alert, "enter")
            await settle(pilot)
        await answer_all(pilot)
        await settle(pilot)


@pytest.fixture(scope="module")
def completed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database where a caller has completed one burglary interview by key presses, made once per
    module (each test works on its own copy): driving the whole interview is what takes the time."""
    from app import clock
    from app.store.migrate import upgrade

    path = tmp_path_factory.mktemp("completed") / "survey.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    clock.freeze(NOW)
    try:
        rt = open_runtime(url)
        try:
            add_staff_accounts(rt)
            asyncio.run(complete_one_interview(rt))
        finally:
            rt.close()  # the last connection closed: SQLite folds the log back into the file
    finally:
        clock.freeze(None)
    return path


@pytest.fixture
def completed(completed_file: Path, tmp_path: Path, frozen_clock: datetime) -> Iterator[Runtime]:
    """A runtime on a copy of the database with one completed interview."""
    copy = tmp_path / "survey.db"
    shutil.copyfile(completed_file, copy)
    rt = open_runtime(f"sqlite:///{copy}")
    yield rt
    rt.close()


async def test_alert_raised_by_a_caller_reaches_a_supervisor(runtime: Runtime) -> None:
    await complete_one_interview(runtime, "domestic_abuse", alert="partner outside now")
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "ssuper")
        assert isinstance(app.screen, HomeScreen)
        banner = app.screen.query_one("#alerts-banner", Static)
        assert banner.display and "1 open safeguarding alert" in str(banner.render())
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AlertsScreen)
        table = app.screen.query_one("#alerts", DataTable)
        assert table.row_count == 1
        assert "partner outside now" in str(table.get_row_at(0))
        # Beneath: the whole disclosure and the case's contact details, to act on at once (audited).
        await wait_until(pilot, lambda: "Case: #" in str(app.screen.query_one("#detail", Static).render()))
        detail = str(app.screen.query_one("#detail", Static).render())
        assert "partner outside now" in detail
        assert "Jordan Testperson1" in detail and "+442079460001" in detail and "North / Northtown" in detail
        await pilot.press("enter")
        await pilot.press(*"999 called; officers attended", "enter")
        await settle(pilot)
    with runtime.sessions() as session:
        alert = session.scalar(select(SafeguardingAlert))
    assert alert is not None and alert.action_taken == "999 called; officers attended"
    assert alert.resolved_at is not None
    with runtime.sessions() as session:
        viewed = session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data_viewed")).all()
    assert any(event.entity_id == str(alert.case_id) for event in viewed)


async def test_call_log_and_case_history(completed: Runtime) -> None:
    runtime = completed
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "ssuper")
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, CallLogScreen)
        screen = app.screen
        table = screen.query_one("#log", DataTable)
        assert table.row_count == 1
        assert "completed" in str(table.get_row_at(0))
        assert screen.focused is table  # where the letter keys work
        await pilot.press("s")  # by caller: a text column starts A to Z
        await settle(pilot)
        assert (screen.sort, screen.descending) == ("caller", False)
        assert "1 call, by caller, A to Z." in str(screen.query_one("#message", Static).render())
        await pilot.press("f")  # the filters: letters now type, and the footer drops the letter keys
        assert isinstance(screen.focused, Input) and screen.focused.id == "from"
        assert not {"s", "o", "f"} & set(screen.active_bindings)
        await pilot.press("ctrl+u", *"sos", "enter")  # an impossible date: the keys only typed
        await settle(pilot)
        assert screen.sort == "caller"
        await pilot.press("escape")
        await settle(pilot)
        app.push_screen(CallLogScreen())
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseHistoryScreen)
        text = str(app.screen.query_one("#history", Static).render())
        assert "ccaller: completed" in text and "Jordan Testperson1" in text


async def test_callers_work(completed: Runtime) -> None:
    runtime = completed
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "ssuper")
        await pilot.press("w")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CallersWorkScreen)
        row = screen.query_one("#work", DataTable).get_row_at(0)
        assert row[0] == "ccaller" and row[2] == "1" and row[4] == "1"
        assert screen.focused is screen.query_one("#work", DataTable)
        await pilot.press("f", "end", "ctrl+w", "w")  # in the date box, Ctrl+W and w are the box's
        assert isinstance(screen.focused, Input) and screen.by == "day"
        await pilot.press("ctrl+u", *f"{today():%d/%m/%Y}", "enter")
        await settle(pilot)
        await pilot.press("w")  # back on the table, w switches to weeks
        await settle(pilot)
        assert screen.by == "week"


async def test_interview_review_and_correction(completed: Runtime) -> None:
    runtime = completed
    with runtime.sessions.begin() as session:  # an answer first given after going back: no old answer
        session.add(
            AnswerChange(
                interview_id=1,
                question_id="contact_method",
                new_code=1,
                kind="changed",
                changed_at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
            )
        )
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "ssuper")
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, InterviewsScreen)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InterviewDetailScreen)
        assert screen.detail is not None
        target = next(i for i, a in enumerate(screen.detail.answers) if a.question_id == "overall_sat")
        table = screen.query_one("#answers", DataTable)
        table.move_cursor(row=target)
        await pilot.press("c")
        prompt = str(app.screen.query_one(".title", Label).render())
        assert prompt.startswith("New answer to overall_sat: one option number (1 Completely satisfied;")
        assert "; 7 Completely dissatisfied" in prompt
        await pilot.press("ctrl+u", "2", "enter")
        await pilot.press(*"caller keyed 1 for very satisfied", "enter")
        await settle(pilot)
        assert next(a for a in screen.detail.answers if a.question_id == "overall_sat").code == 2
        await pilot.press("g")
        await pilot.press(*"call back about the repair", "enter")
        await settle(pilot)
        assert screen.detail.flagged
        history = str(screen.query_one("#changes", Static).render())
        assert "overall_sat: corrected 1 -> 2" in history
        assert "contact_method: changed (no answer) -> 1" in history and "None" not in history
        await pilot.press("escape", "f")  # the list, flagged only
        await settle(pilot)
        message = str(app.screen.query_one("#message", Static).render())
        assert message == "1 interview flagged for follow-up, newest first."
    with runtime.sessions() as session:
        change = session.scalar(select(AnswerChange).where(AnswerChange.kind == "corrected"))
    assert change is not None and (change.old_code, change.new_code) == (1, 2)


async def test_dashboard_for_an_analyst(completed: Runtime) -> None:
    runtime = completed
    app = make_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "aanalyst")
        assert not app.screen.query_one("#appointments", DataTable).display  # callers' only
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert screen.report is not None and screen.report.survey == "burglary"
        table = screen.query_one("#figures", DataTable)
        cells = [str(c) for c in table.get_row_at(0)]
        assert cells[0] == "Surveys" and cells[-1] == "1"
        assert "u/a" in str(table.get_row_at(1))  # earlier quarters had no surveys
        assert screen.focused is table and {"s", "v", "m", "f"} <= set(screen.active_bindings)
        await pilot.press("f")  # the dates: the letter keys type there and leave the footer
        assert isinstance(screen.focused, Input) and screen.focused.id == "from"
        assert not {"s", "v", "m"} & set(screen.active_bindings)
        before = screen.focused.value
        await pilot.press("end", "v", "ctrl+d", "backspace")  # a text box's keys stay the text box's
        assert screen.division is None and screen.focused.value == before
        await pilot.press("enter")
        await settle(pilot)
        assert screen.focused is table
        await pilot.press("s")
        await settle(pilot)
        assert screen.report.survey != "burglary"


async def test_supervisor_closes_and_reopens_a_case_with_reasons(completed: Runtime) -> None:
    runtime = completed
    add_case(runtime, "rape", n=2)
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "ssuper")
        app.push_screen(CaseHistoryScreen(2))
        await settle(pilot)
        await pilot.press("c")
        await pilot.press(*"victim moved abroad", "enter")
        await settle(pilot)
        assert "closed" in str(app.screen.query_one("#history", Static).render())
        await pilot.press("o")
        await pilot.press(*"new number found", "enter")
        await settle(pilot)
        assert "Case #2" in str(app.screen.query_one("#history", Static).render())
    with runtime.sessions() as session:
        from app.store.models import AuditEvent, Case

        case = session.get(Case, 2)
        reasons = [e.detail for e in session.query(AuditEvent).filter(AuditEvent.entity_id == "2")]
    assert case is not None and case.status == "open"
    assert any("victim moved abroad" in (d or "") for d in reasons)
    assert any("new number found" in (d or "") for d in reasons)


async def test_question_timings(completed: Runtime) -> None:
    runtime = completed
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "ssuper")
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        table = app.screen.query_one("#timings", DataTable)
        assert table.row_count > 10  # burglary, the first survey, has the one interview
        await pilot.press("s")
        await settle(pilot)
        assert table.row_count == 0  # no domestic abuse interviews
