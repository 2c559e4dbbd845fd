"""Hostile text at each border: refused at import (with the cell made visible), stripped from answers and
notes when saved, never raw in a message."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from app.domain.engine import Answer, Engine
from app.domain.questionnaire import load_questionnaire
from app.domain.text import clean_note, is_unsafe
from app.services.catalogue import Catalogue
from app.services.sample import COLUMNS, SampleFileError, read_sample_file
from app.store.models import Case
from tests.domain.test_text import HOSTILE_NAME, hostile_text
from tests.services.test_sample_import import EXAMPLE, HEADER, TODAY, count, make_catalogue, row, run_import


def safe(text: str, keep: str = "") -> bool:
    return not any(is_unsafe(char, keep) for char in text)


def extract(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "extract.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8", newline="")
    return path


def test_controls_in_any_field_refuse_the_whole_file(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    path = extract(
        tmp_path,
        row(crime_ref="DA/0001/26"),
        row(crime_ref="DA/0002/26", victim_name=HOSTILE_NAME),
        row(crime_ref="DA/\u202e0003/26", district="Ash\x85by"),
    )

    with pytest.raises(SampleFileError) as refused:
        run_import(session_factory, make_catalogue(), path)

    assert str(refused.value).splitlines() == [
        f"{path}:3: victim_name: escape sequence U+001B is not allowed: 'Esc\\x1b[2J\\x1b]0;pwned\\x07Name'",
        f"{path}:4: crime_ref: bidirectional control U+202E (right-to-left override) is not allowed:"
        " 'DA/\\u202e0003/26'",
        f"{path}:4: district: control character U+0085 is not allowed: 'Ash\\x85by'",
    ]
    assert count(session_factory, Case) == 0


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    column=st.sampled_from(["victim_name", "crime_ref", "division", "district", "phone"]), value=hostile_text
)
def test_any_text_in_any_field_is_refused_or_stored_safe(tmp_path: Path, column: str, value: str) -> None:
    cells = next(csv.reader([row()]))
    cells[COLUMNS.index(column)] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    path = tmp_path / "one.csv"
    path.write_text(HEADER + "\n" + buffer.getvalue(), encoding="utf-8", newline="")
    catalogue: Catalogue = make_catalogue()
    try:
        rows = read_sample_file(path, catalogue, today=TODAY)
    except SampleFileError as exc:
        assert safe(str(exc), keep="\n")  # every message line quotes the cell made visible
        return
    for parsed in rows:
        for field in parsed:
            assert not isinstance(field, str) or safe(field), (column, field)


@given(hostile_text)
def test_verbatims_keep_tabs_and_newlines_and_lose_every_control(text: str) -> None:
    questionnaire = load_questionnaire(EXAMPLE)
    engine = Engine(questionnaire)
    question = questionnaire.question("comments")
    try:
        stored = engine.validate(question, Answer(value=text)).stored_value() or ""
    except Exception:  # too long, say: refused, nothing stored
        return
    assert safe(stored, keep="\t\n")


@given(hostile_text)
def test_notes_are_one_clean_line(text: str) -> None:
    note = clean_note(text)
    assert note is None or (safe(note) and note == note.strip())
