"""Parquet: typed columns, each field's metadata carrying its label and value labels (the codebook);
written a row group at a time (pyarrow's ParquetWriter), so memory holds one group, not the export."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from app.clock import LOCAL
from app.progress import SILENT, Progress
from app.services.export.columns import Kind, Variable

#: Rows of one row group.
ROW_GROUP = 10_000


def _blocks(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while block := list(islice(iterator, size)):
        yield block


def parquet_schema(variables: Sequence[Variable], title: str) -> Any:
    import pyarrow as pa

    fields = []
    for variable in variables:
        metadata = {"label": variable.label}
        if variable.value_labels:
            metadata["value_labels"] = json.dumps({str(code): text for code, text in variable.value_labels})
        if variable.missing:
            metadata["missing"] = json.dumps(list(variable.missing))
        if variable.wording:
            metadata["question"] = variable.wording
            metadata["asked_if"] = variable.routing or "always"
        if variable.definition:
            metadata["definition"] = variable.definition
        fields.append(pa.field(variable.name, _type(variable.kind), metadata=metadata))
    return pa.schema(fields, metadata={"title": title})


def _type(kind: Kind) -> Any:
    import pyarrow as pa

    types = {
        Kind.STRING: pa.string(),
        Kind.INTEGER: pa.int64(),
        Kind.NUMBER: pa.float64(),
        Kind.FLAG: pa.int16(),
        Kind.DATETIME: pa.timestamp("ms", tz=str(LOCAL)),  # Parquet has no whole-second unit
    }
    return types[kind]


def _table(schema: Any, variables: Sequence[Variable], block: Sequence[Sequence[Any]]) -> Any:
    import pyarrow as pa

    arrays = []
    for index, variable in enumerate(variables):
        values = [row[index] for row in block]
        if variable.kind is Kind.NUMBER:
            values = [None if v is None else float(v) for v in values]
        arrays.append(pa.array(values, type=_type(variable.kind)))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet(
    path: Path,
    variables: list[Variable],
    rows: Iterable[Sequence[Any]],
    title: str,
    changes: Iterable[Mapping[str, Any]] = (),
    progress: Progress = SILENT,
) -> None:
    """One row group per ROW_GROUP interviews (an export with none still has its columns)."""
    import pyarrow.parquet as pq

    schema = parquet_schema(variables, title)
    with pq.ParquetWriter(path, schema) as writer:
        written = False
        for block in _blocks(rows, ROW_GROUP):
            writer.write_table(_table(schema, variables, block))
            written = True
        if not written:
            writer.write_table(_table(schema, variables, []))
