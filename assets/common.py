"""What every month-end asset shares: the partition's month and the metadata shown in the UI."""

import pandas as pd
from dagster import AssetExecutionContext, AssetOut, MetadataValue, TableColumn, TableSchema

from attain.money import format_minor
from pipelines.partitions import AS_OF_PARTITION, MONTH_PARTITION

#: Dagster concurrency pools (issue 12): the steps that write the warehouse (one at a time: a DuckDB file
#: takes one writer; deploy/dagster.yaml and ``attain`` set the limit to 1) and the one that sends mail.
WAREHOUSE_POOL = "warehouse"
SMTP_POOL = "smtp"


def table_out(description: str, *, partition_column: str = "month") -> AssetOut:
    """One output of a multi-asset stage: a monthly table in the warehouse.

    Computed tables carry their partition in ``month``; tables that have a ``month`` column of their own
    (targets, FX rates, targets in force) carry it in ``as_of``.
    """
    metadata = AS_OF_PARTITION if partition_column == "as_of" else MONTH_PARTITION
    return AssetOut(description=description, metadata=metadata, kinds={"duckdb"})


def run_month(context: AssetExecutionContext) -> str:
    """The month ("YYYY-MM") this run materialises: the partition key."""
    return context.partition_key


def stamped(frame: pd.DataFrame, month: str, column: str = "month") -> pd.DataFrame:
    """``frame`` with the partition column first, as the warehouse stores it.

    Computed tables carry the run month in ``month``; the input tables, some of which have a ``month``
    column of their own (targets, FX rates), carry it in ``as_of``. The data is not copied.
    """
    out = frame.copy(deep=False)
    if column in out.columns:
        del out[column]
    out.index = pd.RangeIndex(len(out))
    out.insert(0, column, month)
    return out


def unstamped(frame: pd.DataFrame) -> pd.DataFrame:
    """An input table as the pure code expects it: without the warehouse's ``as_of`` column."""
    return frame.drop(columns=["as_of"], errors="ignore")


def money_totals(frame: pd.DataFrame, amount: str, currency: str = "currency") -> dict[str, str]:
    """Exact totals of a minor-unit column per currency, as text (``{"USD": "1234.50"}``)."""
    if frame.empty:
        return {}
    sums = frame.groupby(currency, sort=True)[amount].sum()
    return {str(ccy): format_minor(int(total), str(ccy)) for ccy, total in sums.items()}


def table_metadata(frame: pd.DataFrame, **extra) -> dict:
    """Row count, the column schema for the UI's Columns tab, and any extra figures."""
    schema = TableSchema(columns=[TableColumn(name=str(c), type=str(t)) for c, t in frame.dtypes.items()])
    meta = {"dagster/row_count": len(frame), "dagster/column_schema": schema}
    for key, value in extra.items():
        meta[key] = MetadataValue.json(value) if isinstance(value, (dict, list)) else value
    return meta
