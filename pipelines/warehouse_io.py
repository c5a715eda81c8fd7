"""The IO manager of Attain's monthly tables, on Dagster's DbIOManager framework, for either warehouse.

``WarehouseIOManager`` is what dagster-duckdb's ``DuckDBIOManager`` is, with one ``DbClient`` for both
backends of ``attain.warehouse`` (the location picks DuckDB or PostgreSQL) and one pandas ``DbTypeHandler``.
A month partition maps to the asset's ``partition_expr`` column (``month`` or ``as_of``, text ``YYYY-MM``):
writing a month deletes that month's rows and appends the new ones in one transaction, so a reader never
sees the month half-replaced; reading a range selects ``start <= column < end``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import pandas as pd
from dagster import InputContext, OutputContext
from dagster._config.pythonic_config import ConfigurableIOManagerFactory
from dagster._core.definitions.partitions.utils import TimeWindow
from dagster._core.storage.db_io_manager import (
    DbClient,
    DbIOManager,
    DbTypeHandler,
    TablePartitionDimension,
    TableSlice,
    static_where_clause,
)
from pydantic import Field

from attain import warehouse

#: The text form of a month in partition columns: time windows compare as text, which orders like the months.
MONTH_FORMAT = "%Y-%m"


def _partition_where_clause(dimensions: Sequence[TablePartitionDimension]) -> str:
    """``column >= 'YYYY-MM' AND column < 'YYYY-MM'`` per time window (static partitions as Dagster writes them)."""
    clauses = []
    for dimension in dimensions:
        if isinstance(dimension.partitions, TimeWindow):
            start, end = dimension.partitions
            column = dimension.partition_expr
            clauses.append(f"{column} >= '{start:{MONTH_FORMAT}}' AND {column} < '{end:{MONTH_FORMAT}}'")
        else:
            clauses.append(static_where_clause(dimension))
    return " AND ".join(clauses)


def _table(table_slice: TableSlice) -> str:
    return f"{table_slice.schema}.{table_slice.table}"


class WarehouseDbClient(DbClient):
    """Connects to the configured warehouse; each connection is one transaction (the month's replace is atomic)."""

    @staticmethod
    def delete_table_slice(context: OutputContext, table_slice: TableSlice, connection) -> None:
        if not connection.exists(_table(table_slice)):
            return
        where = _partition_where_clause(table_slice.partition_dimensions) if table_slice.partition_dimensions else ""
        connection.execute(f"DELETE FROM {_table(table_slice)}" + (f" WHERE {where}" if where else ""))

    @staticmethod
    def ensure_schema_exists(context: OutputContext, table_slice: TableSlice, connection) -> None:
        connection.ensure_schema(table_slice.schema)

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        columns = ", ".join(table_slice.columns) if table_slice.columns else "*"
        query = f"SELECT {columns} FROM {_table(table_slice)}"
        if table_slice.partition_dimensions:
            query += f" WHERE {_partition_where_clause(table_slice.partition_dimensions)}"
        return query

    @staticmethod
    @contextlib.contextmanager
    def connect(context: OutputContext | InputContext, table_slice: TableSlice) -> Iterator[warehouse.Connection]:
        config = context.resource_config or {}
        location, password = str(config["database"]), str(config.get("password") or "")
        with warehouse.connect(location, password) as con, con.transaction():
            yield con


class MonthTableHandler(DbTypeHandler[pd.DataFrame]):
    """Stores a month's table: created even when that month has no rows, and grown when a release adds columns.

    Dagster's pandas handlers skip empty DataFrames, so a month with an empty quarantine (the Maven sample)
    would leave no table for downstream steps to read. They also insert by position, so a warehouse written
    by an earlier release (``payouts`` without ``carried_minor``) would refuse this release's rows: columns
    the table lacks are added (earlier months read them as NULL) and rows are inserted by name
    (``Connection.write_frame``).
    """

    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection):
        connection.write_frame(_table(table_slice), obj)
        context.add_output_metadata({"dagster/partition_row_count": len(obj)})

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> pd.DataFrame:
        """The slice's rows; no rows when the table does not exist yet.

        A month's ledger reads the ledger's earlier months (a self-dependency): in a fresh warehouse, the
        first month run finds no ``incentive_ledger`` table, which means nothing was paid before.
        """
        if table_slice.partition_dimensions and not context.asset_partition_keys:
            return pd.DataFrame()
        if not connection.exists(_table(table_slice)):
            return pd.DataFrame()
        return connection.read(WarehouseDbClient.get_select_statement(table_slice))

    @property
    def supported_types(self):
        return [pd.DataFrame]


class WarehouseIOManager(ConfigurableIOManagerFactory):
    """Attain's monthly tables in the warehouse: a DuckDB file or PostgreSQL (``attain.warehouse``)."""

    database: str = Field(description="DuckDB file (a path or duckdb:///path) or postgresql://user@host:port/db.")
    password: str = Field(
        default="", description="EnvVar('ATTAIN_WAREHOUSE_PASSWORD') for PostgreSQL; never written in config."
    )
    schema_: str = Field(default="attain", alias="schema", description="Schema of the tables.")

    def create_io_manager(self, context) -> DbIOManager:
        warehouse.check_location(self.database)
        return DbIOManager(
            db_client=WarehouseDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=[MonthTableHandler()],
            default_load_type=pd.DataFrame,
            io_manager_name="WarehouseIOManager",
        )
