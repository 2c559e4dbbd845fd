"""Stored text that holds terminal controls (from before imports refused them) is printed made visible."""

from __future__ import annotations

import json
from pathlib import Path

from app.services.runtime import open_runtime
from tests.cli.conftest import InProcess, open_test_session, write_session_file
from tests.domain.test_text import HOSTILE_NAME
from tests.services.test_allocation import add_case


def test_case_show_never_prints_a_raw_control(in_process: InProcess, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runtime = open_runtime(url)
    try:
        with runtime.sessions.begin() as session:
            case_id = add_case(session, victim_name=HOSTILE_NAME, district="Ash\u202eby")
    finally:
        runtime.close()
    token, name = open_test_session(url, "supervisor")
    write_session_file(tmp_path / "state", url, token, name)

    table = in_process("case", "show", str(case_id), db=url, state=tmp_path / "state")
    as_json = in_process("case", "show", str(case_id), "--format", "json", db=url, state=tmp_path / "state")

    assert table.exit_code == 0, table.output
    assert "\x1b" not in table.output and "\u202e" not in table.output
    assert "Esc\\x1b[2J\\x1b]0;pwned\\x07Name" in table.output and "Ash\\u202eby" in table.output
    assert "\x1b" not in as_json.output and "\u202e" not in as_json.output
    assert json.loads(as_json.output)["victim_name"] == HOSTILE_NAME  # the data itself, for programs
