"""Progress bars of long commands: on a terminal's standard error only, never in piped or JSON output."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.services.sample import COLUMNS
from tests.cli.conftest import Runner, SignIn
from tests.services.big_extract import extract_rows

RESPONSES = Path(__file__).parents[1] / "data" / "responses" / "historical.csv"


@pytest.fixture
def survey(signed_in: SignIn) -> Runner:
    return signed_in("admin")


def on_terminal(tmp_path: Path, *args: str, db: str = "cli.db", role: str = "admin") -> tuple[int, str, str]:
    """Run `survey ARGS` as the signed-in member of staff of that role (the administrator unless told)
    with standard error on a pseudo-terminal and standard output piped: (exit code, what the terminal
    showed, standard output)."""
    controller, terminal = pty.openpty()
    environment = {
        **{k: v for k, v in os.environ.items() if k != "SURVEY_QUESTIONNAIRES"},
        "SURVEY_DATABASE_URL": f"sqlite:///{tmp_path / db}",
        "SURVEY_LOG_DIR": str(tmp_path / "logs"),
        "XDG_STATE_HOME": str(tmp_path / f"state-test_{role}"),
        "COLUMNS": "120",
        "TERM": "xterm-256color",
    }
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                data = os.read(controller, 4096)
            except OSError:  # the terminal's other end closed
                return
            if not data:
                return
            shown.extend(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            stdout=subprocess.PIPE,
            stderr=terminal,
            stdin=subprocess.DEVNULL,
            env=environment,
            timeout=120,
        )
    finally:
        os.close(terminal)
        reader.join(timeout=10)
        os.close(controller)
    return result.returncode, shown.decode(errors="replace"), result.stdout.decode()


def write_extract(tmp_path: Path, rows: int) -> Path:
    from app.clock import today

    path = tmp_path / "extract.csv"
    path.write_text("\n".join([",".join(COLUMNS), *extract_rows(rows, today())]) + "\n")
    return path


def test_sample_import_shows_progress_on_a_terminal_and_nowhere_else(survey: Runner, tmp_path: Path) -> None:
    path = write_extract(tmp_path, 3000)
    code, terminal, stdout = on_terminal(tmp_path, "sample", "import", str(path), "--format", "json")
    assert code == 0, terminal
    assert "Checking extract.csv" in terminal
    assert "Importing new cases" in terminal and "rows/s" in terminal
    assert json.loads(stdout)["imported"] == 2997  # standard output is the JSON and nothing else

    quiet = on_terminal(tmp_path, "sample", "import", str(path), "--quiet")
    assert quiet[0] == 0 and "Checking" not in quiet[1] and "already present" in quiet[2]

    piped = survey("sample", "import", str(path), "--format", "json")
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    assert json.loads(piped.stdout)["already_present"] == 3000


def test_demo_and_db_upgrade_show_progress_on_a_terminal(tmp_path: Path) -> None:
    code, terminal, stdout = on_terminal(tmp_path, "db", "upgrade", db="new.db")
    assert code == 0, terminal
    assert "Counting completed interviews for the reports" in terminal
    assert stdout.startswith("sqlite:///") and "upgraded from empty" in stdout

    code, terminal, stdout = on_terminal(tmp_path, "demo", "--cases-per-survey", "10", db="demo.db")
    assert code == 0, terminal
    assert "Making demo cases, calls and interviews" in terminal and "cases/s" in terminal
    assert stdout.startswith("demo: ")


def test_export_shows_progress_on_a_terminal_and_nowhere_else(signed_in: SignIn, tmp_path: Path) -> None:
    analyst = signed_in("analyst")
    assert analyst("responses", "import", str(RESPONSES)).returncode == 0
    export = ("export", "domestic_abuse", "--from", "2019-04-01", "--to", "2019-09-30", "-o")
    code, terminal, stdout = on_terminal(tmp_path, *export, str(tmp_path / "da.sav"), role="analyst")
    assert code == 0, terminal
    assert "Exporting interviews of domestic_abuse" in terminal and "interviews/s" in terminal
    assert "Writing the .sav file" in terminal
    assert stdout.startswith("exported 5 interviews of domestic_abuse")

    quiet = on_terminal(tmp_path, *export, str(tmp_path / "da.csv"), "--quiet", role="analyst")
    assert quiet[0] == 0 and "Exporting" not in quiet[1] and quiet[2].startswith("exported 5 interviews")

    piped = analyst(*export, str(tmp_path / "da.parquet"))
    assert piped.returncode == 0 and piped.stderr == ""

    changes = ("export-changes", "domestic_abuse", "--from", "2019-04-01", "--to", "2019-09-30", "-o")
    code, terminal, stdout = on_terminal(tmp_path, *changes, str(tmp_path / "ch.csv"), role="analyst")
    assert code == 0, terminal
    assert "Writing the change history" in terminal and stdout.startswith("exported 0 changes")
    piped = analyst(*changes, str(tmp_path / "ch2.csv"))
    assert piped.returncode == 0 and piped.stderr == ""
