"""The bureau server under N browser sessions, beside the terminal app measured in the same run.

For N = 1, 5, 10, 20 headless Chromium tabs (one browser, a context per tab, all driven at once):
- open to sign-in: from opening the page to the sign-in screen drawn;
- memory per session: the app process's PSS and RSS on the server (PSS shares libraries fairly);
- keystroke to next question: from the Enter that confirms an answer to the next question on the
  screen, through the browser, the websocket and the server, with every tab answering at once.
The terminal app is measured the same way in a pseudo-terminal of the same size: start to sign-in
screen, its process's memory, and keystroke to next question. Both sides read the screen from the
bytes the app writes, fed to a terminal emulator (pyte).

    python benchmarks/serve.py [--sessions 1,5,10,20] [--answers 8] [--terminal-runs 3]

Needs the test extras (playwright, pyte) and Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pty
import re
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fcntl import ioctl
from pathlib import Path

import pyte

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.permissions import Actor, Role  # noqa: E402
from app.services.demo import load_demo  # noqa: E402
from app.services.runtime import open_runtime  # noqa: E402
from app.services.settings import set_setting  # noqa: E402
from app.services.staff import add_staff  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1000, "height": 620}  # 111 x 29 cells
COLUMNS, LINES = 111, 29
PASSWORD = "benchmark password"
#: The sign-in screen, completely drawn (its first frames can arrive in pieces).
SIGN_IN = r"your user name[\s\S]*\bpassword\b[\s\S]*Sign in"
OPTION = re.compile(r"(?m)^\s*(?:▶\s*)?1\s+[○●◯◉]")


# ------------------------------------------------------------------ a screen read from bytes


class Screen:
    """What a terminal shows, from the bytes the app wrote (the same bytes the page's terminal gets)."""

    def __init__(self, columns: int = COLUMNS, lines: int = LINES) -> None:
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.changed = asyncio.Event()

    def feed(self, data: bytes) -> None:
        self.stream.feed(data)
        self.changed.set()

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    async def wait_for(self, pattern: str, timeout: float = 120) -> tuple[str, float]:
        """Wait until the screen shows `pattern`; returns the screen and the moment it did."""
        compiled = re.compile(pattern)
        deadline = time.perf_counter() + timeout
        while True:
            text = self.text()
            if compiled.search(text):
                return text, time.perf_counter()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"never showed {pattern!r}:\n{text}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))

    async def wait_until_gone(self, text: str, timeout: float = 60) -> None:
        deadline = time.perf_counter() + timeout
        while text in self.text() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)

    def cursor_row(self) -> int:
        return int(self.screen.cursor.y)


@dataclass
class Figures:
    to_sign_in: list[float] = field(default_factory=list)
    pss: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    keystrokes: list[float] = field(default_factory=list)
    sign_in_retries: int = 0


# ------------------------------------------------------------------ one caller's work, either side


async def caller_work(
    screen: Screen,
    send: Callable[[str], Awaitable[None]],
    username: str,
    answers: int,
    figures: Figures,
    measured: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Sign in, take a case, pass screening, speak to someone, answer questions timing each Enter."""
    await send(username)
    await send("\r")
    text, _ = await screen.wait_for(r"\bpassword\b[\s\S]*Sign in")
    rows = [i for i, line in enumerate(text.splitlines()) if re.search(r"\bpassword\b", line)]
    if not rows:
        raise RuntimeError(f"no password field on the sign-in screen:\n{text}")
    password_row = rows[0]
    deadline = time.perf_counter() + 60
    while screen.cursor_row() != password_row and time.perf_counter() < deadline:
        await asyncio.sleep(0.02)
    await send(PASSWORD)
    await send("\r")
    for _ in range(10):  # a busy SQLite file can refuse a sign-in: the person presses Enter again
        text, _ = await screen.wait_for("Waiting to be called|Cannot reach the database")
        if "Waiting to be called" in text:
            break
        figures.sign_in_retries += 1
        await asyncio.sleep(1)
        await send("\r")
        await screen.wait_until_gone("Cannot reach the database")
    else:
        raise RuntimeError(f"{username} could not sign in")
    if measured is not None:
        await measured()
    await send("n")
    text, _ = await screen.wait_for("Automatic checks|No case to call")
    if "No case to call" in text:
        raise RuntimeError(
            f"{username} was offered no case: {text.split('No case to call', 1)[1].splitlines()[0]}"
        )
    await asyncio.sleep(0.5)  # some surveys have checks to confirm from the case notes, some none
    text = screen.text()
    checks = len(re.findall(r"(?m)^\s*(?:▶\s*)?\d+\. \[", text))
    for answered in range(1, checks + 1):
        await send("n")
        await screen.wait_for(rf"(\[ N \][\s\S]*){{{answered}}}")
    if checks:
        await screen.wait_for("All checked")
    await send("\r")
    await screen.wait_for("DIAL")
    await send("d")
    await screen.wait_for("Call in progress")
    await send("1")
    await screen.wait_for("● Speaking to someone")
    await send("\r")
    for _ in range(answers):
        text, _ = await screen.wait_for("READ OUT")
        question = re.search(r"READ OUT[^\n]*\n([^\n]+)", text)
        if question is None:
            return
        await send("1" if OPTION.search(text) else "Thank you")
        started = time.perf_counter()
        await send("\r")
        pattern = r"READ OUT(?![\s\S]*" + re.escape(question.group(1).strip()) + ")|Waiting to be called"
        text, shown = await screen.wait_for(pattern, 60)
        figures.keystrokes.append(shown - started)
        if "READ OUT" not in text:
            return


# ------------------------------------------------------------------ memory of a process


def memory_mb(pid: int) -> tuple[float, float]:
    """(PSS, RSS) in MB of one process."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] in ("Pss:", "Rss:"):
            values[parts[0]] = int(parts[1]) / 1024
    return values["Pss:"], values["Rss:"]


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


# ------------------------------------------------------------------ the terminal app


async def terminal_session(url: str, environment: dict[str, str], username: str, answers: int) -> Figures:
    figures = Figures()
    screen = Screen()
    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--db", url],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**environment, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(LINES)},
        start_new_session=True,
    )
    os.close(slave)
    loop = asyncio.get_running_loop()
    loop.add_reader(master, lambda: _read_pty(master, screen))

    async def send(keys: str) -> None:
        os.write(master, keys.encode())

    async def measured() -> None:
        pss, rss = memory_mb(process.pid)
        figures.pss.append(pss)
        figures.rss.append(rss)

    try:
        _, shown = await screen.wait_for(SIGN_IN)
        figures.to_sign_in.append(shown - started)
        await caller_work(screen, send, username, answers, figures, measured)
    finally:
        loop.remove_reader(master)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        os.close(master)
    return figures


def _read_pty(master: int, screen: Screen) -> None:
    try:
        data = os.read(master, 65536)
    except OSError:
        return
    screen.feed(data)


# ------------------------------------------------------------------ the browser


async def browser_round(browser, url: str, server_pid: int, usernames: list[str], answers: int) -> Figures:  # type: ignore[no-untyped-def]
    figures = Figures()
    contexts = [await browser.new_context(viewport=VIEWPORT) for _ in usernames]
    pages = [await context.new_page() for context in contexts]
    screens = [Screen() for _ in pages]
    for page, screen in zip(pages, screens, strict=True):
        _watch(page, screen)
    before = set(children(server_pid))

    async def open_page(page, screen: Screen) -> None:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        await page.goto(url, wait_until="commit", timeout=300_000)
        _, shown = await screen.wait_for(SIGN_IN)
        figures.to_sign_in.append(shown - started)
        await page.focus(".xterm-helper-textarea")

    await asyncio.gather(*(open_page(page, screen) for page, screen in zip(pages, screens, strict=True)))
    signed_in = 0
    all_signed_in = asyncio.Event()

    async def measured() -> None:
        nonlocal signed_in
        signed_in += 1
        if signed_in == len(pages):
            for pid in set(children(server_pid)) - before:
                pss, rss = memory_mb(pid)
                figures.pss.append(pss)
                figures.rss.append(rss)
            all_signed_in.set()
        await all_signed_in.wait()  # every tab starts its call at once

    async def work(page, screen: Screen, username: str) -> None:  # type: ignore[no-untyped-def]
        async def send(keys: str) -> None:
            if keys == "\r":
                await page.keyboard.press("Enter")
            else:
                await page.keyboard.type(keys)

        await caller_work(screen, send, username, answers, figures, measured)

    await asyncio.gather(
        *(work(page, screen, name) for page, screen, name in zip(pages, screens, usernames, strict=True))
    )
    for context in contexts:
        await context.close()
    deadline = time.perf_counter() + 60
    while set(children(server_pid)) - before and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
    return figures


def _watch(page, screen: Screen) -> None:  # type: ignore[no-untyped-def]
    def on_socket(socket) -> None:  # type: ignore[no-untyped-def]
        def received(payload: bytes | str) -> None:
            if isinstance(payload, bytes):
                screen.feed(payload)

        def sent(payload: bytes | str) -> None:
            match = re.match(r'\["resize",\{"width":(\d+),"height":(\d+)\}\]', str(payload))
            if match:
                screen.screen.resize(int(match.group(2)), int(match.group(1)))

        socket.on("framereceived", received)
        socket.on("framesent", sent)

    page.on("websocket", on_socket)


# ------------------------------------------------------------------ the run


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def row(label: str, figures: Figures) -> str:
    ms = [x * 1000 for x in figures.keystrokes]
    start = [x * 1000 for x in figures.to_sign_in]
    return (
        f"| {label} | {statistics.median(start):.0f} | {p99(start):.0f} | {statistics.mean(figures.pss):.1f}"
        f" | {statistics.mean(figures.rss):.1f} | {len(ms)} | {statistics.median(ms):.0f} | {p99(ms):.0f}"
        f" | {figures.sign_in_retries} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,5,10,20", help="browser sessions per round")
    parser.add_argument("--answers", type=int, default=8, help="answers timed per session")
    parser.add_argument("--terminal-runs", type=int, default=3)
    args = parser.parse_args()
    rounds = [int(n) for n in args.sessions.split(",")]
    from playwright.async_api import async_playwright

    folder = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    url = f"sqlite:///{folder / 'survey.db'}"
    users = [f"bench{n:02d}" for n in range(1, sum(rounds) + args.terminal_runs + 1)]
    runtime = open_runtime(url)
    with runtime.sessions.begin() as session:
        # The demo closes many of its cases (interviews done, refusals): enough for every tab to get one.
        load_demo(session, runtime.catalogue, cases_per_survey=max(30, 4 * len(users)))
        set_setting(session, Actor.system(), "calling_hours", "Mon-Sun 00:00-24:00")
        for username in users:
            add_staff(session, Actor.system(), username=username, role=Role.CALLER, password=PASSWORD)
    runtime.close()
    environment = {
        **os.environ,
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_STATE_HOME": str(folder / "state"),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "XDG_CACHE_HOME": str(folder / "cache"),
        "SURVEY_LOG_DIR": str(folder / "log"),
    }
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start", flush=True)

    terminal = Figures()
    for _ in range(args.terminal_runs):
        one = await terminal_session(url, environment, users.pop(), args.answers)
        for name in ("to_sign_in", "pss", "rss", "keystrokes"):
            getattr(terminal, name).extend(getattr(one, name))

    print(row(f"terminal ({args.terminal_runs} runs, one at a time)", terminal), flush=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--db", url, "serve", "--port", "0", "--max-sessions", "100"],
        stdout=subprocess.PIPE,
        stderr=(folder / "serve.log").open("w"),
        text=True,
        env=environment,
    )
    assert server.stdout is not None
    page_url = server.stdout.readline().split()[2] + "/"
    results: list[tuple[int, Figures, float]] = []
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for n in rounds:
                names, users = users[:n], users[n:]
                try:
                    figures = await browser_round(browser, page_url, server.pid, names, args.answers)
                except Exception as exc:  # a round that could not finish: say so, go on with the next
                    print(
                        f"N={n}: did not finish: {type(exc).__name__}: {str(exc).splitlines()[0]}", flush=True
                    )
                    continue
                results.append((n, figures, memory_mb(server.pid)[1]))
                print(row(f"browser, {n} at once (as measured)", figures), flush=True)
            await browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    print(f"load average {os.getloadavg()[0]:.2f} at end; server log: {folder / 'serve.log'}")
    print()
    print(
        "| where | open to sign-in median ms | p99 ms | PSS per session MB | RSS per session MB"
        " | answers timed | keystroke to next question median ms | p99 ms | sign-ins refused (busy) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(row(f"terminal ({args.terminal_runs} runs, one at a time)", terminal))
    for n, figures, _ in results:
        print(row(f"browser, {n} session{'s' if n > 1 else ''} at once", figures))
    print()
    base_start = statistics.median(terminal.to_sign_in)
    base_key = statistics.median(terminal.keystrokes)
    base_pss = statistics.mean(terminal.pss)
    for n, figures, server_rss in results:
        start = statistics.median(figures.to_sign_in) / base_start
        print(
            f"N={n}: browser/terminal ratios: open to sign-in {start:.2f},"
            f" memory {statistics.mean(figures.pss) / base_pss:.2f},"
            f" keystroke median {statistics.median(figures.keystrokes) / base_key:.2f};"
            f" server process RSS {server_rss:.0f} MB"
        )


if __name__ == "__main__":
    asyncio.run(main())
