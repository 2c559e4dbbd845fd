"""The bureau server: each browser tab runs its own app process on this machine, through textual-serve.

Decisions, and why:
- textual-serve (Textualize's own server for Textual apps) starts one app process per websocket and
  relays the screen and the keys; the app inside is the same `survey` app as in a terminal, with its
  own sign-in. Staff need a browser only; the database and its credentials stay on this server.
- The page is ours (templates/page.html): a fixed tab title that never names a case, fonts and scripts
  served from this server only, and a Content-Security-Policy that forbids the page to load or send
  anything elsewhere. textual-serve's own page fetches a font from a CDN, and fetches any `?ping=` URL.
- At most `max_sessions` app processes at once; past that the page says the server is full.
- When the browser goes (tab closed; a dead network is noticed by the websocket heartbeat), the app is
  asked to quit, as a closed terminal would make it; a process still there after `grace` seconds is
  terminated, then killed. An interview it held is resumable at the next sign-in, as after a terminal.
- Logs record each session's start and end (a random id, the process id, how long, how it ended, the
  places in use), never who signed in or what was on the screen. The app process's error output is
  not copied into the log: Textual's crash report prints local variables, which may hold personal data.
- A websocket opened by a page from another site is refused, so no other web page a member of staff
  visits can start or drive an app process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from textual_serve.server import Server

from app.errors import SurveyError
from app.web import SERVED_ENV

log = logging.getLogger("app.web")

HERE = Path(__file__).parent
PAGE_TITLE = "Survey · Research Bureau"
#: Seconds between websocket pings; a browser that stops answering is taken as gone soon after.
HEARTBEAT_SECONDS = 15
#: Seconds a terminated app process gets before it is killed.
TERMINATE_SECONDS = 5
#: The largest screen a browser may ask for, in cells (a hostile page could ask for millions).
MAX_CELLS = (500, 200)


class ServeError(SurveyError):
    """The server cannot start (address in use, bad public URL)."""


def public_origin(url: str) -> str:
    """`https://survey.bureau.example` from a public URL; the server is always served from the root."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ServeError(f"--public-url: '{url}' is not an http:// or https:// address")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ServeError(f"--public-url: '{url}' has a path; serve from the root of a host name")
    return f"{parts.scheme}://{parts.netloc}"


class ServedSession(AppService):
    """One app process and the browser tab it draws in."""

    def __init__(
        self,
        command: list[str],
        *,
        environment: Mapping[str, str],
        grace: float,
        write_bytes: Callable[[bytes], Any],
        write_str: Callable[[str], Any],
        close: Callable[[], Any],
        download_manager: DownloadManager,
    ) -> None:
        super().__init__(
            " ".join(command),
            write_bytes=write_bytes,
            write_str=write_str,
            close=close,
            download_manager=download_manager,
        )
        self.argv = command
        self.environment = dict(environment)
        self.grace = grace
        self.id = self.app_service_id[:8]
        self.started = time.monotonic()
        self.ended_by: str | None = None  # why the session ended, for the log
        self.app_started = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def app_has_ended(self) -> bool:
        return self._task is not None and self._task.done()

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment.update(self.environment)
        environment[SERVED_ENV] = "1"
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> asyncio.subprocess.Process:
        """Start the app directly (no shell), so that ending it ends the app and not a shell around it."""
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width, height),
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        """Relay the app's packets to the browser until the app's output ends."""
        process = self._process
        assert process is not None and process.stdout is not None and process.stderr is not None
        stdout, errors = process.stdout, process.stderr
        error_output = bytearray()

        async def drain_errors() -> None:
            while chunk := await errors.read(4096):
                error_output.extend(chunk[: max(0, 4096 - len(error_output))])

        draining = asyncio.create_task(drain_errors())
        try:
            for _ in range(10):  # Textual's web driver announces itself before its first packet
                line = await stdout.readline()
                if not line or line == b"__GANGLION__\n":
                    self.app_started = line == b"__GANGLION__\n"
                    break
            if not self.app_started:
                await process.wait()
                if self.ended_by is not None:  # stopped before it had started
                    return
                await draining
                self._log_failed_start(process.returncode, bytes(error_output))
                return
            while True:
                kind = await stdout.readexactly(1)
                size = int.from_bytes(await stdout.readexactly(4), "big")
                payload = await stdout.readexactly(size)
                if kind == b"D":
                    await self.on_data(payload)
                elif kind == b"M":
                    await self.on_meta(payload)
                elif kind == b"P":
                    await self.on_packed(payload)
        except (asyncio.IncompleteReadError, ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            draining.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await draining
        # The app has quit or crashed: close the page's connection (its error output stays unread).
        with contextlib.suppress(Exception):
            await self.remote_close()

    async def on_meta(self, data: bytes) -> None:
        if json.loads(data).get("type") == "exit":
            self.ended_by = self.ended_by or "app ended"
        await super().on_meta(data)

    def _log_failed_start(self, returncode: int | None, error_output: bytes) -> None:
        """A start-up failure is the command's own one-line message (database unreachable and the like)."""
        lines = error_output.decode("utf-8", "replace").strip().splitlines()
        said = lines[-1][:200] if lines and lines[-1].startswith("survey:") else "no message"
        log.error("session %s: the app did not start (exit code %s; %s)", self.id, returncode, said)

    async def stop(self) -> None:
        """Ask the app to quit, as a closed terminal would; end it if still there after the grace period."""
        task, process = self._task, self._process
        if task is None or process is None:
            return
        self._task = None
        self.ended_by = self.ended_by or "stopped"
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process.returncode is None:
            await self.send_meta({"type": "quit"})
            try:
                await asyncio.wait_for(process.wait(), self.grace)
            except TimeoutError:
                self.ended_by = f"{self.ended_by or 'ended'}; app still running after {self.grace:g} s"
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), TERMINATE_SECONDS)
                    self.ended_by += ", terminated"
                except TimeoutError:
                    process.kill()
                    await process.wait()
                    self.ended_by += ", killed"
        with contextlib.suppress(asyncio.CancelledError):
            await task


class BureauServer(Server):
    """textual-serve's server with the bureau's page, limits, logs and origin check."""

    def __init__(
        self,
        command: list[str],
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        public_url: str | None = None,
        max_sessions: int = 20,
        grace: float = 10.0,
        environment: Mapping[str, str] | None = None,
        announce: Callable[[str], None] = print,
        database: str | None = None,
    ) -> None:
        self.database = database  # for the log, its password hidden
        self.origin = public_origin(public_url) if public_url else None
        super().__init__(
            " ".join(command),
            host=host,
            port=port,
            title=PAGE_TITLE,
            public_url=self.origin,
            templates_path=HERE / "templates",
        )
        self.argv = command
        self.max_sessions = max_sessions
        self.grace = grace
        self.environment = dict(environment or {})
        self.announce = announce
        self.sessions: dict[str, tuple[ServedSession, web.WebSocketResponse]] = {}
        self.address: tuple[str, int] | None = None
        self._stopping = False

    # ------------------------------------------------------------ running

    def initialize_logging(self) -> None:
        """The command line sets up logging (file and stderr); nothing to add here."""

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT or SIGTERM, then end every session (each gets its grace period)."""
        asyncio.run(self.run())

    async def run(self, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set (or a signal arrives); `ready` is set once the port is open."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop.set)
        runner = web.AppRunner(await self._make_app(), handle_signals=False, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            try:
                await site.start()
            except OSError as exc:
                reason = (exc.strerror or str(exc)).split(": ")[-1]
                raise ServeError(f"cannot listen on port {self.port} of {self.host}: {reason}") from None
            host, port = runner.addresses[0][:2]
            self.address = (host, port)
            if self.origin is None:
                self.public_url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
            log.info(
                "serving on %s (%s) for %s, at most %d sessions",
                self.public_url,
                host,
                self.database or "the default database",
                self.max_sessions,
            )
            self.announce(
                f"survey serve: {self.public_url} (at most {self.max_sessions} sessions at once;"
                " Ctrl+C stops)"
            )
            if ready is not None:
                ready.set()
            await stop.wait()
        finally:
            self._stopping = True
            if self.sessions:
                log.info("stopping: ending %d sessions", len(self.sessions))
            await runner.cleanup()
            if self.address is not None:
                log.info("stopped")

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._security_headers])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path), autoescape=True)
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.static("/static", self.statics_path, name="static"),
                web.static("/page", HERE / "static", name="page"),
            ]
        )
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def on_shutdown(self, app: web.Application) -> None:
        """End every session at once, each with its grace period, and tell each page why."""
        for session, _ in self.sessions.values():
            session.ended_by = "server stopping"
        await asyncio.gather(
            *(
                self._end(session, websocket, "The server is stopping.")
                for session, websocket in self.sessions.values()
            )
        )

    async def _end(self, session: ServedSession, websocket: web.WebSocketResponse, why: str) -> None:
        await session.stop()
        await websocket.close(code=WSCloseCode.GOING_AWAY, message=why.encode())

    # ------------------------------------------------------------ the page

    @property
    def full(self) -> bool:
        return len(self.sessions) >= self.max_sessions

    def full_message(self) -> str:
        return f"All {self.max_sessions} places on this server are in use. Try again in a few minutes."

    def _websocket_url(self, request: web.Request) -> str:
        origin = self.origin or f"{'https' if request.secure else 'http'}://{request.host}"
        return "ws" + origin.removeprefix("http") + "/ws"

    async def handle_index(self, request: web.Request) -> web.Response:
        if self.full:
            log.warning("page refused: all %d places in use", self.max_sessions)
            response = aiohttp_jinja2.render_template(
                "full.html", request, {"title": PAGE_TITLE, "message": self.full_message()}, status=503
            )
            response.headers["Retry-After"] = "60"
            return response
        try:
            font_size = min(max(int(request.query.get("fontsize", "16")), 8), 40)
        except ValueError:
            font_size = 16
        websocket_url = self._websocket_url(request)
        response = aiohttp_jinja2.render_template(
            "page.html",
            request,
            {"title": PAGE_TITLE, "font_size": font_size, "websocket_url": websocket_url},
        )
        ws_origin = websocket_url.removesuffix("/ws")
        response.headers["Content-Security-Policy"] = content_security_policy(ws_origin)
        return response

    @web.middleware
    async def _security_headers(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if isinstance(response, web.WebSocketResponse):
            return response
        response.headers.setdefault("Content-Security-Policy", content_security_policy(None))
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response

    # ------------------------------------------------------------ sessions

    def _same_site(self, request: web.Request) -> bool:
        """A browser always sends Origin on a websocket; it must be this server's page."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser; it still has to sign in like anyone
        allowed = {f"{scheme}://{request.host}" for scheme in ("http", "https")}
        if self.origin is not None:
            allowed.add(self.origin)
        return origin in allowed

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self._same_site(request):
            log.warning("refused a connection from a page of another site")
            raise web.HTTPForbidden(text="This server serves its own page only.")
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)
        await websocket.prepare(request)
        if self.full or self._stopping:
            if not self._stopping:
                log.warning("session refused: all %d places in use", self.max_sessions)
            why = "The server is stopping." if self._stopping else self.full_message()
            await websocket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=why.encode())
            return websocket
        width, height = (_cells(request.query.get(k), default, most) for k, default, most in _SIZE_QUERY)
        session = ServedSession(
            self.argv,
            environment=self.environment,
            grace=self.grace,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.sessions[session.id] = (session, websocket)
        try:
            await session.start(width, height)
            log.info(
                "session %s started: app process %s; %d of %d places in use",
                session.id,
                session.pid,
                len(self.sessions),
                self.max_sessions,
            )
            await self._relay_browser(websocket, session)
            if session.ended_by is None:
                session.ended_by = "app ended" if session.app_has_ended else "browser gone"
        except Exception as exc:  # a broken connection or a garbled message: end this session only
            session.ended_by = f"{type(exc).__name__} from the browser"
        finally:
            await session.stop()
            del self.sessions[session.id]
            log.info(
                "session %s ended (%s) after %.0f s; app process %s exit code %s; %d of %d places in use",
                session.id,
                session.ended_by,
                time.monotonic() - session.started,
                session.pid,
                session._process.returncode if session._process else None,
                len(self.sessions),
                self.max_sessions,
            )
        return websocket

    async def _relay_browser(self, websocket: web.WebSocketResponse, session: ServedSession) -> None:
        """Keys, resizes and focus from the page to the app, checked: the page is not trusted."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            envelope = json.loads(message.data)
            if not isinstance(envelope, list) or not envelope:
                continue
            kind = envelope[0]
            if kind == "stdin" and len(envelope) > 1 and isinstance(envelope[1], str):
                await session.send_bytes(envelope[1].encode("utf-8"))
            elif kind == "resize" and len(envelope) > 1 and isinstance(envelope[1], dict):
                size = envelope[1]
                await session.set_terminal_size(
                    _cells(size.get("width"), 80, MAX_CELLS[0]), _cells(size.get("height"), 24, MAX_CELLS[1])
                )
            elif kind == "ping" and len(envelope) > 1:
                await websocket.send_json(["pong", str(envelope[1])[:32]])
            elif kind == "blur":
                await session.blur()
            elif kind == "focus":
                await session.focus()


_SIZE_QUERY = (("width", 80, MAX_CELLS[0]), ("height", 24, MAX_CELLS[1]))


def _cells(value: object, default: int, most: int) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default
    return min(max(number, 1), most)


def content_security_policy(websocket_origin: str | None) -> str:
    """Everything from this server only; the websocket to this server only."""
    connect = "'self'" + (f" {websocket_origin}" if websocket_origin else "")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # the terminal styles its own elements
            "font-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
