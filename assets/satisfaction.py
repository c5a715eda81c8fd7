"""Customers: satisfaction scores per rep and ABC segmentation of their accounts."""

import pandas as pd
from dagster import AssetExecutionContext, Output, multi_asset

from assets.common import WAREHOUSE_POOL, run_month, stamped, table_metadata, table_out, unstamped
from attain.measures import satisfaction as rules
from attain.measures.segments import segment_summary
from pipelines.partitions import monthly
from pipelines.resources import AttainConfig


@multi_asset(
    outs={
        "satisfaction": table_out(
            "CSAT (% of 4-5 and mean), NPS and response counts per rep, for the month and 12 months."
        ),
        "satisfaction_trend": table_out("Monthly CSAT and NPS, 12 months."),
        "account_segments": table_out("ABC segments of each rep's accounts by revenue share."),
        "segment_summary": table_out("Per rep and ABC segment: accounts, revenue share, CSAT where enough responses."),
    },
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    group_name="customers",
)
def satisfaction_stage(
    context: AssetExecutionContext,
    attain: AttainConfig,
    surveys: pd.DataFrame,
    deals: pd.DataFrame,
    reps: pd.DataFrame,
    credited_deals: pd.DataFrame,
):
    """Score each rep's customers; below the minimum number of responses a score is withheld."""
    month, settings = run_month(context), attain.settings()
    surveys, deals, roster = unstamped(surveys), unstamped(deals), unstamped(reps)
    scores = rules.satisfaction(surveys, deals, roster, month, settings)
    trend = rules.satisfaction_trend(surveys, deals, roster, month, settings)
    segments = rules.account_segments(credited_deals.drop(columns=["month"]), month, settings)
    summary = segment_summary(segments, surveys, deals, month, settings)
    withheld = int((~scores["enough"].astype(bool)).sum())
    yield Output(
        stamped(scores, month),
        output_name="satisfaction",
        metadata=table_metadata(scores, scores_withheld_for_too_few_responses=withheld),
    )
    yield Output(stamped(trend, month), output_name="satisfaction_trend", metadata=table_metadata(trend))
    yield Output(stamped(segments, month), output_name="account_segments", metadata=table_metadata(segments))
    yield Output(stamped(summary, month), output_name="segment_summary", metadata=table_metadata(summary))
