"""The month-end job: every stage, one month (partition) at a time."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

#: Ingest, validate, attainment, incentives, satisfaction, packs, finance export, delivery.
#: Its executor is the Definitions' (``pipelines.executors.month_end_executor``): in-process by default, where
#: the heavy stage (PDF rendering) fans out over a process pool of its own; on Celery workers when the run
#: config or ATTAIN_EXECUTOR says so, where each chunk of teams' packs is a step of its own.
month_end_job = define_asset_job(
    "month_end",
    selection=AssetSelection.all(),
    description="The whole month-end for one month: from the CRM files to the managers' inboxes.",
)
