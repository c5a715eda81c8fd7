"""The month-end job: every stage, one month (partition) at a time."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

#: Ingest, validate, attainment, incentives, satisfaction, packs, finance export, delivery.
#: In-process: DuckDB takes one writer at a time; the heavy stage (PDF rendering) fans out over a
#: process pool of its own.
month_end_job = define_asset_job(
    "month_end",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="The whole month-end for one month: from the CRM files to the managers' inboxes.",
)
