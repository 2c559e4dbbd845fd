"""Untrusted text: refused, stripped or made visible; spreadsheet cells that stay text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from app.domain.text import (
    FORMULA_START,
    csv_cell,
    display,
    from_csv_cell,
    is_unsafe,
    strip_unsafe,
    unsafe_character,
    visible,
    xlsx_text,
)

HOSTILE_NAME = "Esc\x1b[2J\x1b]0;pwned\x07Name"
ESCAPES = [
    "\x1b[2J",
    "\x1b]0;pwned\x07",
    "\x1b]8;;http://x.example\x1b\\",
    "\x9b31m",
    "\x1b[",
    "\x1b",
    "\u202e",
    "\u2066",
    "\x85",
    "\x00",
    "\r",
    "\t",
    "\n",
    "\x7f",
]
# Arbitrary text with terminal controls mixed in.
hostile_text = st.lists(st.one_of(st.text(max_size=8), st.sampled_from(ESCAPES)), max_size=8).map("".join)


def no_unsafe(text: str, keep: str = "") -> bool:
    return not any(is_unsafe(char, keep) for char in text)


def test_the_name_that_cleared_a_screen() -> None:
    assert unsafe_character(HOSTILE_NAME) == "escape sequence U+001B is not allowed"
    assert strip_unsafe(HOSTILE_NAME) == "EscName"
    assert visible(HOSTILE_NAME) == "Esc\\x1b[2J\\x1b]0;pwned\\x07Name"
    assert display(HOSTILE_NAME) == "Esc\\x1b[2J\\x1b]0;pwned\\x07Name"


def test_c1_and_bidi_are_named() -> None:
    assert unsafe_character("a\u202eb") == (
        "bidirectional control U+202E (right-to-left override) is not allowed"
    )
    assert unsafe_character("a\x9bb") == "control character U+009B is not allowed"
    assert unsafe_character("Zoë O'Brien-Łukasz 李") is None
    assert unsafe_character("two\nlines", keep="\n") is None


@given(hostile_text)
def test_stripping_leaves_no_control(text: str) -> None:
    assert no_unsafe(strip_unsafe(text))
    kept = strip_unsafe(text, keep="\t\n")
    assert no_unsafe(kept, keep="\t\n")
    assert strip_unsafe(kept, keep="\t\n") == kept  # stripping twice changes nothing more


@given(st.text().filter(lambda t: no_unsafe(t)))
def test_safe_text_is_left_alone(text: str) -> None:
    assert strip_unsafe(text) == text and visible(text) == text and display(text) == text
    assert unsafe_character(text) is None


@given(hostile_text)
def test_display_is_safe_and_one_line(text: str) -> None:
    shown = display(text)
    assert no_unsafe(shown) and "\n" not in shown
    assert no_unsafe(display(text, multiline=True), keep="\n\t")


@given(hostile_text)
def test_csv_cells_never_start_a_formula_and_read_back(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.startswith(FORMULA_START)
    assert from_csv_cell(cell) == text


def test_csv_cells() -> None:
    assert csv_cell('=HYPERLINK("http://x.example")') == '\'=HYPERLINK("http://x.example")'
    assert csv_cell("\t=1+1") == "'\t=1+1"
    assert csv_cell("-5 stars") == "'-5 stars"
    assert csv_cell("fine") == "fine" and csv_cell("'quoted'") == "'quoted'"
    assert from_csv_cell("'quoted'") == "'quoted'"


@given(hostile_text)
def test_xlsx_text_holds_only_what_xml_can(text: str) -> None:
    assert ILLEGAL_CHARACTERS_RE.search(xlsx_text(text)) is None
