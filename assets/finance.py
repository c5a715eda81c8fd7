"""Finance: the payroll export (CSV and XLSX) of the month's payouts and ledger lines."""

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.common import WAREHOUSE_POOL, money_totals, run_month
from attain.pay.finance_export import write_payouts
from pipelines.partitions import monthly
from pipelines.resources import AttainConfig


@asset(partitions_def=monthly, pool=WAREHOUSE_POOL, group_name="reward", kinds={"csv", "xlsx"})
def finance_export(
    context: AssetExecutionContext, attain: AttainConfig, payouts: pd.DataFrame, incentive_ledger: pd.DataFrame
) -> MaterializeResult:
    """Write the payouts summary and the ledger lines for payroll, safe to open in Excel."""
    month = run_month(context)
    paths = write_payouts(payouts, incentive_ledger, attain.output_path, month)
    folder = attain.output_path / month / "finance"
    return MaterializeResult(
        metadata={
            "files": MetadataValue.json([p.name for p in paths]),
            "folder": MetadataValue.path(str(folder)),
            "payable_by_currency": MetadataValue.json(money_totals(payouts, "payable_minor")),
        }
    )
