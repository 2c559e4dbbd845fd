"""Text from outside (extracts, typed answers, notes) is data: never terminal controls, never formulas.

A crime-records extract or a caller's note can hold bytes that a terminal obeys: ESC [2J clears the
screen, ESC ]0;...BEL sets the window title (which outlives a quick exit), C1 controls do the same in one
byte, and bidirectional overrides (U+202E) make text read backwards. A spreadsheet obeys a cell that
starts with = + - @ (and, once it strips a leading tab or carriage return, those too).

So, at each border:
- imports refuse such text (`unsafe_character` names the first one, `visible` quotes the cell safely);
- answers and notes lose it when saved (`strip_unsafe`; verbatims keep tabs and newlines);
- screens and command output show stored strings through `display`, which makes any left visible;
- CSV cells that a spreadsheet would read as a formula get a leading apostrophe (`csv_cell`, OWASP's
  advice); XLSX cells are written as explicit strings, with characters XML cannot hold replaced
  (`xlsx_text`).
"""

from __future__ import annotations

import re
import unicodedata

#: Bidirectional embeddings, overrides and isolates: they reorder what is shown, not what is stored.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# A whole escape sequence, so that stripping it leaves no "[2J" behind: CSI (ESC [ or the C1 byte
# 0x9B) up to its final byte; OSC, DCS, SOS, PM and APC strings up to BEL or ST; any other ESC + one
# character.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\s\S]?"
)
#: Cells that a spreadsheet reads as a formula (or as one after stripping the first character).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 cannot hold these (openpyxl refuses them with an exception).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def is_unsafe(char: str, keep: str = "") -> bool:
    """A C0 or C1 control character, DEL, or a bidirectional control, unless listed in keep."""
    if char in keep:
        return False
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in BIDI_CONTROLS


def unsafe_character(text: str, keep: str = "") -> str | None:
    """Why the text may not be stored as it is: the first unsafe character named, or None if it is safe."""
    for char in text:
        if is_unsafe(char, keep):
            return f"{_describe(char)} is not allowed"
    return None


def strip_unsafe(text: str, keep: str = "") -> str:
    """The text without escape sequences, control characters (but those in keep) and bidi controls."""
    if not any(is_unsafe(char, keep) for char in text):
        return text
    without_sequences = _ESCAPE_SEQUENCE.sub("", text)
    return "".join(char for char in without_sequences if not is_unsafe(char, keep))


def visible(text: str, keep: str = "") -> str:
    """The text with each unsafe character shown as an escape (\\x1b, \\u202e), for messages and screens."""
    if not any(is_unsafe(char, keep) for char in text):
        return text
    return "".join(_escape(char) if is_unsafe(char, keep) else char for char in text)


def display(text: str | None, *, multiline: bool = False) -> str:
    """A stored string made safe for a terminal: controls visible; newlines and tabs kept if multiline,
    else shown as spaces. None shows as ""."""
    if not text:
        return ""
    if multiline:
        return visible(text, keep="\n\t")
    return visible(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


def csv_cell(text: str) -> str:
    """A CSV cell that a spreadsheet shows as the text it is, never runs as a formula.

    Text that already starts with apostrophes before a formula character gets one more, so that
    `from_csv_cell` gives back exactly what was written.
    """
    return "'" + text if text.lstrip("'").startswith(FORMULA_START) else text


def from_csv_cell(text: str) -> str:
    """Undo `csv_cell` when reading back a CSV that this app wrote."""
    return text[1:] if text.startswith("'") and text.lstrip("'").startswith(FORMULA_START) else text


def xlsx_text(text: str) -> str:
    """Text an XLSX cell can hold: characters XML forbids become U+FFFD (never an exception)."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _describe(char: str) -> str:
    code = ord(char)
    if char in BIDI_CONTROLS:
        kind = "bidirectional control"
    elif code == 0x1B:
        kind = "escape sequence"
    else:
        kind = "control character"
    name = unicodedata.name(char, "")
    return f"{kind} U+{code:04X}{f' ({name.lower()})' if name else ''}"
