"""Start-up as a user meets it: whole processes, each measured against a floor run in the same loop.

- The app, from process start to its sign-in screen drawn, against a minimal Textual app with a sign-in
  form (two inputs and a button, written beside the database). Both run on a pseudo-terminal with the
  real terminal driver and are timed from just before the process is started; each notes the time its
  first screen was drawn in the file SURVEY_EXIT_AFTER_FIRST_SCREEN names, and quits. The app opens its
  database and questionnaires behind the drawn sign-in screen: it also notes when that was done ("ready":
  a name and password typed by then are checked at once), and quits then.
- `survey --help` and `survey questionnaire list`, whole processes, against `python -c "import typer"`
  and against a minimal Typer program with one option running one command (Typer 0.29 itself imports
  pydantic and builds a validator for each option of the command it runs).

Runs alternate (app, floor, app, floor, ...) so a busy machine slows both alike. The database is a
SQLite file at the current schema; the questionnaire cache starts empty (the first run fills it, and that
run is reported on its own) in a private XDG_CACHE_HOME, and so do Python's compiled modules
(PYTHONPYCACHEPREFIX, written even where PYTHONDONTWRITEBYTECODE is set, as an installed app's are).

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = "SURVEY_EXIT_AFTER_FIRST_SCREEN"

MINIMAL_APP = """
import os, time
from pathlib import Path
from textual.app import App
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label


class SignIn(Screen):
    def compose(self):
        yield Header()
        yield Label("Sign in")
        yield Input(placeholder="user name", id="username")
        yield Input(placeholder="password", password=True, id="password")
        yield Button("Sign in", variant="primary")
        yield Footer()

    def on_mount(self):
        self.call_after_refresh(self.drawn)

    def drawn(self):
        Path(os.environ["SURVEY_EXIT_AFTER_FIRST_SCREEN"]).write_text(f"drawn {time.time():.6f}\\n")
        self.app.exit()


class Minimal(App):
    def on_mount(self):
        self.push_screen(SignIn())


Minimal().run()
"""

MINIMAL_TYPER = """
from typing import Annotated
import typer

app = typer.Typer()


@app.callback()
def root(db: Annotated[str | None, typer.Option("--db")] = None) -> None:
    pass


@app.command("list")
def list_(format: Annotated[str, typer.Option("--format")] = "table") -> None:
    print("one survey")


app()
"""


def on_terminal(command: list[str], env: dict[str, str], stamp: Path) -> dict[str, float]:
    """Seconds from starting `command` on a fresh pseudo-terminal to each moment it noted (drawn, ready)."""
    stamp.unlink(missing_ok=True)
    main, child = pty.openpty()
    os.set_blocking(main, True)
    started = time.time()
    process = subprocess.Popen(
        command, stdin=child, stdout=child, stderr=child, env={**env, PROBE: str(stamp)}, close_fds=True
    )
    os.close(child)
    output = bytearray()
    while True:  # drain the screen output, or the child blocks writing it
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    if process.wait(timeout=60) != 0 or not stamp.exists():
        raise SystemExit(f"{command} failed:\n{output.decode(errors='replace')[-2000:]}")
    moments = (line.split() for line in stamp.read_text().splitlines())
    return {event: float(at) - started for event, at in moments}


def whole(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    survey = [python, "-m", "app.cli"]
    with tempfile.TemporaryDirectory(prefix="survey-startup-") as scratch_name:
        scratch = Path(scratch_name)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")},
            "SURVEY_DATABASE_URL": f"sqlite:///{scratch / 'survey.db'}",
            "XDG_CACHE_HOME": str(scratch / "cache"),
            "XDG_STATE_HOME": str(scratch / "state"),
            "SURVEY_LOG_DIR": str(scratch / "logs"),
            "TERM": "xterm-256color",
            "COLUMNS": "80",
            "LINES": "24",
            "PYTHONPATH": str(ROOT),
            # Compiled modules are cached as an installed app's would be, here in the scratch folder.
            "PYTHONPYCACHEPREFIX": str(scratch / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([*survey, "db", "upgrade", "--quiet"], env=env, check=True, stdout=subprocess.DEVNULL)
        minimal = scratch / "minimal_app.py"
        minimal.write_text(MINIMAL_APP)
        minimal_typer = scratch / "minimal_typer.py"
        minimal_typer.write_text(MINIMAL_TYPER)
        stamp = scratch / "drawn"

        first = on_terminal(survey, env, stamp)  # fills the questionnaire cache
        drawn: dict[str, list[float]] = {"app": [], "ready": [], "minimal": []}
        commands: dict[str, list[float]] = {
            "import typer": [],
            "typer command": [],
            "--help": [],
            "questionnaire list": [],
        }
        for _ in range(args.runs):
            app = on_terminal(survey, env, stamp)
            drawn["app"].append(app["drawn"])
            drawn["ready"].append(app["ready"])
            drawn["minimal"].append(on_terminal([python, str(minimal)], env, stamp)["drawn"])
            commands["import typer"].append(whole([python, "-c", "import typer"], env))
            commands["typer command"].append(whole([python, str(minimal_typer), "list"], env))
            commands["--help"].append(whole([*survey, "--help"], env))
            commands["questionnaire list"].append(whole([*survey, "questionnaire", "list"], env))

    print(f"{args.runs} runs each, load average {os.getloadavg()[0]:.1f} at the end")
    print(
        f"first start (empty caches): sign-in screen drawn at {first['drawn'] * 1000:.0f} ms,"
        f" ready at {first.get('ready', float('nan')) * 1000:.0f} ms"
    )
    app, floor = statistics.median(drawn["app"]), statistics.median(drawn["minimal"])
    print(
        f"sign-in screen drawn: survey {median_ms(drawn['app'])}, minimal Textual app"
        f" {median_ms(drawn['minimal'])}, ratio {app / floor:.2f} (target 1.5)"
    )
    ready = statistics.median(drawn["ready"])
    print(
        f"database and questionnaires open behind it: {median_ms(drawn['ready'])}, ratio {ready / floor:.2f}"
    )
    typer_floor = statistics.median(commands["import typer"])
    command_floor = statistics.median(commands["typer command"])
    print(
        f"python -c 'import typer': {median_ms(commands['import typer'])};"
        f" a minimal Typer command: {median_ms(commands['typer command'])}"
    )
    for name in ("--help", "questionnaire list"):
        value = statistics.median(commands[name])
        print(
            f"survey {name}: {median_ms(commands[name])}, ratio {value / typer_floor:.2f} to import typer"
            f" (target 2), {value / command_floor:.2f} to a minimal Typer command"
        )


if __name__ == "__main__":
    main()
