"""Review packs: one PDF per rep and per manager, in each person's language."""

import dataclasses
from typing import cast

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, AssetRecordsFilter, DagsterInstance, Failure, Output, asset

from assets.common import run_month, stamped, table_metadata, unstamped
from attain.packs.coaching import CoachingError, load_catalogue
from attain.packs.render import render_packs
from attain.packs.review import ReviewTables
from attain.pay import period_close
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
    disputes: pd.DataFrame,
    earnings_forecast: pd.DataFrame,
    self_assessments: pd.DataFrame,
    segment_summary: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Render every rep's and every manager's pack for the month, in parallel across processes.

    Each PDF carries the month, the person and the fingerprint of the inputs its figures came from. A pack
    that fails (an error, or longer than ``pack_time_limit``) fails alone: it is listed in the metadata
    ``failed_packs`` (read by the pack check, the deliveries and the run summary) and the others go on.
    The coaching suggestions come from the built-in catalogue extended by the data folder's ``coaching.yaml``
    (a bad one stops the run with its file, entry and field).
    """
    month = run_month(context)
    try:
        coaching = load_catalogue(attain.data_dir)
    except CoachingError as error:  # coaching.yaml of the data folder to fix: one message naming the entry
        raise Failure(description=str(error), allow_retries=False) from None
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
        disputes=unstamped(disputes),
        earnings_forecast=earnings_forecast,
        self_assessments=unstamped(self_assessments),
        coaching=coaching,
        segments=segment_summary,
    )
    with warehouse.connect() as con:
        fingerprint = period_close.stored_fingerprint(con, month)
    rendered = render_packs(
        month,
        tables,
        attain.settings(),
        attain.output_path,
        fingerprint,
        processes=attain.option("render_processes"),
        progress=lambda done, total: context.log.debug(f"progress: packs {done}/{total}"),
    )
    packs = rendered.table
    for failure in rendered.failed:
        context.log.error(f"pack failed: {failure.reason}")
    return Output(
        stamped(packs, month),
        metadata=table_metadata(
            packs,
            rep_packs=int((packs["kind"] == "rep").sum()),
            manager_packs=int((packs["kind"] == "manager").sum()),
            folder=str(attain.output_path / month / "packs"),
            input_fingerprint=fingerprint,
            failed_packs=[dataclasses.asdict(f) for f in rendered.failed],
        ),
    )


def failed_packs(instance: DagsterInstance, month: str) -> list[dict]:
    """The packs of ``month`` that failed when its ``review_packs`` were last made (``person_id, kind,
    locale, reason``), from that materialisation's metadata: empty when none failed."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("review_packs"), asset_partitions=[month]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return []
    meta = records[0].asset_materialization.metadata.get("failed_packs")
    return list(cast("list[dict]", meta.value)) if meta is not None else []  # a JSON list, as written above
