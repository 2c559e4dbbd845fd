"""The app served by `survey serve`, used in a real headless Chromium as callers use it.

Screenshots of every step are saved under test-artifacts/browser/ for a person to look at.
"""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.services.runtime import open_runtime
from app.store.models import Answer, Attempt, Case, Interview, Staff
from app.tui import keys
from app.web.server import PAGE_TITLE
from tests.web.conftest import DEMO_PASSWORD, Bureau, playwright_name, start_server, stop_server

if TYPE_CHECKING:
    from tests.web.terminal_page import TerminalPage

GRACE = 3


@pytest.fixture(scope="module")
def bureau(browser, demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bureau]:  # type: ignore[no-untyped-def]
    served = start_server(
        tmp_path_factory.mktemp("serve"), demo_db, "--max-sessions", "2", "--grace", str(GRACE)
    )
    yield served
    assert stop_server(served) == 0


def places_in_use(bureau: Bureau) -> int:
    counts = [re.search(r"(\d+) of \d+ places in use", line) for line in bureau.log_lines()]
    found = [int(match.group(1)) for match in counts if match]
    return found[-1] if found else 0


def wait_for_places(bureau: Bureau, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while places_in_use(bureau) != n:
        assert time.monotonic() < deadline, (
            f"{places_in_use(bureau)} sessions, not {n}:\n{bureau.log.read_text()}"
        )
        time.sleep(0.1)


def take_next_case(tab: TerminalPage) -> dict[str, str]:
    """From the home screen: take the next case; returns what its screening screen shows of it."""
    tab.wait_for("Waiting to be called", 60)
    tab.press("n")
    text = tab.wait_for(r"Victim: .+Crime ref", 60)
    match = re.search(r"Case #(\d+).*\n.*\nVictim: (.+?)\s{2,}Crime ref: (\S+)", text.replace("\n ", "\n"))
    assert match, text
    return {"case": match.group(1), "name": match.group(2), "crime_ref": match.group(3)}


def pass_screening(tab: TerminalPage) -> None:
    text = tab.wait_for("Confirm from the case notes")
    checks = len(re.findall(r"(?m)^\s*(?:▶\s*)?\d+\. \[", text))
    for answered in range(1, checks + 1):
        tab.press("n")
        tab.wait_for(rf"(\[ N \][\s\S]*){{{answered}}}")
    tab.wait_for("All checked")
    tab.press("Enter")


def answer_question(tab: TerminalPage, step: str) -> str:
    """Answer the question on the screen with a plausible answer; returns the screen it was on."""
    text = tab.wait_for("READ OUT")
    if re.search(r"(?m)^\s*(?:▶\s*)?1\s+[○●]", text):
        tab.press("1")
        tab.wait_for(r"(?m)^\s*(?:▶\s*)?1\s+●")
    else:
        tab.type("Thank you")
    tab.shot(step)
    tab.press("Enter")
    return text


def test_caller_interviews_and_quick_exits_in_the_browser(bureau: Bureau, new_tab) -> None:  # type: ignore[no-untyped-def]
    wait_for_places(bureau, 0)
    tab: TerminalPage = new_tab("caller")
    tab.open(bureau.url)
    assert tab.page.title() == PAGE_TITLE
    tab.shot("sign-in")
    tab.sign_in("caller1", DEMO_PASSWORD)
    tab.wait_for("Waiting to be called", 60)
    tab.shot("home")

    case = take_next_case(tab)
    tab.shot("screening")
    pass_screening(tab)
    text = tab.wait_for("DIAL", 30)
    phone = re.search(r"Main: ([0-9 ]+\d)", text)
    assert phone, text
    tab.shot("dial")
    tab.press("d")
    tab.wait_for("Call in progress")
    tab.press("1")
    tab.wait_for("● Speaking to someone")
    tab.press("Enter")
    first = answer_question(tab, "question-1")
    tab.wait_for(next_question_after(first))
    second = answer_question(tab, "question-2")
    tab.wait_for(next_question_after(second))  # the screen moves on once the answer is stored
    tab.shot("question-3")
    tab.press(playwright_name(keys.key_for("app", "quick_exit").key))
    identifying = [*case["name"].split(), case["crime_ref"], phone.group(1)]
    tab.wait_for("Quick exit|Call ended", 30)
    after = tab.wait_for("Waiting to be called|Appointments", 30)
    tab.shot("after-quick-exit")

    typed = tab.page.eval_on_selector(".xterm-helper-textarea", "e => e.value")
    for word in identifying:
        assert word not in after, f"{word!r} is still on the screen:\n{after}"
        assert word not in tab.page.inner_text("body")
        assert word not in tab.page.title()
        assert word not in typed
    # the page keeps no scroll-back: nothing scrolled off the terminal can be scrolled back into view
    viewport = tab.page.eval_on_selector(".xterm-viewport", "e => [e.scrollHeight, e.clientHeight]")
    assert viewport[0] <= viewport[1]
    assert tab.page.title() == PAGE_TITLE
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(bureau.url))
    assert tab.requests and all(url.startswith(origin) for url in tab.requests), tab.requests

    server_log = bureau.log.read_text()
    assert "session" in server_log
    for word in [*identifying, "caller1", case["name"]]:
        assert word not in server_log

    runtime = open_runtime(bureau.db_url, migrate=False, register=False)
    try:
        with runtime.sessions() as session:
            interview = session.scalar(select(Interview).where(Interview.case_id == int(case["case"])))
            assert interview is not None and interview.status == "partial"
            answers = session.scalars(select(Answer).where(Answer.interview_id == interview.id)).all()
            attempt = session.scalar(
                select(Attempt).where(Attempt.case_id == int(case["case"])).order_by(Attempt.id.desc())
            )
    finally:
        runtime.close()
    assert len(answers) == 2
    # two answers reach no further than the identity and safety checks: recorded as unsafe to talk
    assert attempt is not None and attempt.outcome in ("unsafe_to_talk", "break_off")


def next_question_after(text: str) -> str:
    """A pattern that matches once the screen's question is no longer the one in `text`."""
    question = re.search(r"READ OUT[^\n]*\n([^\n]+)", text)
    return r"READ OUT(?![\s\S]*" + re.escape(question.group(1).strip()) + ")" if question else "READ OUT"


def test_two_callers_at_once_get_different_cases_and_a_third_page_is_told_the_server_is_full(
    bureau: Bureau, new_tab
) -> None:  # type: ignore[no-untyped-def]
    wait_for_places(bureau, 0)
    tabs = [new_tab("caller2"), new_tab("caller3")]
    for tab in tabs:
        tab.goto(bureau.url)
    for tab in tabs:
        tab.ready()
    for tab, username in zip(tabs, ("caller2", "caller3"), strict=True):
        tab.sign_in(username, DEMO_PASSWORD)
    for tab in tabs:
        tab.wait_for("Waiting to be called", 60)
    for tab in tabs:
        tab.press("n")
    cases = [take_next_case_shown(tab) for tab in tabs]
    for tab in tabs:
        tab.shot("took-a-case")
    assert cases[0] != cases[1]

    runtime = open_runtime(bureau.db_url, migrate=False, register=False)
    try:
        with runtime.sessions() as session:
            holders = {
                case_id: session.scalar(
                    select(Staff.username)
                    .join(Case, Case.allocated_to_id == Staff.id)
                    .where(Case.id == case_id)
                )
                for case_id in cases
            }
    finally:
        runtime.close()
    assert holders == {cases[0]: "caller2", cases[1]: "caller3"}

    # both places are taken: a third page is told so, plainly, and starts no app
    wait_for_places(bureau, 2)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bureau.url, timeout=10)
    assert refused.value.code == 503
    assert "All 2 places on this server are in use" in refused.value.read().decode()
    third = new_tab("third")
    third.page.goto(bureau.url)
    third.shot("server-full")

    # closing a tab ends its app process within the grace period, and frees its place
    pids = [int(p) for p in re.findall(r"started: app process (\d+)", bureau.log.read_text())[-2:]]
    tabs[0].page.context.close()
    wait_for_places(bureau, 1, timeout=GRACE + 20)
    assert "ended (browser gone)" in bureau.log.read_text()
    ended = [pid for pid in pids if not _alive(pid)]
    assert len(ended) == 1


def take_next_case_shown(tab: TerminalPage) -> int:
    text = tab.wait_for(r"Case #\d+", 60)
    match = re.search(r"Case #(\d+)", text)
    assert match
    return int(match.group(1))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
