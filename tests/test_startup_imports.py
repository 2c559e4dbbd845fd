"""Start-up loads only what is needed: `survey --help` and `survey questionnaire list` load neither
Textual nor Alembic, and opening an up-to-date database checks its schema without Alembic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.store.migrate import _file_heads, head_revision

REPORT = """
import atexit, json, sys
atexit.register(lambda: sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
"""


def modules_after(code: str, tmp_path: Path) -> set[str]:
    env = {
        **os.environ,
        "SURVEY_DATABASE_URL": f"sqlite:///{tmp_path / 'survey.db'}",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "SURVEY_LOG_DIR": str(tmp_path / "logs"),
    }
    env.pop("SURVEY_QUESTIONNAIRES", None)
    result = subprocess.run([sys.executable, "-c", REPORT + code], capture_output=True, text=True, env=env)
    line = result.stderr.rsplit("MODULES ", 1)[-1]
    loaded = set(json.loads(line))
    return loaded | {name.split(".")[0] for name in loaded}


@pytest.mark.parametrize("args", [["--help"], ["questionnaire", "list"]])
def test_help_and_questionnaire_list_load_neither_textual_nor_alembic(
    args: list[str], tmp_path: Path
) -> None:
    command = f"import sys\nsys.argv = ['survey', *{args!r}]\nfrom app.cli import main\nmain()\n"
    for _ in range(2):  # the questionnaire cache empty, then filled
        loaded = modules_after(command, tmp_path)
        assert "app.cli" in loaded
        assert "textual" not in loaded
        assert "alembic" not in loaded


def test_an_up_to_date_database_opens_without_alembic(db_url: str, tmp_path: Path) -> None:
    code = f"from app.services.runtime import open_runtime\nopen_runtime({db_url!r}).close()\n"
    loaded = modules_after(code, tmp_path)
    assert "app.services.runtime" in loaded and "alembic" not in loaded


def test_the_newest_migration_read_from_the_files_is_alembics_head() -> None:
    assert _file_heads() == {head_revision()}


def test_the_sign_in_screen_needs_neither_the_database_layer_nor_the_commands(tmp_path: Path) -> None:
    """A plain `survey` draws its sign-in screen first: what that takes loads no SQLAlchemy, no Typer."""
    loaded = modules_after("import app.cli.start, app.tui.app, app.tui.screens.login\n", tmp_path)
    assert "app.tui.screens.login" in loaded
    assert not loaded & {"sqlalchemy", "typer", "pydantic", "alembic", "argon2"}


@pytest.mark.parametrize(("given", "expected"), [(None, 240), ("30", 30)])
def test_the_app_lets_textual_paint_a_changed_screen_at_once(given: str | None, expected: int) -> None:
    """Textual's beat for painting changes is 240 a second in the app (so the next question is painted
    within a few ms of being ready, not up to two 17 ms beats later); a TEXTUAL_FPS given wins."""
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    if given is not None:
        env["TEXTUAL_FPS"] = given
    code = "import app.tui.app, textual.screen as s; print(round(1 / s.UPDATE_PERIOD))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(result.stdout) == expected
