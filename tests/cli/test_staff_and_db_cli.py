"""`survey user add|list` and `survey db upgrade`, and the app's start-up errors, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Runner, SignIn


@pytest.fixture
def admin(signed_in: SignIn) -> Runner:
    return signed_in("admin")


def test_user_add_from_stdin_and_list(admin: Runner) -> None:
    added = admin(
        "user", "add", "jsmith", "--role", "supervisor", "--password-stdin", input="a long password\n"
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added jsmith (supervisor)"
    listed = admin("user", "list", "--format", "json")
    assert json.loads(listed.stdout) == [
        {"username": "jsmith", "display_name": "jsmith", "role": "supervisor", "active": True},
        {"username": "test_admin", "display_name": "test_admin", "role": "admin", "active": True},
    ]
    again = admin("user", "add", "jsmith", "--role", "caller", "--password-stdin", input="another password\n")
    assert again.returncode == 1 and again.stderr.strip() == "survey: user 'jsmith' already exists"


def test_user_add_rejects_bad_role_and_short_password(admin: Runner) -> None:
    bad_role = admin("user", "add", "x1", "--role", "boss", "--password-stdin", input="a long password\n")
    assert bad_role.returncode == 1 and "unknown role 'boss'" in bad_role.stderr
    short = admin("user", "add", "x1", "--role", "caller", "--password-stdin", input="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    assert "Traceback" not in bad_role.stderr + short.stderr


def test_db_upgrade_is_idempotent(survey: Runner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = survey("db", "upgrade", db=url)
    assert first.returncode == 0 and "upgraded from empty to revision" in first.stdout
    second = survey("db", "upgrade", db=url)
    assert second.returncode == 0 and "already at revision" in second.stdout


def test_unreachable_database_is_one_line(survey: Runner) -> None:
    result = survey("user", "list", db="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "survey: cannot open database postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_database_url_is_one_line(survey: Runner) -> None:
    result = survey("user", "list", db="mysql://x@y/z")
    assert result.returncode == 1 and "unsupported database URL scheme 'mysql'" in result.stderr


def test_changed_questionnaire_is_refused_at_start(admin: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "q"
    folder.mkdir()
    source = Path(__file__).parents[1] / "domain" / "data" / "example.yaml"
    (folder / "example.yaml").write_text(source.read_text())
    env = {"SURVEY_QUESTIONNAIRES": str(folder)}
    assert admin("user", "list", env=env).returncode == 0
    (folder / "example.yaml").write_text(source.read_text().replace("kept informed", "kept up to date"))
    result = admin("user", "list", env=env)
    assert result.returncode == 1
    assert "example.yaml: questionnaire 'example' version 1 has changed" in result.stderr
    assert "Traceback" not in result.stderr
