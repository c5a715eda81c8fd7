"""Warehouse tables loaded in less memory (issue 12): the same frames and fingerprints as before."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from attain.frames import fetch_frame, object_cells
from attain.pay.period_close import input_fingerprint


@pytest.fixture
def con():
    """An in-memory DuckDB with a table of every kind of column a warehouse table has."""
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE t AS SELECT
            'D' || lpad(i::VARCHAR, 6, '0') AS deal_id,
            CASE WHEN i % 7 = 0 THEN NULL ELSE ['won', 'lost', 'open'][i % 3 + 1] END AS stage,
            CASE WHEN i % 2 = 0 THEN 'R' || (i % 40)::VARCHAR END AS owner_id,
            i * 100 AS amount_minor,
            CASE WHEN i % 5 = 0 THEN NULL ELSE i END AS maybe,
            i % 4 = 0 AS flag,
            (TIMESTAMP '2026-01-01' + to_minutes(i))::TIMESTAMP_NS AS created,
            CASE WHEN i % 3 = 0 THEN NULL ELSE (DATE '2026-02-01' + (i % 30)::INTEGER)::TIMESTAMP_NS END AS closed,
            (i / 8)::DECIMAL(18, 2) AS share,
            i / 3 AS ratio
        FROM range(30000) r(i)
        """
    )
    yield con
    con.close()


@pytest.mark.parametrize("where", ["TRUE", "FALSE", "stage = 'won'"])
def test_fetch_frame_equals_duckdb_df(con, where):
    query = f"SELECT * FROM t WHERE {where}"
    expected = con.execute(query).df()
    got = fetch_frame(con, query)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)
    # Nulls stay what .df() makes of them (None in text columns), not NaN.
    assert got["owner_id"].isna().sum() == expected["owner_id"].isna().sum()
    if len(got):
        assert {type(v) for v in got["owner_id"]} == {type(v) for v in expected["owner_id"]}


def test_repeated_text_shares_one_object_per_value(con):
    got = fetch_frame(con, "SELECT * FROM t")
    assert len({id(v) for v in got["stage"].dropna()}) == 3
    assert len({id(v) for v in got["owner_id"].dropna()}) == 20
    assert len({id(v) for v in got["deal_id"]}) == len(got)  # ids stay one string per cell


def test_object_cells_of_text_without_nulls_is_the_plain_conversion():
    import pyarrow as pa

    column = pa.chunked_array([["a", "b", "a"] * 5000, ["c"] * 100])
    cells = object_cells(column)
    assert cells.dtype == object
    assert cells.tolist() == column.to_pylist()


def test_fingerprint_is_pandas_row_hash_of_the_whole_table():
    """Hashing a column at a time gives the fingerprint the whole-frame hash gave (closed months keep theirs)."""
    import hashlib

    frame = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3"],
            "amount_minor": [100, 250, 0],
            "maybe": pd.array([1, None, 3], dtype="Int64"),
            "team": pd.Categorical(["East", "West", None]),
            "rep": pd.array(["R1", None, "R3"], dtype="string"),
            "close_date": pd.to_datetime(["2026-10-01", None, "2026-10-03"]),
        }
    )
    columns = sorted(frame.columns)

    def plain_text(c: pd.Series) -> pd.Series:  # the whole-frame hash as it was written before issue 12
        return (
            c.astype(object).where(c.notna(), None) if isinstance(c.dtype, (pd.StringDtype, pd.CategoricalDtype)) else c
        )

    plain = frame[columns].apply(plain_text)
    rows = pd.util.hash_pandas_object(plain, index=False).to_numpy(dtype=np.uint64)
    digest = hashlib.sha256()
    digest.update(f"table deals {len(frame)}\n{';'.join(columns)}\n".encode())
    digest.update(np.sort(rows).tobytes())
    assert input_fingerprint({"deals": frame}, {}) == digest.hexdigest()


def test_fetch_frame_after_a_result_left_unread(con):
    """The IO manager asks whether the table exists with a fetchone() on the same connection first."""
    assert con.execute("SELECT count(*) FROM t").fetchone() == (30000,)
    assert len(fetch_frame(con, "SELECT * FROM t WHERE flag")) == 7500
