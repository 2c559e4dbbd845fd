"""Reading big CSV files from elsewhere: which encoding they are in, and a private spool between passes.

Imports read a file twice over without holding it: a first pass checks every row and writes the good
ones to a spool, a second stores them. Decisions:

- Encodings recognised: UTF-8 with or without a byte order mark, UTF-16 with a byte order mark, and
  Windows-1252 (what spreadsheets on Windows save as "CSV"; its superset of Latin-1 covers what older
  systems write). The whole file is scanned once, in blocks, before the first row is read: a UTF-8
  file with one Windows-1252 byte in its millionth row must not be read as UTF-8 up to there. A file
  that mixes valid UTF-8 with other bytes is refused rather than guessed (its accented names would
  come out garbled), and so is anything else, in one line naming the file, the line and what was found.
- The spool is an anonymous temporary file (created unlinked, readable by this process only), written
  in marshal blocks: it holds the rows of the extract being imported for the length of the import and
  disappears with the process even if the import is interrupted.
"""

from __future__ import annotations

import codecs
import io
import marshal
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.errors import SurveyError

#: Bytes read at a time while scanning a file's encoding.
BLOCK = 1 << 20

#: What each codec is called for people.
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
}

_BOMS = (
    (codecs.BOM_UTF32_LE, None, "UTF-32 text (little-endian byte order mark)"),
    (codecs.BOM_UTF32_BE, None, "UTF-32 text (big-endian byte order mark)"),
    (codecs.BOM_UTF8, "utf-8-sig", ""),
    (codecs.BOM_UTF16_LE, "utf-16", ""),
    (codecs.BOM_UTF16_BE, "utf-16", ""),
)
_SIGNATURES = (
    (b"PK\x03\x04", "this is a spreadsheet (.xlsx), not CSV"),
    (b"\xd0\xcf\x11\xe0", "this is an Excel 97-2003 workbook (.xls), not CSV"),
    (b"%PDF", "this is a PDF document, not CSV"),
)
# A character of two to four bytes that is valid UTF-8: found in a file that is not UTF-8 throughout,
# it means two encodings are mixed.
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_SAVE_AS = "save it as CSV UTF-8"
#: The five bytes Windows-1252 leaves undefined.
_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


class TextFileError(SurveyError):
    """A file that cannot be read as text: one line, `FILE[:LINE]: what was found`."""


@dataclass(frozen=True)
class TextFile:
    """A file whose encoding has been recognised."""

    path: Path
    name: str
    encoding: str
    size: int
    #: True when the file holds nothing but white space.
    blank: bool

    @property
    def encoding_name(self) -> str:
        return ENCODING_NAMES.get(self.encoding, self.encoding)

    def open(self) -> tuple[IO[bytes], io.TextIOWrapper]:
        """(the binary file, for its position as progress; the text to give csv.reader)."""
        binary = self.path.open("rb")
        return binary, io.TextIOWrapper(binary, encoding=self.encoding, newline="")


def recognise(path: Path, name: str | None = None) -> TextFile:
    """The file's encoding, from a scan of all its bytes; TextFileError when it is not readable text."""
    name = name or str(path)
    try:
        with path.open("rb") as handle:
            return _scan(handle, path, name)
    except FileNotFoundError:
        raise TextFileError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise TextFileError(f"{name}: is a folder, not a CSV file") from None
    except PermissionError:
        raise TextFileError(f"{name}: cannot read: permission denied") from None
    except OSError as exc:
        raise TextFileError(f"{name}: cannot read: {exc.strerror or exc}") from None


def _scan(handle: IO[bytes], path: Path, name: str) -> TextFile:
    head = handle.read(BLOCK)
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise TextFileError(f"{name}:1: {what}: {_SAVE_AS}")
    for bom, encoding, what in _BOMS:
        if head.startswith(bom):
            if encoding is None:
                raise TextFileError(f"{name}:1: {what}, which is not supported: {_SAVE_AS}")
            break
    else:
        encoding = "utf-8"
    if encoding == "utf-16":
        return _utf16(handle, head, path, name)
    if b"\x00" in head and _looks_like_utf16(head):
        raise TextFileError(f"{name}:1: UTF-16 text without a byte order mark: {_SAVE_AS}")

    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0  # newlines before the block being decoded
    blank = True
    block = head
    failed: tuple[int, int] | None = None  # (line, byte) of the first byte that is not UTF-8
    size = 0
    while block:
        size += len(block)
        if b"\x00" in block:
            line = lines + block.count(b"\n", 0, block.index(b"\x00")) + 1
            raise TextFileError(f"{name}:{line}: not a CSV text file (binary content): {_SAVE_AS}")
        blank = blank and not block.strip()
        if failed is None:
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # The decoder may hold the start of a character from the block before.
                at = max(exc.start - len(exc.object) + len(block), 0)
                failed = (lines + block.count(b"\n", 0, at) + 1, block[at])
        lines += block.count(b"\n")
        block = handle.read(BLOCK)
    if failed is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            failed = (lines + 1, 0)
    if failed is None:
        return TextFile(path, name, encoding, size, blank)
    return _windows_1252(handle, path, name, failed, size, blank)


def _windows_1252(
    handle: IO[bytes], path: Path, name: str, failed: tuple[int, int], size: int, blank: bool
) -> TextFile:
    """A file that is not UTF-8: Windows-1252 if every byte is one of its characters and no valid UTF-8
    character of two or more bytes appears (which would mean two encodings mixed)."""
    line, byte = failed
    handle.seek(0)
    lines = 0
    tail = b""  # the end of the block before, so a UTF-8 character across two blocks is still seen
    while block := handle.read(BLOCK):
        found = [position for undefined in _UNDEFINED if (position := block.find(undefined)) >= 0]
        if found:
            position = min(found)
            where = lines + block.count(b"\n", 0, position) + 1
            raise TextFileError(
                f"{name}:{where}: neither UTF-8 nor Windows-1252 text (byte 0x{block[position]:02x}):"
                f" {_SAVE_AS}"
            )
        mixed = _UTF8_MULTIBYTE.search(tail + block)
        if mixed:
            where = lines + (tail + block).count(b"\n", 0, mixed.start()) - tail.count(b"\n") + 1
            raise TextFileError(
                f"{name}:{line}: mixed encodings: byte 0x{byte:02x} is not UTF-8, but line {where} is"
                f" UTF-8: {_SAVE_AS}"
            )
        lines += block.count(b"\n")
        tail = block[-3:]
    return TextFile(path, name, "cp1252", size, blank)


def _looks_like_utf16(head: bytes) -> bool:
    """Text in UTF-16 without a byte order mark: a NUL in most even or most odd positions."""
    sample = head[:4096]
    half = len(sample) // 2
    if half < 2:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return max(even, odd) > 0.4 * half and min(even, odd) < 0.05 * half


def _utf16(handle: IO[bytes], head: bytes, path: Path, name: str) -> TextFile:
    decoder = codecs.getincrementaldecoder("utf-16")()
    lines = 0
    blank = True
    size = 0
    block = head
    while block:
        size += len(block)
        try:
            text = decoder.decode(block)
        except UnicodeDecodeError as exc:
            raise TextFileError(
                f"{name}:{lines + 1}: not valid UTF-16 text ({exc.reason}): {_SAVE_AS}"
            ) from None
        if "\x00" in text:
            line = lines + text.count("\n", 0, text.index("\x00")) + 1
            raise TextFileError(f"{name}:{line}: not a CSV text file (binary content): {_SAVE_AS}")
        blank = blank and not text.strip()
        lines += text.count("\n")
        block = handle.read(BLOCK)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise TextFileError(
            f"{name}:{lines + 1}: not valid UTF-16 text (it ends in half a character): {_SAVE_AS}"
        ) from None
    return TextFile(path, name, "utf-16", size, blank)


class Spool:
    """Blocks of plain values (tuples of str, int, float, bool, None) kept on disk between two passes."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="survey-")  # noqa: SIM115 - closed by close()
        self.blocks = 0

    def write(self, block: list[tuple[Any, ...]]) -> None:
        data = marshal.dumps(block)
        # Length first: marshal.load() on a file reads it a few bytes at a time, twenty times slower.
        self._file.write(len(data).to_bytes(8, "little"))
        self._file.write(data)
        self.blocks += 1

    def __iter__(self) -> Iterator[list[tuple[Any, ...]]]:
        """Every block, in the order written (each pass over the spool starts at its beginning)."""
        self._file.flush()
        self._file.seek(0)
        for _ in range(self.blocks):
            size = int.from_bytes(self._file.read(8), "little")
            yield marshal.loads(self._file.read(size))
        self._file.seek(0, io.SEEK_END)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def peak_memory() -> str:
    """ " (peak 123 MB)": the process's peak memory so far, for the logs of long work ("" where the
    operating system does not say)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return ""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return f" (peak {peak / (1 << 20 if sys.platform == 'darwin' else 1 << 10):.0f} MB)"


__all__ = ["ENCODING_NAMES", "Spool", "TextFile", "TextFileError", "peak_memory", "recognise"]
