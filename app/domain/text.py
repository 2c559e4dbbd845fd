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

import functools
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


@functools.cache
def _unsafe_pattern(keep: str) -> re.Pattern[str]:
    allowed = f"(?![{re.escape(keep)}])" if keep else ""
    return re.compile(allowed + "[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def is_unsafe(char: str, keep: str = "") -> bool:
    """A C0 or C1 control character, DEL, or a bidirectional control, unless listed in keep."""
    if char in keep:
        return False
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in BIDI_CONTROLS


def unsafe_character(text: str, keep: str = "") -> str | None:
    """Why the text may not be stored as it is: the first unsafe character named, or None if it is safe."""
    found = _unsafe_pattern(keep).search(text)
    return None if found is None else f"{_describe(found.group())} is not allowed"


def strip_unsafe(text: str, keep: str = "") -> str:
    """The text without escape sequences, control characters (but those in keep) and bidi controls."""
    pattern = _unsafe_pattern(keep)
    if pattern.search(text) is None:
        return text
    return pattern.sub("", _ESCAPE_SEQUENCE.sub("", text))


def clean_note(text: str | None) -> str | None:
    """A note as stored: one line of text without controls, or None when nothing is left."""
    return " ".join(strip_unsafe(text or "", keep="\t\n\r").split()) or None


def visible(text: str, keep: str = "") -> str:
    """The text with each unsafe character shown as an escape (\\x1b, \\u202e), for messages and screens."""
    pattern = _unsafe_pattern(keep)
    if pattern.search(text) is None:
        return text
    return pattern.sub(lambda found: _escape(found.group()), text)


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


# ------------------------------------------------------------------ redaction of verbatims

#: What a marked span becomes in the text analysts see.
REDACTION_KINDS = ("name", "place", "other")


def find_spans(text: str, phrase: str, kind: str) -> list[tuple[int, int, str]]:
    """Every place where phrase occurs in text (ignoring case), as (start, end, kind) spans."""
    if kind not in REDACTION_KINDS:
        raise ValueError(f"unknown kind of redaction {kind!r}; use one of {', '.join(REDACTION_KINDS)}")
    phrase = phrase.strip()
    if not phrase:
        return []
    return [(m.start(), m.end(), kind) for m in re.finditer(re.escape(phrase), text, flags=re.IGNORECASE)]


def redact(text: str, spans: list[tuple[int, int, str]]) -> str:
    """The text with each span replaced by [name], [place] or [other]; overlapping spans merge."""
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(spans):
        if not (0 <= start < end <= len(text)) or kind not in REDACTION_KINDS:
            raise ValueError(f"span {start}-{end} ({kind}) does not fit a text of {len(text)} characters")
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, kind))
    parts, position = [], 0
    for start, end, kind in merged:
        parts.append(text[position:start])
        parts.append(f"[{kind}]")
        position = end
    parts.append(text[position:])
    return "".join(parts)
