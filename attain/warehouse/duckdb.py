"""The embedded warehouse: a DuckDB file. All of Attain's DuckDB-only SQL is here.

DuckDB lets one process write a file; a second process opening it while the first holds it waits and retries
(a few seconds), as dagster-duckdb does. Inside that process, explicit transactions on one file take turns
(a lock per file): DuckDB's optimistic concurrency would let two threads both insert a row that should exist
once (a message's ``sending`` row), where PostgreSQL's row locks and partial unique index refuse the second. Frames are written set-based from the DataFrame itself (DuckDB
scans pandas without copying), and read through Arrow as ``.df()`` would type them (``attain.frames``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from attain.frames import fetch_frame
from attain.warehouse import Connection, WarehouseError, checked_name

#: Attempts to open a file another process holds, and the first wait in seconds (doubling).
OPEN_ATTEMPTS, OPEN_WAIT = 8, 0.1
#: One lock per database file (resolved path), held for each explicit transaction.
_FILE_LOCKS: dict[str, threading.RLock] = {}


class _Result:
    """A statement's rows, fetched: ``fetchone``, ``fetchall`` and ``description`` as DB-API has them."""

    def __init__(self, result: duckdb.DuckDBPyConnection) -> None:
        self.description = result.description
        self._rows = result.fetchall() if result.description else []

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows


class DuckDBConnection(Connection):
    """A DuckDB connection behind the warehouse interface."""

    insertion_order = "rowid"

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str = ":memory:") -> None:
        self.con = con
        shared = path != ":memory:"  # an in-memory database (or an adopted connection) is this connection's own
        self._lock = _FILE_LOCKS.setdefault(str(Path(path).resolve()), threading.RLock()) if shared else None

    @classmethod
    def open(cls, path: str) -> DuckDBConnection:
        """Open (and create) the file, waiting while another process holds it."""
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(OPEN_ATTEMPTS):
            try:
                return cls(duckdb.connect(path), path)
            except duckdb.IOException:
                if attempt == OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(OPEN_WAIT * 2**attempt)
        raise AssertionError("unreachable")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run and fetch at once: DuckDB refuses the next statement while a result is unfinished."""
        return _Result(self._run(sql, params))

    def _run(self, sql: str, params: Sequence[Any]) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql, list(params))
        except duckdb.Error as error:
            raise WarehouseError(str(error)) from error

    def _begin(self) -> None:
        if self._lock is not None:
            self._lock.acquire()
        try:
            self.execute("BEGIN TRANSACTION")
        except BaseException:
            self._release()
            raise

    def _end(self, commit: bool) -> None:
        try:
            self.con.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def read(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """The rows as ``.df()`` types them, with repetitive text shared (``attain.frames.fetch_frame``: 10M
        deals load in about half the memory)."""
        try:
            return fetch_frame(self.con, sql, params)
        except duckdb.Error as error:
            raise WarehouseError(str(error)) from error

    def write_frame(self, table: str, frame: pd.DataFrame) -> None:
        target = checked_name(table)
        if frame.empty:  # object columns of no rows would be typed INTEGER: text accepts later months' rows
            frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
        self.con.register("_attain_frame", frame)  # an error leaves it to the rollback (an aborted
        if not self.exists(target):  # transaction refuses unregister)
            self.execute(f"CREATE TABLE {target} AS SELECT * FROM _attain_frame")
        else:
            have = {row[0] for row in self.execute(f"DESCRIBE {target}").fetchall()}
            for name, sql_type, *_ in self.execute("DESCRIBE SELECT * FROM _attain_frame").fetchall():
                if name not in have:
                    self.execute(f'ALTER TABLE {target} ADD COLUMN "{name}" {sql_type}')
            if not frame.empty:
                self.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _attain_frame")
        self.con.unregister("_attain_frame")

    def ensure_schema(self, schema: str) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {checked_name(schema)}")

    def create_table(self, table: str, columns: str, ordered: bool = False) -> None:
        self.execute(f"CREATE TABLE IF NOT EXISTS {checked_name(table)} ({columns})")  # rowid is built in

    def unique_while(self, table: str, columns: Sequence[str], condition: str) -> None:
        """Nothing to create: DuckDB has no partial index, and one process writes the file."""

    def lock_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.execute(sql, params).fetchall()  # the file's single writer is the lock

    def close(self) -> None:
        self.con.close()
