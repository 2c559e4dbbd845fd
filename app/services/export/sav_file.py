"""SPSS .sav: variable and value labels, the no-answer codes as user-missing values, formats, levels.

pyreadstat writes a whole data frame at once and cannot append to a file, and a .sav fixes each text
column's width in its dictionary, before the data. So the rows are written in two passes:

1. The rows are read once, kept in a spool on disk (owner-only, removed at the end), and the widest
   text of each text column is measured.
2. The dictionary is the one pyreadstat writes for a single row holding the widest text of each column.
   Then every block of rows is written by pyreadstat as its own small file, preceded by that same row so
   that its dictionary is the same; its data records (fixed-size, uncompressed) after that first row are
   appended to the file, and the number of cases in the header is set at the end.

The file is the one pyreadstat would write from a data frame of all the rows (tests compare them byte
for byte, apart from the time of writing in the header); memory holds one block, not the export.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from app.progress import SILENT, Progress
from app.services.export.columns import NOT_ASKED, NOT_RECORDED, Kind, Variable
from app.services.export.formats import naive_local
from app.services.textfile import Spool

#: Rows written by pyreadstat at a time.
CHUNK = 10_000
#: At most this many bytes of data records written by pyreadstat at a time: every case takes the widest
#: text of each column, so long free text makes fewer rows a block.
BLOCK_BYTES = 8 << 20
#: Where the header of a .sav holds the number of cases (a 4-byte integer) and the time it was written.
CASES_AT = 80
WRITTEN_AT = slice(92, 109)
WRITTEN_AT_BYTES = range(WRITTEN_AT.start, WRITTEN_AT.stop)


def sav_missing(variable: Variable) -> list[Any]:
    """SPSS holds three missing values, or one range and one value: 98, 99, 996, 997 become a range."""
    codes = sorted(variable.missing)
    if variable.kind is Kind.STRING:
        return [str(code) for code in codes if code in (NOT_ASKED, NOT_RECORDED)]
    if len(codes) <= 3:
        return [float(code) for code in codes]
    return [{"lo": float(codes[0]), "hi": float(codes[-1])}]


def sav_frame(variables: Sequence[Variable], rows: Sequence[Sequence[Any]]) -> Any:
    """The rows as the data frame pyreadstat writes: text, local date-times, and numbers as floats."""
    import pandas as pd

    columns: dict[str, Any] = {}
    for index, variable in enumerate(variables):
        values = [row[index] for row in rows]
        if variable.kind is Kind.STRING:
            columns[variable.name] = pd.Series(["" if v is None else str(v) for v in values], dtype=object)
        elif variable.kind is Kind.DATETIME:
            columns[variable.name] = pd.to_datetime(
                [None if v is None else _local(v) for v in values]
            ).astype("datetime64[ns]")
        else:
            columns[variable.name] = pd.Series(
                [float("nan") if v is None else float(v) for v in values], dtype="float64"
            )
    return pd.DataFrame(columns)


def _local(value: datetime | str) -> datetime:
    """A time as the .sav holds it; from the spool it comes back as ISO text (already local)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else naive_local(value)


def sav_options(variables: Sequence[Variable], title: str) -> dict[str, Any]:
    """Everything pyreadstat.write_sav is told besides the data."""
    numeric = [v for v in variables if v.kind not in (Kind.STRING, Kind.DATETIME)]
    return {
        "file_label": title[:64],
        "column_labels": {v.name: v.label[:256] for v in variables},
        "variable_value_labels": {
            v.name: {float(code): text for code, text in v.value_labels} for v in numeric if v.value_labels
        },
        "missing_ranges": {v.name: sav_missing(v) for v in variables if sav_missing(v)},
        "variable_measure": {v.name: v.level.value for v in variables if v.kind is not Kind.STRING},
        "variable_format": {v.name: v.spss_format for v in numeric if v.spss_format},
    }


def write_sav(
    path: Path,
    variables: list[Variable],
    rows: Iterable[Sequence[Any]],
    title: str,
    changes: Iterable[Mapping[str, Any]] = (),
    progress: Progress = SILENT,
) -> None:
    """The .sav, in the two passes described above."""
    with Spool() as spool, tempfile.TemporaryDirectory(prefix="survey-sav-") as folder:
        cases, widths = _spool_rows(variables, rows, spool)
        widest = tuple("x" * widths[i] if i in widths else None for i in range(len(variables)))
        options = sav_options(variables, title)
        layout = _Layout.measure(Path(folder), variables, widest, options)
        progress.start("Writing the .sav file", total=cases, unit="interviews")
        with path.open("wb") as out:
            out.write(layout.header(cases))
            rows_at_a_time = max(1, min(CHUNK, BLOCK_BYTES // layout.case_size))
            for block in spool:
                for first in range(0, len(block), rows_at_a_time):
                    part = block[first : first + rows_at_a_time]
                    out.write(layout.data(Path(folder), variables, widest, part, options))
                    progress.advance(len(part))


def _spool_rows(
    variables: Sequence[Variable], rows: Iterable[Sequence[Any]], spool: Spool
) -> tuple[int, dict[int, int]]:
    """The first pass: every row into the spool (times as local ISO text), CHUNK rows a block.
    Returns the number of rows and the widest text of each text column (in UTF-8 bytes)."""
    texts = [i for i, v in enumerate(variables) if v.kind is Kind.STRING]
    times = [i for i, v in enumerate(variables) if v.kind is Kind.DATETIME]
    widths = dict.fromkeys(texts, 0)
    cases = 0
    block: list[tuple[Any, ...]] = []
    for row in rows:
        record = list(row)
        for i in texts:
            value = record[i]
            if value is not None:
                widths[i] = max(widths[i], len(str(value).encode("utf-8")))
        for i in times:
            if record[i] is not None:
                record[i] = naive_local(record[i]).isoformat()
        block.append(tuple(record))
        if len(block) == CHUNK:
            spool.write(block)
            cases += len(block)
            block = []
    if block:
        spool.write(block)
        cases += len(block)
    return cases, widths


class _Layout:
    """The dictionary pyreadstat writes for these columns and widths, where it says how many cases follow
    (the header's 4-byte count, and the 8-byte one of the extension record for large files), and the
    size of one case."""

    def __init__(self, dictionary: bytes, case_size: int, counts: list[tuple[int, str]]) -> None:
        self.dictionary = dictionary
        self.case_size = case_size
        self.counts = counts  # (offset, struct format) of each count of cases

    @classmethod
    def measure(
        cls, folder: Path, variables: Sequence[Variable], widest: tuple[Any, ...], options: dict[str, Any]
    ) -> _Layout:
        one = _written(folder, variables, [widest], options)
        two = _written(folder, variables, [widest, widest], options)
        case_size = len(two) - len(one)
        size = len(one) - case_size
        order = "<" if struct.unpack("<i", one[64:68])[0] in (2, 3) else ">"
        counts = []
        for offset in (i for i in range(size) if one[i] != two[i] and i not in WRITTEN_AT_BYTES):
            start = offset if order == "<" else offset - (3 if offset < CASES_AT + 4 else 7)
            fmt = f"{order}i" if start == CASES_AT else f"{order}q"
            if struct.unpack_from(fmt, one, start) != (1,) or struct.unpack_from(fmt, two, start) != (2,):
                raise RuntimeError(f"the .sav dictionary differs at byte {offset} with the number of cases")
            counts.append((start, fmt))
        return cls(one[:size], case_size, counts)

    def header(self, cases: int) -> bytes:
        """The dictionary, saying how many cases follow."""
        header = bytearray(self.dictionary)
        for offset, fmt in self.counts:
            struct.pack_into(fmt, header, offset, cases)
        return bytes(header)

    def data(
        self,
        folder: Path,
        variables: Sequence[Variable],
        widest: tuple[Any, ...],
        block: Sequence[Sequence[Any]],
        options: dict[str, Any],
    ) -> bytes:
        """The data records of `block`, as pyreadstat writes them under this dictionary."""
        written = _written(folder, variables, [widest, *block], options)
        start = len(self.dictionary) + self.case_size
        if len(written) != start + len(block) * self.case_size or not self._same(written):
            raise RuntimeError("pyreadstat wrote a block of the .sav with another layout")  # a bug, not input
        return written[start:]

    def _same(self, written: bytes) -> bool:
        """Whether a block's dictionary is this one (apart from the cases and the time of writing)."""
        mine, theirs = self.header(0), bytearray(written[: len(self.dictionary)])
        for offset, fmt in self.counts:
            struct.pack_into(fmt, theirs, offset, 0)
        theirs[WRITTEN_AT] = mine[WRITTEN_AT]
        return mine == bytes(theirs)


def _written(
    folder: Path, variables: Sequence[Variable], rows: Sequence[Sequence[Any]], options: dict[str, Any]
) -> bytes:
    """What pyreadstat writes for these rows, read back from a file in the private folder."""
    import pyreadstat

    target = folder / "block.sav"
    pyreadstat.write_sav(sav_frame(variables, rows), str(target), **options)
    return target.read_bytes()


__all__ = ["CHUNK", "sav_frame", "sav_missing", "sav_options", "write_sav"]
