"""The Textual app: one App, app-wide bindings, database work in thread workers.

Screens never touch the database themselves: they hand a function of a Session to `App.db`, which
runs it in a thread worker (committing writes in order, first come first served) and calls back on
the UI thread with the result. Failures of every worker arrive in one handler and become one notice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from app.errors import SurveyError
from app.services.runtime import Runtime
from app.services.staff import StaffRecord

log = logging.getLogger(__name__)

T = TypeVar("T")


class WriteQueue:
    """Serialises database writes in the order the screen asked for them.

    A ticket is taken on the UI thread when the write is scheduled; the worker waits its turn. So a
    quick exit pressed just after Enter finishes the call only after that answer is stored.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def ticket(self) -> int:
        with self._lock:
            ticket = self._next_ticket
            self._next_ticket += 1
            return ticket

    def wait_turn(self, ticket: int) -> None:
        with self._lock:
            self._lock.wait_for(lambda: self._serving == ticket)

    def done(self, ticket: int) -> None:
        with self._lock:
            self._serving = ticket + 1
            self._lock.notify_all()


class SurveyApp(App[None]):
    """The Research Bureau's telephone survey app."""

    TITLE = "Survey"
    SUB_TITLE = "Research Bureau"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True, show=False)]

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self.user: StaffRecord | None = None
        self.writes = WriteQueue()
        self._failure_handlers: dict[Worker[Any], Callable[[BaseException], None]] = {}

    def on_mount(self) -> None:
        from app.tui.screens.login import LoginScreen

        self.push_screen(LoginScreen())

    # ------------------------------------------------------------ database work

    def db(
        self,
        work: Callable[[Any], T],
        then: Callable[[T], None] | None = None,
        *,
        write: bool = True,
        failed: Callable[[BaseException], None] | None = None,
        group: str = "db",
        exclusive: bool = False,
    ) -> Worker[T]:
        """Run `work(session)` (a service call) in a thread worker; `then(result)` on the UI thread.

        Writes commit one after another, in the order they were asked for.

        `exclusive` is for reads only (a cancelled thread's write would still commit).
        """
        ticket = self.writes.ticket() if write else None

        def run() -> T:
            if ticket is not None:
                self.writes.wait_turn(ticket)
            try:
                if write:
                    with self.runtime.sessions.begin() as session:
                        result = work(session)
                else:
                    with self.runtime.readers() as session:
                        result = work(session)
            finally:
                if ticket is not None:
                    self.writes.done(ticket)
            if then is not None:
                self.call_from_thread(then, result)
            return result

        worker: Worker[T] = self.run_worker(
            run, thread=True, group=group, exclusive=exclusive and not write, exit_on_error=False
        )
        if failed is not None:
            self._failure_handlers[worker] = failed
        return worker

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a failed database task becomes a notice for the person at the screen."""
        worker = event.worker
        if event.state in (WorkerState.SUCCESS, WorkerState.CANCELLED):
            self._failure_handlers.pop(worker, None)
            return
        if event.state is not WorkerState.ERROR:
            return
        error = worker.error
        handler = self._failure_handlers.pop(worker, None)
        if isinstance(error, SurveyError):
            message = str(error)
        else:
            log.error("database task failed", exc_info=error)
            message = f"Could not reach the database ({type(error).__name__}); nothing was lost. Try again."
        if handler is not None and error is not None:
            handler(error)
        else:
            self.notify(
                message,
                title="Not saved" if not isinstance(error, SurveyError) else "Cannot do that",
                severity="error",
                timeout=8,
            )


def make_app(runtime: Runtime) -> SurveyApp:
    """Build the app around its services; tests use the same factory with a seeded database."""
    return SurveyApp(runtime)
