"""Review packs: one PDF per rep and per manager, in each person's language."""

import pandas as pd
from dagster import AssetExecutionContext, Output, asset

from assets.common import run_month, stamped, table_metadata, unstamped
from attain import period_close
from attain.render import render_packs
from attain.review import ReviewTables
from pipelines.partitions import MONTH_PARTITION, monthly
from pipelines.resources import AttainConfig, Warehouse


@asset(metadata=MONTH_PARTITION, partitions_def=monthly, group_name="review", kinds={"pdf"})
def review_packs(
    context: AssetExecutionContext,
    attain: AttainConfig,
    warehouse: Warehouse,
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame,
    reps: pd.DataFrame,
    targets: pd.DataFrame,
    quarantine: pd.DataFrame,
    attainment: pd.DataFrame,
    attainment_trend: pd.DataFrame,
    pipeline_health: pd.DataFrame,
    satisfaction: pd.DataFrame,
    incentive_ledger: pd.DataFrame,
    payouts: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Render every rep's and every manager's pack for the month, in parallel across processes.

    Each PDF carries the month, the person and the fingerprint of the inputs its figures came from.
    """
    month = run_month(context)
    tables = ReviewTables(
        reps=unstamped(reps),
        attainment=attainment,
        attainment_trend=attainment_trend,
        pipeline_health=pipeline_health,
        satisfaction=satisfaction,
        incentive_ledger=incentive_ledger,
        payouts=payouts,
        deals=unstamped(deals),
        targets=unstamped(targets),
        quarantine=unstamped(quarantine),
        credit_splits=unstamped(credit_splits),
    )
    with warehouse.connect() as con:
        fingerprint = period_close.stored_fingerprint(con, month)
    packs = render_packs(
        month,
        tables,
        attain.settings(),
        attain.output_path,
        fingerprint,
        processes=attain.option("render_processes"),
        progress=lambda done, total: context.log.debug(f"progress: packs {done}/{total}"),
    )
    return Output(
        stamped(packs, month),
        metadata=table_metadata(
            packs,
            rep_packs=int((packs["kind"] == "rep").sum()),
            manager_packs=int((packs["kind"] == "manager").sum()),
            folder=str(attain.output_path / month / "packs"),
            input_fingerprint=fingerprint,
        ),
    )
