"""Measuring: credit, targets in force, attainment and pipeline health for the month.

Thin wrappers: the stages are attain.stages (which period close also composes to recompute a closed
month) and attain.measures.pipeline_health; these assets add the month, store the tables and show the figures.
"""

import pandas as pd
from dagster import AssetExecutionContext, Output, asset, multi_asset

from assets.common import WAREHOUSE_POOL, money_totals, run_month, stamped, table_metadata, table_out, unstamped
from attain import stages
from attain.measures import attainment as attainment_rules
from attain.measures import pipeline_health as health_rules
from pipelines.partitions import MONTH_PARTITION, monthly
from pipelines.resources import AttainConfig


@multi_asset(
    outs={
        "credited_deals": table_out(
            "One row per won deal and credited rep (owner, split, overlay), in plan currency, "
            "for the 12 months ending with the run month."
        ),
        "clawback_events": table_out("Cancellations recorded in the month, with the credit they undo."),
    },
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    group_name="measure",
)
def credit_stage(
    context: AssetExecutionContext,
    attain: AttainConfig,
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame,
):
    """Credit each won deal to its owner, splits and overlays, converted at the month's FX rate."""
    month, settings = run_month(context), attain.settings()
    deals, splits, reps, fx = (unstamped(f) for f in (deals, credit_splits, reps, fx_rates))
    credited, events = stages.credit_of_month(deals, splits, reps, fx, month, settings)
    this_month = credited[credited["credit_month"] == month]
    yield Output(
        stamped(credited, month),
        output_name="credited_deals",
        metadata=table_metadata(
            credited,
            credit_this_month=money_totals(this_month, "credit_minor", "plan_currency"),
            deals_credited_this_month=int(this_month["deal_id"].nunique()),
        ),
    )
    yield Output(
        stamped(events, month),
        output_name="clawback_events",
        metadata=table_metadata(events, clawed_back=money_totals(events, "credit_minor", "plan_currency")),
    )


@multi_asset(
    outs={
        "targets_in_force": table_out(
            "The target in force at each month's end per rep and team, prorated for joiners and leavers.",
            partition_column="as_of",
        ),
        "target_warnings": table_out(
            "Team targets that disagree with the sum of their members'.", partition_column="as_of"
        ),
    },
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    group_name="measure",
)
def target_stage(context: AssetExecutionContext, attain: AttainConfig, targets: pd.DataFrame, reps: pd.DataFrame):
    """Resolve adjustments, proration and team targets for the 12 months ending with the run month."""
    month, settings = run_month(context), attain.settings()
    resolved = stages.targets_of_month(unstamped(targets), unstamped(reps), month, settings)
    in_force, warnings = resolved.in_force, resolved.warnings
    yield Output(stamped(in_force, month, "as_of"), output_name="targets_in_force", metadata=table_metadata(in_force))
    for w in warnings.itertuples():
        context.log.warning(
            f"team {w.team} {w.month} {w.metric}: the set target {w.set_amount} differs from the sum of its "
            f"members' targets {w.members_sum}"
        )
    yield Output(
        stamped(warnings, month, "as_of"),
        output_name="target_warnings",
        metadata=table_metadata(warnings, warnings=len(warnings)),
    )


@multi_asset(
    outs={
        "attainment": table_out(
            "Attainment per metric for month, QTD and YTD; rep, team, manager, region, company; ranks."
        ),
        "attainment_trend": table_out("Monthly attainment for the 12 months ending with the run month."),
    },
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    group_name="measure",
)
def attainment_stage(
    context: AssetExecutionContext,
    attain: AttainConfig,
    credited_deals: pd.DataFrame,
    targets_in_force: pd.DataFrame,
    deals: pd.DataFrame,
    reps: pd.DataFrame,
):
    """How far every rep, team, manager and region got towards their targets."""
    month, settings = run_month(context), attain.settings()
    credited = credited_deals.drop(columns=["month"])
    in_force, snapshot, roster = unstamped(targets_in_force), unstamped(deals), unstamped(reps)
    table = attainment_rules.attainment(credited, snapshot, in_force, roster, month, settings)
    trend = attainment_rules.attainment_trend(credited, snapshot, in_force, roster, month, settings)
    company = table[(table["scope"] == "company") & (table["period"] == "month")]
    yield Output(
        stamped(table, month),
        output_name="attainment",
        metadata=table_metadata(
            table,
            company_attainment={
                str(r.metric): (None if pd.isna(r.attainment) else round(float(r.attainment), 4))
                for r in company.itertuples()
            },
        ),
    )
    yield Output(stamped(trend, month), output_name="attainment_trend", metadata=table_metadata(trend))


@asset(metadata=MONTH_PARTITION, partitions_def=monthly, pool=WAREHOUSE_POOL, group_name="measure")
def pipeline_health(
    context: AssetExecutionContext,
    attain: AttainConfig,
    deals: pd.DataFrame,
    targets_in_force: pd.DataFrame,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Win rate, average won deal, median sales cycle, open pipeline and coverage of next month's target."""
    month, settings = run_month(context), attain.settings()
    table = health_rules.pipeline_health(
        unstamped(deals), unstamped(targets_in_force), unstamped(reps), unstamped(fx_rates), month, settings
    )
    return Output(stamped(table, month), metadata=table_metadata(table))
