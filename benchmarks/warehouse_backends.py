"""Benchmark: write and read 1,000,000 deals through each warehouse backend's IO path, against its floor.

The IO path is what the warehouse IO manager does for a month of the ``deals`` table: in one transaction,
delete the month's rows and ``Connection.write_frame`` the frame (DuckDB: insert by name from the DataFrame;
PostgreSQL: ``COPY`` of the frame as CSV); then read the month back with the IO manager's SELECT
(``Connection.read``). The floor is the library alone on the same data in the same run:

- DuckDB: ``CREATE TABLE AS SELECT * FROM df`` and ``SELECT * ... .df()``;
- PostgreSQL: psycopg2 ``COPY`` of the same CSV text (already formatted) in, and ``COPY (SELECT ...) TO
  STDOUT`` of the same rows out (the CSV text alone, before any parsing).

The PostgreSQL server is a throwaway one on a loopback port (``pipelines/pg_server.py``), stopped at the end.
``measure`` returns the figures (the scale benchmark quotes them); ``main`` prints them with the ratios.

    .venv/bin/python benchmarks/warehouse_backends.py [--deals 1000000] [--runs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psycopg2
from dagster._core.definitions.partitions.utils import TimeWindow
from dagster._core.storage.db_io_manager import TablePartitionDimension, TableSlice

from attain import warehouse
from pipelines.pg_server import postgres_server
from pipelines.warehouse_io import WarehouseDbClient

MONTH, NEXT = "2026-09", "2026-10"
_SLICE = TableSlice(
    table="deals",
    schema="attain",
    partition_dimensions=[
        TablePartitionDimension(
            partition_expr="as_of",
            partitions=TimeWindow(pd.Timestamp(f"{MONTH}-01", tz="UTC"), pd.Timestamp(f"{NEXT}-01", tz="UTC")),
        )
    ],
)


def synthetic_deals(n: int, seed: int = 5) -> pd.DataFrame:
    """Deals shaped like the validated ``deals`` table: ids, owner, product, stage, money, dates, the month."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    return pd.DataFrame(
        {
            "deal_id": [f"D{i:08d}" for i in range(n)],
            "owner_id": pd.Series(rng.integers(0, 5000, n)).map("R{:05d}".format),
            "account": pd.Series(rng.integers(0, 40000, n)).map("Account {}".format),
            "product": rng.choice(np.array(["Helio Core", "Helio Enterprise", "Connector Pack"], dtype=object), n),
            "stage": rng.choice(np.array(["won", "lost", "open"], dtype=object), n),
            "amount_minor": rng.integers(10_000, 50_000_000, n, dtype=np.int64),
            "currency": rng.choice(np.array(["USD", "EUR", "CNY"], dtype=object), n),
            "created_date": created,
            "close_date": created + pd.to_timedelta(rng.integers(1, 200, n), unit="D"),
            "as_of": MONTH,
        }
    )


def _best(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def _io_path(location: str, password: str, deals: pd.DataFrame, runs: int) -> tuple[float, float]:
    """(write, read) seconds of the IO manager's path: replace the month in one transaction, read it back."""

    def write() -> None:
        with warehouse.connect(location, password) as con, con.transaction():
            con.ensure_schema("attain")
            if con.exists("attain.deals"):
                con.execute("DELETE FROM attain.deals WHERE as_of >= ? AND as_of < ?", [MONTH, NEXT])
            con.write_frame("attain.deals", deals)

    def read() -> None:
        with warehouse.connect(location, password) as con:
            assert len(con.read(WarehouseDbClient.get_select_statement(_SLICE))) == len(deals)

    return _best(runs, write), _best(runs, read)


def _duckdb_floor(path: Path, deals: pd.DataFrame, runs: int) -> tuple[float, float]:
    def write() -> None:
        with duckdb.connect(str(path)) as con:
            con.execute("DROP TABLE IF EXISTS floor_deals")
            con.register("frame", deals)
            con.execute("CREATE TABLE floor_deals AS SELECT * FROM frame")

    def read() -> None:
        with duckdb.connect(str(path)) as con:
            con.execute("SELECT * FROM floor_deals").df()

    return _best(runs, write), _best(runs, read)


def _postgres_floor(server: dict, deals: pd.DataFrame, runs: int) -> tuple[float, float]:
    text = io.StringIO()
    deals.to_csv(text, index=False, header=False, na_rep="\\N")
    csv_text = text.getvalue()
    columns = ", ".join(deals.columns)

    def connect():
        return psycopg2.connect(
            host=server["hostname"],
            port=server["port"],
            user=server["username"],
            password=server["password"],
            dbname=server["db_name"],
        )

    with contextlib.closing(connect()) as con, con.cursor() as cursor:
        cursor.execute("CREATE TABLE floor_deals (LIKE attain.deals)")
        con.commit()

    def write() -> None:
        with contextlib.closing(connect()) as con, con.cursor() as cursor:
            cursor.execute("TRUNCATE floor_deals")
            cursor.copy_expert(
                f"COPY floor_deals ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", io.StringIO(csv_text)
            )
            con.commit()

    def read() -> None:
        with contextlib.closing(connect()) as con, con.cursor() as cursor:
            cursor.copy_expert("COPY (SELECT * FROM floor_deals) TO STDOUT WITH (FORMAT csv)", io.BytesIO())

    return _best(runs, write), _best(runs, read)


def measure(deals: int = 1_000_000, runs: int = 2) -> dict:
    """Seconds (best of ``runs``) to write and read ``deals`` deals per backend, its floor, and the ratios."""
    frame = synthetic_deals(deals)
    figures: dict = {"deals": deals}
    with tempfile.TemporaryDirectory(prefix="attain-bench-") as folder:
        path = Path(folder) / "warehouse.duckdb"
        write, read = _io_path(str(path), "", frame, runs)
        floor_write, floor_read = _duckdb_floor(path.with_name("floor.duckdb"), frame, runs)
        figures["duckdb"] = {"write": write, "read": read, "floor_write": floor_write, "floor_read": floor_read}
    with postgres_server() as server:
        location = f"postgresql://{server['username']}@{server['hostname']}:{server['port']}/{server['db_name']}"
        write, read = _io_path(location, server["password"], frame, runs)
        floor_write, floor_read = _postgres_floor(server, frame, runs)
        figures["postgresql"] = {"write": write, "read": read, "floor_write": floor_write, "floor_read": floor_read}
    for name in ("duckdb", "postgresql"):
        backend = figures[name]
        backend["write_ratio"] = backend["write"] / backend["floor_write"]
        backend["read_ratio"] = backend["read"] / backend["floor_read"]
    figures["postgresql_vs_duckdb"] = {
        "write": figures["postgresql"]["write"] / figures["duckdb"]["write"],
        "read": figures["postgresql"]["read"] / figures["duckdb"]["read"],
    }
    return figures


def report(figures: dict) -> list[str]:
    """The figures of :func:`measure` as the lines the benchmark prints."""
    lines = [f"warehouse backends, {figures['deals']:,} deals:"]
    for name in ("duckdb", "postgresql"):
        b = figures[name]
        lines.append(
            f"  {name:<10} write {b['write']:6.2f} s = {b['write_ratio']:.2f}x floor ({b['floor_write']:.2f} s)"
            f"   read {b['read']:6.2f} s = {b['read_ratio']:.2f}x floor ({b['floor_read']:.2f} s)"
        )
    ratio = figures["postgresql_vs_duckdb"]
    lines.append(f"  postgresql vs duckdb: write {ratio['write']:.2f}x, read {ratio['read']:.2f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print("\n".join(report(measure(args.deals, args.runs))))


if __name__ == "__main__":
    main()
