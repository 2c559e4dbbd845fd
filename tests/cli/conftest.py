"""Run the real `survey` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def survey(tmp_path: Path) -> Runner:
    """`survey(*args, input=None, db=None)` runs the command with a private database and log folder."""
    default_db = f"sqlite:///{tmp_path / 'cli.db'}"

    def run(
        *args: str,
        input: str | None = None,
        db: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        inherited = {k: v for k, v in os.environ.items() if k != "SURVEY_QUESTIONNAIRES"}
        environment = {
            **inherited,
            "SURVEY_DATABASE_URL": db or default_db,
            "SURVEY_LOG_DIR": str(tmp_path / "logs"),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            input=input,
            capture_output=True,
            text=True,
            env=environment,
            timeout=timeout,
        )

    return run
