"""The shared warehouse: PostgreSQL through psycopg2. All of Attain's PostgreSQL-only SQL is here.

Frames are written with one ``COPY ... FROM STDIN`` (CSV written by Arrow), not row by row. Statements that
create or change a table's shape take a transaction-scoped advisory lock on its name, so processes that write the same table at once (Celery workers) queue instead of failing.
Row locks (``SELECT ... FOR UPDATE``) and partial unique indexes keep the delivery log's and the closed
periods' guarantees when several processes share the database.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.csv as pa_csv

from attain.warehouse import Connection, WarehouseError, checked_name

#: The PostgreSQL types (OIDs, psycopg2's type codes) Attain's tables use, as Arrow reads them from COPY's CSV;
#: any other type is read as text (timestamptz too, parsed by pandas: Arrow wants ``+00:00``, PostgreSQL writes ``+00``).
_ARROW_TYPES = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    700: pa.float64(),
    701: pa.float64(),
    1700: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
}
_TIMESTAMPTZ = 1184
#: The unit of DuckDB's ``.df()`` for a date (DATE) and for a timestamp written from a pandas frame (TIMESTAMP_NS).
_DATETIME_UNITS = {1082: "datetime64[us]", 1114: "datetime64[ns]"}


def _sql_type(column: pd.Series) -> str:
    """The column type a new table gets for ``column`` (what DuckDB infers, in PostgreSQL's names)."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE PRECISION"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "TIMESTAMPTZ"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "TIMESTAMP"
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(column, skipna=True)
        return {
            "date": "DATE",
            "datetime": "TIMESTAMP",
            "datetime64": "TIMESTAMP",
            "integer": "BIGINT",
            "boolean": "BOOLEAN",
            "decimal": "NUMERIC",
            "floating": "DOUBLE PRECISION",
            "mixed-integer-float": "DOUBLE PRECISION",
        }.get(inferred, "TEXT")
    return "TEXT"


def _frame(table: pa.Table, type_codes: Sequence[int]) -> pd.DataFrame:
    """Arrow's table as DuckDB's ``.df()`` types it: integers and booleans with NULLs as pandas' nullable types
    (without NULLs as numpy's), dates and timestamps as ``datetime64`` in DuckDB's units, text as ``object``."""
    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    frame = table.to_pandas(types_mapper=nullable.get, date_as_object=False)
    for name, column, code in zip(frame.columns, table.columns, type_codes, strict=True):
        if column.type in nullable and not column.null_count:
            frame[name] = frame[name].astype("int64" if column.type == pa.int64() else "bool")
        elif code == _TIMESTAMPTZ:
            frame[name] = pd.to_datetime(frame[name], utc=True)
        elif code in _DATETIME_UNITS:  # the unit counts: input fingerprints hash the values
            frame[name] = frame[name].astype(_DATETIME_UNITS[code])
    return frame


def _csv(frame: pd.DataFrame) -> tuple[io.BytesIO, str]:
    """``frame`` as CSV for COPY, and the text that means NULL in it.

    Arrow writes it (several times faster than pandas) with every value quoted, so the NULL text is the
    unquoted empty field and an empty text stays empty text. A column Arrow cannot type (mixed Python
    objects) falls back to pandas, with ``\\N`` for NULL, lengthened in the rare frame where a text cell is
    exactly that.
    """
    buffer = io.BytesIO()
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"))
        null = ""
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        buffer = io.BytesIO()
        null = "\\N"
        texts = frame.select_dtypes(include=["object", "string", "category"])
        while any(texts[column].eq(null).any() for column in texts.columns):
            null += "N"
        buffer.write(frame.to_csv(index=False, header=False, na_rep=null).encode("utf-8"))
    buffer.seek(0)
    return buffer, null


class PostgresConnection(Connection):
    """A psycopg2 connection in autocommit mode behind the warehouse interface."""

    insertion_order = "attain_seq"

    def __init__(self, con: Any) -> None:
        self.con = con
        self.con.autocommit = True
        self._in_transaction = False

    @classmethod
    def open(cls, url: str, password: str = "") -> PostgresConnection:
        """Connect to ``url``; without ``password`` libpq looks in PGPASSWORD and ~/.pgpass."""
        extra = {"password": password} if password else {}
        try:
            return cls(psycopg2.connect(url, application_name="attain", connect_timeout=10, **extra))
        except psycopg2.Error as error:
            raise WarehouseError(f"cannot connect to the PostgreSQL warehouse: {error}".strip()) from error

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.con.cursor()
        try:
            cursor.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        except psycopg2.Error as error:
            raise WarehouseError(str(error).strip()) from error
        return cursor

    def _begin(self) -> None:
        self.execute("BEGIN")
        self._in_transaction = True

    def _end(self, commit: bool) -> None:
        self._in_transaction = False
        self.con.cursor().execute("COMMIT" if commit else "ROLLBACK")

    @contextlib.contextmanager
    def _serialised(self, name: str) -> Iterator[None]:
        """Hold an advisory lock on ``name`` until the (possibly new) transaction ends."""
        with contextlib.ExitStack() as stack:
            if not self._in_transaction:
                stack.enter_context(self.transaction())
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"attain:{name}"])
            yield

    def read(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """One ``COPY (query) TO STDOUT`` as CSV, parsed by Arrow with the query's column types.

        NULL is the unquoted empty field and an empty text the quoted one, so they stay apart.
        """
        query = self.con.cursor().mogrify(sql.replace("%", "%%").replace("?", "%s"), tuple(params)).decode()
        description = self.execute(f"SELECT * FROM ({query}) AS q LIMIT 0").description
        codes = [d[1] for d in description]
        names = [f"c{i}" for i in range(len(codes))]
        buffer = io.BytesIO()
        try:
            self.con.cursor().copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
        except psycopg2.Error as error:
            raise WarehouseError(str(error).strip()) from error
        types = {n: _ARROW_TYPES.get(c, pa.string()) for n, c in zip(names, codes, strict=True)}
        if buffer.tell():
            buffer.seek(0)
            table = pa_csv.read_csv(
                buffer,
                read_options=pa_csv.ReadOptions(column_names=names),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types=types,
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                    true_values=["t"],
                    false_values=["f"],
                ),
            )
        else:
            table = pa.table({n: pa.array([], type=t) for n, t in types.items()})
        frame = _frame(table, codes)
        frame.columns = [d[0] for d in description]
        return frame

    def write_frame(self, table: str, frame: pd.DataFrame) -> None:
        target = checked_name(table)
        schema, _, name = target.rpartition(".")
        with self._serialised(target):
            if not self.exists(target):
                columns = ", ".join(f'"{c}" {_sql_type(frame[c])}' for c in frame.columns)
                self.execute(f"CREATE TABLE {target} ({columns})")
            else:
                have = {
                    row[0]
                    for row in self.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                        "coalesce(?, current_schema()) AND table_name = ?",
                        [schema or None, name],
                    ).fetchall()
                }
                for column in frame.columns:
                    if column not in have:
                        self.execute(f'ALTER TABLE {target} ADD COLUMN "{column}" {_sql_type(frame[column])}')
            if not frame.empty:
                self.copy_in(target, frame)

    def copy_in(self, target: str, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows to ``target`` with one COPY (CSV text, columns by name)."""
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        buffer, null = _csv(frame)
        try:
            self.con.cursor().copy_expert(
                f"COPY {checked_name(target)} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{null}')", buffer
            )
        except psycopg2.Error as error:
            raise WarehouseError(str(error).strip()) from error

    def ensure_schema(self, schema: str) -> None:
        with self._serialised(schema):
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {checked_name(schema)}")

    def create_table(self, table: str, columns: str, ordered: bool = False) -> None:
        order = f", {self.insertion_order} BIGSERIAL" if ordered else ""
        with self._serialised(table):
            self.execute(f"CREATE TABLE IF NOT EXISTS {checked_name(table)} ({columns}{order})")

    def unique_while(self, table: str, columns: Sequence[str], condition: str) -> None:
        base = checked_name(table).rpartition(".")[2]
        index = f"{base}_one_{'_'.join(columns)}"
        with self._serialised(table):
            self.execute(
                f"CREATE UNIQUE INDEX IF NOT EXISTS {checked_name(index)} ON {table} "
                f"({', '.join(map(checked_name, columns))}) WHERE {condition}"
            )

    def lock_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.execute(sql + " FOR UPDATE", params).fetchall()

    def close(self) -> None:
        self.con.close()
