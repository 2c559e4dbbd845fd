"""The Textual app: one App, app-wide bindings, database work in thread workers.

Screens never touch the database themselves: they hand a function of a Session to `App.db`, which
runs it in a thread worker (committing writes in order, first come first served) and calls back on
the UI thread with the result. Failures of every worker arrive in one handler and become one notice.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events
from textual.app import App
from textual.worker import Worker, WorkerState

from app.errors import SurveyError
from app.logs import Incident, log_incident
from app.tui import keys, probe
from app.tui.screens.base import CallScreen
from app.tui.screens.lock import IdleLock
from app.tui.typeahead import InputEvent, held_for_screen

if TYPE_CHECKING:  # the database layer loads while the sign-in screen is already shown
    from app.services.catalogue import Catalogue
    from app.services.runtime import Runtime
    from app.services.staff import StaffRecord

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How often a supervisor's screen looks for new safeguarding alerts.
ALERT_POLL_SECONDS = 5
#: How often a quick exit kept on this computer (the database was unreachable) is tried again.
WAITING_EXITS_SECONDS = 10
#: How often the app offers to maintain the cases (windows, stale allocations); one app does the work.
MAINTENANCE_SECONDS = 60


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
    BINDINGS = keys.bindings("app")

    def __init__(self, runtime: Runtime | Callable[[], Runtime]) -> None:
        super().__init__()
        self._runtime: Runtime | None = None if callable(runtime) else runtime
        self._open_runtime = runtime if callable(runtime) else None
        self._opened = threading.Event()
        self._opening: threading.Thread | None = None
        #: Why the database or the questionnaires could not be opened (the app then quits with it).
        self.startup_error: BaseException | None = None
        if self._open_runtime is None:
            self._opened.set()
        self.idle = IdleLock(self)
        self.user: StaffRecord | None = None
        self.writes = WriteQueue()
        self._success_handlers: dict[Worker[Any], Callable[[Any], None]] = {}
        self._failure_handlers: dict[Worker[Any], Callable[[BaseException], None]] = {}

    @property
    def runtime(self) -> Runtime:
        """The database and the questionnaires; until they are open (behind the sign-in screen), wait."""
        self._opened.wait()
        if self._runtime is None:
            raise SurveyError("the database could not be opened")
        return self._runtime

    @property
    def catalogue(self) -> Catalogue:
        return self.runtime.catalogue

    @property
    def database(self) -> str:
        return self.runtime.display_url

    # ------------------------------------------------------------ opening behind the sign-in screen

    def first_screen_drawn(self) -> None:
        """The sign-in screen is on the terminal: open the database and questionnaires behind it."""
        probe.note("drawn")
        if self._open_runtime is None or self._opening is not None:
            if probe.measuring():
                probe.note("ready")
                self.exit()
            return
        self._opening = threading.Thread(target=self._open, name="open-database", daemon=True)
        self._opening.start()

    def _open(self) -> None:
        assert self._open_runtime is not None
        try:
            self._runtime = self._open_runtime()
        except BaseException as exc:  # one clear line after the app has quit (see close_runtime)
            self.startup_error = exc
        finally:
            self._opened.set()
        if self.startup_error is None and not probe.measuring():
            return
        if self.startup_error is None:
            probe.note("ready")
        with contextlib.suppress(RuntimeError):  # the app has quit already
            self.call_from_thread(self.exit, None, 1 if self.startup_error is not None else 0)

    def close_runtime(self) -> None:
        """After the app has quit: wait for an opening still under way (a migration), then close."""
        if self._opening is not None:
            self._opening.join()
        if self._runtime is not None:
            self._runtime.close()

    def on_mount(self) -> None:
        from app.tui.screens.login import LoginScreen

        self.push_screen(LoginScreen())
        if self.is_web:  # a tab left on the sign-in screen must not keep its place on the server
            self.idle.start()

    def signed_in(self, user: StaffRecord) -> None:
        from app.tui.screens.home import HomeScreen

        self.user = user
        self.sub_title = f"{user.display_name} ({user.role.value})"
        self.switch_screen(HomeScreen())
        self.watch_alerts()
        self.maintain_cases()
        self.idle.start()
        self._record_waiting_exits()
        self.set_interval(WAITING_EXITS_SECONDS, self._record_waiting_exits)

    # ------------------------------------------------------------ keys

    async def on_event(self, event: events.Event) -> None:
        """Every key passes here in the order it was pressed: a busy screen's keys wait their turn."""
        if isinstance(event, events.Key | events.Paste | events.MouseDown):
            self.idle.touch()
        if held_for_screen(self, event, self._deliver):
            return
        await super().on_event(event)

    async def _deliver(self, event: InputEvent) -> None:
        await App.on_event(self, event)

    async def action_quit(self) -> None:
        """Quit; during a call, ask first (the call would be left open)."""
        from app.tui.screens.dialogs import Confirm

        if self._call_screen() is None:
            self.exit()
            return

        def chosen(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(
            Confirm(
                "A call is in progress. Quit anyway? The call stays open: signing in again offers to"
                " carry on with it.",
                yes="Quit",
                no="Stay",
            ),
            chosen,
        )

    # ------------------------------------------------------------ safeguarding alerts

    def watch_alerts(self) -> None:
        """Supervisors: every few seconds, look for new safeguarding alerts and announce them anywhere."""
        from app.domain.permissions import Permission, can

        if self.user is None or not can(self.user.actor(), Permission.HANDLE_SAFEGUARDING):
            return
        self._seen_alerts: set[int] | None = None
        self._check_alerts()
        self.set_interval(ALERT_POLL_SECONDS, self._check_alerts)

    def _check_alerts(self) -> None:
        from app.services import interviews

        if self.user is None:
            return
        actor = self.user.actor()
        self.db(
            lambda session: [a.id for a in interviews.list_alerts(session, actor)],
            self._alerts_seen,
            write=False,
            group="alert-watch",
            exclusive=True,
        )

    def _alerts_seen(self, ids: list[int]) -> None:
        new = set(ids) - (self._seen_alerts or set())
        if self._seen_alerts is not None and new:
            self.bell()
            self.notify(
                f"{len(new)} new safeguarding alert{'s' if len(new) > 1 else ''}: open Alerts (a) now.",
                title="SAFEGUARDING",
                severity="error",
                timeout=30,
            )
        self._seen_alerts = set(ids)

    # ------------------------------------------------------------ keeping the cases right

    def maintain_cases(self) -> None:
        """Callers' apps: now and every minute, release stale allocations and refresh fieldwork windows.

        Each run is a short transaction of its own, outside the queue of the caller's writes; the
        database lets one app a minute do the work (`cases.maintain_if_due`), so allocation never does.
        """
        from app.domain.permissions import Permission, can

        if self.user is None or not can(self.user.actor(), Permission.CALL_CASES):
            return
        self._maintain()
        self.set_interval(MAINTENANCE_SECONDS, self._maintain)

    def _maintain(self) -> None:
        from app.services import cases

        catalogue = self.runtime.catalogue

        def run() -> None:
            try:
                self.runtime.transaction(lambda session: cases.maintain_if_due(session, catalogue))
            except Exception as exc:  # tried again next minute; nothing the caller can act on
                log_incident(log, exc, "case maintenance")

        self.run_worker(run, thread=True, group="maintenance", exit_on_error=False)

    # ------------------------------------------------------------ quick exit

    def _call_screen(self) -> CallScreen | None:
        """The screen of the call in progress (screening, dialling or interview), if any."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, CallScreen):
                return screen
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "quick_exit":
            return self._call_screen() is not None
        return True

    def action_quick_exit(self) -> None:
        """Clear everything identifying from the screen at once, then save and end the call."""
        from app.services import calls
        from app.tui.screens.home import HomeScreen

        screen = self._call_screen()
        if screen is None or self.user is None:
            return
        attempt_id, interview_id = screen.call_ids()
        while not isinstance(self.screen, HomeScreen) and len(self.screen_stack) > 2:
            self.pop_screen()
        if self.idle.locked:  # from the lock screen: the call ends, the lock stays
            self.idle.lock()
        actor = self.user.actor()
        catalogue = self.runtime.catalogue
        database = self.database

        def ended(result: calls.CallEnded | None) -> None:
            what = result.outcome.value.replace("_", " ") if result else "nothing to record"
            self.notify(f"Call ended ({what}). Everything said was saved.", title="Quick exit", timeout=6)
            if isinstance(self.screen, HomeScreen):
                self.screen.action_refresh()

        def not_recorded(error: BaseException) -> None:
            from app.services import pending_exits

            if not isinstance(error, pending_exits.DatabaseUnreachable):
                self.notify(f"The call could not be ended: {error}", title="Quick exit", severity="error")
                return
            try:
                pending_exits.keep(database, actor, attempt_id, interview_id)
            except (OSError, SurveyError) as exc:
                self.notify(
                    f"The database cannot be reached and this computer could not keep the quick exit"
                    f" ({exc}): tell your supervisor which call it was.",
                    title="Quick exit NOT recorded",
                    severity="error",
                    timeout=60,
                )
                return
            self.notify(
                "The database cannot be reached, so the call is not recorded yet. The quick exit is kept on"
                " this computer and will be recorded as soon as the database is back; no case is offered to"
                " you until then.",
                title="Quick exit kept on this computer",
                severity="warning",
                timeout=30,
            )

        self.db(
            lambda session: calls.quick_exit(
                session, actor, catalogue, attempt_id=attempt_id, interview_id=interview_id
            ),
            ended,
            failed=not_recorded,
        )

    def _record_waiting_exits(self) -> None:
        """Record this caller's quick exits kept on this computer, if any, once the database answers."""
        from app.services import pending_exits

        if self.user is None or not pending_exits.waiting(self.database, self.user.actor()):
            return
        actor, catalogue, database = self.user.actor(), self.catalogue, self.database

        def recorded(done: list[pending_exits.PendingExit]) -> None:
            if done:
                self.notify(
                    f"The quick exit{'s' if len(done) > 1 else ''} kept on this computer"
                    f" {'are' if len(done) > 1 else 'is'} now recorded.",
                    title="Quick exit",
                    timeout=8,
                )

        self.db(
            lambda session: pending_exits.record_waiting(session, actor, catalogue, database),
            recorded,
            failed=lambda _: None,  # still unreachable: tried again in a few seconds
            group="waiting-exits",
        )

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
                result = self.runtime.transaction(work, write=write)
            except SurveyError:
                raise
            except Exception as exc:
                # The database's own words can quote what was written (a note, a name): screens get an
                # incident number, the log the statement without its parameters.
                from app.services.pending_exits import DatabaseUnreachable, is_unreachable

                incident = log_incident(log, exc, "database task")
                if is_unreachable(exc):
                    raise DatabaseUnreachable(f"the database cannot be reached ({incident.number})") from None
                raise incident from None
            finally:
                if ticket is not None:
                    self.writes.done(ticket)
            return result

        worker: Worker[T] = self.run_worker(
            run, thread=True, group=group, exclusive=exclusive and not write, exit_on_error=False
        )
        if then is not None:
            self._success_handlers[worker] = then
        if failed is not None:
            self._failure_handlers[worker] = failed
        return worker

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a failed database task becomes a notice for the person at the screen."""
        worker = event.worker
        if event.state in (WorkerState.SUCCESS, WorkerState.CANCELLED):
            self._failure_handlers.pop(worker, None)
            then = self._success_handlers.pop(worker, None)
            if then is not None and event.state is WorkerState.SUCCESS:
                then(worker.result)
            return
        if event.state is not WorkerState.ERROR:
            return
        self._success_handlers.pop(worker, None)
        error = worker.error
        handler = self._failure_handlers.pop(worker, None)
        if not isinstance(error, SurveyError):  # work run outside App.db: same care with its words
            error = log_incident(log, error or RuntimeError("unknown"), "task")
        message = str(error)
        if handler is not None:
            handler(error)
        else:
            self.notify(
                message,
                title="Not saved" if isinstance(error, Incident) else "Cannot do that",
                severity="error",
                timeout=8,
            )

    def _fatal_error(self) -> None:
        """An error in the app itself: Textual would print a traceback with local values, which can hold
        a victim's details, on the terminal. Log it under an incident number and say only that."""
        error = self._exception or RuntimeError("unknown")
        incident = log_incident(log, error, "the app")
        self.bell()
        self._exit_renderables.append(
            f"survey stopped: {incident}. Every answer already saved is kept; start survey again."
        )
        self._close_messages_no_wait()


def make_app(runtime: Runtime | Callable[[], Runtime]) -> SurveyApp:
    """Build the app around its services; tests use the same factory with a seeded database.

    Given a function that opens them instead, the app draws its sign-in screen first and opens the
    database and questionnaires behind it, while the name and password are typed.
    """
    return SurveyApp(runtime)
