"""Warehouse tables as pandas frames in a fraction of the memory, with the same values and dtypes.

A DuckDB result converted with ``.df()`` holds one Python string per text cell: ten million deals make ten
million ``"won"`` objects of about 60 bytes per text column, some 5.5 GB for the deals table at 10M rows
(issue 12). :func:`fetch_frame` takes the result as Arrow instead and turns each repetitive text column into
one ``str`` per distinct value shared by its rows (:func:`object_cells`); the other columns go through
DuckDB's own pandas conversion. The frame equals the one ``.df()`` gives (same columns, order, dtypes, values
and nulls); only the objects behind equal strings are shared, which no code can tell apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Cells sampled to decide whether a text column repeats its values enough to be worth sharing.
_SAMPLE = 10_000


def object_cells(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An Arrow string column as an object array of ``str`` (``None`` where null).

    A column repeating a few values (stage, dates, owners) gets one ``str`` per distinct value, shared by its
    rows: faster than one per cell and a fraction of the memory. A column of mostly distinct values (ids) is
    converted cell by cell, where encoding would only cost time.
    """
    head = column.slice(0, _SAMPLE)
    if pc.count_distinct(head, mode="all").as_py() >= len(head) // 2:
        return column.to_numpy(zero_copy_only=False)
    encoded = pc.dictionary_encode(column).combine_chunks()
    uniques = np.empty(len(encoded.dictionary) + 1, dtype=object)  # the last one, None, for nulls
    uniques[:-1] = encoded.dictionary.to_numpy(zero_copy_only=False)
    codes = pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    return uniques[codes]


def fetch_frame(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """The rows of ``query`` as the DataFrame ``con.execute(query).df()`` would give, repetitive text shared.

    Text columns come through :func:`object_cells`; every other column through DuckDB's pandas conversion of
    the same Arrow data (so nullable integers, timestamps and decimals get exactly ``.df()``'s dtypes).
    """
    con.complete()  # a result left unread by an earlier execute() (a fetchone) would refuse the query
    table = con.sql(query, params=list(params) or None).to_arrow_table()
    names = table.column_names
    text = {n for n, kind in zip(names, table.schema.types, strict=True) if pa.types.is_string(kind)}
    others = table.select([n for n in names if n not in text])
    converted = duckdb.from_arrow(others).df() if others.num_columns else pd.DataFrame(index=range(table.num_rows))
    del others
    columns = {name: object_cells(table.column(name)) if name in text else converted[name] for name in names}
    rows = table.num_rows
    del table, converted
    release_arrow_memory()
    return pd.DataFrame(columns, columns=names, index=pd.RangeIndex(rows), copy=False)


def release_arrow_memory() -> None:
    """Give the memory of the Arrow data just dropped back to the system at once.

    Arrow's allocator keeps freed memory for its own later use; pandas and numpy allocate elsewhere, so a
    step that has turned a large Arrow table into a frame would otherwise hold both (1.5 GB at 10M deals).
    """
    pa.default_memory_pool().release_unused()
