"""Dependencies point one way: domain <- store <- services <- {cli, tui}."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import app

APP = Path(app.__file__).parent


def modules_of(package: str) -> list[str]:
    folder = APP / package.removeprefix("app.").replace(".", "/")
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(folder)])]


def loaded_after_import(modules: list[str]) -> set[str]:
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in result.stdout.split()} | set(result.stdout.split())


def test_domain_imports_neither_textual_nor_sqlalchemy() -> None:
    loaded = loaded_after_import(modules_of("app.domain"))
    assert "textual" not in loaded
    assert "sqlalchemy" not in loaded
    assert not {m for m in loaded if m.startswith(("app.store", "app.services", "app.tui", "app.cli"))}


def test_store_and_services_do_not_import_textual() -> None:
    loaded = loaded_after_import(modules_of("app.store") + modules_of("app.services"))
    assert "textual" not in loaded
    assert not {m for m in loaded if m.startswith(("app.tui", "app.cli"))}


def test_screens_run_no_sql() -> None:
    """Screens call services; they never build queries themselves."""
    for path in (APP / "tui").rglob("*.py"):
        text = path.read_text()
        assert "from sqlalchemy" not in text and "import sqlalchemy" not in text, path
        assert "app.store" not in text, path


def test_asking_whether_the_app_runs_in_a_browser_loads_no_server() -> None:
    """The app checks `app.web.running_in_browser()`; the server (aiohttp, textual-serve) stays unloaded."""
    loaded = loaded_after_import(["app.web", "app.tui.app"])
    assert "aiohttp" not in loaded
    assert "textual_serve" not in loaded


def test_screens_do_not_import_the_app() -> None:
    """Screens depend on the SurveyHost protocol; only app.py imports screens, never the reverse."""
    loaded = loaded_after_import(modules_of("app.tui.screens") + modules_of("app.tui.widgets"))
    assert "app.tui.app" not in loaded
    for path in (APP / "tui" / "screens").rglob("*.py"):
        text = path.read_text()
        assert "app.tui.app" not in text and "SurveyApp" not in text, path
