"""Rewarding: the incentive ledger (one row per statement line) and the payouts finance pays.

A closed month is never recomputed: its frozen ledger is returned as it was. Differences that later data
makes to closed months are paid or recovered as adjustment lines in the first open month after them
(``attain.pay.period_close.ledger_for_run``). Both assets depend on the ledger's earlier partitions
(``earlier_ledgers``) for the balances and clawbacks a month carries on.
"""

import warnings

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    BetaWarning,
    MetadataValue,
    Output,
    TimeWindowPartitionMapping,
    asset,
)

from assets.common import WAREHOUSE_POOL, money_totals, run_month, stamped, table_metadata, unstamped
from attain import stages
from attain.ingest.load import Inputs
from attain.pay import forecast, period_close
from attain.pay import payouts as payout_rules
from attain.pay import plans as plan_rules
from attain.pay.disputes import COMPONENT_PREFIX
from attain.pay.plans import load_plans
from attain.stages import Measures
from pipelines.partitions import MONTH_PARTITION, monthly
from pipelines.resources import AttainConfig, Warehouse

#: Earlier months whose ledger lines the month needs (draw balances, clawbacks at the rate paid).
HISTORY_MONTHS = 24


def earlier_ledgers(*, including_this_month: bool = False) -> AssetIn:
    """The ``incentive_ledger`` lines of the ``HISTORY_MONTHS`` months before the run month, as an input.

    A declared dependency, so the lineage shows it. Months never run load as no rows (the ledger then
    reports them in ``months_without_ledger``), and months before the first partition do not exist: a run
    of one month never needs earlier months materialised first.
    """
    with warnings.catch_warnings():  # the parameter is "beta" in Dagster 1.13; nothing a user can act on
        warnings.simplefilter("ignore", BetaWarning)
        mapping = TimeWindowPartitionMapping(
            start_offset=-HISTORY_MONTHS,
            end_offset=0 if including_this_month else -1,
            allow_nonexistent_upstream_partitions=True,
        )
    return AssetIn("incentive_ledger", partition_mapping=mapping)


@asset(
    metadata=MONTH_PARTITION,
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    group_name="reward",
    ins={"history": earlier_ledgers()},
)
def incentive_ledger(
    context: AssetExecutionContext,
    attain: AttainConfig,
    warehouse: Warehouse,
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame,
    reps: pd.DataFrame,
    targets: pd.DataFrame,
    fx_rates: pd.DataFrame,
    surveys: pd.DataFrame,
    disputes: pd.DataFrame,
    credited_deals: pd.DataFrame,
    clawback_events: pd.DataFrame,
    attainment: pd.DataFrame,
    satisfaction: pd.DataFrame,
    history: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Every statement line of every rep for the month, each rounded half-up once.

    ``attain.pay.period_close.ledger_for_run`` decides what is stored; this asset reads the closed-period
    records through the ``warehouse`` resource and records the fingerprint of the inputs it used.
    """
    month, settings = run_month(context), attain.settings()
    inputs = Inputs(*(unstamped(f) for f in (deals, credit_splits, reps, targets, fx_rates, surveys, disputes)))
    measures = Measures(
        *(f.drop(columns=["month"]) for f in (credited_deals, clawback_events, attainment, satisfaction))
    )
    with warehouse.connect() as con:
        closed = period_close.closed_months(con)
        frozen = {m: period_close.frozen_ledger(con, m) for m in period_close.frozen_needed(month, closed)}
        run = period_close.ledger_for_run(
            month, inputs, measures, lambda: load_plans(attain.plans_path), settings, frozen, history, closed
        )
        if run.fingerprint is not None:
            # Recorded only once the ledger exists, so the fingerprint always describes the stored ledger.
            period_close.record_fingerprint(con, month, run.fingerprint)
        fingerprint = period_close.stored_fingerprint(con, month)
    missing, ledger = run.months_without_ledger, run.ledger
    if run.state == "closed":
        context.log.info(f"{month} is closed: its frozen ledger is kept unchanged")
    for refused in run.refused_disputes:
        context.log.warning(f"not paid: {refused}")
    if missing:
        context.log.warning(
            f"no ledger for {', '.join(missing)}: draw balances and clawbacks of {month} assume nothing "
            f"was paid then; run them first (attain run --month {missing[0]} --to {missing[-1]} "
            "--until payouts)"
        )
    return Output(
        stamped(ledger, month),
        metadata=table_metadata(
            ledger,
            period=run.state,
            months_without_ledger=MetadataValue.json(missing),
            input_fingerprint=fingerprint,
            total_by_currency=money_totals(ledger, "amount_minor"),
            adjustment_lines=int((ledger["kind"] == "adjustment").sum()),
            dispute_lines=int(ledger["component"].str.startswith(COMPONENT_PREFIX).sum()),
            refused_disputes=MetadataValue.json(run.refused_disputes),
        ),
    )


@asset(
    metadata=MONTH_PARTITION,
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    group_name="reward",
    ins={"incentive_ledger": earlier_ledgers(including_this_month=True)},
    deps=["plan_versions"],  # paid under the recorded plan versions: a run up to payouts records them too
)
def payouts(context: AssetExecutionContext, incentive_ledger: pd.DataFrame, reps: pd.DataFrame) -> Output[pd.DataFrame]:
    """Per rep: earnings, draws, adjustments and what is payable; each the sum of its ledger lines.

    ``incentive_ledger`` holds the month's lines and those of the ``HISTORY_MONTHS`` before it, whose
    balances (recoverable draws, carried negative months) the month carries on.
    """
    month = run_month(context)
    earlier = incentive_ledger[incentive_ledger["month"] < month] if not incentive_ledger.empty else incentive_ledger
    table = payout_rules.payouts(incentive_ledger, unstamped(reps), month, earlier if not earlier.empty else None)
    return Output(
        stamped(table, month),
        metadata=table_metadata(table, payable_by_currency=money_totals(table, "payable_minor")),
    )


@asset(
    metadata=MONTH_PARTITION,
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    group_name="reward",
    ins={"incentive_ledger": earlier_ledgers(including_this_month=True)},
)
def earnings_forecast(
    context: AssetExecutionContext,
    attain: AttainConfig,
    deals: pd.DataFrame,
    reps: pd.DataFrame,
    targets: pd.DataFrame,
    fx_rates: pd.DataFrame,
    credited_deals: pd.DataFrame,
    clawback_events: pd.DataFrame,
    attainment: pd.DataFrame,
    satisfaction: pd.DataFrame,
    incentive_ledger: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Per rep: what the open pipeline could pay, the payout at 100% of target and the next threshold.

    A projection (``attain.pay.forecast``): it runs the month's pay rules on credit that has not happened and
    is never part of the ledger, the payouts or the finance export.
    """
    month, settings = run_month(context), attain.settings()
    reps, deals = unstamped(reps), unstamped(deals)
    ledger = incentive_ledger[incentive_ledger["month"] == month] if not incentive_ledger.empty else incentive_ledger
    history = incentive_ledger[incentive_ledger["month"] < month] if not incentive_ledger.empty else None
    state = forecast.MonthState(
        month=month,
        plans=load_plans(attain.plans_path),
        reps=reps,
        deals=deals,
        fx_rates=unstamped(fx_rates),
        in_force=stages.targets_of_month(unstamped(targets), reps, month, settings).in_force,
        credited=credited_deals.drop(columns=["month"]),
        satisfaction=satisfaction.drop(columns=["month"]),
        clawback_events=clawback_events.drop(columns=["month"]),
        history=history if history is not None and not history.empty else None,
        settings=settings,
    )
    table = forecast.earnings_forecast(state, attainment.drop(columns=["month"]), ledger)
    return Output(
        stamped(table, month),
        metadata=table_metadata(
            table,
            expected_payout_by_currency=money_totals(table, "expected_payout_minor"),
            open_pipeline_by_currency=money_totals(table, "open_pipeline_minor"),
        ),
    )


@asset(metadata=MONTH_PARTITION, partitions_def=monthly, pool=WAREHOUSE_POOL, group_name="reward")
def plan_versions(
    context: AssetExecutionContext, attain: AttainConfig, warehouse: Warehouse, incentive_ledger: pd.DataFrame
) -> Output[pd.DataFrame]:
    """Per plan id of the month's ledger: the version in force, who approved it and the SHA-256 of its file.

    A closed month keeps the versions it was frozen with (``closed_plan_versions``), as its ledger is kept. A
    version without ``approved_by``/``approved_at`` is paid, with a warning in the log and the run summary.
    """
    month = run_month(context)
    with warehouse.connect() as con:
        frozen = period_close.frozen_plan_versions(con, month) if period_close.is_closed(con, month) else None
    if frozen is not None and len(frozen):
        table = frozen
    else:
        used = sorted(set(incentive_ledger["plan_id"].dropna())) if len(incentive_ledger) else []
        table = plan_rules.plan_versions(load_plans(attain.plans_path), used, month)
    unapproved = plan_rules.unapproved(table)
    for warning in unapproved:
        context.log.warning(warning)
    return Output(stamped(table, month), metadata=table_metadata(table, unapproved_plans=unapproved))
