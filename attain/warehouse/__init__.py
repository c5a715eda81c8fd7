"""The warehouse: one small interface over the embedded DuckDB file and a shared PostgreSQL server.

A location says which: a plain path or ``duckdb:///path`` is a DuckDB file (the embedded default, nothing to
start); ``postgresql://user@host:port/db`` is PostgreSQL (the production path, reachable from every worker).
The password is never part of a location: it comes as an argument (the resources read it from
``ATTAIN_WAREHOUSE_PASSWORD``) or from libpq's own PGPASSWORD / ~/.pgpass.

Every table Attain keeps goes through a :class:`Connection`: the asset tables (``write_frame``, ``read``)
and the tables written in transactions (the delivery log, closed periods and ledgers, fingerprints, the
period log). Domain code writes portable SQL with ``?`` parameters; whatever differs between the two
engines (creating and growing a table from a DataFrame, reading into pandas, locks, insertion order, the
driver's errors) lives in one module per backend: ``attain/warehouse/duckdb.py`` and ``postgres.py``.
"""

from __future__ import annotations

import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from attain.settings import SettingsError

#: The URL schemes of PostgreSQL (libpq accepts both).
POSTGRES_SCHEMES = ("postgresql", "postgres")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


class WarehouseError(RuntimeError):
    """The database refused a statement (a constraint, a type, a missing table); the message is the engine's."""


class Connection(ABC):
    """One open connection, in autocommit mode: each statement commits unless inside ``transaction()``.

    Parameters are ``?`` in every backend. Table names are ``table`` or ``schema.table`` (checked, never
    taken from user input).
    """

    #: The column giving a table's insertion order, for tables made with ``create_table(..., ordered=True)``.
    insertion_order: str = ""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; the result has ``fetchone``, ``fetchall`` and ``description`` (DB-API)."""

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _end(self, commit: bool) -> None: ...

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Everything inside commits together or not at all (also on KeyboardInterrupt); not nestable."""
        self._begin()
        try:
            yield self
        except BaseException:
            self._end(commit=False)
            raise
        self._end(commit=True)

    def exists(self, table: str) -> bool:
        """Whether ``table`` (``schema.table``, or a table of the default schema) exists (standard SQL: the
        same query on both backends)."""
        schema, _, name = checked_name(table).rpartition(".")
        row = self.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = coalesce(?, current_schema()) "
            "AND table_name = ?",
            [schema or None, name],
        ).fetchone()
        return bool(row and row[0])

    @abstractmethod
    def read(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """The rows of a query as a DataFrame, typed as the engine types them (no rows: typed empty columns)."""

    @abstractmethod
    def write_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Append ``frame`` to ``table`` by column name, set-based.

        A missing table is created from the frame's columns, also when it has no rows (so a month without
        rows still leaves a table to read); columns the table lacks are added (earlier rows read NULL).
        """

    @abstractmethod
    def ensure_schema(self, schema: str) -> None:
        """Create ``schema`` when missing (safe when several processes do it at once)."""

    @abstractmethod
    def create_table(self, table: str, columns: str, ordered: bool = False) -> None:
        """``CREATE TABLE IF NOT EXISTS table (columns)``; ``ordered`` adds ``insertion_order`` where needed."""

    @abstractmethod
    def unique_while(self, table: str, columns: Sequence[str], condition: str) -> None:
        """At most one row per ``columns`` among the rows meeting ``condition``, where the engine enforces it.

        PostgreSQL: a partial unique index, so two processes cannot both hold the row. DuckDB has no partial
        index; its file has one writing process, so the domain's own check inside a transaction suffices.
        """

    @abstractmethod
    def lock_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """The rows of ``sql`` (a SELECT), locked until the transaction ends where the engine locks rows."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""


def checked_name(table: str) -> str:
    """``table`` when it is a plain ``name`` or ``schema.name``; an error otherwise (names are never quoted)."""
    if not _NAME.fullmatch(table):
        raise ValueError(f"{table!r} is not a table name")
    return table


def is_postgres(location: str) -> bool:
    """Whether ``location`` names a PostgreSQL server (else a DuckDB file)."""
    return urlsplit(location).scheme in POSTGRES_SCHEMES


def duckdb_path(location: str) -> str:
    """The file of a DuckDB location: ``duckdb:///var/w.duckdb`` -> ``/var/w.duckdb``; a plain path as is."""
    return location.removeprefix("duckdb://") if location.startswith("duckdb://") else location


def check_location(location: str) -> str:
    """``location``, or an error (a ``SettingsError``: the CLI prints it) when it is not a warehouse Attain can
    use or carries a password."""
    if is_postgres(location):
        parts = urlsplit(location)
        if parts.password is not None:
            raise SettingsError(
                "the warehouse URL holds a password; remove it from the URL and set ATTAIN_WAREHOUSE_PASSWORD "
                "(or PGPASSWORD / ~/.pgpass), so it is never written in config or logs"
            )
        if not parts.hostname or not parts.path.strip("/"):
            raise SettingsError(f"warehouse URL {location!r}: expected postgresql://user@host:port/database")
        return location
    if "://" in location and not location.startswith("duckdb://"):
        raise SettingsError(
            f"warehouse {location!r}: expected duckdb:///path/to/file.duckdb or postgresql://user@host:port/db"
        )
    if not duckdb_path(location):
        raise SettingsError("the warehouse location is empty: give duckdb:///path or postgresql://user@host:port/db")
    return location


@contextlib.contextmanager
def connect(location: str, password: str = "") -> Iterator[Connection]:
    """A connection to the warehouse at ``location``, closed on exit."""
    check_location(location)
    con: Connection
    if is_postgres(location):
        from attain.warehouse.postgres import PostgresConnection

        con = PostgresConnection.open(location, password)
    else:
        from attain.warehouse.duckdb import DuckDBConnection

        con = DuckDBConnection.open(duckdb_path(location))
    try:
        yield con
    finally:
        con.close()


def as_connection(con: Any) -> Connection:
    """``con`` as a :class:`Connection`: a raw DuckDB connection is adopted (callers that opened one)."""
    if isinstance(con, Connection):
        return con
    from attain.warehouse.duckdb import DuckDBConnection

    return DuckDBConnection(con)
