"""Rewarding: the incentive ledger (one row per statement line) and the payouts finance pays.

A closed month is never recomputed: its frozen ledger is returned as it was. Differences that later data
makes to closed months are paid or recovered as adjustment lines in the first open month after them.
"""

import pandas as pd
from dagster import AssetExecutionContext, Output, asset

from assets.common import money_totals, run_month, stamped, table_metadata, unstamped
from attain import ledger as ledger_rules
from attain import month_end, period_close
from attain import payouts as payout_rules
from attain.periods import add_months
from attain.plans import load_plans
from attain.validation import Inputs
from pipelines.partitions import MONTH_PARTITION, monthly
from pipelines.resources import AttainConfig, Warehouse

#: Earlier months whose ledger lines the month needs (draw balances, clawbacks at the rate paid).
HISTORY_MONTHS = 24


@asset(metadata=MONTH_PARTITION, partitions_def=monthly, group_name="reward")
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
    credited_deals: pd.DataFrame,
    clawback_events: pd.DataFrame,
    attainment: pd.DataFrame,
    satisfaction: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Every statement line of every rep for the month, each rounded half-up once."""
    month, settings = run_month(context), attain.settings()
    with warehouse.connect() as con:
        period_close.ensure_tables(con)
        if period_close.is_closed(con, month):
            context.log.info(f"{month} is closed: its frozen ledger is kept unchanged")
            ledger, state = period_close.frozen_ledger(con, month), "closed"
        else:
            earliest = add_months(month, -HISTORY_MONTHS)
            history = warehouse.read("incentive_ledger", "month >= ? AND month < ?", [earliest, month])
            closed = month_end.closed_run(month, lambda m: period_close.is_closed(con, m))
            frozen = {m: period_close.frozen_ledger(con, m) for m in closed}
            if frozen:
                kept = history[~history["month"].isin(frozen)] if not history.empty else history
                history = pd.concat([kept, *frozen.values()], ignore_index=True)
            plans = load_plans(attain.plans_path)
            inputs = Inputs(*(unstamped(f) for f in (deals, credit_splits, reps, targets, fx_rates, surveys)))
            fingerprint = period_close.input_fingerprint(vars(inputs), plans.texts)
            period_close.record_fingerprint(con, month, fingerprint)
            ledger = ledger_rules.compute_ledger(
                month,
                plans,
                inputs.reps,
                credited_deals.drop(columns=["month"]),
                attainment.drop(columns=["month"]),
                satisfaction.drop(columns=["month"]),
                clawback_events.drop(columns=["month"]),
                history if not history.empty else None,
                settings,
            )
            adjustments = month_end.closed_month_adjustments(inputs, plans, month, settings, frozen, history)
            if not adjustments.empty:
                ledger = ledger_rules.with_adjustments(ledger, adjustments)
            state = "open"
        fingerprint = period_close.stored_fingerprint(con, month)
    return Output(
        stamped(ledger, month),
        metadata=table_metadata(
            ledger,
            period=state,
            input_fingerprint=fingerprint,
            total_by_currency=money_totals(ledger, "amount_minor"),
            adjustment_lines=int((ledger["kind"] == "adjustment").sum()),
        ),
    )


@asset(metadata=MONTH_PARTITION, partitions_def=monthly, group_name="reward")
def payouts(
    context: AssetExecutionContext, warehouse: Warehouse, incentive_ledger: pd.DataFrame, reps: pd.DataFrame
) -> Output[pd.DataFrame]:
    """Per rep: earnings, draws, adjustments and what is payable; each the sum of its ledger lines."""
    month = run_month(context)
    history = warehouse.read("incentive_ledger", "month < ?", [month])
    table = payout_rules.payouts(incentive_ledger, unstamped(reps), month, history if not history.empty else None)
    return Output(
        stamped(table, month),
        metadata=table_metadata(table, payable_by_currency=money_totals(table, "payable_minor")),
    )
